"""The job queue at scale: next_job keeps pending_work's order and answers from an index.

No timings here (benchmarks/job_queue.py measures them): the order is checked against the old
sort-everything selection, and the query plans against scans and sorts.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from podgrep.config import load_settings
from podgrep.domain import Episode, Show
from podgrep.errors import DiskFullError, FetchError, MediaError
from podgrep.fetch import MediaCache
from podgrep.jobs import local, worker
from podgrep.jobs.steps import StepContext
from podgrep.runtime import open_store
from podgrep.store import STEPS
from podgrep.store.sqlite import SqliteStore, _migrations

MAX = 3
_free = re.compile(r"has \d+(\.\d)? MB free")
_ORDER = "CASE j.step " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STEPS)) + " END"


def legacy_pending_work(store: SqliteStore, max_attempts: int) -> list[tuple[int, str]]:
    """pending_work as it was before the queue index: read and sort every job row."""
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


def _set(store: SqliteStore, eid: int, step: str, state: str, attempts: int = 0) -> None:
    store.db.execute(
        "UPDATE jobs SET state=?, attempts=? WHERE episode_id=? AND step=?",
        (state, attempts, eid, step),
    )


def _library(path: Path) -> tuple[SqliteStore, list[int]]:
    """Two shows whose episodes are in every job state, with ties and missing dates."""
    store = open_store(path)
    ids: list[int] = []
    for n, title in enumerate(("B show", "A show")):
        sid, _ = store.add_show(Show(None, f"http://x/{n}.xml", title))
        published = [300.0, 100.0, None, 200.0, 200.0, None, 500.0, 100.0]
        eps = [
            Episode(None, None, f"g{n}-{i}", f"Ep {i}", media_url="http://x/a.mp3", published=p)
            for i, p in enumerate(published)
        ]
        ids += store.add_episodes(sid, eps)
    # a spread of states: done steps, a run killed mid-step, failures below and at the limit
    _set(store, ids[0], "fetch", "done")
    _set(store, ids[0], "transcribe", "running", 1)  # killed: must be picked up again
    for step in STEPS:
        _set(store, ids[1], step, "done")  # finished episode
    _set(store, ids[2], "fetch", "failed", MAX)  # parked: its later steps wait too
    _set(store, ids[3], "fetch", "failed", MAX - 1)  # one more try left
    _set(store, ids[4], "fetch", "done")
    _set(store, ids[4], "transcribe", "done")
    _set(store, ids[4], "speakers", "failed", MAX + 2)  # parked late in the pipeline
    _set(store, ids[9], "fetch", "done")
    _set(store, ids[9], "transcribe", "done")
    _set(store, ids[9], "speakers", "done")
    _set(store, ids[10], "index", "done")  # a later step done out of order: fetch still first
    _set(store, ids[11], "fetch", "pending", MAX + 1)  # given back (release_job): runnable
    return store, ids


def _walk(store: SqliteStore, max_attempts: int) -> list[tuple[int, str]]:
    """Every runnable job in queue order, read one next_job call at a time."""
    seen, after = [], None
    while (job := store.next_job(max_attempts, after)) is not None:
        seen.append((job.episode_id, job.step))
        after = job.position
    return seen


@pytest.mark.parametrize("max_attempts", [1, MAX, MAX + 5])
def test_next_job_walks_pending_work_in_order(tmp_path: Path, max_attempts: int) -> None:
    store, _ = _library(tmp_path / "q.db")
    expected = legacy_pending_work(store, max_attempts)
    assert expected  # the library has work at every limit
    assert store.pending_work(max_attempts) == expected
    assert _walk(store, max_attempts) == expected
    first = store.next_job(max_attempts)
    assert first is not None and (first.episode_id, first.step) == expected[0]


def test_queue_follows_every_job_change(tmp_path: Path) -> None:
    store, ids = _library(tmp_path / "q.db")
    eid = ids[3]
    store.start_job(eid, "fetch")
    store.fail_job(eid, "fetch", "HTTP 404", park=True, max_attempts=MAX)
    assert store.pending_work(MAX) == legacy_pending_work(store, MAX)
    assert eid not in dict(store.pending_work(MAX))
    assert store.retry_failed() >= 1
    store.start_job(ids[0], "transcribe")
    store.finish_job(ids[0], "transcribe")
    store.start_job(ids[5], "fetch")
    store.release_job(ids[5], "fetch")
    store.db.execute("DELETE FROM jobs WHERE episode_id=? AND step='fetch'", (ids[6],))
    store.db.execute("DELETE FROM episodes WHERE id=?", (ids[7],))
    store.db.execute("UPDATE episodes SET published=999 WHERE id=?", (ids[8],))
    assert store.pending_work(MAX) == legacy_pending_work(store, MAX)
    assert _walk(store, MAX) == legacy_pending_work(store, MAX)
    # a disk-full failure gives its attempt back
    before = store.jobs(ids[12])[0].attempts
    store.start_job(ids[12], "fetch")
    store.fail_job(ids[12], "fetch", "full", park=False, max_attempts=MAX, charge=False)
    assert store.jobs(ids[12])[0].attempts == before
    assert store.pending_work(MAX) == legacy_pending_work(store, MAX)


@pytest.mark.skipif(
    sqlite3.sqlite_version_info < (3, 35), reason="going back to version 4 needs DROP COLUMN"
)
def test_migration_fills_the_queue_of_an_existing_library(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store, _ = _library(path)
    expected = legacy_pending_work(store, MAX)
    store.close()
    # take the database back to version 4, as a library made before the queue index
    db = sqlite3.connect(path)
    db.executescript(
        "DROP TRIGGER jobs_queue_ai; DROP TRIGGER jobs_queue_au; DROP TRIGGER jobs_queue_ad;"
        " DROP INDEX episodes_queue; ALTER TABLE episodes DROP COLUMN queue_age;"
        " ALTER TABLE episodes DROP COLUMN next_step; ALTER TABLE episodes DROP COLUMN next_failed;"
        " ALTER TABLE shows DROP COLUMN remote; ALTER TABLE shows DROP COLUMN typed;"
        " ALTER TABLE episodes DROP COLUMN remote;"
        " ALTER TABLE chapters DROP COLUMN location_json; DROP TABLE words; DROP TABLE library;"
        " ALTER TABLE jobs DROP COLUMN worker; ALTER TABLE jobs DROP COLUMN started;"
        " ALTER TABLE segments DROP COLUMN language;"
        " ALTER TABLE shows DROP COLUMN paused; ALTER TABLE shows DROP COLUMN keep_media;"
        " ALTER TABLE shows DROP COLUMN check_every; ALTER TABLE shows DROP COLUMN check_failures;"
        " ALTER TABLE episodes DROP COLUMN model; ALTER TABLE episodes DROP COLUMN media_kept;"
        " ALTER TABLE shows DROP COLUMN feed_xml;"
        " PRAGMA user_version = 4;"
    )
    db.close()
    again = open_store(path)
    assert again.schema_version == max(v for v, _ in _migrations())
    assert again.pending_work(MAX) == expected
    assert _walk(again, MAX) == expected


def _plan_ok(plan: list[str]) -> None:
    text = " | ".join(plan)
    assert "USING INDEX episodes_queue" in text, text
    assert "TEMP B-TREE" not in text, text
    assert "SCAN jobs" not in text and "SCAN j" not in text, text
    assert not any(p.startswith("SCAN episodes") and "INDEX" not in p for p in plan), text


def test_next_job_plan_uses_the_queue_index(tmp_path: Path) -> None:
    store, _ = _library(tmp_path / "q.db")
    store.db.execute("ANALYZE")  # statistics must not talk the planner out of the index
    first = store.next_job(MAX)
    assert first is not None
    for after in (None, first.position):
        plan = store.next_job_plan(MAX, after)
        _plan_ok(plan)
    # past a position the lookup is a range search, not a walk from the start
    assert any("SEARCH episodes" in p for p in store.next_job_plan(MAX, first.position))


def test_pending_work_plan_reads_only_the_queue_index(tmp_path: Path) -> None:
    store, _ = _library(tmp_path / "q.db")
    plan = [
        str(r["detail"])
        for r in store.db.execute(
            "EXPLAIN QUERY PLAN SELECT id, next_step FROM episodes INDEXED BY episodes_queue"
            " WHERE next_step IS NOT NULL AND (next_failed IS NULL OR next_failed < ?)"
            " ORDER BY show_id, queue_age, id",
            (MAX,),
        )
    ]
    _plan_ok(plan)


# -- the runner on top of the queue --------------------------------------------------------


def _reference_run(
    store: SqliteStore, max_attempts: int, ok: Callable[[int, str], bool]
) -> list[tuple[int, str]]:
    """run_pending's loop as it was: re-read pending_work each step, skip what was tried."""
    tried: set[tuple[int, str]] = set()
    order = []
    while True:
        work = [w for w in legacy_pending_work(store, max_attempts) if w not in tried]
        if not work:
            return order
        eid, step = work[0]
        tried.add((eid, step))
        order.append((eid, step))
        store.start_job(eid, step)
        if ok(eid, step):
            store.finish_job(eid, step)
        else:
            store.fail_job(eid, step, "boom", park=False, max_attempts=max_attempts)


