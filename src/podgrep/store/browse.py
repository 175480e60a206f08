"""Read-only queries the web app needs beyond the Store's own: show text, versions, running jobs."""

from __future__ import annotations

import time
from collections.abc import Iterator

from podgrep.domain import RunningJob
from podgrep.store.base import SqlBase, from_row, hidden

TRANSCRIPTS_AT_ONCE = 50  # transcripts whose segments show_texts reads in one query


class BrowseQueries(SqlBase):
    """What the web pages read about a show and the job queue."""

    def show_texts(self, show_id: int) -> Iterator[str]:
        """The text of every shown segment of a show's best transcripts, one segment at a
        time."""
        best = [
            int(r["id"])
            for r in self._rows(
                "SELECT t.id FROM transcripts t JOIN episodes e ON e.id = t.episode_id"
                " WHERE e.show_id = ? AND t.id = (SELECT t2.id FROM transcripts t2"
                "   WHERE t2.episode_id = e.id ORDER BY t2.complete DESC, t2.id DESC LIMIT 1)"
                " ORDER BY t.id",
                (show_id,),
            )
        ]
        # a few transcripts at a time: a large show's text is never all in memory at once
        for start in range(0, len(best), TRANSCRIPTS_AT_ONCE):
            part = best[start : start + TRANSCRIPTS_AT_ONCE]
            marks = ",".join("?" * len(part))
            rows = self._rows(
                f"SELECT text, flags FROM segments WHERE transcript_id IN ({marks})"
                " ORDER BY transcript_id, idx",
                part,
            )
            for r in rows:
                if not hidden(r["flags"]):
                    yield str(r["text"])

    def show_version(self, show_id: int) -> tuple[int, int]:
        """Changes whenever a show gains episodes or transcript text (a cache key)."""
        row = self._row(
            "SELECT (SELECT COUNT(*) FROM episodes WHERE show_id = ?) AS eps,"
            " (SELECT COALESCE(MAX(s.id), 0) FROM segments s JOIN transcripts t"
            "  ON t.id = s.transcript_id JOIN episodes e ON e.id = t.episode_id"
            "  WHERE e.show_id = ?) AS seg",
            (show_id, show_id),
        )
        assert row is not None
        return int(row["eps"]), int(row["seg"])

    def running_jobs(self, *, expired: bool = False) -> list[RunningJob]:
        """Steps a worker holds a live lease on, oldest claim first: who holds each, since
        when, till when; with `expired`, also those whose lease ran out (their worker died,
        and the next claim takes them over)."""
        live = "" if expired else " AND j.lease_until > ?"
        rows = self._rows(
            "SELECT j.episode_id, j.step, j.attempts, e.title, e.show_id, j.worker, j.started,"
            " j.lease_until FROM jobs j JOIN episodes e ON e.id = j.episode_id"
            f" WHERE j.state = 'running'{live} ORDER BY j.started, j.updated",
            () if expired else (time.time(),),
        )
        return [from_row(RunningJob, r) for r in rows]
