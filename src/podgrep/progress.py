"""Progress for long work: Rich bars on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import sys
import time

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
    """Draws one bar per running step (terminal) or logs start and end of each (pipes, CI)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.started = 0.0
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

    def start(self, ep: Episode, step: str) -> None:
        """A step of an episode begins."""
        self.started = time.monotonic()
        label = f"{VERBS.get(step, step)} [bold]{escape(_short(ep.title))}[/]"
        if self.progress is not None:
            self.task = self.progress.add_task(label, total=None)
        else:
            print(f"{VERBS.get(step, step).lower()}: #{ep.id} {ep.title}", file=sys.stderr)

    def advance(self, done: float, total: float | None) -> None:
        """The running step moved forward."""
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=done, total=total)

    def finish(self, ep: Episode, step: str, error: str | None) -> None:
        """The step ended, well or with an error."""
        took = time.monotonic() - self.started
        if self.progress is not None and self.task is not None:
            task = next(t for t in self.progress.tasks if t.id == self.task)
            if error:
                # stopped where it got to: its clock stops, and it is not drawn as done
                self.progress.update(
                    self.task, description=f"[red]✗ {step} {escape(_short(ep.title))}"
                )
                self.progress.stop_task(self.task)
                self.progress.console.print(f"  [red]{escape(error)}[/]")
            else:
                end = task.total or task.completed or 1
                self.progress.update(self.task, completed=end, total=end)
            self.task = None
        else:
            outcome = f"FAILED: {error}" if error else f"done in {took:.1f}s"
            print(f"  {step} #{ep.id}: {outcome}", file=sys.stderr)

    def close(self) -> None:
        """Stop drawing."""
        if self.progress is not None:
            self.progress.stop()


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
