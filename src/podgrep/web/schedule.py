"""`podgrep serve --sync-every 1h`: scheduled syncs inside the web server. A daemon thread runs
the rounds `sync --watch` runs (the shows due checked, then every pending job) through the web
app's own `SyncRunner`, so a sync started from the page and a scheduled one never run at once
in this server; the next round's time is in the sync status (`next_check`). When the server
stops (SIGTERM, Ctrl-C) the app stops the scheduler, then the running sync: its step is given
back to the queue, as `podgrep sync` gives it back on Ctrl-C (web.app's lifespan)."""

from __future__ import annotations

import threading
import time

from podgrep.config import Settings
from podgrep.jobs.schedule import MIN_SLEEP, DueNow
from podgrep.runtime import Runtime
from podgrep.web.sync import SyncRunner

RETRY_SECONDS = 60.0  # a round that could not read the library is tried again this soon


class SyncScheduler:
    """Runs a scheduled round every time a show is due (at most `every` seconds apart) until
    stopped; the first round starts at once."""

    def __init__(self, settings: Settings, runner: SyncRunner, every: float) -> None:
        self.settings = settings
        self.runner = runner
        self.every = every
        self.rounds = 0  # rounds started here (a manual sync running instead is not one)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self.runner.next_check = time.time()
            self._thread = threading.Thread(target=self._loop, name="podgrep-schedule", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop scheduling (no round starts after this); a round's sync under way is the
        runner's to stop (`SyncRunner.stop`, as the app does next)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        runtime = Runtime(self.settings)
        try:
            delay = 0.0
            while not self._stop.wait(delay):
                delay = self._round(runtime)
        finally:
            runtime.close()

    def _round(self, runtime: Runtime) -> float:
        """One round (or, while a sync from the page runs, waiting for it instead); the
        seconds until the next."""
        due = DueNow(self.every)
        if self._stop.is_set():  # stopped meanwhile: no new round
            return 0.0
        if self.runner.start(only=due):
            self.rounds += 1
        while not self.runner.wait(0.5):  # this round's sync, or the one already running
            if self._stop.is_set():
                return 0.0
        try:
            with runtime.session() as store:
                shows = store.list_shows()
        except Exception:  # noqa: BLE001 - a store gone away: the server goes on, and so do we
            self.runner.next_check = time.time() + min(self.every, RETRY_SECONDS)
            return min(self.every, RETRY_SECONDS)
        when = due.next_check(shows)
        self.runner.next_check = when
        return max(MIN_SLEEP, when - time.time())
