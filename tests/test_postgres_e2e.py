"""End to end on PostgreSQL: feed -> sync (SIGKILLed mid-transcription, then resumed) ->
search -> export, ending exactly as the uninterrupted sync into SQLite (the `library`
fixture) ended: same segments, same hits, same exports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from podgrep.runtime import open_store
from tests.conftest import WINDOW, invoke


def _segments(target: str | Path) -> dict[str, list[tuple[str, float, float, str | None]]]:
    store = open_store(target)
    try:
        out = {}
        for ep in store.list_episodes():
            assert ep.id is not None
            t = store.transcript_for(ep.id)
            out[ep.guid] = [(s.text, s.start, s.end, s.speaker) for s in (t.segments if t else [])]
        return out
    finally:
        store.close()


def _progress(url: str) -> tuple[int, int]:
    """(finished windows, segments written beyond them) of the transcript being written."""
    try:
        store = open_store(url)
    except Exception:  # noqa: BLE001 - the sync may still be creating the schema
        return 0, 0
    try:
        for ep in store.list_episodes():
            assert ep.id is not None
            t = store.resumable_transcript(ep.id, "whisper")
            if t is not None and t.id is not None:
                done = store.windows_done(t.id)
                windows = store.segment_windows(t.id)
                return done, sum(1 for w in windows.values() if w >= done)
        return 0, 0
    finally:
        store.close()


def test_killed_sync_on_postgres_resumes_as_sqlite_ran(
    served, library: Path, pg_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "pg-home"
    assert invoke(["--store", pg_url, "add", served.url("feed.xml")], home)[0] == 0
    env = {**os.environ, "PODGREP_WINDOW_SECONDS": WINDOW, "PODGREP_STORE_URL": pg_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "podgrep", "sync", "--home", str(home)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            done, _ = _progress(pg_url)
            if done >= 1:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "sync ended before it could be killed: " + (
            proc.stderr.read().decode() if proc.stderr else ""
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    done, partial = _progress(pg_url)
    assert done >= 1 and partial == 0  # windows are whole or absent on PostgreSQL too

    code, _, err = invoke(["sync"], home, PODGREP_STORE_URL=pg_url, PODGREP_WINDOW_SECONDS="90")
    assert code == 0, err
    assert _segments(pg_url) == _segments(library / "podgrep.db")
    assert not (home / "podgrep.db").exists()  # the library lives in PostgreSQL only

    for query in ('"preaching to the choir"', "open*", "assistant", "kilcher OR kennedy"):
        code, out, _ = invoke(["search", query, "--json", "--mode", "keyword"], library)
        code_pg, out_pg, _ = invoke(
            ["search", query, "--json", "--mode", "keyword"], home, PODGREP_STORE_URL=pg_url
        )
        assert code == code_pg
        mine = [(h["episode"], round(h["start"], 1), h["text"]) for h in _hits(out)]
        theirs = [(h["episode"], round(h["start"], 1), h["text"]) for h in _hits(out_pg)]
        assert mine == theirs, query
    for fmt in ("srt", "vtt", "json"):
        code, out, _ = invoke(["export", "1", "--format", fmt], library)
        code_pg, out_pg, _ = invoke(
            ["export", "1", "--format", fmt], home, PODGREP_STORE_URL=pg_url
        )
        assert code == code_pg == 0 and out == out_pg, fmt


def _hits(out: str) -> list[dict]:
    text = out.strip()
    if not text:
        return []
    if text.startswith("["):
        return list(json.loads(text))
    data = [json.loads(line) for line in text.splitlines() if line.strip()]
    if len(data) == 1 and isinstance(data[0], dict) and "hits" in data[0]:
        return list(data[0]["hits"])
    return data
