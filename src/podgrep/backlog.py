"""Backlog limits: which of a new show's episodes `add --latest N` / `--since DATE` records
without queueing (status `held`, no jobs), `podgrep queue` queueing them later, and the
line `add` prints about what a sync is about to do (episodes queued, hours of audio, the time
at this library's measured speed of a model, or before anything was measured, at the speed the
project's own benchmarks recorded for the bundled model on this many CPU cores, where it
recorded one).

The limit applies when episodes are first recorded: episodes a later sync finds are queued
(they are newer than every held one).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

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


@dataclass(frozen=True)
class KnownSpeed:
    """A real-time factor the project's benchmarks recorded (README, "Measured") for the
    bundled model, int8 on CPU, on a machine of `cores` cores: an estimate before this library
    measured its own."""

    factor: float
    model: str
    cores: int


# The bundled model's recorded speeds, by CPU cores: whole syncs (download, decode, every step),
# so slower than the transcribe step alone and an estimate on the long side. 2 cores:
# `benchmarks/sync.py`, 23.0x real time; 1 core: `benchmarks/cluster.py`, one worker with
# cpu_threads = workers = 1, 13.1 audio hours per wall hour. Nothing is recorded for other
# core counts or for GPUs: no estimate there.
BUNDLED_MODEL = "tiny.en"
KNOWN_SPEEDS = {1: 13.1, 2: 23.0}


def known_speed(settings: Any) -> KnownSpeed | None:
    """The recorded speed of `settings`' model on this machine, when it is the bundled model
    on CPU (int8) and the benchmarks recorded one for this many cores; else None."""
    cores = os.cpu_count() or 0
    if getattr(settings, "model", None) != BUNDLED_MODEL or cores not in KNOWN_SPEEDS:
        return None
    from podgrep.asr.device import choose

    try:
        choice = choose(str(settings.device), str(settings.compute_type))
    except Exception:  # an estimate must never stop `add`
        return None
    if choice.device != "cpu" or choice.compute_type != "int8":
        return None
    return KnownSpeed(KNOWN_SPEEDS[cores], BUNDLED_MODEL, cores)


def _no_durations(kind: str, n: int) -> str:
    """Why a source's queued episodes have no durations yet, by the kind of source."""
    if kind == "feed":
        return "the feed gives no durations"
    if kind == "playlist":
        return "the playlist gives no durations"
    if kind in ("file", "folder"):
        return (
            "its length is read when it is transcribed"
            if n == 1
            else "the files' lengths are read when they are transcribed"
        )
    return "the address gives no duration"  # url: direct media or a page


def plan_line(
    episodes: Sequence[Episode],
    speed: MeasuredSpeed | KnownSpeed | None,
    kind: str = "feed",
) -> str:
    """The line `add` prints for a source's new episodes (`kind`: feed, url, file or folder):
    `N episodes queued (H.H h of audio, about M min at this machine's measured speed with
    MODEL), K held`; with a `KnownSpeed`, `… about M min at MODEL's 23x real time benchmarked
    on 2 CPU cores (not measured here yet)`."""
    queued = [e for e in episodes if e.status != HELD]
    held = len(episodes) - len(queued)
    timed = [e.duration for e in queued if e.duration]
    parts = f"{len(queued)} episode{'s' if len(queued) != 1 else ''} queued"
    if queued:
        if not timed:
            detail = _no_durations(kind, len(queued))
        else:
            seconds = float(sum(timed))
            at_least = "at least " if len(timed) < len(queued) else ""
            detail = f"{at_least}{seconds / 3600:.1f} h of audio, "
            if speed is None:
                detail += "speed not measured yet"
            elif isinstance(speed, KnownSpeed):
                detail += (
                    f"about {_minutes(seconds / speed.factor)} at {speed.model}'s"
                    f" {speed.factor:g}x real time benchmarked on {speed.cores} CPU"
                    f" core{'s' if speed.cores != 1 else ''} (not measured here yet)"
                )
            else:
                model = f" with {speed.model}" if speed.model else ""
                detail += (
                    f"about {_minutes(seconds / speed.factor)} at this machine's measured"
                    f" speed{model}"
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
