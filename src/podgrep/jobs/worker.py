"""Workers of the job queue: who a worker is, the leases it keeps alive, and how it runs a job
it claimed, recording every outcome durably.

A worker claims one job at a time from the store (`Store.claim_job`, atomic in both stores),
holds it under a lease that `LeaseKeeper` renews while the step runs, and records the step
done, failed (charged or not, by today's retry rules) or given back. A worker that dies stops
renewing: when its lease runs out, the next claim anywhere takes the job over and the step
resumes from what is stored (a transcription at its first unwritten window). A worker that
finds it lost its lease (paused too long) stops the step at its next progress report.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from podgrep.domain import Claim, Episode
from podgrep.errors import (
    DiskFullError,
    FetchError,
    ModelError,
    NotFoundError,
    PodgrepError,
    StoreError,
    StoreUnavailable,
    full_disk_cause,
)
from podgrep.jobs.steps import STEP_FUNCTIONS, StepContext
from podgrep.store import Store

T = TypeVar("T")


def _host() -> str:
    """This machine in workers' names: its host name and boot id, so two machines cloned with
    one host name are not taken for each other (reap_dead judges only this machine's pids)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        boot = ""
    name = socket.gethostname()
    return f"{name}-{boot}" if boot else name


HOST = _host()
STORE_RETRIES = 2  # a step given back this many times in a run as the store went away: failed


class Reporter(Protocol):
    """Receives progress from workers (the CLI draws bars, tests collect events). Lanes of one
    process report from their own threads; a reporter tells them apart by thread."""

    def start(self, ep: Episode, step: str) -> None: ...
    def advance(self, done: float, total: float | None) -> None: ...
    def finish(self, ep: Episode, step: str, error: str | None) -> None: ...


class SilentReporter:
    """A reporter that ignores everything."""

    def start(self, ep: Episode, step: str) -> None:
        """Ignore."""

    def advance(self, done: float, total: float | None) -> None:
        """Ignore."""

    def finish(self, ep: Episode, step: str, error: str | None) -> None:
        """Ignore."""


@dataclass
class RunSummary:
    """What one run of the pending steps achieved."""

    steps_done: int = 0
    episodes_done: list[int] = field(default_factory=list)
    failures: list[tuple[int, str, str]] = field(default_factory=list)  # (episode, step, error)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def done(self, episode_id: int, step: str) -> None:
        """Count a finished step (lanes of one run finish steps at once)."""
        with self.lock:
            self.steps_done += 1
            if step == "index":
                self.episodes_done.append(episode_id)

    def failed(self, episode_id: int, step: str, error: str) -> None:
        """Count a failed step."""
        with self.lock:
            self.failures.append((episode_id, step, error))


def worker_id(lane: str | None = None) -> str:
    """This worker's name in the jobs table: "host:pid", and "/lane" inside a process."""
    return f"{HOST}:{os.getpid()}" + (f"/{lane}" if lane else "")


def _owner(worker: str) -> tuple[str, int] | None:
    """(host, pid) of a worker's name, None if it is not one of ours."""
    host, sep, pid = worker.split("/", 1)[0].rpartition(":")
    try:
        return (host, int(pid)) if sep else None
    except ValueError:
        return None


def reap_dead(store: Store) -> int:
    """End the leases of running jobs held by processes of this machine that are gone (a
    killed sync), so they are taken up at once instead of when the lease runs out; return how
    many. Workers on other machines are left to their leases."""
    freed = 0
    for job in store.running_jobs(expired=True):
        owner = _owner(job.worker or "")
        if owner is None or owner[0] != HOST or owner[1] == os.getpid():
            continue
        try:
            os.kill(owner[1], 0)
            continue  # alive (or another user's: not ours to judge)
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        if job.worker and store.expire_lease(job.episode_id, job.step, job.worker):
            freed += 1
    return freed


def tidy_queue(store: Store, max_attempts: int) -> None:
    """Before claiming: free the jobs of dead processes of this machine, and park the jobs
    whose worker died in every attempt (they would take the next worker down too)."""
    reap_dead(store)
    store.park_abandoned(max_attempts)


class LeaseLost(Exception):  # noqa: N818 - what happened, not an error of the input
    """The worker's lease ran out and another worker took the job over: stop the step."""


class Stopped(KeyboardInterrupt):
    """The run was asked to stop (`StepContext.cancel`: a web server shutting down). Raised at
    the running step's next progress report, or before a step starts; a KeyboardInterrupt, so
    the step is given back (pending, lease cleared, attempt not charged) as on Ctrl-C."""


@dataclass
class _Held:
    claim: Claim
    lost: threading.Event = field(default_factory=threading.Event)


class LeaseKeeper:
    """One thread per process that renews the lease of every job the process holds, every
    third of the lease; marks a claim lost when the store says another worker has it."""

    def __init__(
        self, store: Store, lease_seconds: float, notify: Callable[[str], None] | None = None
    ) -> None:
        self.store = store
        self.lease_seconds = lease_seconds
        self.notify = notify
        self._held: dict[int, _Held] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False

    def __enter__(self) -> LeaseKeeper:
        self._thread = threading.Thread(target=self._run, name="podgrep-leases", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @contextmanager
    def holding(self, claim: Claim) -> Iterator[threading.Event]:
        """Keep `claim`'s lease alive for the block; yields the event set if it is lost."""
        held = _Held(claim)
        with self._lock:
            self._held[claim.job_id] = held
        try:
            yield held.lost
        finally:
            with self._lock:
                self._held.pop(claim.job_id, None)

    def _warn(self, line: str) -> None:
        if self.notify is not None and not self._warned:
            self._warned = True
            self.notify(line)

    def _run(self) -> None:
        store = self.store.for_thread()
        try:
            interval = max(0.2, self.lease_seconds / 3)
            while not self._stop.wait(interval):
                with self._lock:
                    held = list(self._held.values())
                for h in held:
                    try:
                        if not store.renew_lease(h.claim, self.lease_seconds):
                            h.lost.set()
                    except Exception as exc:  # noqa: BLE001 - the keeper must go on renewing
                        # the store is away or busy: the step's own writes will say so; the
                        # lease may run out meanwhile, and the next renewal tells
                        self._warn(f"could not renew a lease ({exc}); trying again")
        finally:
            if store is not self.store:
                store.close()


def _permanent(exc: BaseException) -> bool:
    """Errors that another attempt cannot fix (bad input), as opposed to a flaky network or
    a store's server that went away for a moment."""
    if isinstance(exc, FetchError):
        return not exc.transient
    if isinstance(exc, StoreUnavailable):
        return False
    return isinstance(exc, PodgrepError)


def disk_full(ctx: StepContext, exc: BaseException) -> DiskFullError | None:
    """The one-line error for a full disk, whoever hit it (the media cache, SQLite, a step)."""
    if isinstance(exc, DiskFullError):
        return exc
    full = full_disk_cause(exc)
    if full is None:
        return None
    if isinstance(full, OSError) and full.filename:
        where = Path(os.fsdecode(full.filename)).parent
        return DiskFullError.about(where, what="the files this step writes")
    path = getattr(ctx.store, "path", None)  # a SQLite file; a server's disk is its own
    where = path.parent if isinstance(path, Path) else ctx.settings.home
    return DiskFullError.about(where, what="its database")


class StoreWait:
    """Calls into the store that wait out a store gone away: one line when it goes, one when
    it is back, with back-off between tries; after `patience` seconds the store's own error."""

    def __init__(self, patience: float, notify: Callable[[str], None] | None) -> None:
        self.patience = patience
        self.notify = notify
        self._lock = threading.Lock()
        self._away_since: float | None = None

    def __call__(self, fn: Callable[[], T], stop: threading.Event | None = None) -> T:
        """fn(), again and again while the store is unavailable (StoreUnavailable), for up to
        `patience` seconds from this call's first failure (another lane's calls that get
        through meanwhile do not restart its clock)."""
        delay = 0.5
        failing_since: float | None = None
        while True:
            try:
                result = fn()
            except StoreUnavailable as exc:
                now = time.monotonic()
                if failing_since is None:
                    failing_since = now
                with self._lock:
                    if self._away_since is None:
                        self._away_since = now
                        self._say(f"{exc} - waiting for it (up to {self.patience:.0f} s)")
                waited = now - failing_since
                if waited >= self.patience or (stop is not None and stop.is_set()):
                    raise
                time.sleep(min(delay, max(0.0, self.patience - waited)))
                delay = min(delay * 2, 15.0)
                continue
            with self._lock:
                if self._away_since is not None:
                    away = time.monotonic() - self._away_since
                    self._away_since = None
                    self._say(f"The store is back after {away:.0f} s: carrying on")
            return result

    def _say(self, line: str) -> None:
        if self.notify is not None:
            self.notify(line)


@dataclass
class Worker:
    """One lane of work: claims jobs under its name and runs them in this thread."""

    ctx: StepContext
    name: str
    keeper: LeaseKeeper
    wait: StoreWait
    reporter: Reporter = field(default_factory=SilentReporter)
    summary: RunSummary = field(default_factory=RunSummary)
    stop: threading.Event = field(default_factory=threading.Event)
    # steps given back because the store went away, per (episode, step): tried again in the
    # same run once it is back, up to STORE_RETRIES times, then failed uncharged
    given_back: dict[tuple[int, str], int] = field(default_factory=dict)

    def claim(
        self,
        since: float | None,
        *,
        steps: Sequence[str] | None = None,
        episode_id: int | None = None,
    ) -> Claim | None:
        """Claim the next job this lane may run (waiting out a store that went away)."""
        settings = self.ctx.settings
        return self.wait(
            lambda: self.ctx.store.claim_job(
                self.name,
                settings.max_attempts,
                settings.lease_seconds,
                steps=steps,
                episode_id=episode_id,
                failed_before=since,
            ),
            self.stop,
        )

    def run(self, claim: Claim) -> bool:
        """Run a claimed step and record its outcome; True when it finished.

        A full disk fails the step with one line without charging an attempt; a store that
        went away gives the job back (uncharged) once it can be told; a broken model gives the
        attempt back and stops the run (ModelError is raised); when even the failure cannot
        be recorded, the store's error is raised.
        """
        store = self.ctx.store
        episode_id, step = claim.episode_id, claim.step
        try:
            ep = self.wait(lambda: store.get_episode(episode_id), self.stop)
        except NotFoundError:  # removed (`podgrep remove`) since it was claimed
            return False
        self.reporter.start(ep, step)
        cancel = self.ctx.cancel

        def stopping() -> None:
            if cancel is not None and cancel.is_set():
                raise Stopped(f"{self.name} stopped: {step} of episode {episode_id} given back")

        with self.keeper.holding(claim) as lost:

            def progress(done: float, total: float | None) -> None:
                if lost.is_set():
                    raise LeaseLost(f"{self.name} lost its lease on {step} of episode {episode_id}")
                stopping()
                self.reporter.advance(done, total)

            try:
                stopping()  # stopped between two steps: this one is not begun
                STEP_FUNCTIONS[step](self.ctx, ep, progress)
            except LeaseLost as exc:
                self.reporter.finish(ep, step, str(exc))  # the job is another worker's now
                return False
            except (ModelError, KeyboardInterrupt):
                # the model is broken for every episode, or the user (or the server shutting
                # down: Stopped) stopped us: give it back
                self.wait(lambda: store.release_job(episode_id, step, claim))
                raise
            except Exception as exc:
                if self._removed(episode_id):  # its writes found no rows: nothing to record
                    self.reporter.finish(ep, step, f"episode {episode_id} was removed: stopped")
                    return False
                self._failed(ep, claim, exc)
                return False
        if not self.wait(lambda: store.finish_job(episode_id, step, claim)):
            if self._removed(episode_id):
                self.reporter.finish(ep, step, f"episode {episode_id} was removed meanwhile")
                return False
            # the lease ran out meanwhile and another worker holds the job: its result is
            # stored (a step run twice leaves one), the other worker records it
            self.reporter.finish(ep, step, f"{self.name} lost its lease: another worker has it")
            return False
        self.summary.done(episode_id, step)
        self.reporter.finish(ep, step, None)
        return True

    def _removed(self, episode_id: int) -> bool:
        """Whether the episode was removed while its step ran (`podgrep remove`)."""
        try:
            self.ctx.store.get_episode(episode_id)
        except NotFoundError:
            return True
        except Exception:  # noqa: BLE001 - the store away: the step's own outcome is told
            return False
        return False

    def _failed(self, ep: Episode, claim: Claim, exc: Exception) -> None:
        store, settings = self.ctx.store, self.ctx.settings
        episode_id, step = claim.episode_id, claim.step
        full = disk_full(self.ctx, exc)
        if full is not None:
            message = str(full)
        elif isinstance(exc, PodgrepError):
            message = str(exc)
        else:
            message = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        key = (episode_id, step)
        again = isinstance(exc, StoreUnavailable) and full is None
        if again:
            self.given_back[key] = self.given_back.get(key, 0) + 1
            again = self.given_back[key] <= STORE_RETRIES
        try:
            if again:
                # not the episode's fault: back in the queue, uncharged, once the store is back
                self.wait(lambda: store.release_job(episode_id, step, claim))
                self.reporter.finish(ep, step, f"{message} (tried again when the store is back)")
                return
            # a full disk (or a store that keeps going away) is not the episode's fault
            # either: failed, but not charged
            recorded = self.wait(
                lambda: store.fail_job(
                    episode_id,
                    step,
                    message,
                    park=full is None and _permanent(exc),
                    max_attempts=settings.max_attempts,
                    charge=full is None and not isinstance(exc, StoreUnavailable),
                    claim=claim,
                )
            )
        except StoreError as unrecorded:
            # the store cannot even record the failure: stop with its line (the step's own,
            # if it was the store's too), never a loop over every episode
            if isinstance(exc, StoreError):
                raise exc from None
            raise unrecorded from None
        if not recorded:  # another worker took the job over meanwhile: its outcome counts
            self.reporter.finish(ep, step, f"{message} (another worker has the job now)")
            return
        self.summary.failed(episode_id, step, message)
        self.reporter.finish(ep, step, message)

    def drain(self, since: float | None, steps: Sequence[str] | None = None) -> None:
        """Run jobs until none is left that this lane may claim; after each finished step
        the same episode's next step comes first, so an episode stays on one worker."""
        last: int | None = None
        while not self.stop.is_set():
            claim = None
            if last is not None:
                claim = self.claim(since, steps=steps, episode_id=last)
            if claim is None:
                claim = self.claim(since, steps=steps)
            if claim is None:
                return
            last = claim.episode_id if self.run(claim) else None


RETRY_AFTER = 60.0  # a long-running worker tries a failed (not parked) step again after this


def work(
    ctx: StepContext,
    reporter: Reporter | None = None,
    *,
    lane: str | None = None,
    until_done: bool = False,
    poll_seconds: float = 2.0,
    stop: threading.Event | None = None,
    steps: Sequence[str] | None = None,
) -> RunSummary:
    """A worker's life: claim and run jobs from the store's queue until `stop` is set.

    With `until_done`, stop instead once no job is left to claim and none is running anywhere
    (a job another worker holds may yet be given back, or its lease run out: it waits for
    those), trying each step once; otherwise a failed step is tried again after RETRY_AFTER
    seconds, by today's rules (max_attempts, then parked till `sync --retry`), and the queue is
    polled every `poll_seconds` for new work. `steps` limits the worker to those steps (CPU
    workers for speakers and index beside GPU workers that transcribe, say).
    """
    settings = ctx.settings
    wait = StoreWait(settings.store_wait_seconds, ctx.notify)
    summary = RunSummary()
    began = time.time()
    with LeaseKeeper(ctx.store, settings.lease_seconds, ctx.notify) as keeper:
        me = Worker(ctx, worker_id(lane), keeper, wait, reporter or SilentReporter(), summary,
                    stop or threading.Event())  # fmt: skip
        while not me.stop.is_set():
            wait(lambda: tidy_queue(ctx.store, settings.max_attempts), me.stop)
            since = began if until_done else time.time() - RETRY_AFTER
            me.drain(since, steps)
            if me.stop.is_set():
                break
            if until_done:
                running = wait(lambda: ctx.store.job_counts()["running"], me.stop)
                if not running:
                    last = me.claim(since, steps=steps)  # made runnable since the drain
                    if last is None:
                        break
                    me.run(last)
                    continue
            me.stop.wait(poll_seconds)
    return summary
