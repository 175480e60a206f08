"""Channels and playlists: a page yt-dlp's generic extractor lists as a playlist, followed
like a feed (sources/playlist.py), on the real local server with real speech."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np

from podgrep import net
from podgrep.domain import Show
from podgrep.jobs.schedule import next_due
from podgrep.runtime import open_store
from podgrep.sources import playlist
from podgrep.sources import url as url_source
from tests.conftest import DATA, invoke


def _page(served, name: str, title: str, players: list[str]) -> str:
    """An HTML page with one player per media address (`video:` marks a <video>)."""
    tags = []
    for src in players:
        element = "video" if src.startswith("video:") else "audio"
        where = src.removeprefix("video:")
        tags.append(f'<{element} controls src="{where}"></{element}>')
    body = "\n".join(tags)
    (served.root / name).write_text(
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>\n{body}\n</body></html>",
        encoding="utf-8",
    )
    return served.url(name)


def _copies(served, *names: str) -> None:
    for name in names:
        shutil.copy(DATA / "jfk.flac", served.root / name)


def _status(home: Path) -> dict:
    code, out, err = invoke(["status", "--json"], home)
    assert code == 0, err
    return json.loads(out)


def _episodes(home: Path) -> list:
    store = open_store(str(home / "podgrep.db"))
    try:
        (show,) = store.list_shows()
        return store.list_episodes(show.id)
    finally:
        store.close()


def test_a_page_of_players_is_followed_like_a_feed(served, tmp_path: Path):
    _copies(served, "pl-one.flac", "pl-two.flac", "pl-three.flac")
    page = _page(served, "channel.html", "Speeches", ["pl-one.flac", "pl-two.flac"])
    home = tmp_path / "home"
    code, out, err = invoke(["add", page], home)
    assert code == 0, err
    assert "Added playlist Speeches" in out and "2 new, 2 episodes" in out
    assert "the playlist gives no durations" in err
    store = open_store(str(home / "podgrep.db"))
    try:
        (show,) = store.list_shows()
        assert (show.kind, show.feed_url, show.title) == ("playlist", page, "Speeches")
        assert next_due(show, 3600) == 0.0  # due like a feed: never checked yet
        eps = store.list_episodes(show.id)
    finally:
        store.close()
    assert sorted(e.media_url for e in eps) == [
        served.url("pl-one.flac"),
        served.url("pl-two.flac"),
    ]
    assert {e.media_type for e in eps} == {url_source.YTDLP_TYPE}

    code, _, err = invoke(["sync"], home)
    assert code == 0, err
    assert _status(home)["shows"][0]["transcribed"] == 2
    code, out, _ = invoke(["search", "fellow americans", "--json"], home)
    assert len(out.splitlines()) == 2

    # a playlist is no RSS feed: left out of the OPML export
    code, out, _ = invoke(["opml"], home)
    assert code == 0 and page not in out

    # the page gains one entry: the next sync lists it again and adds exactly that one
    _page(served, "channel.html", "Speeches", ["pl-one.flac", "pl-two.flac", "pl-three.flac"])
    code, _, err = invoke(["sync"], home)
    assert code == 0, err
    assert "Speeches: 1 new episode" in err
    shows = _status(home)["shows"]
    assert (shows[0]["episodes"], shows[0]["transcribed"]) == (3, 3)
    new = [e for e in _episodes(home) if e.media_url == served.url("pl-three.flac")]
    assert len(new) == 1 and new[0].status == "indexed"

    # unchanged: nothing new, nothing redone
    code, _, err = invoke(["sync"], home)
    assert code == 0, err
    assert "new episode" not in err
    assert _status(home)["shows"][0]["episodes"] == 3

    # the page goes away: the check fails on the show with yt-dlp's reason; episodes stay
    (served.root / "channel.html").unlink()
    code, _, err = invoke(["sync"], home)
    line = f"yt-dlp could not list {page}: Unable to download webpage: HTTP Error 404: Not Found"
    assert line in err
    store = open_store(str(home / "podgrep.db"))
    try:
        (show,) = store.list_shows()
    finally:
        store.close()
    assert show.check_failures == 1  # backed off by the schedule like a failing feed
    status = _status(home)["shows"][0]
    assert status["last_error"] == line and status["episodes"] == 3


def _no_audio_video(path: Path) -> None:
    """A real MP4 with a video stream and no audio (ten tiny frames)."""
    out = av.open(str(path), "w")
    stream = out.add_stream("mpeg4", rate=10)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    for i in range(10):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()


def test_an_entry_that_is_not_audio_is_parked_and_the_others_done(served, tmp_path: Path):
    _copies(served, "mixed-speech.flac")
    _no_audio_video(served.root / "mixed-silent.mp4")
    page = _page(served, "mixed.html", "Mixed", ["mixed-speech.flac", "video:mixed-silent.mp4"])
    home = tmp_path / "home"
    code, out, err = invoke(["add", page], home)
    assert code == 0, err
    assert "Added playlist Mixed" in out and "2 new" in out
    code, _, err = invoke(["sync"], home)
    assert "has no audio stream" in err
    by_url = {e.media_url: e for e in _episodes(home)}
    assert by_url[served.url("mixed-speech.flac")].status == "indexed"
    parked = by_url[served.url("mixed-silent.mp4")]
    assert parked.status != "indexed"
    code, out, _ = invoke(["status"], home)
    assert "has no audio stream" in out and "mixed-silent.mp4" in out


def test_a_page_without_media_and_a_dead_link_are_one_line(served, tmp_path: Path):
    home = tmp_path / "home"
    code, _, err = invoke(["add", served.url("page.html")], home)  # "<h1>Hello</h1>" only
    assert code == 1
    assert "page.html is a web page, not a podcast feed" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = invoke(["add", served.url("gone-channel.html")], home)
    assert code == 1
    assert "404" in err and len(err.strip().splitlines()) == 1


def test_entries_on_addresses_the_guard_refuses_are_left_out(served, tmp_path: Path):
    """The playlist's address is the user's; what it lists is the page's content: an entry
    on another loopback address (127.0.0.2, not the machine the page was named by) is not
    followed (a note says so on add and on sync), an entry whose own page puts its media
    there is refused before yt-dlp downloads it, a page of nothing else is refused in one
    line, and a page down to one player still lists it."""
    _copies(served, "guarded.flac")
    port = served.url("").split(":")[2].split("/")[0]
    inside = f"http://127.0.0.2:{port}/guarded.flac"
    _page(served, "guarded-entry.html", "Entry", [inside])  # its media on 127.0.0.2
    page = _page(served, "guarded.html", "Guarded", ["guarded.flac", inside, "guarded-entry.html"])
    home = tmp_path / "home"
    code, out, err = invoke(["add", page], home)
    assert code == 0, err
    assert "2 new, 2 episodes" in out
    note = f"note: 1 entry of {page} left out: its address is not reachable under its rules"
    assert note in " ".join(err.split())
    assert sorted(e.media_url for e in _episodes(home)) == [
        served.url("guarded-entry.html"),
        served.url("guarded.flac"),
    ]
    code, _, err = invoke(["sync"], home)
    flat = " ".join(err.split())
    assert note in flat
    assert f"would download from {inside}, a loopback, private or reserved address" in flat
    by_url = {e.media_url: e for e in _episodes(home)}
    assert by_url[served.url("guarded.flac")].status == "indexed"
    assert by_url[served.url("guarded-entry.html")].status != "indexed"

    # down to one player: yt-dlp reads a single video, still this playlist's one entry
    _page(served, "guarded.html", "Guarded", ["guarded.flac"])
    code, _, err = invoke(["sync"], home)
    assert "feed error" not in err and "no longer lists" not in err
    store = open_store(str(home / "podgrep.db"))
    try:
        (show,) = store.list_shows()
    finally:
        store.close()
    assert (show.check_failures, show.title) == (0, "Guarded")
    assert len(_episodes(home)) == 2
    only = _page(served, "inside.html", "Inside", [inside, f"http://10.0.0.1:{port}/x.flac"])
    code, _, err = invoke(["add", only], home)
    assert code == 1
    assert "lists 2 entries, all on loopback, private or reserved addresses" in err


def test_a_site_listing_of_videos_becomes_episodes():
    """yt-dlp's flat listing of a site's playlist (unresolved `url` entries, as a channel of
    a video site gives them): each entry's own page is what yt-dlp downloads later."""
    info = {
        "_type": "playlist",
        "extractor": "youtube:tab",
        "title": "A Channel - Videos",
        "channel": "A Channel",
        "thumbnails": [{"url": "https://i.example.com/small.jpg"}, {"url": "/big.jpg"}],
        "webpage_url": "https://video.example.com/@a/videos",
        "entries": [
            {
                "_type": "url",
                "url": "https://video.example.com/watch?v=one",
                "title": "First talk",
                "duration": 61.5,
                "upload_date": "20240102",
                "description": "<b>notes</b>",
            },
            {"_type": "url", "url": "https://video.example.com/watch?v=two", "timestamp": 5},
            {"_type": "url", "url": "javascript:alert(1)"},  # no http(s) address: skipped
            {"_type": "url", "url": "https://video.example.com/watch?v=one"},  # listed twice
        ],
    }
    assert playlist.is_playlist(info)
    rules = net.Guard(restricted=True, resolve=(("video.example.com", "93.184.215.14"),))
    show, episodes, refused = playlist.show_of(info, "https://video.example.com/@a", rules)
    assert (show.kind, show.title, show.author) == ("playlist", "A Channel - Videos", "A Channel")
    assert show.image == "https://video.example.com/big.jpg"
    assert refused == 0 and len(episodes) == 2
    first, second = episodes
    assert first.media_url == first.guid == "https://video.example.com/watch?v=one"
    assert (first.title, first.duration, first.published) == ("First talk", 61.5, 1704153600.0)
    assert first.show_notes_html == "<b>notes</b>"
    assert second.title == second.media_url and second.published == 5.0
    # a page with a single player is one episode, as before; a site's playlist is followed
    one = {"_type": "playlist", "extractor": "generic", "entries": [{"id": "x"}]}
    assert not playlist.is_playlist(one)
    assert playlist.is_playlist({**one, "extractor": "youtube:tab"})
    assert not playlist.is_playlist({"_type": "video", "extractor": "generic"})
    assert next_due(Show(id=1, feed_url="u", title="t", kind="playlist", paused=True), 60) is None


