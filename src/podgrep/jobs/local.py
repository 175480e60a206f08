"""Runs pending steps in this process: downloads run ahead of transcription in their own
lanes, a transcription lane decodes one episode after another, and a finishing lane runs each
transcribed episode's speakers and index beside the next transcription; all through the
store's shared queue, so another sync or worker on the same library takes the jobs these lanes
do not.

How the runner and the engine share the cores: transcription runs one episode at a time, and
the engine inside it sizes itself to the machine (on CPU, `workers` model replicas of
`cpu_threads` threads each, from the cores). It does not keep them all busy: a window's
encoding and its second pass run one chunk at a time, so a sync used about 1.0 of 2 cores
(benchmarks/pipeline.py). The finishing lane fills that gap: the speaker encoder runs on one
ONNX thread, the sentence embedder briefly on all, so at most one core's worth of work is
added beside the engine, never a second engine. Fetch lanes (`fetch_ahead` of them) wait on
the network and hash what arrives, which costs little CPU; while nothing waits to be
transcribed one download runs at a time (the first episode arrives soonest), and they stop
claiming once `fetch_ahead` downloaded episodes wait, so the cache never runs far ahead of
transcription. `fetch_ahead = 0` runs everything in one lane, one step after another, in queue
order (the runner before issue 15).
"""

from __future__ import annotations

import fcntl
import functools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from podgrep.jobs.steps import STEP_FUNCTIONS, StepContext
from podgrep.jobs.worker import (
    LeaseKeeper,
    Reporter,
    RunSummary,
    SilentReporter,
    StoreWait,
    Worker,
    disk_full,
    reap_dead,
    tidy_queue,
    worker_id,
)

# STEP_FUNCTIONS: the steps workers run (the same dict as jobs.steps)
__all__ = ["STEP_FUNCTIONS", "Reporter", "RunSummary", "SilentReporter", "SyncLock", "run_pending"]

FINISH_STEPS = ("speakers", "index")  # the finishing lane's: after an episode's transcription


def run_pending(ctx: StepContext, reporter: Reporter | None = None) -> RunSummary:
    """Run every pending step once; a failing episode never stops the others.

    A full disk fails the step with one line without charging an attempt, so the next sync
    takes it up again; when the database cannot even record that, the run stops with the line.
    A store's server that went away is waited for (`store_wait_seconds`): the step goes back
    in the queue uncharged, and the run carries on when the store is back.
    """
    try:
        return _run(ctx, reporter or SilentReporter())
    except (sqlite3.Error, OSError) as exc:
        full = disk_full(ctx, exc)
        if full is None:
            raise
        raise full from exc


def _run(ctx: StepContext, reporter: Reporter) -> RunSummary:
    settings = ctx.settings
    since = time.time()  # a step that fails from now on is not tried again in this run
    wait = StoreWait(settings.store_wait_seconds, ctx.notify)
    wait(lambda: tidy_queue(ctx.store, settings.max_attempts))
    summary = RunSummary()
    with LeaseKeeper(ctx.store, settings.lease_seconds, ctx.notify) as keeper:
        main = Worker(ctx, worker_id("cpu" if settings.fetch_ahead > 0 else None), keeper, wait,
                      reporter, summary)  # fmt: skip
        if settings.fetch_ahead <= 0:
            main.drain(since)
        else:
            _Pipeline(main, settings.fetch_ahead).run(since)
        # another sync of this machine that died meanwhile: its jobs are this one's to finish
        if wait(lambda: reap_dead(ctx.store)):
            main.drain(since)
    return summary


