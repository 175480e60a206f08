"""Scheduled syncs (`podgrep sync --watch 1h`, `podgrep serve --sync-every 1h`): the interval
syntax, when each show is due for its next check (the feed's own `<ttl>` or
`podcast:updateFrequency`, a failing feed backed off), and the watch loop that checks the due
feeds, runs the pending jobs through `run_sync`, then sleeps until the next show is due."""

from __future__ import annotations

import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import FrameType
from typing import TYPE_CHECKING, Any

from podgrep.domain import Show
from podgrep.errors import InvalidInput, PodgrepError

if TYPE_CHECKING:
    from podgrep.config import Settings
    from podgrep.library import RefreshResult
    from podgrep.store import Store

BACKOFF_CAP = 24 * 3600.0  # a failing feed is checked at least once a day
MIN_SLEEP = 1.0  # between rounds, whatever the arithmetic says: never a busy loop
MIN_INTERVAL = 1.0  # the shortest schedule taken (`--watch 0.001s` is a typo, not a plan)
RETRY_SECONDS = 60.0  # a round that stopped on an error is tried again this soon, then later
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART_RE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_interval(text: str, *, option: str = "--watch") -> float:
    """Seconds in an interval such as `30s`, `15m`, `1h`, `1h30m`, `2d`, `1w`, or a bare
    number of seconds (`90`); anything else, zero, negative or under a second is an
    InvalidInput naming `option`."""
    given = text.strip().lower().replace(" ", "")
    seconds: float | None = None
    negative = given.startswith("-")
    given = given.removeprefix("-")
    if re.fullmatch(r"\d+(?:\.\d+)?", given):
        seconds = float(given)
    elif given and re.fullmatch(r"(?:\d+(?:\.\d+)?[smhdw])+", given):
        units = [u for _, u in _PART_RE.findall(given)]
        if len(set(units)) == len(units):  # `1h1h` is a typo, not two hours
            seconds = sum(float(n) * _UNITS[u] for n, u in _PART_RE.findall(given))
    if seconds is None:
        raise InvalidInput(
            f"{option} {text!r} is not an interval: use a number with s, m, h, d or w"
            " (30s, 15m, 1h, 1h30m, 2d) or a bare number of seconds"
        )
    if seconds <= 0 or negative:
        raise InvalidInput(f"{option} {text!r} must be longer than zero (e.g. 1h)")
    if seconds < MIN_INTERVAL:
        raise InvalidInput(f"{option} {text!r} is too short: at least 1s (e.g. 1h)")
    return seconds


