"""Read-only queries the web app needs beyond the Store's own: context, show text, job counts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from podgrep.store.sqlite import HIDDEN_FLAGS, SqliteStore


def segment_context(
    store: SqliteStore, segment_ids: list[int]
) -> dict[int, tuple[str | None, str | None]]:
    """For each segment id: the text of the segments just before and just after it."""
    if not segment_ids:
        return {}
    marks = ",".join("?" * len(segment_ids))
    rows = store.db.execute(
        "SELECT s.id, p.text AS before, n.text AS after, p.flags AS pflags, n.flags AS nflags"
        " FROM segments s"
        " LEFT JOIN segments p ON p.transcript_id = s.transcript_id AND p.idx = s.idx - 1"
        " LEFT JOIN segments n ON n.transcript_id = s.transcript_id AND n.idx = s.idx + 1"
        f" WHERE s.id IN ({marks})",
        segment_ids,
    )
    out: dict[int, tuple[str | None, str | None]] = {}
    for r in rows:
        before = r["before"] if not _hidden(r["pflags"]) else None
        after = r["after"] if not _hidden(r["nflags"]) else None
        out[int(r["id"])] = (before, after)
    return out


def _hidden(flags: str | None) -> bool:
    return bool(flags) and bool(HIDDEN_FLAGS & set((flags or "").split(",")))


def show_texts(store: SqliteStore, show_id: int) -> Iterator[str]:
    """The text of every shown segment of a show's best transcripts, one segment at a time."""
    rows = store.db.execute(
        "SELECT s.text, s.flags FROM segments s"
        " JOIN transcripts t ON t.id = s.transcript_id"
        " JOIN episodes e ON e.id = t.episode_id"
        " WHERE e.show_id = ? AND t.id = (SELECT t2.id FROM transcripts t2"
        "   WHERE t2.episode_id = e.id ORDER BY t2.complete DESC, t2.id DESC LIMIT 1)",
        (show_id,),
    )
    for r in rows:
        if not _hidden(r["flags"]):
            yield r["text"]


def show_version(store: SqliteStore, show_id: int) -> tuple[int, int]:
    """Changes whenever a show gains episodes or transcript text (a cache key)."""
    row = store.db.execute(
        "SELECT (SELECT COUNT(*) FROM episodes WHERE show_id = ?) AS eps,"
        " (SELECT COALESCE(MAX(s.id), 0) FROM segments s JOIN transcripts t"
        "  ON t.id = s.transcript_id JOIN episodes e ON e.id = t.episode_id"
        "  WHERE e.show_id = ?) AS seg",
        (show_id, show_id),
    ).fetchone()
    return int(row["eps"]), int(row["seg"])


def job_counts(store: SqliteStore) -> dict[str, int]:
    """How many job steps are pending, running, done and failed in the whole library."""
    counts = {"pending": 0, "running": 0, "done": 0, "failed": 0}
    for r in store.db.execute("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state"):
        counts[r["state"]] = int(r["n"])
    return counts


def running_jobs(store: SqliteStore) -> list[dict[str, Any]]:
    """Steps that some process holds a live lease on (a sync here or from the CLI)."""
    rows = store.db.execute(
        "SELECT j.episode_id, j.step, j.attempts, e.title, e.show_id FROM jobs j"
        " JOIN episodes e ON e.id = j.episode_id"
        " WHERE j.state = 'running' AND j.lease_until > ? ORDER BY j.updated",
        (time.time(),),
    )
    return [dict(r) for r in rows]
