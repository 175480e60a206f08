"""Held episodes and the library's measured transcription speed: a mixin of the SQL stores,
written once in portable SQL.

An episode `add --latest/--since` recorded without queueing it has status `held` and no jobs
(`add_episodes(..., hold=)`); `queue_held` gives it its jobs later. The speed `add` quotes is
this library's own history: audio seconds of the episodes Whisper transcribed, over the wall
seconds those transcribe jobs ran, for one model. A job counts only when its episode's complete
transcript is Whisper's (`source = 'whisper'`: not a publisher's or imported text, which ran no
Whisper) and that transcript was begun in the job's last attempt (`created >= started`), the
one `started` times: a transcription resumed after a kill, or a retranscription already
swapped in, ran partly or wholly in attempts no longer on record.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from podgrep.store.base import SqlBase

HELD = "held"  # the status of an episode recorded but not queued
WHISPER = "whisper"  # jobs/steps.py: the source of a transcript Whisper wrote
ENOUGH_SAMPLES = 3  # jobs of the current model that make its own speed the one quoted


@dataclass(frozen=True)
class MeasuredSpeed:
    """Transcription speed measured from finished transcribe jobs of one model."""

    audio_seconds: float
    wall_seconds: float
    jobs: int
    model: str | None = None  # the Whisper model those jobs ran

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

    def measured_speed(self, model: str | None = None) -> MeasuredSpeed | None:
        """This library's transcription speed from its finished Whisper transcribe jobs (the
        episode's duration over the job's started..updated; see the module's docstring), of
        `model` (the current one) when it has `ENOUGH_SAMPLES` jobs, else of the model with
        the most; None before any was measured."""
        rows = self._rows(
            "SELECT t.model AS model, COUNT(*) AS n, SUM(e.duration) AS audio,"
            " SUM(j.updated - j.started) AS wall"
            " FROM jobs j JOIN episodes e ON e.id = j.episode_id"
            " JOIN transcripts t ON t.episode_id = j.episode_id AND t.source = ?"
            " AND t.complete = 1 AND t.created >= j.started"
            " WHERE j.step = 'transcribe' AND j.state = 'done' AND j.started IS NOT NULL"
            " AND e.duration > 0 AND j.updated > j.started"
            " GROUP BY t.model",
            (WHISPER,),
        )
        speeds = [
            MeasuredSpeed(float(r["audio"]), float(r["wall"]), int(r["n"]), r["model"])
            for r in rows
            if r["n"] and r["wall"]
        ]
        if not speeds:
            return None
        current = [s for s in speeds if model is not None and s.model == model]
        if current and current[0].jobs >= ENOUGH_SAMPLES:
            return current[0]
        # the best measured model; the current one where it has as many jobs
        return max(speeds, key=lambda s: (s.jobs, s.model == model, s.audio_seconds))