class _Pipeline:
    """Fetch lanes that run ahead of the CPU lane (this thread), at most `ahead` episodes."""

    def __init__(self, main: Worker, ahead: int) -> None:
        self.main = main
        self.ahead = ahead
        self.cond = threading.Condition()
        self.waiting: set[int] = set()  # fetched here, transcription not yet claimed
        self.reserved = 0  # fetches claimed and running
        self.fetching = 0  # fetch lanes still alive
        self.cpu_busy = False  # the CPU lane is running a step
        self.transcribing = True  # the CPU lane may still transcribe (and so make work)
        self.errors: list[BaseException] = []

    def run(self, since: float) -> None:
        main = self.main
        lanes = [
            threading.Thread(target=self._fetch_lane, args=(i, since), daemon=True,
                             name=f"podgrep-fetch-{i}")
            for i in range(self.ahead)
        ]  # fmt: skip
        self.fetching = len(lanes)
        lanes.append(
            threading.Thread(target=self._finish_lane, args=(since,), daemon=True,
                             name="podgrep-finish")
        )  # fmt: skip
        for lane in lanes:
            lane.start()
        try:
            self._cpu_lane(since)
        except BaseException:
            # Ctrl-C, a broken model, a store that cannot record: the lanes stop claiming; a
            # download under way is not waited for long (the process is ending, and the next
            # run frees the jobs its dead lanes held, see reap_dead)
            main.stop.set()
            with self.cond:
                self.cond.notify_all()
            for lane in lanes:
                lane.join(timeout=2)
            raise
        with self.cond:
            self.transcribing = False
            self.cond.notify_all()
        for lane in lanes:
            lane.join()
        if self.errors:
            raise self.errors[0]
        main.drain(since)  # what the lanes left (a step another process gave back meanwhile)

    def _cpu_lane(self, since: float) -> None:
        """Transcriptions, one at a time, as their downloads arrive."""
        main = self.main
        last_look = False
        while not main.stop.is_set():
            claim = main.claim(since, steps=("transcribe",))
            if claim is None:
                with self.cond:
                    if self.errors or last_look:
                        return
                    if self.fetching == 0:  # no download left: one more look, then done
                        last_look = True
                        continue
                    self._forget_taken()
                    self.cond.wait(timeout=1.0)
                continue
            with self.cond:
                self.waiting.discard(claim.episode_id)
                self.cpu_busy = True
                self.cond.notify_all()  # the CPU has work: more downloads may start now
            try:
                main.run(claim)
            finally:
                with self.cond:
                    self.cpu_busy = False
                    self.cond.notify_all()  # an episode's speakers may be claimable now

    @contextmanager
    def _lane(self, name: str) -> Iterator[Worker]:
        """A worker for a lane on a thread of its own: its own connection (SQLite), and the
        run's lease keeper, store wait, reporter, summary and stop; an error it meets (a store
        that cannot record, a full database) stops the run, and run() raises it."""
        main = self.main
        store = main.ctx.store.for_thread()
        ctx = StepContext(store, main.ctx.settings, main.ctx.cache, notify=main.ctx.notify,
                          cancel=main.ctx.cancel)  # fmt: skip
        try:
            yield Worker(ctx, worker_id(name), main.keeper, main.wait, main.reporter,
                         main.summary, main.stop)  # fmt: skip
        except BaseException as exc:
            with self.cond:
                self.errors.append(exc)
            main.stop.set()
        finally:
            if store is not main.ctx.store:
                store.close()

    def _finish_lane(self, since: float) -> None:
        """Speakers and index of each transcribed episode, beside the next transcription."""
        with self._lane("finish") as lane:
            while not lane.stop.is_set():
                lane.drain(since, FINISH_STEPS)  # speakers, then index, of each episode
                with self.cond:
                    if self.errors or not self.transcribing:
                        return
                    self.cond.wait(timeout=1.0)

    def _forget_taken(self) -> None:
        """Episodes fetched here whose transcription is no longer pending (another process
        took it, or it failed) no longer hold a place ahead."""
        store = self.main.ctx.store
        for episode_id in list(self.waiting):
            jobs = self.main.wait(functools.partial(store.jobs, episode_id), self.main.stop)
            if {j.step: j.state for j in jobs}.get("transcribe") != "pending":
                # taken, done, or failed (this run does not try it again): no place held
                self.waiting.discard(episode_id)
                self.cond.notify_all()

    def _may_fetch(self) -> bool:
        """Whether another download may start: fewer than `ahead` episodes are downloading or
        waiting; and while the CPU lane has nothing to do, one download at a time, so the
        first episode arrives (and its transcription starts) as soon as it can."""
        if len(self.waiting) + self.reserved >= self.ahead:
            return False
        return self.reserved == 0 or self.cpu_busy or bool(self.waiting)

    def _fetch_lane(self, i: int, since: float) -> None:
        main = self.main
        try:
            with self._lane(f"fetch-{i}") as lane:
                while not main.stop.is_set():
                    with self.cond:
                        while not self._may_fetch() and not main.stop.is_set():
                            self.cond.wait(timeout=1.0)
                        if main.stop.is_set():
                            return
                        self.reserved += 1
                    claim, fetched = None, False
                    try:
                        claim = lane.claim(since, steps=("fetch",))
                        fetched = claim is not None and lane.run(claim)
                    finally:
                        with self.cond:
                            self.reserved -= 1
                            if claim is not None and fetched:
                                self.waiting.add(claim.episode_id)
                            self.cond.notify_all()
                    if claim is None:
                        return
        finally:
            with self.cond:
                self.fetching -= 1
                self.cond.notify_all()


class SyncLock:
    """One check of the feeds at a time per data directory: the first sync refreshes, one
    started meanwhile waits for that to end and then shares the jobs instead of checking the
    same feeds again. The OS drops the lock if the process dies."""

    def __init__(self, path: Path, on_wait: Callable[[], None] | None = None) -> None:
        self.path = path
        self.on_wait = on_wait  # told before waiting for another sync's check
        self._fh: IO[str] | None = None
        self.waited = False  # another sync held it: the feeds may have just been checked

    def __enter__(self) -> SyncLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held for the lock's lifetime
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.waited = True
            if self.on_wait is not None:
                self.on_wait()
            fcntl.flock(fh, fcntl.LOCK_EX)  # wait for the other sync's check of the feeds
        try:  # who holds the lock; a full disk must not stop the sync here
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
        except OSError:
            pass
        self._fh = fh
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

