"""Progress for long work: Rich bars on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Hashable

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from podgrep.domain import Episode

VERBS = {
    "fetch": "Fetching",
    "transcribe": "Transcribing",
    "speakers": "Finding speakers in",
    "index": "Indexing",
}


class ConsoleReporter:
    """Draws one bar per running step (terminal) or logs start and end of each (pipes, CI).

    Steps run at once in several lanes (downloads ahead of transcription, workers on a
    cluster): each lane's bar is found by its key, the reporting thread unless `key` says
    otherwise.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal
        self.progress: Progress | None = None
        self._tasks: dict[Hashable, tuple[TaskID | None, float]] = {}
        self._lock = threading.Lock()
        if self.live:
            self.progress = Progress(
                TextColumn("{task.description}", table_column=None),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self.progress.start()

    def start(self, ep: Episode, step: str, key: Hashable | None = None) -> None:
        """A step of an episode begins."""
        label = f"{VERBS.get(step, step)} [bold]{escape(_short(ep.title))}[/]"
        task: TaskID | None = None
        if self.progress is not None:
            task = self.progress.add_task(label, total=None)
        else:
            print(f"{VERBS.get(step, step).lower()}: #{ep.id} {ep.title}", file=sys.stderr)
        with self._lock:
            self._tasks[_key(key)] = (task, time.monotonic())

    def advance(self, done: float, total: float | None, key: Hashable | None = None) -> None:
        """The running step moved forward."""
        with self._lock:
            task = self._tasks.get(_key(key), (None, 0.0))[0]
        if self.progress is not None and task is not None:
            self.progress.update(task, completed=done, total=total)

    def finish(
        self, ep: Episode, step: str, error: str | None, key: Hashable | None = None
    ) -> None:
        """The step ended, well or with an error."""
        with self._lock:
            task, started = self._tasks.pop(_key(key), (None, time.monotonic()))
        took = time.monotonic() - started
        if self.progress is not None and task is not None:
            shown = next(t for t in self.progress.tasks if t.id == task)
            if error:
                # stopped where it got to: its clock stops, and it is not drawn as done
                self.progress.update(task, description=f"[red]✗ {step} {escape(_short(ep.title))}")
                self.progress.stop_task(task)
                self.progress.console.print(f"  [red]{escape(error)}[/]")
            else:
                end = shown.total or shown.completed or 1
                self.progress.update(task, completed=end, total=end)
        elif self.progress is None:
            outcome = f"FAILED: {error}" if error else f"done in {took:.1f}s"
            print(f"  {step} #{ep.id}: {outcome}", file=sys.stderr)

    def task(self, key: Hashable | None = None) -> TaskID | None:
        """The bar of the lane's running step (the calling thread's unless `key`)."""
        with self._lock:
            return self._tasks.get(_key(key), (None, 0.0))[0]

    def close(self) -> None:
        """Stop drawing."""
        if self.progress is not None:
            self.progress.stop()


def _key(key: Hashable | None) -> Hashable:
    return threading.get_ident() if key is None else key


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
