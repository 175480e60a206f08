"""Backlog limits: which of a new show's episodes `add --latest N` / `--since DATE` records
without queueing (status `held`, no jobs), `podgrep queue` queueing them later, and the
line `add` prints about what a sync is about to do (episodes queued, hours of audio, the time
at this library's measured speed).

The limit applies when episodes are first recorded: episodes a later sync finds are queued
(they are newer than every held one).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from podgrep.domain import Episode
from podgrep.errors import PodgrepError
from podgrep.store import Store
from podgrep.store.backlog import HELD, MeasuredSpeed


@dataclass(frozen=True)
class Backlog:
    """A limit on the episodes a new source queues: the `latest` newest (by published date;
    undated ones count as oldest, in feed order), and none published before `since` (unix
    seconds; undated ones are queued)."""

    latest: int | None = None
    since: float | None = None

    def held(self, episodes: Sequence[Episode]) -> set[str]:
        """The guids of the episodes this limit holds back."""
        held: set[str] = set()
        if self.latest is not None:
            # stable: undated episodes keep their feed order (newest first, as feeds list them)
            newest = sorted(
                episodes,
                key=lambda e: e.published if e.published is not None else -math.inf,
                reverse=True,
            )
            held |= {e.guid for e in newest[self.latest :] if e.guid}
        if self.since is not None:
            held |= {
                e.guid
                for e in episodes
                if e.guid and e.published is not None and e.published < self.since
            }
        return held


def parse_since(text: str) -> float:
    """`--since`: an ISO date (YYYY-MM-DD, midnight UTC) or a full ISO datetime (UTC unless
    it names its offset), as unix seconds."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        if "T" not in value and " " not in value:
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PodgrepError(
            f"--since {text!r} is not a date: give YYYY-MM-DD (e.g. 2025-01-01) or an ISO"
            " datetime (2025-01-01T08:00:00+00:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def backlog_of(latest: int | None, since: str | None) -> Backlog | None:
    """The limit `--latest`/`--since` ask for, checked (None: queue everything)."""
    if latest is not None and latest < 1:
        raise PodgrepError(
            f"--latest {latest}: give how many of the newest episodes to queue (1 or more);"
            " leave it out to queue them all"
        )
    if latest is None and since is None:
        return None
    return Backlog(latest, parse_since(since) if since is not None else None)


# -- what `add` is about to do ------------------------------------------------------------


def plan_line(episodes: Sequence[Episode], speed: MeasuredSpeed | None) -> str:
    """The line `add` prints for a source's new episodes: `N episodes queued (H.H h of
    audio, about M min at this machine's measured speed), K held`."""
    queued = [e for e in episodes if e.status != HELD]
    held = len(episodes) - len(queued)
    timed = [e.duration for e in queued if e.duration]
    parts = f"{len(queued)} episode{'s' if len(queued) != 1 else ''} queued"
    if queued:
        if not timed:
            detail = "the feed gives no durations"
        else:
            seconds = float(sum(timed))
            at_least = "at least " if len(timed) < len(queued) else ""
            detail = f"{at_least}{seconds / 3600:.1f} h of audio, "
            if speed is None:
                detail += "speed not measured yet"
            else:
                detail += (
                    f"about {_minutes(seconds / speed.factor)} at this machine's measured speed"
                )
        parts += f" ({detail})"
    return f"{parts}, {held} held"


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


# -- queue ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queued:
    """What `podgrep queue` did: the episodes it queued and those already queued."""

    queued: list[Episode]
    already: list[Episode]


def queue_episodes(store: Store, episodes: Sequence[Episode]) -> Queued:
    """Create the jobs of the held ones among `episodes` (status `new`); the others are left
    as they are."""
    ids = store.queue_held([e.id for e in episodes if e.id is not None and e.status == HELD])
    done = set(ids)
    return Queued([e for e in episodes if e.id in done], [e for e in episodes if e.id not in done])
