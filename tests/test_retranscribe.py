"""`podgrep retranscribe`: the old transcript stays the searchable one until the new one is
complete, then they swap in one transaction; a kill leaves the old one searchable and a rerun
resumes the new one; names a user gave speakers stay with their voices."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from podgrep.domain import Episode, Segment, Show, Speaker, Word
from podgrep.query import parse_query
from podgrep.runtime import open_store
from podgrep.search import search
from podgrep.speakers.carry import carry_user_names
from podgrep.store import Store
from podgrep.store.retranscription import LEAD_WORDS, searchable_texts
from podgrep.store.sql import LEAD_WORDS as STORE_LEAD_WORDS
from tests.conftest import DATA, Served, invoke

# -- the store: both stores, segments written through the store API -------------------------


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


def _segment(start: float, text: str, flags: list[str] | None = None) -> Segment:
    words = [Word(start + i * 0.3, start + i * 0.3 + 0.25, w) for i, w in enumerate(text.split())]
    return Segment(start, start + 3, text, words, flags=flags or [])


def _transcript_of(store: Store, query: str) -> list[int]:
    """The transcript of each segment the full-text index matches (no page cut)."""
    return [m.transcript_id for m in store.match_segments(parse_query(query), limit=100)]


def _episode_of(store: Store, guid: str) -> int:
    sid, _ = store.add_show(Show(None, "http://127.0.0.1:9/feed.xml", "Swaps", kind="feed"))
    [eid] = store.add_episodes(sid, [Episode(None, sid, guid, guid, media_url="http://x/a.mp3")])
    return eid


def _episode(store: Store) -> int:
    return _episode_of(store, "g1")


def test_partial_retranscription_is_out_of_search_until_one_swap(store: Store) -> None:
    eid = _episode(store)
    old = store.open_transcript(eid, "whisper", "tiny.en", "en", None)
    assert old.id is not None
    store.add_window(old.id, 0, [_segment(0, "the quick brown fox"), _segment(3, "jumped")])
    store.add_window(old.id, 1, [_segment(6, "over the lazy dog")])
    store.complete_transcript(old.id)
    vectors = np.eye(2, 384, dtype=np.float32)
    store.write_passages(old.id, "m", [(0, 1, 0, 6), (2, 2, 6, 9)], vectors)
    assert store.nearest(vectors[0], 5, None, "m", 384)

    assert store.requeue_transcription([eid], "base") == 1
    assert store.get_episode(eid).model == "base"
    states = {j.step: (j.state, j.attempts) for j in store.jobs(eid)}
    assert states["transcribe"] == states["speakers"] == states["index"] == ("pending", 0)
    assert store.claim_job("w", 3, 60, steps=["transcribe", "speakers", "index"]) is None
    assert states["fetch"][0] == "pending"  # never fetched here: fetch is left as it was

    new = store.open_transcript(eid, "whisper", "base", "en", None)
    assert new.id is not None and new.id != old.id and not new.complete
    store.add_window(
        new.id, 0, [_segment(0, "the quick brown fox"), _segment(3, "regulation leapt")]
    )
    store.add_window(
        new.id, 1, [_segment(6, "over the lazy dog"), _segment(9, "uh", ["hallucination"])]
    )
    # half written: search, passages and reading still see the old transcript alone
    assert _transcript_of(store, "quick brown") == [old.id]
    assert _transcript_of(store, "leapt") == []
    assert _transcript_of(store, '"leapt over"') == []
    assert store.transcript_for(eid).id == old.id  # type: ignore[union-attr]
    assert [h.text for h in search(store, "lazy dog")] == ["over the lazy dog"]

    assert store.swap_transcript(eid, new.id) == 1
    assert [(t.id, t.complete) for t in store.transcript_sources(eid)] == [(new.id, True)]
    assert _transcript_of(store, "quick brown") == [new.id]
    assert set(_transcript_of(store, "lazy dog")) == {new.id}
    assert _transcript_of(store, "jumped") == []  # the old one's full-text rows went with it
    assert _transcript_of(store, '"leapt over"') == [new.id]  # across windows, as written
    assert _transcript_of(store, "uh") == []  # a hidden segment stays out of search
    assert store.nearest(vectors[0], 5, None, "m", 384) == []  # and its passages, vectors
    assert store.segment_count() == 4
    assert store.transcript_for(eid).id == new.id  # type: ignore[union-attr]
    assert store.widen("regulat") == ["regulation"]  # its words were recorded while it was hidden
    if store.kind == "sqlite":
        db = sqlite3.connect(store.path)  # type: ignore[attr-defined]
        db.execute("INSERT INTO segments_fts(segments_fts) VALUES ('integrity-check')")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()


def test_a_transcript_written_in_search_is_left_as_it_is(store: Store) -> None:
    """Completing a transcript gives hidden segments their searchable text the way
    insert_segments writes it: one written in search changes not at all."""
    assert LEAD_WORDS == STORE_LEAD_WORDS
    eid = _episode(store)
    t = store.open_transcript(eid, "whisper", "tiny.en", "en", None)
    assert t.id is not None
    long = "one two three four five six seven eight nine ten"
    store.add_window(t.id, 0, [_segment(0, "first said"), _segment(3, long), _segment(6, "")])
    store.add_window(t.id, 1, [_segment(9, "x", ["hallucination"]), _segment(12, "last one")])
    store.add_window(t.id, 2, [_segment(15, "after the cut")])
    with store.transaction():
        assert store.publish_transcript(t.id) == 0  # type: ignore[attr-defined]
    assert searchable_texts(["a", "b c", "d"], [True, False, True]) == ["a", "", "d"]
    # a first transcription cut short, then a retranscription with another model asked for
    other = _episode_of(store, "g2")
    cut = store.open_transcript(other, "whisper", "tiny.en", "en", None)
    assert cut.id is not None
    store.add_window(cut.id, 0, [_segment(0, "half a sentence")])
    assert _transcript_of(store, "sentence") == [cut.id]  # nothing complete: searchable
    assert store.drop_unfinished(other, "whisper", "tiny.en") == 0
    assert store.drop_unfinished(other, "whisper", "base") == 1
    assert store.transcript_sources(other) == [] and _transcript_of(store, "sentence") == []


def _unit_rows(seed: int, n: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, 384)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _complete(store: Store, eid: int, model: str, texts: list[str]) -> int:
    t = store.open_transcript(eid, "whisper", model, "en", None)
    assert t.id is not None
    store.add_window(t.id, 0, [_segment(3 * i, text) for i, text in enumerate(texts)])
    store.complete_transcript(t.id)
    return t.id


def test_a_long_lived_store_finds_the_new_passages_after_a_swap(tmp_path: Path) -> None:
    """SQLite's in-memory vector index is kept per process: the new transcript's passages can
    take the old ones' ids (the same count, the same largest id), and must not be served the
    old vectors after a swap and re-index, nor after a transcript's passages are rewritten."""
    store = open_store(tmp_path / "podgrep.db")
    try:
        eid = _episode(store)
        old = _complete(store, eid, "tiny.en", ["the quick brown fox", "over the lazy dog"])
        before, after, again = _unit_rows(1, 2), _unit_rows(2, 2), _unit_rows(3, 2)
        spans = [(0, 0, 0.0, 3.0), (1, 1, 3.0, 6.0)]
        store.write_passages(old, "m", spans, before)
        [(old_best, _)] = store.nearest(before[0], 1, None, "m", 384)  # the index is loaded

        store.requeue_transcription([eid], "base")
        new = store.open_transcript(eid, "whisper", "base", "en", None)
        assert new.id is not None
        store.add_window(new.id, 0, [_segment(0, "a quick fox"), _segment(3, "a lazy dog")])
        assert store.swap_transcript(eid, new.id) == 1
        store.write_passages(new.id, "m", spans, after)  # the index step, no search between
        hits = store.nearest(after[1], 2, None, "m", 384)
        assert hits[0][1] > 0.99  # the new passage itself, not an old vector under its id
        db = sqlite3.connect(tmp_path / "podgrep.db")
        mine = db.execute("SELECT id FROM passages WHERE transcript_id = ?", (new.id,))
        assert {pid for pid, _ in hits} == {int(pid) for (pid,) in mine}
        db.close()
        assert store.nearest(before[0], 1, None, "m", 384)[0][1] < 0.5  # old ones gone

        store.write_passages(new.id, "m", spans, again)  # rewritten in place (index rerun)
        assert store.nearest(again[0], 1, None, "m", 384)[0][1] > 0.99
    finally:
        store.close()