def test_run_pending_runs_the_same_steps_in_the_same_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def ok(eid: int, step: str) -> bool:
        return (eid + len(step)) % 3 != 0  # a fixed mix of successes and failures

    ref_store, _ = _library(tmp_path / "ref.db")
    expected = _reference_run(ref_store, MAX, ok)
    assert len(expected) > len(ref_store.pending_work(MAX))  # some episodes ran several steps

    store, _ = _library(tmp_path / "new.db")
    calls: list[tuple[int, str]] = []

    def step_function(step: str) -> Callable[..., None]:
        def run(ctx: StepContext, ep: Episode, progress: object) -> None:
            assert ep.id is not None
            calls.append((ep.id, step))
            if not ok(ep.id, step):
                raise FetchError("boom", transient=True)

        return run

    monkeypatch.setattr(worker, "STEP_FUNCTIONS", {s: step_function(s) for s in STEPS})
    # one lane (fetch_ahead 0): the runner before downloads ran ahead, step for step
    settings = load_settings(tmp_path / "home", max_attempts=MAX, fetch_ahead=0)
    with MediaCache(tmp_path / "media") as cache:
        summary = local.run_pending(StepContext(store, settings, cache))
    assert calls == expected
    assert summary.steps_done == sum(ok(e, s) for e, s in expected)
    states = [(j.episode_id, j.step, j.state, j.attempts) for j in store.jobs()]
    ref_states = [(j.episode_id, j.step, j.state, j.attempts) for j in ref_store.jobs()]
    assert states == ref_states

    # downloads ahead in lanes of their own: the same steps, each once, the same outcome
    piped, _ = _library(tmp_path / "piped.db")
    calls.clear()
    settings = load_settings(tmp_path / "home", max_attempts=MAX, fetch_ahead=3)
    with MediaCache(tmp_path / "media") as cache:
        summary = local.run_pending(StepContext(piped, settings, cache))
    assert sorted(calls) == sorted(expected) and len(calls) == len(expected)
    assert summary.steps_done == sum(ok(e, s) for e, s in expected)
    assert [(j.episode_id, j.step, j.state, j.attempts) for j in piped.jobs()] == ref_states