def format_interval(seconds: float) -> str:
    """A wait as the interval syntax writes it, to the second: `59m`, `1h30m`, `2s`, `0s`."""
    left = max(0, round(seconds))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, left = divmod(left, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"


def check_wait(show: Show, interval: float) -> float:
    """Seconds between two checks of `show`: the larger of `interval` and what its feed asks
    (`check_every`), doubled for each failed check in a row, up to a day (or the feed's own
    wait, when that is longer)."""
    base = max(interval, show.check_every or 0.0)
    failures = max(0, int(show.check_failures or 0))
    return min(base * 2.0 ** min(failures, 32), max(base, BACKOFF_CAP))


def next_due(show: Show, interval: float) -> float | None:
    """When `show` is due for its next check (Unix time; 0 for never checked), or None: never
    (a paused show; a show of single URLs, which has nothing to check)."""
    if show.paused or show.kind not in ("feed", "playlist", "local"):
        return None
    if show.last_checked is None:
        return 0.0
    return show.last_checked + check_wait(show, interval)


def is_due(show: Show, interval: float, now: float) -> bool:
    """Whether `show` should be checked at `now`."""
    due = next_due(show, interval)
    return due is not None and due <= now


def next_check(shows: list[Show], interval: float, now: float) -> float:
    """When the next round should run: the first show due, at most `interval` from `now`
    (so a show added meanwhile, and pending jobs, wait no longer), at least MIN_SLEEP."""
    dues = [d for d in (next_due(s, interval) for s in shows) if d is not None]
    soonest = min([now + interval, *dues])
    return max(soonest, now + MIN_SLEEP)


class DueNow:
    """A round's choice of shows (the `only` its sync gets): those due at `now`, remembering
    which it let through. `next_check` then counts each of them as checked at the round's
    time at the latest, so a show whose check left no mark (`last_checked` not advanced) waits
    an interval like any other instead of being due again at once (a round a second)."""

    def __init__(self, interval: float, now: float | None = None) -> None:
        self.interval = interval
        self.now = time.time() if now is None else now
        self.chosen: set[int] = set()

    def __call__(self, show: Show) -> bool:
        if not is_due(show, self.interval, self.now):
            return False
        if show.id is not None:
            self.chosen.add(show.id)
        return True

    def next_check(self, shows: list[Show], now: float | None = None) -> float:
        """When the next round should run, after this one (see `next_check`)."""
        seen = [
            replace(s, last_checked=self.now)
            if s.id in self.chosen and (s.last_checked or 0.0) < self.now
            else s
            for s in shows
        ]
        return next_check(seen, self.interval, time.time() if now is None else now)


def retry_wait(interval: float, failures: int) -> float:
    """The wait before trying again after `failures` rounds in a row stopped on an error:
    RETRY_SECONDS, doubled each time, never longer than `interval`."""
    return min(interval, RETRY_SECONDS * 2.0 ** min(max(0, failures - 1), 32))


@dataclass
class Round:
    """What one scheduled round did."""

    checked: int = 0
    new_episodes: int = 0
    failed: int = 0  # feeds whose check failed
    episodes_done: int = 0
    next_check: float = 0.0  # Unix time of the next round

    def line(self, now: float | None = None) -> str:
        """The one line a round prints."""
        wait = self.next_check - (time.time() if now is None else now)
        failed = f" ({self.failed} failed)" if self.failed else ""
        return (
            f"watch: checked {self.checked} feed(s){failed}, {self.new_episodes} new"
            f" episode(s); next check in {format_interval(wait)}"
        )


def run_round(
    settings: Settings,
    store: Store,
    interval: float,
    sync: Callable[..., Any],
    *,
    on_feed: Callable[[RefreshResult], None] | None = None,
    **options: Any,
) -> Round:
    """One round: `sync` (`run_sync`, or the web's) with only the shows due now checked;
    `options` go to it as they are. Returns what was checked and when the next round is."""
    result = Round()
    due = DueNow(interval)

    def checked(found: RefreshResult) -> None:
        if found.show.kind in ("feed", "playlist"):
            result.checked += 1
        result.new_episodes += len(found.new_episodes)
        result.failed += bool(found.error)
        if on_feed is not None:
            on_feed(found)

    summary = sync(settings, store, only=due, on_feed=checked, **options)
    result.episodes_done = len(getattr(summary, "episodes_done", []) or [])
    result.next_check = due.next_check(store.list_shows())
    return result


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in the main thread while inside, as Ctrl-C does: the
    step running is given back to the queue (jobs.worker) and the process exits 130."""
    try:
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread: SIGTERM keeps its handler
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def watch(
    settings: Settings,
    store: Store,
    interval: float,
    *,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    on_feed: Callable[[RefreshResult], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rounds: int | None = None,
    first: dict[str, Any] | None = None,
    **options: Any,
) -> None:
    """Check and sync on a schedule until interrupted (Ctrl-C or SIGTERM: KeyboardInterrupt
    goes up to the caller): a round (`run_round` over `run_sync`), one line, then a sleep
    until the next show is due, at most `interval`. `first` adds options for the first round
    only (`retry`); `rounds` stops after that many (tests). `say` gets plain text (no
    markup). An error in the first round (a wrong model) ends it; in a later one (a full
    disk, a store away too long, a database locked) it is said in one line and the round tried
    again after `retry_wait` (a minute, doubling, at most `interval`): a watch is left running
    for days."""
    from podgrep.jobs.sync import run_sync

    done = 0
    failures = 0  # later rounds in a row that stopped on an error
    with sigterm_interrupts():
        while rounds is None or done < rounds:
            extra = (first or {}) if done == 0 else {}
            try:
                result = run_round(
                    settings, store, interval, run_sync, on_feed=on_feed, **options, **extra
                )
            except Exception as exc:
                if done == 0:  # a wrong setting: one line, and the watch never starts
                    raise
                done += 1
                failures += 1
                wait = retry_wait(interval, failures)
                why = str(exc) if isinstance(exc, PodgrepError) else f"{type(exc).__name__}: {exc}"
                why = " ".join(why.split()) or type(exc).__name__  # one line
                say(f"watch: this round stopped: {why}; next try in {format_interval(wait)}")
                if rounds is not None and done >= rounds:
                    break
                sleep(wait)
                continue
            done += 1
            failures = 0
            say(result.line())
            if rounds is not None and done >= rounds:
                break
            sleep(max(0.0, result.next_check - time.time()))
