"""What `podgrep publish` prints around `publish` (the CLI stays a thin verb)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.markup import escape

from podgrep.config import Settings
from podgrep.publish.site import publish
from podgrep.runtime import Runtime
from podgrep.shows import find_show


def run_publish(
    settings: Settings,
    folder: Path,
    show_ref: str | None,
    base_url: str | None,
    say: Callable[[str], None],
    note: Callable[[str], None],
) -> None:
    """Publish the shows `show_ref` names (else all) into `folder`; one summary line."""
    with Runtime(settings).open_store() as store:
        shows = [find_show(store, show_ref)] if show_ref is not None else store.list_shows()
        report = publish(store, shows, folder, base_url=base_url)
    for line in report.notes:
        note(f"note: {escape(line)}")
    f = report.files
    say(
        f"Published {report.episodes} episode(s) of {report.shows} show(s)"
        f" ({report.feeds} feed.xml) to {escape(str(folder))}: written {len(f.written)},"
        f" unchanged {len(f.unchanged)}, removed {len(f.removed)}"
    )
