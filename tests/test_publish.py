"""`podgrep publish`: the static site in chromium (served by a plain static server), its
republished feed read by gPodder's podcastparser and by feedparser, and re-runs that write
only what changed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from podgrep.domain import Segment
from podgrep.runtime import open_store
from tests.conftest import invoke
from tests.support.server import LocalServer
from tests.support.web import HOSTILE_SEGMENT

BASE = "https://pods.example.org/site/"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def home(library: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the synced test library, a hostile sentence added to "Ask Not"."""
    home = tmp_path_factory.mktemp("publish-home")
    shutil.copytree(library, home, dirs_exist_ok=True)
    with open_store(home / "podgrep.db") as store:
        jfk = next(e for e in store.list_episodes() if e.guid == "ep-jfk")
        transcript = store.transcript_for(jfk.id or 0)
        assert transcript is not None and transcript.id is not None
        store.add_segment(
            transcript.id, Segment(start=10.6, end=10.9, text=HOSTILE_SEGMENT), window=999
        )
    return home


@pytest.fixture(scope="module")
def site(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site") / "out"
    code, out, err = invoke(["publish", str(folder), "--base-url", BASE], home)
    assert code == 0, err
    assert "Published 2 episode(s) of 1 show(s) (1 feed.xml)" in out
    return folder


def episodes(home: Path) -> dict[str, object]:
    with open_store(home / "podgrep.db") as store:
        return {e.guid: e for e in store.list_episodes()}


def test_files_of_every_episode(site: Path, home: Path):
    for ep in episodes(home).values():
        d = site / "episodes" / str(ep.id)  # type: ignore[attr-defined]
        assert (d / "index.html").is_file()
        assert '"segments"' in (d / "transcript.json").read_text()
        assert (d / "transcript.vtt").read_text().startswith("WEBVTT")
        assert '"version": "1.2.0"' in (d / "chapters.json").read_text()
    page = (site / "episodes" / str(episodes(home)["ep-jfk"].id) / "index.html").read_text()  # type: ignore[attr-defined]
    assert "<script>window.__pwned" not in page and "&lt;script&gt;window.__pwned" in page
    assert 'http-equiv="Content-Security-Policy"' in page and "script-src &#39;self&#39;" in page
    assert "<script>" not in page  # no inline script anywhere


def test_feed_read_by_podcastparser_and_feedparser(site: Path, home: Path):
    podcastparser = pytest.importorskip("podcastparser")
    feed = site / "shows" / "1" / "feed.xml"
    with feed.open("rb") as fh:
        parsed = podcastparser.parse(BASE + "shows/1/feed.xml", fh)
    fp = feedparser.parse(feed.read_bytes())
    assert not fp.bozo, fp.get("bozo_exception")
    stored = episodes(home)
    assert parsed["title"] == fp.feed.title == "Data Talk"
    assert len(parsed["episodes"]) == len(fp.entries) == len(stored)
    by_guid = {e["guid"]: e for e in parsed["episodes"]}
    fp_by_guid = {e.id: e for e in fp.entries}
    assert set(by_guid) == set(fp_by_guid) == set(stored)
    for guid, ep in stored.items():
        d = f"{BASE}episodes/{ep.id}/"  # type: ignore[attr-defined]
        item = by_guid[guid]
        [enc] = item["enclosures"]
        assert (enc["url"], enc["file_size"], enc["mime_type"]) == (
            ep.media_url, ep.media_length, ep.media_type,  # type: ignore[attr-defined]
        )  # fmt: skip
        assert item["title"] == ep.title  # type: ignore[attr-defined]
        assert item["published"] == int(ep.published)  # type: ignore[attr-defined]
        assert item["transcript_url"] in (d + "transcript.json", d + "transcript.vtt")
        assert item["chapters_json_url"] == d + "chapters.json"
        entry = fp_by_guid[guid]
        [link] = [x for x in entry.links if x.rel == "enclosure"]
        assert (link.href, int(link.length), link.type) == (
            ep.media_url, ep.media_length, ep.media_type,  # type: ignore[attr-defined]
        )  # fmt: skip
        assert entry.guidislink is False
    # the published files themselves answer what the tags promise
    for url in (d + "transcript.json", d + "chapters.json", d + "transcript.vtt"):
        assert (site / url.removeprefix(BASE)).is_file()


def test_named_speaker_becomes_podcast_person_and_rerun_writes_only_that(
    home: Path, tmp_path: Path
):
    podcastparser = pytest.importorskip("podcastparser")
    folder = tmp_path / "site"
    code, out, err = invoke(["publish", str(folder), "--base-url", BASE, "--show", "1"], home)
    assert code == 0, err
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*")}
    code, out, err = invoke(["publish", str(folder), "--base-url", BASE, "--show", "1"], home)
    assert code == 0, err
    assert "written 0, unchanged" in out and "removed 0" in out
    assert before == {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*")}

    jfk = episodes(home)["ep-jfk"]
    with open_store(home / "podgrep.db") as store:
        label = store.list_speakers(jfk.id)[0].label  # type: ignore[attr-defined]
        store.rename_speaker(jfk.id, label, "John F. Kennedy")  # type: ignore[attr-defined]
    try:
        code, out, err = invoke(["publish", str(folder), "--base-url", BASE], home)
        assert code == 0, err
    finally:
        with open_store(home / "podgrep.db") as store:
            store.rename_speaker(jfk.id, label, None)  # type: ignore[attr-defined]
    changed = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
               and (p.stat().st_ino, p.stat().st_mtime_ns) != before.get(p)}  # fmt: skip
    d = f"episodes/{jfk.id}/"  # type: ignore[attr-defined]
    assert changed == {
        d + "index.html", d + "transcript.json", d + "transcript.vtt",
        "search-index.js", "shows/1/feed.xml", ".podgrep-publish.json",
    }  # fmt: skip
    assert "John F. Kennedy" in (folder / d / "index.html").read_text()
    with (folder / "shows/1/feed.xml").open("rb") as fh:
        parsed = podcastparser.parse(BASE + "shows/1/feed.xml", fh)
    item = next(e for e in parsed["episodes"] if e["guid"] == "ep-jfk")
    assert [p["name"] for p in item["persons"]] == ["John F. Kennedy"]


def test_without_base_url_no_feed_and_foreign_folder_refused(home: Path, tmp_path: Path):
    code, out, err = invoke(["publish", str(tmp_path / "a")], home)
    assert code == 0, err
    assert "feed.xml not written" in err and "--base-url" in err
    assert not list((tmp_path / "a").rglob("feed.xml"))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "index.html").write_text("mine")
    code, out, err = invoke(["publish", str(tmp_path / "b")], home)
    assert code == 1 and "did not publish" in err
    assert (tmp_path / "b" / "index.html").read_text() == "mine"
    code, out, err = invoke(["publish", str(tmp_path / "c"), "--base-url", "file:///etc/"], home)
    assert code == 1 and "http(s)" in err