def test_a_channel_root_lists_the_videos_of_its_tabs_not_the_tabs():
    """yt-dlp's flat listing of a channel's root (youtube.com/@X) nests one playlist per
    tab (Videos, Shorts, Live): their entries are the episodes, each once, never a tab's own
    address; a tab listed without entries is listed once more (at most MAX_TABS), and one
    that still has none is told in a note."""

    def video(v: str) -> dict:
        return {
            "_type": "url",
            "ie_key": "Youtube",
            "url": f"https://video.example.com/watch?v={v}",
        }

    def tab(name: str, entries: list | None) -> dict:
        found = {
            "_type": "playlist" if entries is not None else "url",
            "ie_key": "YoutubeTab",
            "title": f"A Channel - {name}",
            "url": f"https://video.example.com/@a/{name.lower()}",
            "webpage_url": f"https://video.example.com/@a/{name.lower()}",
        }
        return found if entries is None else {**found, "entries": entries}

    info = {
        "_type": "playlist",
        "extractor": "youtube:tab",
        "title": "A Channel",
        "webpage_url": "https://video.example.com/@a",
        "entries": [
            tab("Videos", [video("one"), video("two")]),
            tab("Shorts", [video("short"), video("one")]),  # a video in two tabs: once
            tab("Live", None),  # not listed by yt-dlp: an unresolved tab
        ],
    }
    rules = net.Guard(restricted=True, resolve=(("video.example.com", "93.184.215.14"),))
    show, episodes, refused = playlist.show_of(info, "https://video.example.com/@a", rules)
    urls = [e.media_url for e in episodes]
    assert urls == [f"https://video.example.com/watch?v={v}" for v in ("one", "two", "short")]
    assert refused == 0 and not any("/@a/" in u for u in urls)
    assert playlist.unlisted(info) == ["A Channel - Live"]
    (line,) = playlist.notes(info, "https://video.example.com/@a", refused)
    assert "1 playlist(s) inside https://video.example.com/@a not listed (A Channel - Live)" in line

    # the unlisted tab listed once more; many such tabs: at most MAX_TABS listings
    asked: list[str] = []

    def lister(where: str) -> dict:
        asked.append(where)
        return {"_type": "playlist", "entries": [video("live")]}

    playlist.expand_tabs(info, "https://video.example.com/@a", lister)
    assert asked == ["https://video.example.com/@a/live"]
    _, episodes, _ = playlist.show_of(info, "https://video.example.com/@a", rules)
    assert [e.media_url for e in episodes][-1] == "https://video.example.com/watch?v=live"
    assert playlist.unlisted(info) == [] and playlist.notes(info, "u", 0) == []
    many = {"_type": "playlist", "entries": [tab(f"T{i}", None) for i in range(5)]}
    asked.clear()
    playlist.expand_tabs(many, "https://video.example.com/@a", lister)
    assert len(asked) == playlist.MAX_TABS
    assert len(playlist.unlisted(many)) == 5 - playlist.MAX_TABS
