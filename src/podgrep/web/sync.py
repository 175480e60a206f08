"""A sync started from the web: one background thread, its progress readable at any moment."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from podgrep.config import Settings
from podgrep.domain import Episode, Show
from podgrep.errors import PodgrepError
from podgrep.runtime import Runtime

if TYPE_CHECKING:
    from podgrep.library import RefreshResult


@dataclass
class SyncProgress:
    """What the running (or last) web sync is doing; read by GET /api/jobs."""

    running: bool = False
    started: float | None = None
    finished: float | None = None
    phase: str = "idle"  # idle | refreshing | working | done | failed | stopped
    episode_id: int | None = None
    episode: str | None = None
    step: str | None = None
    done: float | None = None
    total: float | None = None
    steps_done: int = 0
    episodes_done: int = 0
    # every step running now (downloads run ahead of transcription); the fields above show
    # the first of them
    steps: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    feed_errors: list[str] = field(default_factory=list)
    error: str | None = None


STOP_WAIT = 30.0  # seconds a server shutting down waits for the running step to be given back


class SyncRunner:
    """Runs `refresh + run_pending` (what `podgrep sync` does) in one thread at a time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._progress = SyncProgress()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()  # the running sync's: set by stop()
        self.next_check: float | None = None  # the next scheduled round (serve --sync-every)

    def snapshot(self) -> dict[str, Any]:
        """The progress as plain data, with `next_check` (when `serve --sync-every` checks
        the feeds next, Unix time; None without a schedule)."""
        with self._lock:
            return {**asdict(self._progress), "next_check": self.next_check}

    def _update(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._progress, key, value)

    def start(
        self,
        *,
        retry: bool = False,
        refresh: bool = True,
        only: Callable[[Show], bool] | None = None,
        on_feed: Callable[[RefreshResult], None] | None = None,
    ) -> bool:
        """Start a sync unless one is running here; return whether one was started (`only`,
        `on_feed`: as run_sync takes them, for a scheduled round)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._progress = SyncProgress(running=True, started=time.time(), phase="starting")
            self._cancel = threading.Event()
            self._thread = threading.Thread(
                target=self._run,
                args=(retry, refresh, only, on_feed, self._cancel),
                name="podgrep-sync",
                daemon=True,
            )
            self._thread.start()
            return True

    def stop(self, timeout: float | None = STOP_WAIT) -> bool:
        """Stop the running sync (the server is shutting down): the step running is given back
        to the queue at its next progress report (pending, lease cleared, attempt not
        charged), as `podgrep sync` gives it back on Ctrl-C; waits up to `timeout` for that.
        Return whether no sync runs any more (one still running past `timeout` ends with the
        process: its lease runs out and the next sync on this machine takes the job over)."""
        with self._lock:
            self._cancel.set()
        return self.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running sync to end; return False on timeout."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # -- the thread ------------------------------------------------------------------------------

    def _show_first(self) -> None:
        p = self._progress
        first = p.steps[0] if p.steps else None
        p.episode_id = first["episode_id"] if first else None
        p.episode = first["episode"] if first else None
        p.step = first["step"] if first else None
        p.done = first["done"] if first else None
        p.total = first["total"] if first else None

    def start_step(self, ep: Episode, step: str) -> None:
        """Reporter hook: a step of an episode begins (in the calling thread's lane)."""
        lane = threading.get_ident()
        with self._lock:
            p = self._progress
            p.steps = [s for s in p.steps if s["lane"] != lane]
            p.steps.append({"lane": lane, "episode_id": ep.id, "episode": ep.title,
                            "step": step, "done": None, "total": None})  # fmt: skip
            self._show_first()

    def advance(self, done: float, total: float | None) -> None:
        """Reporter hook: the calling lane's step moved forward."""
        lane = threading.get_ident()
        with self._lock:
            for s in self._progress.steps:
                if s["lane"] == lane:
                    s["done"], s["total"] = done, total
            self._show_first()

    def finish(self, ep: Episode, step: str, error: str | None) -> None:
        """Reporter hook: a step ended."""
        lane = threading.get_ident()
        with self._lock:
            p = self._progress
            p.steps = [s for s in p.steps if s["lane"] != lane]
            self._show_first()
            if error:
                p.failures.append({"episode_id": ep.id, "title": ep.title, "step": step,
                                   "error": error})  # fmt: skip
            else:
                p.steps_done += 1
                if step == "index":
                    p.episodes_done += 1

    def _run(
        self,
        retry: bool,
        refresh: bool,
        only: Callable[[Show], bool] | None = None,
        on_feed: Callable[[RefreshResult], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        from podgrep.errors import DiskFullError, full_disk_cause
        from podgrep.jobs.sync import run_sync
        from podgrep.jobs.worker import Stopped

        settings = self.settings

        def checked(result: RefreshResult) -> None:
            if on_feed is not None:
                on_feed(result)
            if result.error:
                with self._lock:
                    self._progress.feed_errors.append(f"{result.show.title}: {result.error}")

        try:
            with Runtime(settings) as runtime:
                store = runtime.store
                run_sync(
                    settings,
                    store,
                    _Reporter(self),
                    retry=retry,
                    refresh=refresh,
                    on_feed=checked,
                    on_phase=lambda phase: self._update(phase=phase),
                    only=only,
                    stop=cancel,
                )
            self._update(phase="done")
        except Stopped:  # the server is shutting down: the step running was given back
            self._update(phase="stopped", error="stopped with the server")
        except PodgrepError as exc:
            self._update(phase="failed", error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a crashed sync must still say why on the page
            if full_disk_cause(exc) is not None:
                full = DiskFullError.about(settings.home, what="its database")
                self._update(phase="failed", error=str(full))
            else:
                self._update(phase="failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            self._update(running=False, finished=time.time(), step=None, steps=[])


class _Reporter:
    """Adapts the runner's hooks to the jobs Reporter protocol."""

    def __init__(self, runner: SyncRunner) -> None:
        self.runner = runner

    def start(self, ep: Episode, step: str) -> None:
        self.runner.start_step(ep, step)

    def advance(self, done: float, total: float | None) -> None:
        self.runner.advance(done, total)

    def finish(self, ep: Episode, step: str, error: str | None) -> None:
        self.runner.finish(ep, step, error)