def test_user_names_follow_matching_voices() -> None:
    rng = np.random.default_rng(3)
    a, b, c = (v / np.linalg.norm(v) for v in rng.normal(size=(3, 256)).astype(np.float32))
    old = [
        Speaker(1, "S1", "Jane Doe", "user"),
        Speaker(1, "S2", "Guest", "notes", confidence=2.0),
        Speaker(1, "S3", "Max", "user"),
    ]
    near_b = b + 0.05 * c
    new = [
        (Speaker(1, "S1", "Jane Doe", "voiceprint", confidence=7.0), near_b),  # misnamed
        (Speaker(1, "S2"), a + 0.01 * b),
        (Speaker(1, "S3"), None),
    ]
    carried = carry_user_names(old, {"S1": a, "S2": b, "S3": c * -1.0}, new)
    assert carried == [("S1", "S2")]  # Max's voice is nowhere in the new speakers
    assert [(s.name, s.name_source) for s, _ in new] == [
        (None, None),  # one name, one voice: the voiceprint's guess gives way
        ("Jane Doe", "user"),
        (None, None),
    ]


# -- end to end: real whisper, real speech, the CLI -------------------------------------------


def _db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "podgrep.db", timeout=10)


def _hits(home: Path, query: str) -> list[dict]:
    code, out, err = invoke(["search", query, "--json"], home)
    assert code == 0 or (code == 1 and "No matches" in err), err
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_retranscribe_with_base_keeps_the_users_speaker_name(served: Served, tmp_path: Path):
    home = tmp_path / "home"
    feed = served.write_feed(
        "retranscribe.xml", "Speeches", [("Ask Not", "jfk", "jfk.flac", "audio/flac")]
    )
    assert invoke(["add", feed], home)[0] == 0
    code, _, err = invoke(["sync"], home)
    assert code == 0, err
    code, out, err = invoke(["speakers", "1", "--rename", "S1=John F. Kennedy"], home)
    assert code == 0, err

    code, out, err = invoke(["retranscribe", "Ask Not", "--model", "base", "--json"], home)
    assert code == 0, err
    result = json.loads(out)
    assert result["queued"] == [1] and result["done"] == [1] and result["failed"] == []
    assert "stays searchable" in err

    db = _db(home)
    rows = db.execute("SELECT source, model, complete FROM transcripts").fetchall()
    assert rows == [("whisper", "base", 1)]
    assert db.execute("SELECT model FROM episodes").fetchone()[0] == "base"
    speakers = db.execute("SELECT label, name, name_source FROM speakers").fetchall()
    assert ("S1", "John F. Kennedy", "user") in speakers
    texts = [r[0] for r in db.execute("SELECT text FROM segments ORDER BY idx")]
    assert texts and all(db.execute("SELECT COUNT(*) FROM passages").fetchone())
    for sentence in texts:  # each sentence found once: one transcript in search
        words = " ".join(sentence.split()[:4]).strip(".,!?")
        found = [h for h in _hits(home, f'"{words}"') if h["text"] == sentence]
        assert len(found) == 1, (sentence, found)
    assert _hits(home, "country")[0]["speaker"] == "John F. Kennedy"

    # again with the same model: nothing to do; an unknown model: one line, nothing changed
    code, out, err = invoke(["retranscribe", "1", "--model", "base"], home)
    assert code == 0 and "already transcribed with base" in err
    code, out, err = invoke(["retranscribe", "1", "--model", "no-such-model"], home)
    assert code == 1 and "Unknown model 'no-such-model'" in err
    assert len(err.strip().splitlines()) == 1
    code, out, err = invoke(["retranscribe", "no such episode", "--model", "tiny.en"], home)
    assert code == 1 and "No episode matches" in err
    assert db.execute("SELECT model FROM episodes").fetchone()[0] == "base"
    assert db.execute("SELECT state FROM jobs WHERE state <> 'done'").fetchall() == []
    code, out, err = invoke(["retranscribe", "1", "--show", "Speeches"], home)
    assert code == 1 and "Name one EPISODE or give --show SHOW" in err
    code, out, err = invoke(["retranscribe", "1", "--all"], home)
    assert code == 1 and "--all goes with --show" in err
    code, out, err = invoke(["retranscribe", "--show", "Nope", "--model", "base"], home)
    assert code == 1 and "No show is 'Nope'" in err

    # a show, queued only: `podgrep sync` runs it
    args = ["retranscribe", "--show", "speeches", "--model", "tiny.en", "--queue-only", "--json"]
    code, out, err = invoke(args, home)
    assert code == 0, err
    assert json.loads(out)["queued"] == [1] and json.loads(out)["ran"] is False
    assert db.execute("SELECT model FROM episodes").fetchone()[0] == "tiny.en"
    pending = db.execute("SELECT step FROM jobs WHERE state = 'pending' ORDER BY id").fetchall()
    assert pending == [("transcribe",), ("speakers",), ("index",)]


