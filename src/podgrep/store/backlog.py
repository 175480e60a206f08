"""Held episodes and the library's measured transcription speed: a mixin of the SQL stores,
written once in portable SQL.

An episode `add --latest/--since` recorded without queueing it has status `held` and no jobs
(`add_episodes(..., hold=)`); `queue_held` gives it its jobs later. The speed `add` quotes is
this library's own history: audio seconds of the episodes whose transcription finished, over
the wall seconds those transcribe jobs ran.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from podgrep.store.base import SqlBase

HELD = "held"  # the status of an episode recorded but not queued


@dataclass(frozen=True)
class MeasuredSpeed:
    """Transcription speed measured from finished transcribe jobs."""

    audio_seconds: float
    wall_seconds: float
    jobs: int

    @property
    def factor(self) -> float:
        """Seconds of audio transcribed per second of wall time."""
        return self.audio_seconds / self.wall_seconds


class BacklogQueries(SqlBase):
    """queue_held and measured_speed."""

    def queue_held(self, episode_ids: Sequence[int]) -> list[int]:
        """Give each held episode among these its jobs and status `new`; return the ids queued
        (episodes not held are left as they are)."""
        from podgrep.store.sql import STEPS  # sql.py imports this mixin

        queued: list[int] = []
        now = time.time()
        with self.transaction():
            for eid in episode_ids:
                # the status is the claim: two queue commands at once create the jobs once
                if not self._exec(
                    "UPDATE episodes SET status='new', error=NULL WHERE id=? AND status=?",
                    (eid, HELD),
                ):
                    continue
                self._many(
                    "INSERT INTO jobs (episode_id, step, updated) VALUES (?,?,?)"
                    " ON CONFLICT DO NOTHING",
                    [(eid, step, now) for step in STEPS],
                )
                queued.append(eid)
        return queued

    def measured_speed(self) -> MeasuredSpeed | None:
        """This library's transcription speed from its finished transcribe jobs (the episode's
        duration over the job's started..updated), None before any was measured."""
        row = self._row(
            "SELECT COUNT(*) AS n, SUM(e.duration) AS audio, SUM(j.updated - j.started) AS wall"
            " FROM jobs j JOIN episodes e ON e.id = j.episode_id"
            " WHERE j.step = 'transcribe' AND j.state = 'done' AND j.started IS NOT NULL"
            " AND e.duration > 0 AND j.updated > j.started"
        )
        if row is None or not row["n"] or not row["wall"]:
            return None
        return MeasuredSpeed(float(row["audio"]), float(row["wall"]), int(row["n"]))
