"""`podgrep import` onto an episode that already has a transcript (Whisper's, from a real sync
with tiny.en) replaces it whole: one transcript, one set of speakers, each sentence found once,
and the feed's own chapters kept (issue #13)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from podgrep.config import load_settings
from podgrep.runtime import open_store
from podgrep.web import create_app
from tests.conftest import Served, invoke

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel><title>Replace Show</title><link>{base}/</link><description>d</description>
<item>
  <title>Inaugural</title><guid>inaugural-replace</guid>
  <pubDate>Mon, 10 Jul 2023 10:00:00 GMT</pubDate>
  <enclosure url="{base}/jfk.flac" type="audio/flac" length="1000"/>
  <description><![CDATA[<p>00:00 Notes start</p><p>00:06 Notes later</p>]]></description>
  <podcast:chapters url="{base}/replace-chapters.json" type="application/json+chapters"/>
</item>
</channel></rss>
"""

CHAPTERS = {
    "version": "1.2.0",
    "chapters": [
        {"startTime": 0, "title": "Feed opening"},
        {"startTime": 3, "toc": False, "location": {"name": "Capitol", "geo": "geo:38.88,-77.0"}},
        {"startTime": 5, "title": "Feed ask"},
    ],
}

SRT = """1
00:00:00,300 --> 00:00:04,000
Kennedy: And so my fellow Americans, ask not what your country can do for you,

2
00:00:04,000 --> 00:00:08,000
Announcer: The president went on to say it plainly.

3
00:00:08,000 --> 00:00:10,900
Kennedy: Ask what you can do for your country.
"""


@pytest.fixture(scope="module")
def synced(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library whose one episode (jfk.flac) was synced: Whisper transcript, speakers S1…,
    passages, and the feed's chapters JSON."""
    home = tmp_path_factory.mktemp("replace")
    base = served.url("").rstrip("/")
    (served.root / "replace-chapters.json").write_text(json.dumps(CHAPTERS), encoding="utf-8")
    (served.root / "replace.xml").write_text(FEED.format(base=base), encoding="utf-8")
    code, _, err = invoke(["add", served.url("replace.xml")], home)
    assert code == 0, err
    code, _, err = invoke(["sync"], home)
    assert code == 0, err
    with open_store(home / "podgrep.db") as store:
        sources = store.transcript_sources(1)
        assert [s.source for s in sources] == ["whisper"]
        assert {s.label for s in store.list_speakers(1)} == {"S1"}
        assert {c.source for c in store.chapter_rows(1)} == {"feed"}
    return home


def _counts(home: Path) -> dict[str, int]:
    with open_store(home / "podgrep.db") as store:
        one = lambda sql: int(store.db.execute(sql).fetchone()[0])  # noqa: E731
        return {
            "transcripts": one("SELECT COUNT(*) FROM transcripts"),
            "segments": one("SELECT COUNT(*) FROM segments"),
            "fts": one("SELECT COUNT(*) FROM segments_fts WHERE segments_fts MATCH 'fellow'"),
            "passages": one("SELECT COUNT(*) FROM passages"),
            "orphan_passages": one(
                "SELECT COUNT(*) FROM passages p"
                " WHERE NOT EXISTS (SELECT 1 FROM transcripts t WHERE t.id = p.transcript_id)"
            ),
            "speakers": one("SELECT COUNT(*) FROM speakers"),
        }


def _keyword_hits(home: Path, query: str) -> list[dict]:
    code, out, _ = invoke(["search", "--mode", "keyword", query, "--json"], home)
    assert code in (0, 1)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_import_replaces_the_whisper_transcript_whole(synced: Path, tmp_path: Path) -> None:
    assert len(_keyword_hits(synced, "fellow Americans")) == 1  # Whisper's copy
    srt = tmp_path / "jfk.srt"
    srt.write_text(SRT, encoding="utf-8")
    code, out, err = invoke(["import", "1", str(srt)], synced)
    assert code == 0, err
    assert "Imported 3 segments" in out

    with open_store(synced / "podgrep.db") as store:
        assert [s.source for s in store.transcript_sources(1)] == ["publisher"]
        speakers = store.list_speakers(1)
        assert sorted((s.label, s.name) for s in speakers) == [
            ("P1", "Kennedy"),
            ("P2", "Announcer"),
        ]
        segments = store.transcript_for(1).segments
        assert [s.speaker for s in segments] == ["Kennedy", "Announcer", "Kennedy"]
        chapters = store.chapter_rows(1)
        # the feed's chapters JSON stays: the show notes' timestamps must not replace it
        assert [(c.start, c.source) for c in chapters] == [
            (0, "feed"),
            (3, "feed"),
            (5, "feed"),
        ]
    code, out, err = invoke(["export", "1", "--format", "chapters-json"], synced)
    assert code == 0, err
    exported = json.loads(out)["chapters"]
    assert [c.get("title") for c in exported] == ["Feed opening", None, "Feed ask"]
    assert exported[1]["toc"] is False
    assert exported[1]["location"] == {"name": "Capitol", "geo": "geo:38.88,-77.0"}
    counts = _counts(synced)
    assert counts["transcripts"] == 1 and counts["segments"] == 3
    assert counts["speakers"] == 2 and counts["orphan_passages"] == 0
    assert counts["passages"] >= 1 and counts["fts"] == 1
    hits = _keyword_hits(synced, "fellow Americans")
    assert len(hits) == 1 and hits[0]["start"] == 0.3

    # the same file again: nothing doubles
    code, out, err = invoke(["import", "1", str(srt)], synced)
    assert code == 0, err
    assert _counts(synced) == counts
    assert len(_keyword_hits(synced, "fellow Americans")) == 1
    for mode in ("hybrid", "semantic"):
        code, out, _ = invoke(["search", "--mode", mode, "ask not", "--json"], synced)
        assert code == 0 or mode == "semantic"  # meaning alone may find nothing close enough
        starts = [json.loads(line)["start"] for line in out.splitlines() if line.strip()]
        assert len(starts) == len(set(starts)), (mode, starts)

    app = create_app(load_settings(synced))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        rows = client.get("/api/episodes/1/speakers").json()
        assert sorted(r["label"] for r in rows) == ["P1", "P2"]
        page = client.get("/episodes/1").text
        assert page.count("Announcer") >= 1 and "S1" not in page