def test_paused_show_held_episode_and_opus_media(tmp_path: Path) -> None:
    """What a retranscription could not run is refused with one line, nothing changed: an
    episode of a paused show (unless --queue-only: it waits for resume) and a held one
    (`podgrep queue` first, no partial set of jobs); media kept as Opus is said to be read."""
    home = tmp_path / "home"
    home.mkdir()
    with open_store(home / "podgrep.db") as store:
        sid, _ = store.add_show(Show(None, "http://127.0.0.1:9/feed.xml", "Paused", kind="feed"))
        eps = [Episode(None, sid, g, g.title(), media_url=f"http://x/{g}.mp3") for g in
               ("done", "held", "later")]  # fmt: skip
        done, held, later = store.add_episodes(sid, eps, hold={"held"})
        _complete(store, done, "tiny.en", ["kept words"])
        store.set_media_kept(done, "opus", str(tmp_path / "done.opus"))
        store.set_paused(sid, True)

    def state() -> list[tuple]:
        db = _db(home)
        rows = db.execute(
            "SELECT e.id, e.status, e.model, j.step, j.state, j.attempts FROM episodes e"
            " LEFT JOIN jobs j ON j.episode_id = e.id ORDER BY e.id, j.step"
        ).fetchall()
        db.close()
        return rows

    start = state()
    code, out, err = invoke(["retranscribe", str(done), "--model", "base"], home)
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert f"Show {sid} is paused: `podgrep resume {sid}` first" in err
    code, out, err = invoke(["retranscribe", "--show", str(sid), "--model", "base"], home)
    assert code == 1 and "is paused" in err and state() == start
    code, out, err = invoke(["retranscribe", str(held), "--model", "base"], home)
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert f"Episode {held} is held" in err and f"`podgrep queue {held}`" in err
    assert state() == start

    args = ["retranscribe", "--show", str(sid), "--model", "base", "--queue-only", "--json"]
    code, out, err = invoke(args, home)
    assert code == 0, err
    result = json.loads(out)
    assert result["queued"] == [done] and result["held"] == [held] and not result["ran"]
    assert result["left_to_sync"] == [later]
    assert "not transcribed yet" in err and "1 episode(s) held" in err
    assert f"`podgrep queue --show {sid} --all`" in err
    assert f"runs once `podgrep resume {sid}` resumes it" in err
    assert f"note: episode {done}'s media was kept as a 16 kbps Opus copy" in err
    rows = state()
    assert [r for r in rows if r[0] == held] == [(held, "held", None, None, None, None)]
    assert {r[3]: r[4] for r in rows if r[0] == done} == {
        "fetch": "pending", "transcribe": "pending", "speakers": "pending", "index": "pending"
    }  # fmt: skip
    with open_store(home / "podgrep.db") as store:  # the store itself never queues a held one
        assert store.requeue_transcription([held], "base") == 0
        assert store.jobs(held) == [] and store.get_episode(held).model is None


