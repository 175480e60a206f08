"""A feed's `podcast:transcript` is imported instead of running Whisper, unless asked for both."""

from __future__ import annotations

from pathlib import Path

from podgrep.runtime import open_store
from tests.conftest import Served, invoke

VTT = """WEBVTT

00:00:00.500 --> 00:00:04.000
<v John F. Kennedy>And so my fellow Americans, ask not what your country can do for you,

00:00:04.000 --> 00:00:10.500
<v John F. Kennedy>ask what you can do for your country.
"""

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel><title>Publisher Show</title><link>{base}/</link><description>d</description>
<item>
  <title>Inaugural</title><guid>inaugural</guid>
  <pubDate>Mon, 10 Jul 2023 10:00:00 GMT</pubDate>
  <enclosure url="{base}/jfk.flac" type="audio/flac" length="1000"/>
  <description><![CDATA[<p>Notes <a href="https://www.jfklibrary.org/">JFK Library</a></p>
  <p>00:00 Start</p><p>00:05 Ask what you can do</p>]]></description>
  <podcast:transcript url="{base}/missing.srt" type="application/x-subrip"/>
  <podcast:transcript url="{base}/jfk.vtt" type="text/vtt" language="en"/>
</item>
</channel></rss>
"""


def _feed(served: Served, name: str) -> str:
    base = served.url("").rstrip("/")
    (served.root / "jfk.vtt").write_text(VTT, encoding="utf-8")
    (served.root / name).write_text(FEED.format(base=base), encoding="utf-8")
    return served.url(name)


def test_publisher_transcript_replaces_whisper(served: Served, tmp_path: Path) -> None:
    code, _, err = invoke(["add", _feed(served, "publisher.xml")], tmp_path)
    assert code == 0, err
    code, _, err = invoke(["sync"], tmp_path)
    assert code == 0, err
    with open_store(tmp_path / "podgrep.db") as store:
        sources = store.transcript_sources(1)
        assert [(s.source, s.segments) for s in sources] == [("publisher", 2)]
        assert store.get_episode(1).status == "indexed"
        segments = store.transcript_for(1).segments
        assert segments[0].speaker == "John F. Kennedy" and segments[0].start == 0.5
        assert [c.title for c in store.chapter_rows(1)] == ["Start", "Ask what you can do"]
        assert store.link_rows(1)[0].title == "JFK Library"
    code, out, _ = invoke(["search", "--mode", "keyword", "fellow Americans"], tmp_path)
    assert code == 0 and "00:00:00" in out
    code, out, _ = invoke(["export", "1", "--format", "vtt"], tmp_path)
    assert "<v John F. Kennedy>" in out


def test_whisper_too_keeps_both(served: Served, tmp_path: Path) -> None:
    code, _, err = invoke(["add", _feed(served, "publisher2.xml")], tmp_path)
    assert code == 0, err
    code, _, err = invoke(["sync"], tmp_path, PODGREP_WHISPER_TOO="1")
    assert code == 0, err
    with open_store(tmp_path / "podgrep.db") as store:
        sources = {(s.source, s.model) for s in store.transcript_sources(1)}
    assert ("publisher", None) in sources
    assert any(source == "whisper" and model for source, model in sources)
