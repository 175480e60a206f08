"""The job queue as a leased work queue shared by many workers, on both stores (SQLite and a
real PostgreSQL server): claims are atomic under real concurrency (threads on PostgreSQL,
processes on SQLite), a live lease keeps a job its worker's, an expired one is taken over,
and finish, fail and release keep the retry rules they had before leases.

Leases are put in the past with `expire_lease` (what reap_dead does for a dead local worker)
or given a fraction of a second, so no test waits long; nothing here asserts how long
anything took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from podgrep.config import load_settings
from podgrep.domain import Claim, Episode, Job, Segment, Show, Word
from podgrep.fetch import MediaCache
from podgrep.jobs import worker
from podgrep.jobs.steps import Progress, StepContext
from podgrep.runtime import open_store
from podgrep.search import search
from podgrep.store import STEPS, Store
from podgrep.store.sqlite import SqliteStore
from tests.conftest import Served, invoke

MAX = 3
LEASE = 60.0


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


def _episodes(store: Store, n: int, show: int = 1) -> list[int]:
    """A show of `n` episodes; their ids in queue order (newest published first)."""
    sid, _ = store.add_show(Show(None, f"http://example.org/{show}.xml", f"Show {show}"))
    eps = [
        Episode(
            None, sid, f"g{show}-{i}", f"Episode {i}", media_url="http://example.org/a.mp3",
            published=1000.0 + i,
        )
        for i in range(n)
    ]  # fmt: skip
    return list(reversed(store.add_episodes(sid, eps)))


def _claim(store: Store, name: str, lease: float = LEASE, **narrow: object) -> Claim | None:
    return store.claim_job(name, MAX, lease, **narrow)  # type: ignore[arg-type]


def _job(store: Store, episode_id: int, step: str) -> Job:
    [job] = [j for j in store.jobs(episode_id) if j.step == step]
    return job


def _dead_pid() -> int:
    """The id of a process of this machine that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# -- atomic claims under real concurrency ------------------------------------------------------

CLAIMER = """
import json, sys
from podgrep.runtime import open_store
store = open_store(sys.argv[1])
name, hold = sys.argv[2], sys.argv[3] == "hold"
print("ready", flush=True)
sys.stdin.readline()
claims = []
while (c := store.claim_job(name, 3, 60.0)) is not None:
    claims.append([c.episode_id, c.step, c.attempt, c.worker])
    if not hold:
        store.finish_job(c.episode_id, c.step)
store.close()
print(json.dumps(claims), flush=True)
"""


