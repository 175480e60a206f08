"""A sync killed with SIGKILL mid-transcription resumes and ends as an uninterrupted sync does."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import WINDOW, invoke


def _segments(home: Path) -> dict[str, list[tuple[str, float, float]]]:
    db = sqlite3.connect(home / "podgrep.db")
    rows = db.execute(
        'SELECT e.guid, s.text, s.start, s."end" FROM segments s'
        " JOIN transcripts t ON t.id = s.transcript_id JOIN episodes e ON e.id = t.episode_id"
        " ORDER BY e.guid, s.idx"
    )
    out: dict[str, list[tuple[str, float, float]]] = {}
    for guid, text, start, end in rows:
        out.setdefault(guid, []).append((text, start, end))
    return out


# The five-minute episode's unfinished transcript. Only that episode is watched: the
# eleven-second one has a single window, finished a moment before its transcript is, so
# catching it there would kill the sync between episodes rather than mid-episode.
WRITING = (
    "SELECT t.id FROM transcripts t JOIN episodes e ON e.id = t.episode_id"
    " WHERE t.complete = 0 AND e.guid = 'ep-conv-a'"
)


def _progress(home: Path) -> tuple[int, int]:
    """(finished windows, segments written beyond them) of that transcript; (0, 0) before it
    has one. The store is in WAL mode, so a read never waits on the writer; the busy timeout
    (the store's own) covers recovering the log after a kill, and any other error fails the
    test rather than reading as "nothing done"."""
    db = sqlite3.connect(home / "podgrep.db", timeout=30)
    try:
        row = db.execute(
            "SELECT t.windows_done, (SELECT COUNT(*) FROM segments s"
            " WHERE s.transcript_id = t.id AND s.window >= t.windows_done)"
            f" FROM transcripts t WHERE t.id IN ({WRITING})"
        ).fetchone()
    finally:
        db.close()
    return (row[0], row[1]) if row else (0, 0)


def test_killed_sync_resumes_with_same_result(served, library: Path, tmp_path: Path):
    home = tmp_path / "killed"
    assert invoke(["add", served.url("feed.xml")], home)[0] == 0
    env = {**os.environ, "PODGREP_WINDOW_SECONDS": WINDOW}
    proc = subprocess.Popen(
        [sys.executable, "-m", "podgrep", "sync", "--home", str(home)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 600
    try:
        # kill once a window is committed, in the middle of the episode
        while time.monotonic() < deadline and proc.poll() is None:
            done, _ = _progress(home)
            if done >= 1:
                break
            time.sleep(0.1)
        assert proc.poll() is None, (
            "sync ended before it could be killed: " + proc.stderr.read().decode()
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    done, partial = _progress(home)
    assert done >= 1  # the kill came mid-episode
    assert partial == 0  # a window is written in one transaction: never half of one
    db = sqlite3.connect(home / "podgrep.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # the transcript being written, and what it had committed (the speakers step writes a
    # transcript's rows again, so their ids may change once another episode wrote between)
    [(tid,)] = db.execute(WRITING).fetchall()
    committed = "SELECT text FROM segments WHERE transcript_id = ? AND window < ? ORDER BY idx"

    def words() -> list[str]:  # the speakers step may split a segment, never change a word
        return " ".join(r[0] for r in db.execute(committed, (tid, done))).split()

    kept_before = words()

    # even with another window setting, the resumed run cuts where the killed one did
    code, _, err = invoke(["sync"], home, PODGREP_WINDOW_SECONDS="90")
    assert code == 0, err
    # what was committed before the kill was kept, not redone: the same transcript, and its
    # windows written before the kill just as they were
    assert db.execute("SELECT complete FROM transcripts WHERE id = ?", (tid,)).fetchone() == (1,)
    assert kept_before and words() == kept_before
    assert _segments(home) == _segments(library)
    code, out, _ = invoke(["search", '"preaching to the choir"', "--json"], home)
    assert code == 0 and "choir" in out