def _run_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fetch: Callable[..., None]
) -> tuple[SqliteStore, local.RunSummary | Exception]:
    store, _ = _library(tmp_path / "q.db")
    monkeypatch.setitem(worker.STEP_FUNCTIONS, "fetch", fetch)
    for step in STEPS[1:]:
        monkeypatch.setitem(worker.STEP_FUNCTIONS, step, lambda ctx, ep, progress: None)
    settings = load_settings(tmp_path / "home", max_attempts=MAX)
    with MediaCache(tmp_path / "media") as cache:
        try:
            return store, local.run_pending(StepContext(store, settings, cache))
        except Exception as exc:  # noqa: BLE001 - the test looks at what came out
            return store, exc


def test_sqlite_full_in_a_step_is_one_line_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fetch(ctx: StepContext, ep: Episode, progress: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    store, summary = _run_with(tmp_path, monkeypatch, fetch)
    assert isinstance(summary, local.RunSummary) and summary.failures
    # the same line for each episode that hit it, but for the free space of the moment
    messages = {_free.sub("has N MB free", m) for _, _, m in summary.failures}
    assert {step for _, step, _ in summary.failures} == {"fetch"}
    assert len(messages) == 1
    (message,) = messages
    assert message.startswith(f"the disk holding {tmp_path} has N MB free; ")
    assert "\n" not in message and "OperationalError" not in message
    # not the episode's fault: no attempt charged, so the next sync tries again
    failed = [
        j
        for j in store.jobs()
        if j.step == "fetch" and _free.sub("has N MB free", j.error or "") == message
    ]
    assert len(failed) == len(summary.failures)
    fresh, _ = _library(tmp_path / "fresh.db")  # the same library, before the run
    before = {j.episode_id: j.attempts for j in fresh.jobs() if j.step == "fetch"}
    assert all(j.state == "failed" for j in failed)
    assert all(j.attempts == before[j.episode_id] for j in failed)


def test_sqlite_full_when_recording_stops_the_run_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fetch(ctx: StepContext, ep: Episode, progress: object) -> None:
        raise MediaError("not audio")

    def full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(SqliteStore, "fail_job", full)
    _, outcome = _run_with(tmp_path, monkeypatch, fetch)
    assert isinstance(outcome, DiskFullError)
    assert str(outcome).startswith(f"the disk holding {tmp_path} has ")
    assert "its database" in str(outcome)


def test_os_disk_full_in_a_step_names_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "media" / "x.wav"

    def fetch(ctx: StepContext, ep: Episode, progress: object) -> None:
        raise OSError(28, "No space left on device", str(target))

    _, summary = _run_with(tmp_path, monkeypatch, fetch)
    assert isinstance(summary, local.RunSummary)
    message = summary.failures[0][2]
    assert message.startswith(f"the disk holding {target.parent} has ")
    assert " MB free; podgrep needs " in message and "Traceback" not in message
