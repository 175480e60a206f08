"""The word views in a real browser (Debian chromium through playwright-core, as
tests/test_web_browser.py): the show's key terms lead to the word tree, whose page shows the
occurrences grouped by the words that follow; a click on one opens the episode with the player
at that second; hostile transcript text stays text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Served
from tests.support.browser import chromium
from tests.support.web import ServeProcess, WebLibrary, build, copy_of

pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def web(served: Served, library: Path, tmp_path_factory: pytest.TempPathFactory) -> WebLibrary:
    return copy_of(build(served, library, tmp_path_factory), tmp_path_factory.mktemp("wtree"))


@pytest.fixture(scope="module")
def server(web: WebLibrary) -> Iterator[ServeProcess]:
    proc = ServeProcess(web.home)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def page(web: WebLibrary) -> Iterator[object]:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        yield context.new_page()


def test_key_terms_to_word_tree_to_the_second(page, server: ServeProcess, web: WebLibrary):
    page.goto(f"{server.url}/shows/{web.data_talk}")
    terms = page.locator("ol.key-terms a")
    assert terms.count() > 5
    assert "chat gpt" in terms.all_inner_texts()[:5]
    page.fill("#ctx-q", "open source")
    page.get_by_role("button", name="Word tree").click()
    page.wait_for_url("**/context?**")
    tree = httpx.get(
        f"{server.url}/api/context", params={"q": "open source", "show": web.data_talk}
    ).json()
    assert tree["count"] >= 3
    assert f"{tree['count']} times in 1 episode" in page.locator(".hit-count").inner_text()
    # grouped: one branch per different word that follows, each with its count
    branches = page.locator(".word-tree > .tree > li.branch")
    top = [b["words"] for b in tree["tree"]["branches"]]
    assert branches.count() == len(top) >= 2
    summaries = page.locator(".word-tree > .tree > li.branch > details > summary .branch-words")
    assert [t.removeprefix("… ") for t in summaries.all_inner_texts()] == top
    occurrences = page.locator(".occurrence")
    assert occurrences.count() == tree["count"]
    marks = page.locator(".occurrence .kwic-match").all_inner_texts()
    assert all(m.lower() == "open source" for m in marks)
    link = page.locator(".occurrence a.kwic-link").last
    href = link.get_attribute("href") or ""
    m = re.fullmatch(rf"/episodes/{web.conversation}#t=(\d+\.\d\d)", href)
    assert m, href
    at = float(m.group(1))
    link.click()
    page.wait_for_url(f"**/episodes/{web.conversation}#t=*")
    page.wait_for_function(
        "t => { const a = document.getElementById('player');"
        " return a && a.readyState >= 1 && Math.abs(a.currentTime - t) < 1; }",
        arg=at,
        timeout=15000,
    )
    current = page.locator(".seg.current")
    assert "open" in current.inner_text().lower() or "source" in current.inner_text().lower()
    # the episode page's own key terms open its word tree
    page.locator("section.key-terms ol a").first.click()
    page.wait_for_url(f"**/context?**episode={web.conversation}")
    assert page.locator(".occurrence").count() >= 2


def test_hostile_transcript_text_stays_text(page, server: ServeProcess, web: WebLibrary):
    page.goto(f"{server.url}/context?q=zanzibar+quokka")
    left = page.locator(".occurrence .kwic-left").inner_text()
    assert "onerror=" in left and page.locator(".word-tree img").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    page.goto(f"{server.url}/search?q=quokka")
    page.get_by_role("link", name=re.compile("in context")).click()
    page.wait_for_url("**/context?q=quokka**")
    assert page.locator(".occurrence").count() == 1
    assert page.evaluate("typeof window.__pwned") == "undefined"
