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
PODCAST = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"


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
        "search/s/0.js", "shows/1/feed.xml", ".podgrep-publish.json",
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


RICH = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel>
  <title>Data Talk</title>
  <link>{base}/</link>
  <description>Test show</description>
  <copyright>&#169; 2023 Data Talk</copyright>
  <itunes:category text="Technology"><itunes:category text="Tech News"/></itunes:category>
  <itunes:explicit>false</itunes:explicit>
  <podcast:funding url="https://donate.example.org/">Support the show</podcast:funding>
  <podcast:guid>917393e3-1b1e-5cef-ace4-edaa54e1f810</podcast:guid>
  <item>
    <title>Yannic Kilcher on Open Assistant</title>
    <guid isPermaLink="false">ep-conv-a</guid>
    <pubDate>Mon, 10 Jul 2023 10:00:00 GMT</pubDate>
    <enclosure url="{base}/conversation_a.mp3" type="audio/mpeg" length="1000"/>
    <itunes:episode>7</itunes:episode>
    <content:encoded><![CDATA[<p>Rich <b>notes</b></p>]]></content:encoded>
    <podcast:chapters url="https://cdn.example.org/theirs.json" type="application/json+chapters"/>
  </item>
  <item>
    <title>Ask Not</title>
    <guid isPermaLink="false">https://pods.example.org/ask-not</guid>
    <pubDate>Tue, 11 Jul 2023 10:00:00 GMT</pubDate>
    <enclosure url="{base}/jfk.flac" type="audio/flac" length="1000"/>
  </item>
  <item>
    <title>Not transcribed</title>
    <guid>never-published</guid>
  </item>
