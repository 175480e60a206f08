"""A library for the web tests: the synced test library plus a hostile feed, built once.

The hostile feed carries `<script>`, `onerror=` and `javascript:` in its titles, notes, links
and artwork, a duplicated guid, an item with no guid, no enclosure type or length and an
unreadable date (whose audio is corrupt, so its job fails), and a chapters JSON file. One
transcript segment is given hostile text too. Every payload sets `window.__pwned`, so a browser
test can tell whether any of it ran.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from podgrep.domain import Segment
from podgrep.runtime import open_store
from tests.conftest import Served, invoke

HOSTILE_TITLE = "<script>window.__pwned='title'</script>Hostile \"Ask Not\" & friends"
HOSTILE_SHOW = "Evil <img src=x onerror=\"window.__pwned='show'\"> Show"
HOSTILE_SEGMENT = (
    "<script>window.__pwned='segment'</script> <img src=x onerror=\"window.__pwned='seg'\"> "
    "zanzibar quokka"
)
HOSTILE_NOTES = (
    "<p>Hello <b>listener</b>.</p>"
    "<script>window.__pwned='notes'</script>"
    "<img src=x onerror=\"window.__pwned='img'\">"
    "<a href=\"javascript:window.__pwned='link'\">click me</a> "
    "<a href=\"JaVaScRiPt:window.__pwned='link2'\">or me</a> "
    '<a href="https://example.com/safe" onclick="window.__pwned=\'onclick\'">a safe link</a>'
    "<svg onload=\"window.__pwned='svg'\"><circle r='1'/></svg>"
    "<iframe src=\"javascript:window.__pwned='iframe'\"></iframe>"
    "<form action=\"javascript:window.__pwned='form'\"><button>go</button></form>"
    "<p>00:00 Intro<br>00:05 The ask</p>"
)
HOSTILE_DESCRIPTION = "<b onmouseover=\"window.__pwned='desc'\">Bold</b> claims"
HOSTILE_CHAPTERS = {
    "version": "1.2.0",
    "chapters": [
        {"startTime": 0, "title": "Opening <script>window.__pwned='chapter'</script>"},
        {"startTime": 6.5, "title": "Ask not", "url": "javascript:window.__pwned='churl'"},
    ],
}


def _x(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hostile_feed(base: str) -> str:
    """The hostile RSS document with media served at `base`."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel>
  <title>{_x(HOSTILE_SHOW)}</title>
  <link>javascript:window.__pwned='showlink'</link>
  <language>en</language>
  <description>{_x(HOSTILE_DESCRIPTION)}</description>
  <itunes:image href="javascript:window.__pwned='art'"/>
  <item>
    <title>{_x(HOSTILE_TITLE)}</title>
    <guid isPermaLink="false">evil-1</guid>
    <link>javascript:window.__pwned='eplink'</link>
    <pubDate>Tue, 01 Aug 2023 10:00:00 GMT</pubDate>
    <enclosure url="{base}/jfk.flac" type="audio/flac" length="1152693"/>
    <podcast:chapters url="{base}/hostile-chapters.json" type="application/json+chapters"/>
    <description><![CDATA[{HOSTILE_NOTES}]]></description>
  </item>
  <item>
    <title>Same guid again</title>
    <guid isPermaLink="false">evil-1</guid>
    <pubDate>Wed, 02 Aug 2023 10:00:00 GMT</pubDate>
    <enclosure url="{base}/jfk.flac" type="audio/flac" length="1152693"/>
  </item>
  <item>
    <title>Broken audio</title>
    <pubDate>not a date at all</pubDate>
    <enclosure url="{base}/corrupt.mp3"/>
  </item>
</channel>
</rss>
"""


@dataclass
class WebLibrary:
    """A library home with both feeds synced, and ids the tests look for."""

    home: Path
    data_talk: int  # show id
    evil: int  # show id
    jfk: int  # episode "Ask Not"
    conversation: int  # episode "Yannic Kilcher on Open Assistant"
    hostile: int  # the hostile episode (jfk audio)
    broken: int  # the episode whose audio is corrupt (failed job)


_BUILT: dict[str, WebLibrary] = {}


def build(served: Served, library: Path, tmp_path_factory: pytest.TempPathFactory) -> WebLibrary:
    """Copy the synced test library, add the hostile feed and sync it (once per session)."""
    if "base" in _BUILT:
        return _BUILT["base"]
    base = served.url("").rstrip("/")
    (served.root / "hostile.xml").write_text(hostile_feed(base), encoding="utf-8")
    (served.root / "hostile-chapters.json").write_text(json.dumps(HOSTILE_CHAPTERS))
    home = tmp_path_factory.mktemp("web-library")
    shutil.copytree(library, home, dirs_exist_ok=True)
    code, out, err = invoke(["add", served.url("hostile.xml")], home)
    assert code == 0, err
    code, out, err = invoke(["sync"], home)
    assert code == 3, err  # the corrupt enclosure fails; everything else is transcribed
    with open_store(home / "podgrep.db") as store:
        shows = {s.title: s.id for s in store.list_shows()}
        episodes = {e.guid: e for e in store.list_episodes()}
        hostile = episodes["evil-1"]
        transcript = store.transcript_for(hostile.id or 0)
        assert transcript is not None and transcript.id is not None
        store.add_segment(
            transcript.id, Segment(start=10.6, end=10.9, text=HOSTILE_SEGMENT), window=999
        )
        broken = next(e for e in episodes.values() if e.title == "Broken audio")
        built = WebLibrary(
            home=home,
            data_talk=shows["Data Talk"] or 0,
            evil=shows[HOSTILE_SHOW] or 0,
            jfk=episodes["ep-jfk"].id or 0,
            conversation=episodes["ep-conv-a"].id or 0,
            hostile=hostile.id or 0,
            broken=broken.id or 0,
        )
    _BUILT["base"] = built
    return built


def copy_of(built: WebLibrary, dest: Path) -> WebLibrary:
    """The same library in another folder, for tests that change it."""
    shutil.copytree(built.home, dest, dirs_exist_ok=True)
    return WebLibrary(dest, *(getattr(built, f) for f in list(built.__dataclass_fields__)[1:]))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """`podgrep serve` in a subprocess, started and stopped by the test."""

    def __init__(self, home: Path, *args: str, env_token: str | None = None) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "PODGREP_TOKEN"}
        if env_token:
            env["PODGREP_TOKEN"] = env_token
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "podgrep",
                "serve",
                "--home",
                str(home),
                "--port",
                str(self.port),
                *args,
            ],  # fmt: skip
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"podgrep serve exited: {self.proc.stderr.read()}")  # type: ignore[union-attr]
            try:
                httpx.get(self.url + "/api/jobs", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("podgrep serve did not answer within 30 s")

    def stop(self) -> str:
        """Stop the server; return what it printed on stderr."""
        self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err
