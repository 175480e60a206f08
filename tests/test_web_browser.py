"""The web app in a real browser: Debian's chromium driven by Playwright (no browser download),
against `podgrep serve` started as a user would, over real transcripts and a hostile feed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podgrep.runtime import open_store
from tests.conftest import Served
from tests.support.browser import CHROMIUM, NO_CHROMIUM, chromium
from tests.support.web import HOSTILE_SHOW, HOSTILE_TITLE, ServeProcess, WebLibrary, build, copy_of

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=NO_CHROMIUM)


@pytest.fixture(scope="module")
def web(served: Served, library: Path, tmp_path_factory: pytest.TempPathFactory) -> WebLibrary:
    """This module's copy of the web test library."""
    return copy_of(build(served, library, tmp_path_factory), tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def server(web: WebLibrary) -> Iterator[ServeProcess]:
    """`podgrep serve` on a free port of 127.0.0.1."""
    proc = ServeProcess(web.home)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless chromium from /usr/bin."""
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh page that records dialogs and page errors, checked after each test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    yield pg
    context.close()


def current_time(page: object) -> float:
    return float(page.evaluate("document.getElementById('player').currentTime"))  # type: ignore[attr-defined]


def wait_time_near(page: object, seconds: float, tolerance: float = 1.0) -> None:
    page.wait_for_function(  # type: ignore[attr-defined]
        "([t, tol]) => { const a = document.getElementById('player');"
        " return a && a.readyState >= 1 && Math.abs(a.currentTime - t) <= tol; }",
        arg=[seconds, tolerance],
        timeout=15000,
    )


def test_library_to_episode_and_click_a_sentence(page, server: ServeProcess, web: WebLibrary):
    page.goto(server.url + "/")
    assert page.title() == "Library · podgrep"
    cards = page.locator(".show-card")
    assert cards.count() == 2
    assert "2 of 2 transcribed" in cards.first.inner_text()
    page.get_by_role("link", name="Data Talk").click()
    page.wait_for_url(f"**/shows/{web.data_talk}")
    assert page.locator("svg.chart rect.bar").count() == 1
    page.get_by_role("link", name="Yannic Kilcher on Open Assistant").click()
    page.wait_for_url(f"**/episodes/{web.conversation}")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    sentence = page.locator(".seg").nth(12)
    start = float(sentence.get_attribute("data-start"))
    assert start > 20
    sentence.click()
    wait_time_near(page, start, 1.5)
    page.wait_for_selector(".seg.current")
    current = page.locator(".seg.current")
    assert float(current.get_attribute("data-start")) == pytest.approx(start, abs=8)
    assert current.get_attribute("aria-current") == "true"


def test_search_from_header_and_follow_a_hit(page, server: ServeProcess, web: WebLibrary):
    page.goto(server.url + "/")
    page.get_by_role("searchbox", name="Search every transcript").fill('"preaching to the choir"')
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=*")
    group = page.locator(".result-group").first
    assert "Yannic Kilcher on Open Assistant" in group.inner_text()
    assert group.locator("mark").first.inner_text().lower() == "preaching to the choir"
    link = group.locator("a.hit-link").first
    href = link.get_attribute("href")
    second = float(href.split("?t=")[1])
    link.click()
    page.wait_for_url(f"**/episodes/{web.conversation}?t=*")
    wait_time_near(page, second, 0.6)
    current = page.locator(".seg.current")
    assert "choir" in current.inner_text().lower()
    assert current.is_visible()
    assert current.bounding_box()["y"] < page.viewport_size["height"]  # scrolled into view


def test_hash_time_and_keyboard(page, server: ServeProcess, web: WebLibrary):
    page.goto(f"{server.url}/episodes/{web.conversation}#t=1:30")
    wait_time_near(page, 90, 0.6)
    stamp = page.locator("a.ts.seek").nth(3)
    target = float(stamp.get_attribute("data-t"))
    stamp.focus()
    page.keyboard.press("Enter")
    wait_time_near(page, target, 1.5)
    page.evaluate("document.getElementById('player').pause()")
    page.locator("h1").click()  # focus out of the link, onto the page
    before = current_time(page)
    page.keyboard.press("l")
    page.wait_for_function(
        "t => document.getElementById('player').currentTime >= t + 9", arg=before, timeout=5000
    )


def test_no_hostile_script_runs(page, server: ServeProcess, web: WebLibrary):
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    for path in (
        "/",
        f"/shows/{web.evil}",
        f"/episodes/{web.hostile}",
        "/search?q=zanzibar",
        "/search?q=country",
    ):
        page.goto(server.url + path)
        page.wait_for_load_state("load")
        if "episodes" in path:
            page.locator("a", has_text="click me").click()
            page.locator("a", has_text="or me").click()
        assert page.evaluate("typeof window.__pwned") == "undefined", path
    assert page.dialogs == []
    page.goto(f"{server.url}/episodes/{web.hostile}")
    assert page.locator("h1").inner_text() == HOSTILE_TITLE  # shown as text, not run
    assert page.locator(".notes-body b").inner_text() == "listener"
    assert page.locator(".notes-body img, .notes-body svg, .notes-body iframe").count() == 0
    safe = page.locator(".notes-body a", has_text="a safe link")
    assert safe.get_attribute("target") == "_blank"
    assert safe.get_attribute("rel") == "noopener noreferrer"
    chapters = page.locator(".chapters a")
    assert chapters.count() == 2 and "<script>" in chapters.first.inner_text()
    page.goto(f"{server.url}/shows/{web.evil}")
    assert page.locator("h1").inner_text() == HOSTILE_SHOW
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert violations == []  # nothing even tried to run inline


def test_sync_progress_without_reload(page, server: ServeProcess, web: WebLibrary):
    with open_store(web.home / "podgrep.db") as store:
        store.retry_failed()  # give the broken episode another go, so the sync has work
    page.goto(server.url + "/")
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Sync now").click()
    page.wait_for_function(
        "() => document.getElementById('sync-detail').textContent.includes('step(s) done')",
        timeout=60000,
    )
    page.wait_for_function(
        "() => document.getElementById('sync-status').textContent.includes('Sync finished')",
        timeout=120000,
    )
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert page.locator("#failures li").count() == 1
    assert "Broken audio" in page.locator("#failures").inner_text()


def test_phone_width_has_no_sideways_scroll(browser, server: ServeProcess, web: WebLibrary):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    pg = context.new_page()
    try:
        for path in (
            "/",
            f"/shows/{web.data_talk}",
            f"/episodes/{web.conversation}",
            "/search?q=open",
        ):
            pg.goto(server.url + path)
            wide = pg.evaluate("document.documentElement.scrollWidth")
            assert wide <= 375, (path, wide)
            assert pg.locator("#q").is_visible()
    finally:
        context.close()