</channel>
</rss>
"""


def test_republished_feed_keeps_the_original(home: Path, served, tmp_path: Path):
    """The feed as served (fetched by a real sync) is republished whole, with the tags added."""
    podcastparser = pytest.importorskip("podcastparser")
    own = tmp_path / "home"
    shutil.copytree(home, own)
    (served.root / "rich.xml").write_text(RICH.format(base=served.url("").rstrip("/")))
    with open_store(own / "podgrep.db") as store:
        assert store.feed_xml(1) is not None  # kept by `add`
        store.move_show(1, served.url("rich.xml"))
        store._exec("UPDATE shows SET etag=NULL, last_modified=NULL")  # type: ignore[attr-defined]
        jfk = next(e for e in store.list_episodes() if e.guid == "ep-jfk")
        store._exec(  # type: ignore[attr-defined]
            "UPDATE episodes SET guid='https://pods.example.org/ask-not' WHERE guid='ep-jfk'"
        )
        label = store.list_speakers(jfk.id or 0)[0].label
        store.rename_speaker(jfk.id or 0, label, "John F. Kennedy")
    code, out, err = invoke(["sync"], own)
    assert code == 0, err
    code, out, err = invoke(["publish", str(tmp_path / "s"), "--base-url", BASE], own)
    assert code == 0, err
    assert "rebuilt" not in err
    xml = (tmp_path / "s/shows/1/feed.xml").read_bytes()
    served_xml = (served.root / "rich.xml").read_bytes()
    # the original's bytes, in order, with only insertions
    rest = iter(xml)
    assert all(b in rest for b in served_xml)
    for kept in (
        b'<itunes:category text="Technology"><itunes:category text="Tech News"/>',
        b"<podcast:funding url=", b"<copyright>&#169; 2023", b"<podcast:guid>",
        b"<content:encoded><![CDATA[<p>Rich <b>notes</b></p>]]>", b"<itunes:episode>7<",
        b'<guid isPermaLink="false">https://pods.example.org/ask-not</guid>',
        b"<title>Not transcribed</title>",
    ):  # fmt: skip
        assert kept in xml, kept
    assert xml.count(b"<podcast:chapters ") == 2  # theirs kept (not ours added), ours for Ask Not
    assert b"theirs.json" in xml
    with (tmp_path / "s/shows/1/feed.xml").open("rb") as fh:
        parsed = podcastparser.parse(BASE + "shows/1/feed.xml", fh)
    by_guid = {e["guid"]: e for e in parsed["episodes"]}
    eps = {e.guid: e for e in episodes(own).values()}  # type: ignore[attr-defined]
    conv, ask = eps["ep-conv-a"], eps["https://pods.example.org/ask-not"]
    for ep in (conv, ask):
        d = f"{BASE}episodes/{ep.id}/"  # type: ignore[attr-defined]
        assert by_guid[ep.guid]["transcript_url"] in (d + "transcript.json", d + "transcript.vtt")  # type: ignore[attr-defined]
    assert by_guid[ask.guid]["chapters_json_url"].endswith(f"episodes/{ask.id}/chapters.json")  # type: ignore[attr-defined]
    assert [p["name"] for p in by_guid[ask.guid]["persons"]] == ["John F. Kennedy"]  # type: ignore[attr-defined]
    assert by_guid[conv.guid]["description_html"] == "<p>Rich <b>notes</b></p>"  # type: ignore[attr-defined]
    fp = feedparser.parse(xml)
    assert not fp.bozo, fp.get("bozo_exception")
    assert [t.term for t in fp.feed.tags] == ["Technology", "Tech News"]
    assert fp.feed.rights == "\u00a9 2023 Data Talk" and "itunes_explicit" in fp.feed
    assert fp.feed.podcast_funding == {"url": "https://donate.example.org/"}
    assert fp.feed.podcast_guid == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    entries = {e.id: e for e in fp.entries}
    assert entries["ep-conv-a"].content[0].value == "<p>Rich <b>notes</b></p>"
    assert entries["ep-conv-a"].itunes_episode == "7"
    assert entries[ask.guid].guidislink is False  # type: ignore[attr-defined]
    # feedparser names tags of a namespace it does not know by their prefix, as written: the
    # tags must be `podcast:…` even though this feed binds `podcast` to the newer URI
    item = entries[ask.guid].items()  # type: ignore[attr-defined]
    tags = {k[len("podcast_") :]: v for k, v in item if k.startswith("podcast_")}
    d = f"{BASE}episodes/{ask.id}/"  # type: ignore[attr-defined]
    assert tags["chapters"] == {"url": d + "chapters.json", "type": "application/json+chapters"}
    vtt = tags["transcript"]
    assert (vtt["url"], vtt["rel"]) == (d + "transcript.vtt", "captions")
    assert tags["person"] == {"role": "guest"}
    assert len(fp.entries) == 3


def test_republish_refuses_entities_and_atom():
    from podgrep.domain import Episode
    from podgrep.publish.original import republish
    from podgrep.publish.rss import PublishedItem

    item = PublishedItem(Episode(1, 1, "g", "t"), transcript_json="https://x.example/t.json")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<rss><channel><item><guid>g</guid><title>&b;</title></item></channel></rss>"
    )
    assert republish(bomb, [item]) is None
    external = (
        b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file:///etc/passwd">'
        b"<rss><channel><item><guid>g</guid></item></channel></rss>"
    )
    plain = external.replace(b'<!DOCTYPE rss SYSTEM "file:///etc/passwd">', b"")
    assert republish(plain, [item]) is not None
    out = republish(external, [item])
    assert out is None or b"root:" not in out
    atom = b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>g</id></entry></feed>'
    assert republish(atom, [item]) is None
    # the tags are `podcast:…` whatever prefix the document gives the namespace (feedparser
    # reads names as written), declared on the root when the document has no `podcast` prefix;
    # a UTF-16 document stays UTF-16
    first = plain.replace(b"<rss>", f'<rss xmlns:p20="{PODCAST}">'.encode())
    out = republish(first, [item]) or b""
    assert b"<podcast:transcript url=" in out and f'<rss xmlns:podcast="{PODCAST}"'.encode() in out
    wide = republish("<?xml version='1.0' encoding='utf-16'?>".encode("utf-16")
                     + plain.split(b"?>", 1)[1].decode().encode("utf-16-le"), [item])  # fmt: skip
    assert wide is not None and "<podcast:transcript" in wide.decode("utf-16")


# -- the site in a real browser ---------------------------------------------------------------


@pytest.fixture(scope="module")
def static(site: Path) -> Iterator[LocalServer]:
    with LocalServer(site) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from tests.support.browser import chromium

    with chromium() as b:
        yield b


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
    fetched: list[str] = []
    page.on("request", lambda r: "/search/" in r.url and fetched.append(r.url.split("/search/")[1]))
    page.goto(static.url("index.html"))
    assert page.locator(".show-card").count() == 1
    assert fetched == []  # nothing of the index until a search
    assert "Data Talk" in page.locator(".show-card").inner_text()
    page.get_by_role("searchbox", name="Search every transcript").fill('"preaching to the choir"')
    page.keyboard.press("Enter")
    hit = page.locator("li.hit").first
    hit.wait_for()
    assert hit.locator("mark").first.inner_text().lower() == "preaching to the choir"
    # the index's start, the shards of the words' first two letters, the text they point into
    shards = sorted(p.name for p in (static.root / "search" / "w").iterdir())
    words = [f for f in fetched if f.startswith("w/")]
    assert fetched[0] == "meta.js" and len(words) == 4 < len(shards)
    assert {f for f in fetched if f.startswith("s/")} == {"s/0.js"}
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


def test_site_is_written_file_by_file(tmp_path: Path):
    from podgrep.publish.manifest import write_site

    site = tmp_path / "site"
    seen: list[str] = []

    def files() -> Iterator[tuple[str, bytes]]:
        for n in range(3):
            # each file is on disk before the next one is even made
            assert all((site / rel).read_bytes() == rel.encode() for rel in seen)
            rel = f"episodes/{n}/index.html"
            seen.append(rel)
            yield rel, rel.encode()

    report = write_site(site, files())
    assert report.written == seen and len(seen) == 3
    assert write_site(site, files_again := iter([(r, r.encode()) for r in seen])).unchanged == seen
    assert next(files_again, None) is None
    with pytest.raises(ValueError, match="twice"):
        write_site(site, iter([("a.html", b"1"), ("a.html", b"2")]))


def test_playlist_entry_links_its_page_not_a_player(home: Path, tmp_path: Path):
    own = tmp_path / "home"
    shutil.copytree(home, own)
    page_url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    with open_store(own / "podgrep.db") as store:
        jfk = next(e for e in store.list_episodes() if e.guid == "ep-jfk")
        store._exec(  # type: ignore[attr-defined]
            "UPDATE episodes SET media_type='yt-dlp', media_url=? WHERE id=?", (page_url, jfk.id)
        )
    code, out, err = invoke(["publish", str(tmp_path / "s")], own)
    assert code == 0, err
    html = (tmp_path / "s" / "episodes" / str(jfk.id) / "index.html").read_text()
    assert "<audio" not in html
    assert f'<a href="{page_url.replace("&", "&amp;")}" rel="noopener noreferrer nofollow">' in html
    other = next(e for e in episodes(own).values() if e.guid == "ep-conv-a")  # type: ignore[attr-defined]
    assert "<audio" in (tmp_path / "s" / "episodes" / str(other.id) / "index.html").read_text()  # type: ignore[attr-defined]


def test_raw_feed_kept_in_both_stores_and_copied(pg_url: str, tmp_path: Path):
    """SQLite's BLOB and PostgreSQL's bytea hand back the bytes as kept; `db copy` takes them
    along; a feed over the cap is not kept."""
    from podgrep.domain import Show
    from podgrep.store import copy
    from podgrep.store.sql import FEED_XML_MAX

    raw = b'<?xml version="1.0"?>\n<rss>\x00\xff\xfe caf\xc3\xa9</rss>'
    source = open_store(tmp_path / "a.db")
    sid, _ = source.add_show(Show(None, "https://example.org/feed.xml", "T", kind="feed"))
    assert source.feed_xml(sid) is None
    source.set_feed_xml(sid, raw)
    assert source.feed_xml(sid) == raw
    target = open_store(pg_url)
    try:
        copy.copy_library(source, target)
        assert target.feed_xml(sid) == raw
        target.set_feed_xml(sid, b"x" * (FEED_XML_MAX + 1))
        assert target.feed_xml(sid) is None
    finally:
        source.close()
        target.close()
