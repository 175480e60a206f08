"""SIGKILL at each point of a sync — mid-download, after each transcription window, in the
speakers step, in the index step — then sync again: the library ends exactly as one
uninterrupted sync leaves it, with nothing done twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import DATA, WINDOW, feed_xml, invoke
from tests.faults.hostile import Hostile
from tests.test_resume import _segments

pytestmark = pytest.mark.fault("kill")


def _query(home: Path, sql: str) -> list[tuple]:
    try:
        db = sqlite3.connect(home / "podgrep.db", timeout=5)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()
    except sqlite3.OperationalError:
        return []


def _running(step: str) -> Callable[[Path], bool]:
    return lambda home: bool(
        _query(home, f"SELECT 1 FROM jobs WHERE state='running' AND step='{step}'")
    )


def _windows(n: int) -> Callable[[Path], bool]:
    return lambda home: bool(
        _query(home, f"SELECT 1 FROM transcripts WHERE complete=0 AND windows_done>={n}")
    )


def _downloading(home: Path) -> bool:
    partial = home / "media" / "partial"
    return _running("fetch")(home) and any(
        p.stat().st_size > 200_000 for p in partial.glob("*.part") if p.is_file()
    )


POINTS = {
    "download": _downloading,
    "window-1": _windows(1),
    "window-2": _windows(2),
    "speakers": _running("speakers"),
    "index": _running("index"),
}


@pytest.fixture(scope="module")
def slow_feed() -> Iterator[str]:
    """The test feed (same guids and audio as the `library` fixture's) with the media sent
    slowly enough to be killed mid-download."""
    with Hostile() as h:
        for name, kind in (("conversation_a.mp3", "audio/mpeg"), ("jfk.flac", "audio/flac")):
            h.files[f"/{name}"] = ((DATA / name).read_bytes(), kind)
        base = h.url("slow").rstrip("/")
        items = [
            ("Yannic Kilcher on Open Assistant", "ep-conv-a", "conversation_a.mp3", "audio/mpeg"),
            ("Ask Not", "ep-jfk", "jfk.flac", "audio/flac"),
        ]
        h.files["/feed.xml"] = (feed_xml(base, "Data Talk", items).encode(), "application/rss+xml")
        yield h.url("feed.xml")


def _counts(home: Path) -> tuple:
    one = _query(
        home,
        "SELECT (SELECT COUNT(*) FROM segments), (SELECT COUNT(*) FROM speakers),"
        " (SELECT COUNT(*) FROM transcripts), (SELECT COUNT(*) FROM chapters),"
        " (SELECT COUNT(*) FROM passages)",
    )
    return one[0] if one else ()


@pytest.mark.parametrize("point", list(POINTS))
def test_sync_killed_at_each_point_resumes_identical(
    point: str, slow_feed: str, library: Path, tmp_path: Path, lost
):
    home = tmp_path / point
    assert invoke(["add", slow_feed], home)[0] == 0
    env = {**os.environ, "PODGREP_WINDOW_SECONDS": WINDOW}
    proc = subprocess.Popen(
        [sys.executable, "-m", "podgrep", "sync", "--home", str(home)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    reached = POINTS[point]
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None and not reached(home):
            time.sleep(0.03)
        assert proc.poll() is None, f"sync ended before {point}: " + proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _query(home, "PRAGMA integrity_check") == [("ok",)]
    kept = {r[0] for r in _query(home, "SELECT id FROM segments")}
    code, _, err = invoke(["sync"], home)
    assert code == 0, err
    assert "Traceback" not in err
    after = {r[0] for r in _query(home, "SELECT id FROM segments")}
    redone = len(kept - after)
    lost(1 if redone else 0)
    assert kept <= after, f"{redone} committed segments were redone"
    assert _segments(home) == _segments(library)
    assert _counts(home) == _counts(library)