def _claim_together(url: str, names: list[str], *, hold: bool) -> dict[str, list[tuple]]:
    """Claimers that start at one moment and claim until the queue has nothing for them (each
    finishing what it claimed unless `hold`): what each got. SQLite: one process each (its
    connections are per process); PostgreSQL: one thread each, with a store of its own."""
    if url.startswith("sqlite"):
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CLAIMER, url, name, "hold" if hold else "finish"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for name in names
        ]
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:  # all at once: they queue on BEGIN IMMEDIATE
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        printed = {}
        for name, proc in zip(names, procs, strict=True):
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0
            printed[name] = [tuple(c) for c in json.loads(out.strip().splitlines()[-1])]
        return printed

    stores = [open_store(url) for _ in names]
    barrier = threading.Barrier(len(names))
    got: dict[str, list[tuple]] = {name: [] for name in names}
    errors: list[BaseException] = []

    def run(name: str, mine: Store) -> None:
        try:
            barrier.wait(timeout=60)
            while (c := mine.claim_job(name, 3, 60.0)) is not None:
                got[name].append((c.episode_id, c.step, c.attempt, c.worker))
                if not hold:
                    mine.finish_job(c.episode_id, c.step)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(name, mine))
        for name, mine in zip(names, stores, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for mine in stores:
        mine.close()
    assert not errors, errors
    return got


def test_concurrent_claims_never_share_a_job_and_take_every_one(
    store: Store, store_url: str
) -> None:
    ids = _episodes(store, 24)
    names = [f"w{i}" for i in range(8 if store.kind == "postgresql" else 4)]

    # claimers that hold what they claim: each episode's fetch goes to exactly one of them,
    # and no live lease is taken from another
    held = _claim_together(store_url, names, hold=True)
    claims = [(e, s) for got in held.values() for e, s, _, _ in got]
    assert len(claims) == len(set(claims)) == len(ids)
    assert set(claims) == {(e, "fetch") for e in ids}
    for name, got in held.items():
        assert all(attempt == 1 and who == name for _, _, attempt, who in got)
        for e, s, _, _ in got:
            assert _job(store, e, s).worker == name and _job(store, e, s).state == "running"
    assert _claim(store, "late") is None  # every runnable job is held by a live lease

    # those workers die: their leases end, and a second crowd takes over their jobs and runs
    # every episode to the end, each step claimed by exactly one of them
    for name, got in held.items():
        for e, s, _, _ in got:
            assert store.expire_lease(e, s, name)
    done = _claim_together(store_url, [f"v{i}" for i in range(len(names))], hold=False)
    claims = [(e, s) for got in done.values() for e, s, _, _ in got]
    assert len(claims) == len(set(claims)) == len(ids) * len(STEPS)
    assert set(claims) == {(e, s) for e in ids for s in STEPS}
    owner = {(e, s): name for name, got in done.items() for e, s, _, _ in got}
    for name, got in done.items():
        assert all(a == (2 if s == "fetch" else 1) and who == name for _, s, a, who in got)
    for job in store.jobs():
        assert job.state == "done"
        assert job.attempts == (2 if job.step == "fetch" else 1)  # one attempt per claim
        assert job.worker == owner[(job.episode_id, job.step)]
    assert _claim(store, "late") is None
    assert store.job_counts() == {"pending": 0, "running": 0, "done": len(claims), "failed": 0}


# -- leases ---------------------------------------------------------------------------------


def test_live_lease_is_kept_expired_one_is_taken_over(store: Store) -> None:
    [ep] = _episodes(store, 1)
    a = _claim(store, "host-a:1")
    assert a is not None
    assert (a.episode_id, a.step, a.attempt, a.worker) == (ep, "fetch", 1, "host-a:1")
    assert a.lease_until > a.started
    assert _claim(store, "host-b:2") is None  # held: nobody else gets it
    assert _claim(store, "host-b:2", episode_id=ep) is None

    # only its holder's lease can be ended
    assert not store.expire_lease(ep, "fetch", "host-b:2")
    assert _claim(store, "host-b:2") is None
    assert store.expire_lease(ep, "fetch", "host-a:1")
    b = _claim(store, "host-b:2")
    assert b is not None and (b.episode_id, b.step, b.attempt) == (ep, "fetch", 2)
    job = _job(store, ep, "fetch")
    assert (job.state, job.worker, job.attempts) == ("running", "host-b:2", 2)
    assert job.started == b.started
    assert not store.expire_lease(ep, "fetch", "host-a:1")  # no longer a's

    # a lease left to run out is taken over too (no expire_lease: a worker on another machine)
    store.finish_job(ep, "fetch")
    c = _claim(store, "host-c:3", lease=0.2)
    assert c is not None and c.step == "transcribe"
    while time.time() <= c.lease_until:
        time.sleep(0.05)
    d = _claim(store, "host-d:4")
    assert d is not None and (d.step, d.attempt, d.worker) == ("transcribe", 2, "host-d:4")


def test_running_job_without_a_worker_is_claimable(store: Store) -> None:
    """A step marked running by start_job (tools, or a run from before leases) has no worker:
    nobody renews it, so the next claim takes it."""
    [ep] = _episodes(store, 1)
    assert store.start_job(ep, "fetch") == 1
    assert _job(store, ep, "fetch").worker is None
    claim = _claim(store, "host-a:1")
    assert claim is not None and (claim.step, claim.attempt) == ("fetch", 2)


def test_renew_lease_extends_until_another_worker_takes_the_job(store: Store) -> None:
    [ep] = _episodes(store, 1)
    a = _claim(store, "host-a:1", lease=5)
    assert a is not None
    [running] = store.running_jobs()
    assert running.lease_until == a.lease_until
    assert store.renew_lease(a, 120)
    [running] = store.running_jobs()
    assert running.lease_until is not None and running.lease_until > a.lease_until + 100
    assert running.worker == "host-a:1" and running.started == a.started  # the same claim

    assert store.expire_lease(ep, "fetch", "host-a:1")
    b = _claim(store, "host-b:2")
    assert b is not None
    assert not store.renew_lease(a, 120)  # a paused worker finds its job gone
    assert _job(store, ep, "fetch").lease_until == b.lease_until  # and leaves it alone
    assert store.renew_lease(b, 120)
    store.finish_job(ep, "fetch")
    assert not store.renew_lease(b, 120)  # a finished job has no lease to renew

    # the same worker name claiming again is a new claim: the old one's renewals fail
    c = _claim(store, "host-b:2", lease=5)
    assert c is not None and c.step == "transcribe"
    assert store.expire_lease(ep, "transcribe", "host-b:2")
    while time.time() <= c.started:  # a claim's start tells two claims of one worker apart
        time.sleep(0.01)
    c2 = _claim(store, "host-b:2")
    assert c2 is not None and c2.started != c.started
    assert not store.renew_lease(c, 120)
    assert store.renew_lease(c2, 120)


def test_claim_narrows_by_step_episode_and_failure_time(store: Store) -> None:
    first, second, third = _episodes(store, 3)
    assert _claim(store, "w", steps=("transcribe",)) is None  # everything is at fetch
    c = _claim(store, "w", episode_id=second)  # not first in the queue, but asked for
    assert c is not None and (c.episode_id, c.step) == (second, "fetch")
    store.finish_job(second, "fetch")
    c = _claim(store, "w", steps=("transcribe", "speakers", "index"))
    assert c is not None and (c.episode_id, c.step) == (second, "transcribe")
    assert _claim(store, "w", steps=("transcribe",)) is None  # that one is held now
    assert _claim(store, "w", episode_id=second) is None  # its next step is held
    assert _claim(store, "w", episode_id=third, steps=("transcribe",)) is None  # at fetch

    # queue order: the first episode's fetch, then the third's
    c = _claim(store, "w", steps=("fetch",))
    assert c is not None and (c.episode_id, c.step) == (first, "fetch")
    before = time.time()
    while time.time() <= before:
        time.sleep(0.01)
    store.fail_job(first, "fetch", "HTTP 503", park=False, max_attempts=MAX)
    after = time.time()
    while time.time() <= after:
        time.sleep(0.01)
    # a run that began before the failure passes it over (it tried the step once)...
    c = _claim(store, "w", steps=("fetch",), failed_before=before)
    assert c is not None and (c.episode_id, c.step) == (third, "fetch")
    assert _claim(store, "w", failed_before=before) is None
    # ...one that began after it (or a long-running worker's later look) tries it again
    c = _claim(store, "w", failed_before=after)
    assert c is not None and (c.episode_id, c.step, c.attempt) == (first, "fetch", 2)


def test_attempts_count_per_claim_and_retry_rules_hold(store: Store) -> None:
    [ep, other] = _episodes(store, 2)

    def claim() -> Claim:
        c = _claim(store, "w", episode_id=ep)
        assert c is not None and c.step == "fetch"
        assert c.attempt == _job(store, ep, "fetch").attempts
        return c

    assert claim().attempt == 1
    store.fail_job(ep, "fetch", "timeout", park=False, max_attempts=MAX)
    assert _job(store, ep, "fetch").state == "failed"
    assert claim().attempt == 2  # a failure short of the limit is tried again
    store.fail_job(ep, "fetch", "disk full", park=False, max_attempts=MAX, charge=False)
    assert _job(store, ep, "fetch").attempts == 1  # not the episode's fault: uncharged
    assert claim().attempt == 2
    store.release_job(ep, "fetch")  # given back (a broken model, a store gone away)
    job = _job(store, ep, "fetch")
    assert (job.state, job.attempts) == ("pending", 1)
    assert claim().attempt == 2
    store.fail_job(ep, "fetch", "timeout", park=False, max_attempts=MAX)
    assert claim().attempt == 3
    store.fail_job(ep, "fetch", "timeout", park=False, max_attempts=MAX)
    # three failures: parked, and its later steps with it
    assert _claim(store, "w", episode_id=ep) is None
    c = _claim(store, "w")
    assert c is not None and c.episode_id == other
    store.release_job(other, "fetch")
    assert store.claim_job("w", MAX + 1, LEASE, episode_id=ep) is not None  # a higher limit
    store.fail_job(ep, "fetch", "not audio", park=True, max_attempts=MAX + 1)
    assert store.claim_job("w", MAX + 1, LEASE, episode_id=ep) is None  # bad input: parked
    assert [(f.episode_id, f.step, f.error) for f in store.failures()] == [
        (ep, "fetch", "not audio")
    ]
    assert store.retry_failed() == 1  # `sync --retry`: a fresh set of attempts
    assert claim().attempt == 1
    store.finish_job(ep, "fetch")
    c = _claim(store, "w", episode_id=ep)
    assert c is not None and (c.step, c.attempt) == ("transcribe", 1)
    job = _job(store, ep, "fetch")
    assert (job.state, job.attempts, job.error, job.lease_until) == ("done", 1, None, None)


def test_running_jobs_show_worker_start_and_lease(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    a_ep, b_ep = _episodes(store, 2)
    a = _claim(store, "host-a:1/cpu")
    b = _claim(store, "host-b:2/fetch-0")
    assert a is not None and b is not None and (a.episode_id, b.episode_id) == (a_ep, b_ep)
    running = store.running_jobs()
    assert [(r.episode_id, r.step, r.attempts, r.worker, r.started, r.lease_until)
            for r in running] == [
        (a_ep, "fetch", 1, "host-a:1/cpu", a.started, a.lease_until),
        (b_ep, "fetch", 1, "host-b:2/fetch-0", b.started, b.lease_until),
    ]  # fmt: skip
    assert [r.title for r in running] == ["Episode 1", "Episode 0"]

    assert store.expire_lease(a_ep, "fetch", "host-a:1/cpu")
    assert [r.episode_id for r in store.running_jobs()] == [b_ep]  # a's lease ran out
    expired = store.running_jobs(expired=True)
    assert [(r.episode_id, r.worker) for r in expired] == [
        (a_ep, "host-a:1/cpu"), (b_ep, "host-b:2/fetch-0")
    ]  # fmt: skip
    assert expired[0].lease_until is not None and expired[0].lease_until < time.time()

    # `podgrep status` shows both, the expired one as such
    code, out, err = invoke(["--store", store_url, "status", "--json"], tmp_path / "home")
    assert code == 0, err
    shown = {r["episode_id"]: r for r in json.loads(out)["running"]}
    assert shown[a_ep]["worker"] == "host-a:1/cpu" and shown[a_ep]["lease_until"] < time.time()
    assert shown[b_ep]["worker"] == "host-b:2/fetch-0"
    assert shown[b_ep]["started"] == b.started and shown[b_ep]["lease_until"] == b.lease_until
    code, out, err = invoke(["--store", store_url, "status"], tmp_path / "home")
    assert code == 0, err
    assert "host-b:2/fetch-0" in out and "expired" in out


def _plan_ok(plan: list[str], *, episode: bool = False) -> None:
    text = " | ".join(plan)
    if episode:  # one episode: found by its key, its job by (episode, step)
        assert any(p.startswith("SEARCH e USING INTEGER PRIMARY KEY") for p in plan), text
    else:
        assert "USING INDEX episodes_queue" in text, text
    assert "TEMP B-TREE" not in text, text
    assert not any(p.startswith(("SCAN jobs", "SCAN j")) for p in plan), text
    assert not any(p.startswith(("SCAN episodes", "SCAN e")) and "INDEX" not in p for p in plan)
    assert any(p.startswith("SEARCH j USING") for p in plan), text


def test_sqlite_claim_walks_the_queue_index(tmp_path: Path) -> None:
    store = open_store(tmp_path / "q.db")
    assert isinstance(store, SqliteStore)
    ids = _episodes(store, 50) + _episodes(store, 50, show=2)
    for eid in ids[::3]:
        store.finish_job(eid, "fetch")
    for eid in ids[::7]:
        store.start_job(eid, "fetch" if eid not in ids[::3] else "transcribe")
    store.db.execute("ANALYZE")  # statistics must not talk the planner out of the index
    _plan_ok(store.claim_plan(MAX))
    _plan_ok(store.claim_plan(MAX, steps=("fetch",)))
    _plan_ok(store.claim_plan(MAX, steps=("transcribe", "speakers", "index")))
    _plan_ok(store.claim_plan(MAX, failed_before=time.time()))
    _plan_ok(store.claim_plan(MAX, episode_id=ids[4]), episode=True)
    _plan_ok(store.claim_plan(MAX, episode_id=ids[4], steps=("fetch",)), episode=True)
    store.close()


# -- a dead worker of this machine -----------------------------------------------------------


def test_reap_dead_frees_only_jobs_of_dead_local_processes(store: Store) -> None:
    ids = _episodes(store, 6)
    dead = _dead_pid()
    live = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE)  # fmt: skip
    try:
        holders = [
            f"{worker.HOST}:{dead}",  # a killed sync of this machine
            f"{worker.HOST}:{dead}/fetch-1",  # one of its lanes
            f"{worker.HOST}:{live.pid}",  # a live worker of this machine
            f"{worker.HOST}:{os.getpid()}/cpu",  # this very process
            f"elsewhere-{worker.HOST}:{dead}",  # another machine: left to its lease
            "not a worker name",
        ]
        for eid, name in zip(ids, holders, strict=True):
            c = _claim(store, name, episode_id=eid)
            assert c is not None and c.worker == name
        assert worker.reap_dead(store) == 2
        freed = {r.episode_id for r in store.running_jobs(expired=True)} - {
            r.episode_id for r in store.running_jobs()
        }
        assert freed == set(ids[:2])
        assert {r.worker for r in store.running_jobs()} == set(holders[2:])
        taken = [_claim(store, "next"), _claim(store, "next")]
        assert {c.episode_id for c in taken if c} == set(ids[:2])
        assert all(c is not None and c.attempt == 2 for c in taken)
        assert _claim(store, "next") is None
        assert worker.reap_dead(store) == 0  # the takers are not dead processes' names
    finally:
        live.communicate(b"", timeout=30)
    assert worker.worker_id() == f"{worker.HOST}:{os.getpid()}"
    assert worker.worker_id("fetch-0") == f"{worker.HOST}:{os.getpid()}/fetch-0"


# -- a worker holding a job ------------------------------------------------------------------


def test_lease_keeper_keeps_a_held_job_and_notices_a_takeover(store: Store) -> None:
    [ep] = _episodes(store, 1)
    lease = 1.5
    claim = _claim(store, "host-a:1", lease=lease)
    assert claim is not None
    with worker.LeaseKeeper(store, lease) as keeper, keeper.holding(claim) as lost:
        # well past the lease it was claimed with, renewed every half second
        while time.time() < claim.lease_until + lease:
            time.sleep(0.1)
        assert not lost.is_set()
        assert _claim(store, "host-b:2") is None  # the lease is alive
        [running] = store.running_jobs()
        assert running.worker == "host-a:1" and running.lease_until > claim.lease_until
        # another worker takes it over (this one looked dead): the keeper finds out
        assert store.expire_lease(ep, "fetch", "host-a:1")
        assert _claim(store, "host-b:2") is not None
        assert lost.wait(30)
    assert _job(store, ep, "fetch").worker == "host-b:2"


def test_worker_that_lost_its_lease_stops_the_step_and_leaves_the_job(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The step stops at its next progress report; the job stays the new holder's: neither
    finished nor failed by the worker that lost it."""
    [ep] = _episodes(store, 1)
    settings = load_settings(tmp_path / "home", lease_seconds=0.6, max_attempts=MAX)
    reports: list[float] = []

    def fetch(ctx: StepContext, episode: Episode, progress: Progress) -> None:
        taken = False
        for n in range(2000):
            progress(n, None)
            reports.append(n)
            if not taken and n == 5:  # paused too long: another worker took the job over
                assert store.expire_lease(ep, "fetch", "host-a:1")
                assert _claim(store, "host-b:2") is not None
                taken = True
            time.sleep(0.05)
        raise AssertionError("the step was not stopped")

    monkeypatch.setitem(worker.STEP_FUNCTIONS, "fetch", fetch)
    with MediaCache(tmp_path / "media") as cache:
        ctx = StepContext(store, settings, cache)
        wait = worker.StoreWait(5, None)
        with worker.LeaseKeeper(store, settings.lease_seconds) as keeper:
            me = worker.Worker(ctx, "host-a:1", keeper, wait)
            claim = me.claim(None)
            assert claim is not None
            assert me.run(claim) is False
    assert 5 < len(reports) < 2000
    job = _job(store, ep, "fetch")
    assert (job.state, job.worker, job.attempts, job.error) == ("running", "host-b:2", 2, None)
    assert me.summary.steps_done == 0 and me.summary.failures == []


# -- a window written twice ------------------------------------------------------------------


def _segment(start: float, text: str) -> Segment:
    words = [Word(start + i * 0.3, start + i * 0.3 + 0.25, w) for i, w in enumerate(text.split())]
    return Segment(start, start + 3, text, words)


def test_add_window_twice_leaves_one_copy(store: Store) -> None:
    """A worker whose lease ran out may still write a window its successor wrote already."""
    [ep] = _episodes(store, 1)
    t = store.open_transcript(ep, "whisper", "tiny.en", "en", 0.9)
    assert t.id is not None
    first = [_segment(0, "ask not what your country"), _segment(3, "can do for you")]
    second = [_segment(60, "ask what you can do"), _segment(63, "for your country")]
    store.add_window(t.id, 0, first)
    store.add_window(t.id, 0, [_segment(0, "ask not what your country"),
                               _segment(3, "can do for you")])  # fmt: skip
    assert store.windows_done(t.id) == 1
    store.add_window(t.id, 1, second)
    store.add_window(t.id, 0, first)  # an older window, late
    store.add_window(t.id, 1, second)
    assert store.windows_done(t.id) == 2
    segs = store.segments(t.id)
    assert [(s.idx, s.start, s.text) for s in segs] == [
        (0, 0, "ask not what your country"), (1, 3, "can do for you"),
        (2, 60, "ask what you can do"), (3, 63, "for your country"),
    ]  # fmt: skip
    assert store.segment_count() == 4
    # the full-text index holds each once too
    assert len(search(store, "country")) == 2


def test_a_worker_that_lost_the_job_records_nothing_over_its_new_holder(store: Store) -> None:
    """After an outage longer than its lease, a worker's finish, fail or release of a job
    another worker took over changes nothing: the job stays the new holder's."""
    [ep] = _episodes(store, 1)
    a = _claim(store, "host-a:1")
    assert a is not None and store.expire_lease(ep, "fetch", "host-a:1")
    b = _claim(store, "host-b:2")
    assert b is not None and b.attempt == 2
    assert not store.release_job(ep, "fetch", a)
    assert not store.fail_job(ep, "fetch", "late", park=True, max_attempts=MAX, claim=a)
    assert not store.finish_job(ep, "fetch", a)
    job = _job(store, ep, "fetch")
    assert (job.state, job.worker, job.attempts, job.error) == ("running", "host-b:2", 2, None)
    assert _claim(store, "host-c:3") is None  # still held: b's lease is live
    assert store.renew_lease(b, LEASE)
    assert store.fail_job(ep, "fetch", "boom", park=False, max_attempts=MAX, claim=b)
    assert _job(store, ep, "fetch").state == "failed"
    c = _claim(store, "host-c:3")
    assert c is not None and c.attempt == 3
    assert store.finish_job(ep, "fetch", c)
    assert _job(store, ep, "fetch").state == "done"


def test_a_job_whose_worker_died_every_time_is_parked(store: Store) -> None:
    """A step whose worker dies in every attempt (killed for memory, a crash) is not taken
    over forever: after max_attempts claims it is parked with a line saying so."""
    [ep] = _episodes(store, 1)
    for i in range(MAX):
        claim = _claim(store, f"host-{i}:1")
        assert claim is not None and claim.attempt == i + 1
        assert store.expire_lease(ep, "fetch", f"host-{i}:1")  # it died
    assert _claim(store, "host-x:1") is None  # a third death was enough
    assert store.park_abandoned(MAX) == 1
    job = _job(store, ep, "fetch")
    assert job.state == "failed" and job.attempts == MAX
    assert "worker stopped" in (job.error or "") and "sync --retry" in (job.error or "")
    assert store.get_episode(ep).status == "failed"
    assert [f.step for f in store.failures()] == ["fetch"]
    assert store.park_abandoned(MAX) == 0
    assert store.retry_failed() == 1
    again = _claim(store, "host-y:1")
    assert again is not None and again.attempt == 1


def test_an_index_step_embeds_its_own_episode_only(store: Store) -> None:
    """Another worker's episode may be transcribed but not yet through its speakers step
    (which writes its segments again): an index step leaves its passages alone, and the
    speakers step drops any passages of the segments it rewrites."""
    from podgrep.domain import Speaker
    from podgrep.semantic.embed import shared_embedder
    from podgrep.semantic.vectors import embed_missing

    a, b = _episodes(store, 2)
    tids = {}
    for ep in (a, b):
        t = store.open_transcript(ep, "whisper", "tiny.en", "en", 0.9)
        assert t.id is not None
        said = ["ask not what your country can do for you", "ask what you can do for your country"]
        store.add_window(t.id, 0, [_segment(0, said[0]), _segment(3, said[1])])
        store.complete_transcript(t.id)
        tids[ep] = t.id
    embedder = shared_embedder()
    assert embed_missing(store, embedder, episode_id=a) > 0
    assert store.transcripts_without_passages(embedder.name) == [tids[b]]
    assert store.transcripts_without_passages(embedder.name, episode_id=a) == []
    # b's speakers step splits and rewrites its segments: passages made before would point
    # at the wrong positions, so they go with the old segments
    assert embed_missing(store, embedder, episode_id=b) > 0
    rows = [(s, 0, 0) for s in store.segments(tids[b])]
    store.save_diarization(b, tids[b], [(Speaker(b, "S1"), None)], rows)
    assert store.transcripts_without_passages(embedder.name) == [tids[b]]
    assert store.transcripts_without_passages(embedder.name, episode_id=a) == []


def test_a_worker_limited_to_steps_runs_only_those(served: Served, tmp_path: Path) -> None:
    """`podgrep worker --steps fetch --until-done`: the downloads only, then it stops; the
    transcriptions wait for a worker that runs them."""
    home = tmp_path / "home"
    url = served.write_feed(
        "steps-only.xml", "Steps only", [("JFK", "steps-jfk", "jfk.flac", "audio/flac")]
    )
    assert invoke(["add", url], home)[0] == 0
    code, _, err = invoke(["worker", "--steps", "fetch", "--until-done", "--poll", "0.1"], home)
    assert code == 0, err
    with open_store(home / "podgrep.db") as store:
        [ep] = store.list_episodes()
        assert ep.id is not None
        assert {j.step: j.state for j in store.jobs(ep.id)} == {
            "fetch": "done", "transcribe": "pending", "speakers": "pending", "index": "pending",
        }  # fmt: skip
    code, _, err = invoke(["worker", "--steps", "fetch,listen", "--until-done"], home)
    assert code != 0 and "--steps 'fetch,listen': name steps among fetch" in err


def test_store_wait_gives_up_after_its_patience_whatever_other_lanes_do() -> None:
    """A call that keeps meeting a store gone away raises after `patience`, even while another
    lane's calls get through (they must not restart its clock: a sync waited forever)."""
    from podgrep.errors import StoreUnavailable

    notes: list[str] = []
    wait = worker.StoreWait(1.0, notes.append)
    stop = threading.Event()

    def other_lane() -> None:
        while not stop.is_set():
            wait(lambda: None)  # gets through
            time.sleep(0.05)

    def gone() -> None:
        raise StoreUnavailable("The store went away")

    lane = threading.Thread(target=other_lane, daemon=True)
    lane.start()
    try:
        with pytest.raises(StoreUnavailable, match="went away"):
            wait(gone)
    finally:
        stop.set()
        lane.join(5)
    assert notes and notes[0] == "The store went away - waiting for it (up to 1 s)"
    assert wait(lambda: 7) == 7
