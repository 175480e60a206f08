"""Runs pending steps in this process, episode by episode, recording every outcome durably."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from podgrep.domain import Episode
from podgrep.errors import (
    DiskFullError,
    FetchError,
    ModelError,
    PodgrepError,
    StoreError,
    StoreUnavailable,
    full_disk_cause,
)
from podgrep.jobs.steps import STEP_FUNCTIONS, StepContext
from podgrep.store import QueuePosition


class Reporter(Protocol):
    """Receives progress from the runner (the CLI draws bars, tests collect events)."""

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


def _permanent(exc: BaseException) -> bool:
    """Errors that another attempt cannot fix (bad input), as opposed to a flaky network or
    a store's server that went away for a moment."""
    if isinstance(exc, FetchError):
        return not exc.transient
    if isinstance(exc, StoreUnavailable):
        return False
    return isinstance(exc, PodgrepError)


def _disk_full(ctx: StepContext, exc: BaseException) -> DiskFullError | None:
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


def run_pending(ctx: StepContext, reporter: Reporter | None = None) -> RunSummary:
    """Run every pending step once; a failing episode never stops the others.

    A full disk fails the step with one line without charging an attempt, so the next sync
    takes it up again; when the database cannot even record that, the run stops with the line.
    So does a store's server that went away (StoreUnavailable): the step is not charged, and
    when the failure cannot be recorded either, the run stops with the store's one line.
    """
    try:
        return _run(ctx, reporter or SilentReporter())
    except (sqlite3.Error, OSError) as exc:
        full = _disk_full(ctx, exc)
        if full is None:
            raise
        raise full from exc


def _run(ctx: StepContext, reporter: Reporter) -> RunSummary:
    store, max_attempts = ctx.store, ctx.settings.max_attempts
    summary = RunSummary()
    tried: set[tuple[int, str]] = set()
    # The queue is walked in order: after a failure, the next job is looked up past that
    # episode (an index lookup), so each (episode, step) is tried at most once per run; after
    # a success the same episode comes back with its next step.
    after: QueuePosition | None = None
    while True:
        job = store.next_job(max_attempts, after)
        if job is None:
            return summary
        episode_id, step = job.episode_id, job.step
        if (episode_id, step) in tried:  # a step that neither finished nor failed: move on
            after = job.position
            continue
        tried.add((episode_id, step))
        ep = store.get_episode(episode_id)
        reporter.start(ep, step)
        store.start_job(episode_id, step)
        try:
            STEP_FUNCTIONS[step](ctx, ep, reporter.advance)
        except ModelError:
            # the model is broken for every episode: stop and give the attempt back
            store.release_job(episode_id, step)
            raise
        except Exception as exc:
            full = _disk_full(ctx, exc)
            if full is not None:
                message = str(full)
            elif isinstance(exc, PodgrepError):
                message = str(exc)
            else:
                message = f"{type(exc).__name__}: {exc}"
                traceback.print_exc()
            # a full disk or a store that went away is not the episode's fault: not charged
            blameless = full is not None or isinstance(exc, StoreUnavailable)
            try:
                store.fail_job(
                    episode_id,
                    step,
                    message,
                    park=not blameless and _permanent(exc),
                    max_attempts=max_attempts,
                    charge=not blameless,
                )
            except StoreError as unrecorded:
                # the store cannot even record the failure: stop with its line (the step's
                # own, if it was the store's too), never a loop over every episode
                if isinstance(exc, StoreError):
                    raise exc from None
                raise unrecorded from None
            summary.failures.append((episode_id, step, message))
            reporter.finish(ep, step, message)
            after = job.position
            continue
        store.finish_job(episode_id, step)
        summary.steps_done += 1
        if step == "index":
            summary.episodes_done.append(episode_id)
        reporter.finish(ep, step, None)


class SyncLock:
    """One sync per data directory at a time; the OS drops the lock if the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def __enter__(self) -> SyncLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held for the lock's lifetime
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            owner = fh.read().strip() or "another process"
            fh.close()
            raise PodgrepError(
                f"Another sync is running on this library (pid {owner}): wait for it or stop it"
            ) from None
        try:  # who holds the lock, for the message above; a full disk must not stop the sync here
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
