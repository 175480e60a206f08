"""The SQLite store: migrations, FTS5 kept in sync by triggers, episode dedupe, job records."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from podgrep.domain import Episode, Segment, Show, Word
from podgrep.runtime import open_store
from podgrep.search import search
from podgrep.store.sqlite import _migrations


def _store(tmp_path: Path):
    store = open_store(tmp_path / "t.db")
    sid, _ = store.add_show(Show(None, "http://x/feed.xml", "Show"))
    [eid] = store.add_episodes(sid, [Episode(None, None, "g1", "Ep", media_url="http://x/a.mp3")])
    return store, eid


def _seg(start: float, text: str, flags: list[str] | None = None) -> Segment:
    words, t = [], start
    for w in text.split():
        words.append(Word(t, t + 0.4, " " + w))
        t += 0.5
    return Segment(start, t, text, words, flags=flags or [])


def test_migrations_are_versioned_and_idempotent(tmp_path: Path):
    store = open_store(tmp_path / "t.db")
    assert store.schema_version >= 1
    store.close()
    again = open_store(tmp_path / "t.db")
    assert again.schema_version >= 1
    tables = {r[0] for r in again.db.execute("SELECT name FROM sqlite_master")}
    assert {"shows", "episodes", "transcripts", "segments", "segments_fts", "jobs"} <= tables
    assert {"speakers", "voiceprints"} <= tables
    assert again.schema_version == max(v for v, _ in _migrations())


def test_migrates_a_version_1_database(tmp_path: Path):
    db = sqlite3.connect(tmp_path / "old.db")
    db.executescript(_migrations()[0][1] + "\nPRAGMA user_version = 1;")
    db.execute("INSERT INTO shows (feed_url, title, added) VALUES ('u', 'Kept', 0)")
    db.commit()
    db.close()
    store = open_store(tmp_path / "old.db")
    assert store.schema_version == max(v for v, _ in _migrations())
    assert store.list_shows()[0].title == "Kept"
    sid = store.list_shows()[0].id
    [eid] = store.add_episodes(sid, [Episode(None, None, "g", "E", media_url="http://x/a.mp3")])
    t = store.open_transcript(eid, "whisper", "tiny.en", "en", None)
    assert store.windows(t.id) == (None, [])
    store.set_windows(t.id, 60.0, [(0, 10), (10, 20)])
    assert store.windows(t.id) == (60.0, [(0, 10), (10, 20)])
    # 0.1 stored a bare list of cuts: still read
    store.db.execute("UPDATE transcripts SET windows_json='[[0, 5]]' WHERE id=?", (t.id,))
    assert store.windows(t.id) == (None, [(0, 5)])


def test_episodes_are_unique_per_show_and_guid(tmp_path: Path):
    store, eid = _store(tmp_path)
    assert store.add_episodes(1, [Episode(None, None, "g1", "Ep again")]) == []
    assert [j.step for j in store.jobs(eid)] == ["fetch", "transcribe", "speakers", "index"]


def test_fts_follows_inserts_deletes_and_boundaries(tmp_path: Path):
    store, eid = _store(tmp_path)
    t = store.open_transcript(eid, "whisper", "tiny.en", "en", 1.0)
    store.add_segment(t.id, _seg(0.0, "we talked about reinforcement"), 0)
    store.add_segment(t.id, _seg(3.0, "learning from human feedback today"), 0)
    store.add_segment(t.id, _seg(7.0, "you", ["hallucination"]), 1)
    hits = search(store, '"reinforcement learning"')
    assert (
        len(hits) == 1 and hits[0].start == 1.5
    )  # the phrase crosses segments: found at "reinforcement"
    assert search(store, "you") == []  # invented text is kept for the record, never searchable
    assert len(search(store, "human")) == 1
    # a killed run's unfinished window is dropped, and the index forgets it too
    store.finish_window(t.id, 0)
    assert store.drop_partial_window(t.id) == 1
    assert len(search(store, "talked")) == 1
    store.db.execute("DELETE FROM segments WHERE idx = 0")
    assert search(store, "talked") == []
    integrity = store.db.execute(
        "INSERT INTO segments_fts(segments_fts, rank) VALUES ('integrity-check', 1)"
    )
    assert integrity is not None


def test_job_parking_and_retry(tmp_path: Path):
    store, eid = _store(tmp_path)
    assert store.pending_work(3) == [(eid, "fetch")]
    store.start_job(eid, "fetch")
    store.fail_job(eid, "fetch", "HTTP 404", park=True, max_attempts=3)
    assert store.pending_work(3) == []
    assert store.get_episode(eid).status == "failed"
    assert store.retry_failed() == 1
    assert store.pending_work(3) == [(eid, "fetch")]
    store.start_job(eid, "fetch")
    store.finish_job(eid, "fetch")
    assert store.pending_work(3) == [(eid, "transcribe")]


def test_database_file_is_plain_sqlite(tmp_path: Path):
    store, _ = _store(tmp_path)
    store.close()
    db = sqlite3.connect(tmp_path / "t.db")
    assert db.execute("SELECT title FROM shows").fetchone() == ("Show",)