def _found(home: Path, query: str) -> list[tuple[int, str]]:
    """(transcript id, segment text) of each hit of a search, as `podgrep search` finds them."""
    with open_store(home / "podgrep.db") as store:
        hits = search(store, query, limit=50)
    db = _db(home)
    out = []
    for h in hits:
        tid, text = db.execute(
            "SELECT transcript_id, text FROM segments WHERE id = ?", (h.segment_id,)
        ).fetchone()
        out.append((int(tid), str(text)))
    db.close()
    return out


def _progress(home: Path) -> int:
    """Windows written of the transcript being written (0 when none is)."""
    try:
        db = _db(home)
        row = db.execute("SELECT windows_done FROM transcripts WHERE complete = 0").fetchone()
        db.close()
    except sqlite3.OperationalError:
        return 0
    return int(row[0]) if row else 0


SRT = """1
00:00:00,000 --> 00:00:20,000
Zebras discuss marmalade at length.

2
00:00:20,000 --> 00:05:00,000
The giraffe agrees about marmalade.
"""


def test_killed_retranscription_keeps_the_old_transcript_and_resumes(tmp_path: Path):
    """The old transcript is a user's import (no Whisper needed for it); the retranscription
    is killed once its first window is written, then run again."""
    home = tmp_path / "home"
    audio = tmp_path / "conversation.mp3"
    audio.write_bytes((DATA / "conversation_a.mp3").read_bytes())
    assert invoke(["add", str(audio)], home)[0] == 0
    (tmp_path / "old.srt").write_text(SRT, encoding="utf-8")
    code, _, err = invoke(["import", "1", str(tmp_path / "old.srt")], home)
    assert code == 0, err
    env = {**os.environ, "PODGREP_WINDOW_SECONDS": "60"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "podgrep", "retranscribe", "1", "--model", "tiny.en",
         "--home", str(home)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None and _progress(home) < 1:
            time.sleep(0.1)
        assert proc.stderr is not None
        assert proc.poll() is None, "ended before the kill: " + proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    db = _db(home)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    [(old, _)] = db.execute("SELECT id, source FROM transcripts WHERE complete = 1").fetchall()
    [(partial, done)] = db.execute(
        "SELECT id, windows_done FROM transcripts WHERE complete = 0 AND model = 'tiny.en'"
    ).fetchall()
    assert 1 <= done < 5
    said = db.execute(
        "SELECT text FROM segments WHERE transcript_id = ? AND text <> ''", (partial,)
    ).fetchall()
    assert said  # the first window is written, out of search
    assert sorted(_found(home, "marmalade")) == [
        (old, "The giraffe agrees about marmalade."),
        (old, "Zebras discuss marmalade at length."),
    ]
    for (text,) in said[:5]:  # what the new one said so far is not found
        word = max(text.split(), key=len).strip(".,!?\"'")
        assert all(tid == old for tid, _ in _found(home, word)), word
    code, out, err = invoke(["export", "1", "--format", "txt"], home)
    assert "Zebras discuss marmalade" in out

    code, out, err = invoke(["retranscribe", "1", "--model", "tiny.en"], home)  # again
    assert code == 0, err
    rows = db.execute("SELECT id, source, model, complete FROM transcripts").fetchall()
    assert rows == [(partial, "whisper", "tiny.en", 1)]  # resumed, not begun again
    assert _found(home, "marmalade") == []
    for (text,) in said[:5]:  # what was hidden is found now, in the one transcript
        word = max(text.split(), key=len).strip(".,!?\"'")
        found = _found(home, word)
        assert found and {tid for tid, _ in found} == {partial}, word
    passages = db.execute("SELECT DISTINCT transcript_id FROM passages").fetchall()
    assert passages == [(partial,)]
