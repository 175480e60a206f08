"""The job queue at scale: what choosing the next job costs per step, before and after.

    python benchmarks/job_queue.py [--items 20000] [--library 20000]

1. A sync over a feed of `--items` episodes whose enclosures all fail at once (they point at a
   closed local port; retries 0, max_attempts 1, so the run ends): run_pending as it is, with
   store.next_job timed; at sampled steps the old selection (read and sort every job row, as
   pending_work did) is timed too, and its answer checked against next_job's.
2. A library of `--library` episodes added with store.add_episodes, almost all done (a few
   pending, a few parked): the cost of next_job (first call, and each call of a walk through
   the queue) against the old selection.

Prints a small table; measures, asserts nothing but that both selections agree.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's queue, which threads import: run as a script,
# its folder must not be on the path before the standard library.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from typer.testing import CliRunner  # noqa: E402

from podgrep.cli import app  # noqa: E402
from podgrep.config import load_settings  # noqa: E402
from podgrep.domain import Episode, Show  # noqa: E402
from podgrep.fetch import MediaCache  # noqa: E402
from podgrep.jobs.local import run_pending  # noqa: E402
from podgrep.jobs.steps import StepContext  # noqa: E402
from podgrep.runtime import open_store  # noqa: E402
from podgrep.store import STEPS  # noqa: E402
from podgrep.store.sqlite import SqliteStore  # noqa: E402
from tests.conftest import feed_xml  # noqa: E402
from tests.support.server import LocalServer  # noqa: E402

_ORDER = "CASE j.step " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STEPS)) + " END"


def legacy_pending_work(store: SqliteStore, max_attempts: int) -> list[tuple[int, str]]:
    """The selection every step of run_pending made before the queue index."""
    rows = store.db.execute(
        "SELECT j.episode_id, j.step, j.state, j.attempts FROM jobs j"
        " JOIN episodes e ON e.id = j.episode_id"
        f" ORDER BY e.show_id, COALESCE(e.published, e.added) DESC, e.id, {_ORDER}, j.id"
    ).fetchall()
    work: dict[int, str | None] = {}
    for r in rows:
        eid = int(r["episode_id"])
        if eid in work or r["state"] == "done":
            continue
        if r["state"] == "failed" and r["attempts"] >= max_attempts:
            work[eid] = None
            continue
        work[eid] = r["step"]
    return [(eid, step) for eid, step in work.items() if step]


def _closed_port() -> int:
    with socket.socket() as sock:  # free a moment ago, nobody listening: refused at once
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def failing_feed(work: Path, items: int, samples: int) -> dict[str, float]:
    """Sync a feed whose every enclosure fails fast; time the queue's part of each step."""
    www = work / "www"
    www.mkdir()
    dead = f"http://127.0.0.1:{_closed_port()}"
    entries = [(f"Episode {i}", f"ep-{i}", f"ep{i}.mp3", "audio/mpeg") for i in range(items)]
    (www / "feed.xml").write_text(feed_xml(dead, "Big feed", entries), encoding="utf-8")
    home = work / "home"
    with LocalServer(www) as srv:
        result = CliRunner().invoke(app, ["add", srv.url("feed.xml"), "--home", str(home)])
        assert result.exit_code == 0, result.output
    settings = load_settings(home, max_attempts=1, fetch_retries=0)
    store = open_store(settings.db_path)
    real_next = store.next_job
    next_times: list[float] = []
    legacy_times: list[float] = []
    every = max(items // samples, 1)

    def timed_next_job(max_attempts: int, after: tuple[int, float, int] | None = None):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        job = real_next(max_attempts, after)
        next_times.append(time.perf_counter() - t0)
        if len(next_times) % every == 1:
            t1 = time.perf_counter()
            old = legacy_pending_work(store, max_attempts)  # tried steps are parked here
            legacy_times.append(time.perf_counter() - t1)
            assert (old[0] if old else None) == ((job.episode_id, job.step) if job else None)
        return job

    store.next_job = timed_next_job  # type: ignore[method-assign]
    with MediaCache(settings.media_dir, retries=0, backoff=0, timeout=5) as cache:
        t0 = time.perf_counter()
        summary = run_pending(StepContext(store, settings, cache))
        wall = time.perf_counter() - t0
    steps = summary.steps_done + len(summary.failures)
    assert steps == items, (steps, items)
    legacy_wall = sum(legacy_times)  # time spent in the samples, not part of the step
    per_step = (wall - legacy_wall) / steps
    next_step = sum(next_times) / steps
    old_step = statistics.mean(legacy_times)
    store.close()
    return {
        "steps": steps,
        "next": next_step,
        "legacy": old_step,
        "step_after": per_step,
        "step_before": per_step - next_step + old_step,
        "wall_after": wall - legacy_wall,
        "samples": len(legacy_times),
    }


def big_library(work: Path, episodes: int, pending: int, parked: int) -> dict[str, float]:
    """A library of `episodes`, almost all done: next_job against the old selection."""
    store = open_store(work / "library.db")
    sid, _ = store.add_show(Show(None, "http://127.0.0.1/feed.xml", "Library"))
    rnd = random.Random(12)
    eps = [
        Episode(
            None,
            None,
            f"g{i}",
            f"Episode {i}",
            media_url=f"http://127.0.0.1/{i}.mp3",
            published=1.6e9 + rnd.random() * 1e8,
        )
        for i in range(episodes)
    ]
    t0 = time.perf_counter()
    ids = store.add_episodes(sid, eps)
    add_s = time.perf_counter() - t0
    chosen = rnd.sample(ids, pending + parked)
    open_ids = set(chosen)
    with store.transaction() as db:
        db.executemany(
            "UPDATE jobs SET state='done' WHERE episode_id=?",
            [(i,) for i in ids if i not in open_ids],
        )
        for i in chosen[:parked]:
            db.execute("UPDATE jobs SET state='done' WHERE episode_id=? AND step='fetch'", (i,))
            db.execute(
                "UPDATE jobs SET state='failed', attempts=3"
                " WHERE episode_id=? AND step='transcribe'",
                (i,),
            )
    store.db.execute("ANALYZE")
    first: list[float] = []
    for _ in range(200):
        t0 = time.perf_counter()
        job = store.next_job(3)
        first.append(time.perf_counter() - t0)
    walk: list[float] = []
    after = None
    seen = []
    while True:
        t0 = time.perf_counter()
        job = store.next_job(3, after)
        walk.append(time.perf_counter() - t0)
        if job is None:
            break
        seen.append((job.episode_id, job.step))
        after = job.position
    legacy: list[float] = []
    for _ in range(5):
        t0 = time.perf_counter()
        old = legacy_pending_work(store, 3)
        legacy.append(time.perf_counter() - t0)
    assert seen == old, "next_job and the old selection disagree"
    plan = store.next_job_plan(3, after=(sid, -2e9, 0))
    store.close()
    return {
        "episodes": episodes,
        "runnable": len(seen),
        "add_s": add_s,
        "first": statistics.median(first),
        "walk": statistics.median(walk),
        "legacy": statistics.median(legacy),
        "plan": " | ".join(plan),  # type: ignore[dict-item]
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def main() -> None:
    """Run both scenarios and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=20_000, help="episodes in the failing feed")
    parser.add_argument("--library", type=int, default=20_000, help="episodes in the library")
    parser.add_argument("--samples", type=int, default=20, help="old-selection timings taken")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podgrep-queue-"))
    try:
        feed = failing_feed(work, args.items, args.samples)
        lib = big_library(work, args.library, pending=50, parked=50)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n1. sync of a {feed['steps']:.0f}-item feed, every enclosure failing at once")
    print(f"   run_pending: {feed['wall_after']:.1f} s for {feed['steps']:.0f} steps")
    print("   | per step                     | before (pending_work) | after (next_job) |")
    print("   |------------------------------|-----------------------|------------------|")
    print(
        f"   | choosing the next job        | {_ms(feed['legacy']):>21} | {_ms(feed['next']):>16} |"
    )
    print(
        f"   | whole step (fetch fails)     | {_ms(feed['step_before']):>21} |"
        f" {_ms(feed['step_after']):>16} |"
    )
    share_before = feed["legacy"] / feed["step_before"]
    share_after = feed["next"] / feed["step_after"]
    print(f"   | share spent choosing         | {share_before:>20.1%} | {share_after:>15.1%} |")
    samples = feed["samples"]
    print(f"   (before: mean of {samples:.0f} timed calls of the old selection during the run)")
    print(
        f"\n2. library of {lib['episodes']:.0f} episodes, {lib['runnable']:.0f} with work left"
        f" (added in {lib['add_s']:.1f} s)"
    )
    print("   | per call                     | before (pending_work) | after (next_job) |")
    print("   |------------------------------|-----------------------|------------------|")
    print(
        f"   | first runnable job           | {_ms(lib['legacy']):>21} | {_ms(lib['first']):>16} |"
    )
    print(
        f"   | next job past a position     | {_ms(lib['legacy']):>21} | {_ms(lib['walk']):>16} |"
    )
    print(f"   query plan past a position: {lib['plan']}")


if __name__ == "__main__":
    main()
