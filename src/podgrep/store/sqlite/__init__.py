"""The embedded default store: one SQLite file with an FTS5 index over transcript segments."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from podgrep.domain import SegmentMatch
from podgrep.errors import DiskFullError, PodgrepError, QueryError, SchemaError, is_disk_full
from podgrep.query import Query

if TYPE_CHECKING:
    from podgrep.store.ports import Store
from podgrep.store.base import migrations
from podgrep.store.sql import (
    _NEXT_FIRST,
    _NEXT_LATER,
    _NEXT_SAME,
    QueuePosition,
    Row,
    SqlStore,
    StoreStats,
    chunks,
)
from podgrep.store.sqlite import fts

WORDS_VERSION = 7  # the migration creating `words`, filled from the segments already stored


def _migrations() -> list[tuple[int, str]]:
    return migrations("podgrep.store.sqlite")


class SqliteStore(SqlStore):
    """Shows, episodes, transcripts, segments and jobs in one SQLite database."""

    kind = "sqlite"
    queue_index = "INDEXED BY episodes_queue"

    def __init__(self, db_path: Path) -> None:
        self.path = Path(db_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA busy_timeout=30000")
            self._migrate()
        except SchemaError:
            self.db.close()
            raise
        except sqlite3.DatabaseError as exc:
            if is_disk_full(exc):
                raise DiskFullError.about(
                    self.path.parent, what="its database", then="run the command again"
                ) from exc
            raise PodgrepError(
                f"{self.path} is not a usable podgrep database ({exc}): "
                "move it away or choose another --home"
            ) from exc

    # -- plumbing -----------------------------------------------------------------------------

    @property
    def location(self) -> str:
        return str(self.path)

    def _sql(self, sql: str) -> str:
        return (
            sql.replace("GREATEST(", "MAX(")
            .replace(" ILIKE ", " LIKE ")
            .replace("IS NOT DISTINCT FROM", "IS")
        )

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self.db.execute(self._sql(sql), tuple(args)).fetchall()

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self.db.execute(self._sql(sql), tuple(args)).rowcount

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.db.executemany(self._sql(sql), rows)

    def for_thread(self) -> Store:
        """A connection of its own for another thread (the caller closes it)."""
        return SqliteStore(self.path)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block atomically (BEGIN IMMEDIATE so writers queue instead of failing). A
        block inside another joins it."""
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.db.in_transaction:  # SQLite has rolled back already on a full disk
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _abandon(self) -> None:
        if self.db.in_transaction:  # the step's own COMMIT failed (a full disk): drop it
            self.db.execute("ROLLBACK")

    def _migrate(self) -> None:
        current = self.db.execute("PRAGMA user_version").fetchone()[0]
        known = _migrations()
        latest = max((v for v, _ in known), default=0)
        if current > latest:
            raise SchemaError(
                f"{self.path} was written by a newer podgrep (schema version {current}; this"
                f" one knows up to {latest}): upgrade podgrep, or choose another --home"
            )
        for version, sql in known:
            if version <= current:
                continue
            # executescript commits on its own, so the version bump rides inside the script
            self.db.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")
            if version == WORDS_VERSION:
                with self.transaction():
                    self.fill_words()

    def stats(self) -> StoreStats:
        """What `podgrep db status` prints: the store, where it is, its schema version, its
        size on disk (the database with its write-ahead log) and how many rows each part of
        the library holds."""
        counts, jobs = self.part_counts(), self.jobs_by_state()
        size = sum(
            f.stat().st_size
            for f in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
            if f.exists()
        )
        latest = max((v for v, _ in _migrations()), default=0)
        return StoreStats("sqlite", str(self.path), self.schema_version, latest, size, counts, jobs)

    @property
    def schema_version(self) -> int:
        """The migration version this database is at."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def change_stamp(self) -> tuple[int, ...]:
        """Commits by other connections (data_version), and changes made by this one."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0]), self.db.total_changes

    def next_job_plan(self, max_attempts: int, after: QueuePosition | None = None) -> list[str]:
        """SQLite's query plan for next_job's queries (for tests and diagnostics)."""
        if after is None:
            queries: list[tuple[str, tuple[Any, ...]]] = [(_NEXT_FIRST, (max_attempts,))]
        else:
            queries = [
                (_NEXT_SAME, (max_attempts, *after)),
                (_NEXT_LATER, (max_attempts, after[0], after[1])),
            ]
        return [
            str(r["detail"])
            for sql, args in queries
            for r in self.db.execute("EXPLAIN QUERY PLAN " + self._queue(sql), args)
        ]

    def claim_plan(self, max_attempts: int, **narrow: Any) -> list[str]:
        """SQLite's query plan for claim_job's choice (for tests and diagnostics)."""
        sql, args = self._claim_query(time.time(), max_attempts, **narrow)
        return [str(r["detail"]) for r in self.db.execute("EXPLAIN QUERY PLAN " + sql, args)]

    # -- full-text search ---------------------------------------------------------------------

    def widen(self, prefix: str) -> list[str]:
        try:
            return super().widen(prefix)
        except sqlite3.OperationalError:  # a database opened read-only before its upgrade
            return []

    def fts_expression(self, query: Query, exclude: bool = False) -> str:
        """The FTS5 MATCH expression a query runs as here (prefixes widened)."""
        return fts.render(query, self.widen, exclude=exclude)

    def match_segments(
        self, query: Query, *, limit: int, offset: int = 0, show: str | None = None
    ) -> list[SegmentMatch]:
        """BM25-ranked segments matching the query, with their neighbours' words."""
        args: list[Any] = [self.fts_expression(query)]
        if show:
            sql = (
                self.HIT_COLUMNS + ", bm25(segments_fts) AS score"
                " FROM segments_fts JOIN segments s ON s.id = segments_fts.rowid"
                + self.HIT_JOINS
                + " WHERE segments_fts MATCH ? AND"
                + self.SHOW_FILTER
                + " ORDER BY score, s.id LIMIT ? OFFSET ?"
            )
            args += [f"%{show}%", show]
        else:
            # rank inside the full-text index first and join only the page: a common word
            # matches tens of thousands of segments in a large library
            sql = (
                self.HIT_COLUMNS + ", f.score AS score FROM (SELECT rowid, bm25(segments_fts)"
                " AS score FROM segments_fts WHERE segments_fts MATCH ? ORDER BY score, rowid"
                " LIMIT ? OFFSET ?) f JOIN segments s ON s.id = f.rowid"
                + self.HIT_JOINS
                + " ORDER BY f.score, s.id"
            )
        args += [limit, offset]
        try:
            rows = self._rows(sql, args)
        except sqlite3.OperationalError as exc:
            raise QueryError(f"Search query not understood ({exc})") from exc
        return [self._match(r, float(r["score"])) for r in rows]

    def term_counts(self, terms: list[str]) -> dict[str, int]:
        out = {}
        try:
            for term in terms:
                row = self.db.execute(
                    "SELECT doc FROM segments_vocab WHERE term = ?", (term,)
                ).fetchone()
                out[term] = int(row[0]) if row else 0
        except sqlite3.OperationalError:  # a database made before the vocabulary table existed
            return {}
        return out

    def optimize_index(self) -> None:
        """Merge FTS5 index segments a little, keeping queries fast as the library grows."""
        self.db.execute("INSERT INTO segments_fts(segments_fts, rank) VALUES ('merge', 64)")

    # -- vectors ------------------------------------------------------------------------------

    def passages_version(self) -> tuple[int, int, int]:
        """(count, largest id, removals) of all passages: changes whenever passages are
        written or deleted, and when a removal took some (passages written after it may take
        the removed ones' ids again). Counted on the small transcript index, not the table of
        vectors."""
        row = self.db.execute(
            "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM passages INDEXED BY passages_transcript"
        ).fetchone()
        return int(row[0]), int(row[1]), self.passages_removed()

    def load_vectors(
        self, model: str, dim: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every passage vector of a model: (ids, int8 rows, scales, episode ids)."""
        cur = self.db.execute(
            "SELECT p.id, p.vector, p.scale, t.episode_id FROM passages p"
            " JOIN transcripts t ON t.id = p.transcript_id WHERE p.model=? ORDER BY p.id",
            (model,),
        )
        ids: list[int] = []
        blobs: list[bytes] = []
        scales: list[float] = []
        episodes: list[int] = []
        for pid, blob, scale, eid in cur:
            ids.append(pid)
            blobs.append(blob)
            scales.append(scale)
            episodes.append(eid)
        rows = np.frombuffer(b"".join(blobs), dtype=np.int8).reshape(len(ids), dim)
        return (
            np.asarray(ids, dtype=np.int64),
            rows,
            np.asarray(scales, dtype=np.float32),
            np.asarray(episodes, dtype=np.int64),
        )

    def write_passages(
        self,
        transcript_id: int,
        model: str,
        spans: list[tuple[int, int, float, float]],
        vectors: np.ndarray,
    ) -> None:
        """Store a transcript's passages (first idx, last idx, start, end) with their unit
        vectors, as int8 rows with a scale each. They replace the transcript's passages of any
        model: passages embedded by a model no longer used would still be found by the keyword
        side of hybrid search. Replaced ones count as a removal (`_passages_removed`): the
        new rows can take the old ones' ids, leaving count and largest id as they were, and
        the in-memory index (vectors.py) would keep the old vectors."""
        from podgrep.semantic.index import quantize

        if len(spans):
            rows, scales = quantize(vectors)
        else:
            rows, scales = vectors.astype("int8"), vectors[:, 0]
        with self.transaction():
            if self._exec("DELETE FROM passages WHERE transcript_id=?", (transcript_id,)):
                self._passages_removed()
            self._many(
                'INSERT INTO passages (transcript_id, first_idx, last_idx, start, "end", model,'
                " vector, scale) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (transcript_id, a, b, start, end, model, rows[i].tobytes(), float(scales[i]))
                    for i, (a, b, start, end) in enumerate(spans)
                ],
            )

    def identity(self) -> str:
        """Which database this is, however its path is written (for `db copy`)."""
        return f"sqlite:{self.path.resolve()}"

    def table_columns(self, table: str) -> list[str]:
        return [str(r["name"]) for r in self.db.execute(f"PRAGMA table_info({table})")]

    def vectors_of(self, passage_ids: list[int]) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        for part in chunks(passage_ids, 500):
            marks = ",".join("?" * len(part))
            rows = self.db.execute(
                f"SELECT id, vector, scale FROM passages WHERE id IN ({marks})", part
            )
            for pid, blob, scale in rows:
                steps = np.frombuffer(blob, dtype=np.int8).astype(np.float32)
                out[int(pid)] = steps * np.float32(scale)
        return out

    def import_passages(
        self, columns: list[str], rows: list[Row], vectors: dict[int, np.ndarray]
    ) -> None:
        from podgrep.semantic.index import quantize

        if not rows:
            return
        matrix = np.stack([vectors[int(r["id"])] for r in rows]).astype(np.float32)
        steps, scales = quantize(matrix)
        names = [*columns, "vector", "scale"]
        marks = ",".join("?" * len(names))
        quoted = ", ".join(f'"{c}"' for c in names)
        self._many(
            f"INSERT INTO passages ({quoted}) VALUES ({marks}) ON CONFLICT DO NOTHING",
            [
                [*(r[c] for c in columns), steps[i].tobytes(), float(scales[i])]
                for i, r in enumerate(rows)
            ],
        )

    def nearest(
        self, vector: np.ndarray, k: int, episodes: set[int] | None, model: str, dim: int
    ) -> list[tuple[int, float]]:
        """The k passages of `model` nearest a unit vector: (passage id, cosine), best first.
        Searched in memory (semantic/index.py), reloaded when the library's passages change."""
        from podgrep.store.sqlite.vectors import cached_index

        return cached_index(self, model, dim).search(vector, k, episodes)


__all__ = ["SqliteStore"]