# -- the site in a real browser ---------------------------------------------------------------


@pytest.fixture(scope="module")
def static(site: Path) -> Iterator[LocalServer]:
    with LocalServer(site) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from tests.test_web_browser import CHROMIUM_ARGS

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    pg = context.new_page()
    pg.problems = []
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    pg.on("console", lambda m: m.type == "error" and pg.problems.append(m.text))
    pg.on("response", lambda r: r.status >= 400 and pg.problems.append(f"{r.status} {r.url}"))
    yield pg
    assert pg.evaluate("window.__pwned") is None
    context.close()


def wait_time_near(page: object, seconds: float, tolerance: float) -> None:
    page.wait_for_function(  # type: ignore[attr-defined]
        "([t, tol]) => { const a = document.getElementById('player');"
        " return a && a.readyState >= 1 && Math.abs(a.currentTime - t) <= tol; }",
        arg=[seconds, tolerance],
        timeout=15000,
    )


def test_search_in_the_browser_then_the_player_seeks(page, static: LocalServer, home: Path):
    conv = episodes(home)["ep-conv-a"]
    page.goto(static.url("index.html"))
    assert page.locator(".show-card").count() == 1
    assert "Data Talk" in page.locator(".show-card").inner_text()
    page.get_by_role("searchbox", name="Search every transcript").fill('"preaching to the choir"')
    page.keyboard.press("Enter")
    hit = page.locator("li.hit").first
    hit.wait_for()
    assert hit.locator("mark").first.inner_text().lower() == "preaching to the choir"
    link = hit.locator("a.hit-link")
    href = link.get_attribute("href")
    assert href.startswith(f"episodes/{conv.id}/index.html#t=")  # type: ignore[attr-defined]
    second = float(href.split("#t=")[1])
    assert second > 0
    link.click()
    page.wait_for_url(f"**/episodes/{conv.id}/index.html#t=*")  # type: ignore[attr-defined]
    wait_time_near(page, second, 0.6)
    assert "choir" in page.locator(".seg.current").inner_text().lower()
    sentence = page.locator(".seg").nth(12)
    start = float(sentence.get_attribute("data-start"))
    sentence.locator(".text").click()
    wait_time_near(page, start, 1.5)
    assert page.url.endswith(f"#t={sentence.get_attribute('data-start')}")
    assert not page.problems, page.problems


def test_hostile_text_stays_text_in_the_browser(page, static: LocalServer, home: Path):
    jfk = episodes(home)["ep-jfk"]
    page.goto(static.url(f"episodes/{jfk.id}/index.html#t=10.6"))  # type: ignore[attr-defined]
    page.wait_for_selector(".seg.current")
    assert "<script>" in page.locator(".seg.current .text").inner_text()
    page.goto(static.url("index.html?q=zanzibar"))
    page.locator("li.hit").first.wait_for()
    assert "<img src=x" in page.locator("li.hit .hit-text").first.inner_text()
    assert not page.problems, page.problems


def test_manifest_removes_only_its_own_files(tmp_path: Path):
    from podgrep.publish.manifest import MANIFEST, write_site

    site = tmp_path / "site"
    first = write_site(site, {"index.html": b"a", "episodes/1/index.html": b"b"})
    assert sorted(first.written) == ["episodes/1/index.html", "index.html"]
    (site / "notes.txt").write_text("the user's own file")
    again = write_site(site, {"index.html": b"a2"})
    assert again.written == ["index.html"] and again.removed == ["episodes/1/index.html"]
    assert not (site / "episodes").exists()  # emptied folders pruned
    assert (site / "notes.txt").read_text() == "the user's own file"
    # a manifest edited to point outside the folder is never followed
    outside = tmp_path / "victim.txt"
    outside.write_text("keep")
    (site / MANIFEST).write_text('{"files": {"../victim.txt": "x", "index.html": "y"}}')
    write_site(site, {"index.html": b"a2"})
    assert outside.read_text() == "keep"
