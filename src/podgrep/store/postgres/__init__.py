"""A library in PostgreSQL: many processes and machines share it.

psycopg 3 with a connection pool; the schema versioned like SQLite's (table `podgrep_schema`);
keyword search on a `tsvector` column (Porter stems made by podgrep, as SQLite's FTS5 makes
them) with a GIN index; passage vectors in pgvector with an HNSW index (cosine). Nothing is
cached in the process: every read sees what any other process has committed.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import numpy as np

from podgrep.domain import SegmentMatch
from podgrep.errors import (
    DiskFullError,
    PodgrepError,
    SchemaError,
    StoreError,
    StoreUnavailable,
)
from podgrep.query import Query

if TYPE_CHECKING:
    from podgrep.store.ports import Store
from podgrep.store.base import Row, migrations
from podgrep.store.postgres import tsquery
from podgrep.store.sql import SqlStore, StoreStats
from podgrep.store.urls import redact, secrets
from podgrep.words import stem, tokens

BASELINE = 8  # a new PostgreSQL library starts at SQLite's schema version 8
CANDIDATES = 200  # matching segments scored with BM25 per query (see match_segments)
EXACT_SCAN = 5000  # a query expected to match more is ranked among its newest matches
NEWEST = 2000  # about how many of the newest matches a very common query is ranked among
MATCH_SCAN = 2000  # a phrase or prefix is counted up to this many segments (for BM25)
POOL_SIZE = 8  # connections a process keeps (web requests, a sync's lanes, the lease keeper)
# how long a statement waits for a connection of the pool: a server gone away is told (and
# waited for, see jobs.worker.StoreWait) within this, not after psycopg_pool's 30 s
POOL_WAIT = 10.0
# the pool logs a warning for each dead connection it throws away; podgrep says what happened
# in one line of its own (StoreUnavailable), so the pool's notes stay out of the terminal
logging.getLogger("psycopg.pool").addHandler(logging.NullHandler())
logging.getLogger("psycopg.pool").propagate = False

BULK_LOCK, INDEX_LOCK = 7263013, 7263014  # advisory lock keys (7263011 migrations, 7263012 sync)
# the indexes a bulk load builds at its end (as in migrations/0008_initial.sql)
DEFERRED = (
    (
        "segments_search",
        "CREATE INDEX IF NOT EXISTS segments_search ON segments USING gin (search_tsv)",
    ),
    (
        "passages_embedding",
        "CREATE INDEX IF NOT EXISTS passages_embedding ON passages"
        " USING hnsw (embedding vector_ip_ops)",
    ),
)
_PLACEHOLDER = re.compile(r"\?")
# INSERT INTO t (…) VALUES (… one level of (…) inside …) [ON CONFLICT …]
_INSERT = re.compile(
    r"^(?P<head>\s*INSERT INTO .+? VALUES\s*)(?P<row>\((?:[^()]|\([^()]*\))*\))"
    r"(?P<tail>\s+ON CONFLICT .*)?$",
    re.S,
)
MAX_PARAMS = 30000  # values one statement carries (the protocol allows 65535)
_WINDOW = re.compile(r'(?<!")\bwindow\b(?!")')


def _migrations() -> list[tuple[int, str]]:
    return migrations("podgrep.store.postgres")


class PgRow(dict[str, Any]):
    """A row read by name (like sqlite3.Row) or by position."""

    def __getitem__(self, key: str | int) -> Any:  # type: ignore[override]
        if isinstance(key, int):
            return list(self.values())[key]
        return super().__getitem__(key)


def _row_factory(cursor: Any) -> Any:
    names = [c.name for c in cursor.description] if cursor.description else []

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(zip(names, values, strict=True))

    return make


def _scrubbed(url: str, text: str) -> str:
    """A driver's message with the URL's password taken out (libpq quotes what it parsed)."""
    for secret in sorted(secrets(url), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _where(url: str) -> tuple[str, str, str]:
    """(host:port or socket folder, database, user) of a URL, for messages."""
    parts = urlsplit(url)
    query = dict(q.split("=", 1) for q in parts.query.split("&") if "=" in q)
    try:
        port = parts.port or int(query.get("port", 5432))
    except ValueError:
        port = 5432
    host = parts.hostname or unquote(query.get("host", "")) or "localhost"
    where = f"{host}:{port}" if not host.startswith("/") else f"the socket in {host} (port {port})"
    return where, (parts.path or "/").lstrip("/") or "(default)", parts.username or ""


def _connect_error(url: str, exc: Exception) -> StoreError:
    """One line naming what to check, for a connection that failed."""
    where, database, user = _where(url)
    message = _scrubbed(url, str(exc).strip())
    text = message.splitlines()[0] if message else type(exc).__name__
    low = message.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        return StoreError(
            f"PostgreSQL at {where} refused the password for user {user!r}: check the password"
            " in the store URL (or PGPASSWORD, ~/.pgpass)"
        )
    if "does not exist" in low and "database" in low:
        return StoreError(
            f"PostgreSQL at {where} has no database {database!r}: create it (createdb"
            f" {database}) or fix the database name in the store URL"
        )
    if "role" in low and "does not exist" in low:
        return StoreError(
            f"PostgreSQL at {where} has no user {user!r}: create the role or fix the user in"
            " the store URL"
        )
    if "invalid" in low or "missing" in low or "unrecognized" in low or "syntax" in low:
        return StoreError(
            f"The store URL is not one PostgreSQL understands ({text}): write"
            " postgresql://user:password@host:5432/dbname"
        )
    return StoreError(
        f"Cannot reach PostgreSQL at {where} ({text}): check that the server is running and"
        " that the store URL names the right host and port"
    )


def _unavailable(url: str, exc: Exception) -> StoreUnavailable:
    """One line for a connection or server that failed in the middle of a command."""
    message = _scrubbed(url, str(exc).strip()).splitlines()
    return StoreUnavailable(
        f"PostgreSQL at {_where(url)[0]} stopped answering"
        f" ({message[0] if message else type(exc).__name__}): check the server, then run the"
        " command again (nothing done so far is lost)"
    )


def _clean(value: Any) -> Any:
    """A value PostgreSQL can store: text cannot hold NUL characters (SQLite's can)."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


class PostgresStore(SqlStore):
    """Shows, episodes, transcripts, segments, passages and jobs in a PostgreSQL database."""

    kind = "postgresql"
    skip_locked = " FOR UPDATE OF j SKIP LOCKED"
    for_update = " FOR UPDATE"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise StoreError(
                "The PostgreSQL store needs psycopg: pip install 'podgrep[postgres]'"
            ) from exc
        self._psycopg = psycopg
        scheme, _, rest = url.partition("://")
        self.url = "postgresql://" + rest  # postgres://, POSTGRESQL://, postgresql+psycopg://
        if scheme.lower() not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise StoreError(
                f"Unknown store URL scheme {scheme!r} in {redact(self.url)}: use"
                " postgresql://user@host:5432/dbname"
            )
        self._local = threading.local()
        conninfo = self.url
        kwargs: dict[str, Any] = {"autocommit": True, "row_factory": _row_factory}
        if "connect_timeout" not in conninfo:
            kwargs["connect_timeout"] = 10
        try:
            first = psycopg.connect(conninfo, **kwargs)
        except (psycopg.Error, ValueError) as exc:
            raise _connect_error(self.url, exc) from None
        try:
            self._migrate(first)
        finally:
            first.close()
        self._pool = ConnectionPool(
            conninfo, min_size=1, max_size=POOL_SIZE, kwargs=kwargs, open=False,
            timeout=POOL_WAIT,
        )
        try:
            self._pool.open(wait=True, timeout=30)
        except Exception as exc:
            raise _connect_error(self.url, exc) from None
        self.ensure_indexes()

    # -- plumbing -----------------------------------------------------------------------------

    @property
    def location(self) -> str:
        return redact(self.url)

    def _sql(self, sql: str) -> str:
        sql = _WINDOW.sub('"window"', sql.replace("%", "%%"))
        return _PLACEHOLDER.sub("%s", sql)

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        held = getattr(self._local, "conn", None)
        if held is not None:
            yield held
            return
        with self._pool.connection() as conn:
            yield conn

    def _run(self, sql: str, args: Sequence[Any]) -> tuple[list[Row], int]:
        with self._errors(), self._conn() as conn:
            cur = conn.execute(self._sql(sql), tuple(_clean(a) for a in args))
            rows = cur.fetchall() if cur.description else []
            return rows, cur.rowcount

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """The driver's errors as one line each: a full disk on the server and a lost
        connection are transient (the step is tried again, uncharged); anything else the
        server refused names what it refused."""
        psycopg = self._psycopg
        try:
            yield
        except psycopg.errors.DiskFull as exc:
            raise DiskFullError(
                f"The PostgreSQL server at {_where(self.url)[0]} is out of disk space: free"
                " space on the server, then run the command again",
                directory=Path("/"),  # the server's disk, not one of this machine's
            ) from exc
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise _unavailable(self.url, exc) from exc
        except psycopg.Error as exc:
            line = _scrubbed(self.url, str(exc).strip()).splitlines()
            raise PodgrepError(
                f"PostgreSQL refused a write or read of the library"
                f" ({type(exc).__name__}: {line[0] if line else ''})"
            ) from exc

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self._run(sql, args)[0]

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self._run(sql, args)[1]

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """An INSERT … VALUES (…) runs as multi-row statements (one trigger call and one
        round trip per few thousand values, not per row); anything else row by row."""
        batch = [tuple(r) for r in rows]
        if not batch:
            return
        batch = [tuple(_clean(v) for v in r) for r in batch]
        insert = _INSERT.match(sql)
        with self._errors(), self._conn() as conn, conn.cursor() as cur:
            if insert is None:
                cur.executemany(self._sql(sql), batch)
                return
            head, values, tail = insert.group("head"), insert.group("row"), insert.group("tail")
            per = max(1, MAX_PARAMS // max(1, len(batch[0])))
            for start in range(0, len(batch), per):
                part = batch[start : start + per]
                statement = head + ",".join([values] * len(part)) + (tail or "")
                cur.execute(self._sql(statement), [v for row in part for v in row])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block atomically on one connection of the pool; a block inside another joins
        it."""
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self._errors(), self._pool.connection() as conn:
            self._local.conn = conn
            try:
                with conn.transaction():
                    yield
            finally:
                self._local.conn = None

    def for_thread(self) -> Store:
        """Itself: the pool is shared by threads."""
        return self

    def close(self) -> None:
        """Close every connection of the pool."""
        self._pool.close()

    def _migrate(self, conn: Any) -> None:
        known = _migrations()
        latest = max((v for v, _ in known), default=0)
        psycopg = self._psycopg
        with conn.transaction():
            # one process migrates at a time; the others wait here, then find nothing to do
            conn.execute("SELECT pg_advisory_xact_lock(7263011)")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS podgrep_schema (version INTEGER PRIMARY KEY,"
                " applied DOUBLE PRECISION NOT NULL)"
            )
            current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM podgrep_schema")
            version_now = int(current.fetchone()[0])
            if version_now > latest:
                raise SchemaError(
                    f"{self.location} was written by a newer podgrep (schema version"
                    f" {version_now}; this one knows up to {latest}): upgrade podgrep, or"
                    " choose another --store"
                )
            for version, sql in known:
                if version <= version_now:
                    continue
                try:
                    with conn.transaction():
                        conn.execute(sql)
                except (
                    psycopg.errors.FeatureNotSupported,
                    psycopg.errors.InsufficientPrivilege,
                    psycopg.errors.UndefinedFile,
                    psycopg.errors.UndefinedObject,
                ) as exc:
                    if "vector" in str(exc):
                        where, database, _ = _where(self.url)
                        raise StoreError(
                            f"The PostgreSQL database {database!r} at {where} has no `vector`"
                            " extension and this user may not create it: install pgvector on"
                            " the server and run CREATE EXTENSION vector; in that database as"
                            " its owner or a superuser"
                        ) from None
                    raise StoreError(
                        f"Could not set up the podgrep schema in {self.location}: {exc}"
                    ) from None
                conn.execute(
                    "INSERT INTO podgrep_schema (version, applied) VALUES (%s, %s)",
                    (version, time.time()),
                )
                if version == BASELINE:  # the baseline stands for migrations 1..8
                    conn.execute(
                        "INSERT INTO podgrep_schema (version, applied)"
                        " SELECT v, %s FROM generate_series(1, %s) v ON CONFLICT DO NOTHING",
                        (time.time(), BASELINE - 1),
                    )

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Load much at once: the full-text (GIN) and vector (HNSW) indexes are dropped for the
        load and built once at the end, which is many times faster than keeping them up to
        date row by row. One load at a time (a session lock the server drops if the process
        dies); while it runs, other processes opening the store leave the indexes to it. A
        load killed half-way leaves them missing; the next open of the store builds them."""
        with self._errors(), self._pool.connection() as holder:
            got = holder.execute("SELECT pg_try_advisory_lock(%s)", (BULK_LOCK,)).fetchone()
            if not got or not got[0]:
                raise StoreError(
                    f"Another bulk load (a db copy) is writing {self.location}: wait for it"
                )
            try:
                self._exec("DROP INDEX IF EXISTS passages_embedding")
                self._exec("DROP INDEX IF EXISTS segments_search")
                yield
            finally:
                try:
                    self.ensure_indexes(loading=True)
                finally:
                    holder.execute("SELECT pg_advisory_unlock(%s)", (BULK_LOCK,))

    def ensure_indexes(self, *, loading: bool = False) -> None:
        """Build the search indexes a bulk load dropped (with room to build them in memory);
        nothing while another process's bulk load runs (it builds them at its end), and one
        builder at a time."""
        missing = self._missing_indexes()
        if not missing:
            return
        with self.transaction():
            if not loading and not self._value(
                "SELECT pg_try_advisory_xact_lock(?) AS free", (BULK_LOCK,)
            ):
                return  # a bulk load is running: it builds them when it ends
            self._exec("SELECT pg_advisory_xact_lock(?) AS held", (INDEX_LOCK,))
            # room to build the HNSW graph in memory (1 GB, or what the server allows above it)
            self._exec(
                "SELECT set_config('maintenance_work_mem', GREATEST(setting::bigint, 1048576)"
                " || 'kB', true) AS v FROM pg_settings WHERE name = 'maintenance_work_mem'"
            )
            for _, sql in self._missing_indexes():  # another process may have built them
                self._exec(sql)

    def _missing_indexes(self) -> list[tuple[str, str]]:
        present = {
            str(r["indexname"])
            for r in self._rows(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            )
        }
        return [(name, sql) for name, sql in DEFERRED if name not in present]

    @property
    def schema_version(self) -> int:
        return int(self._value("SELECT COALESCE(MAX(version), 0) AS v FROM podgrep_schema"))

    def stats(self) -> StoreStats:
        """The store, where it is, its schema version, its size (the database's, as the server
        counts it) and how many rows each part of the library holds."""
        counts, jobs = self.part_counts(), self.jobs_by_state()
        size = int(self._value("SELECT pg_database_size(current_database()) AS n"))
        latest = max((v for v, _ in _migrations()), default=0)
        return StoreStats(
            "postgresql", self.location, self.schema_version, latest, size, counts, jobs
        )

    def index_sizes(self) -> dict[str, int]:
        """Bytes each index of the library takes on the server (for benchmarks and capacity
        planning): the GIN full-text index, the HNSW vector index and the rest."""
        rows = self._rows(
            "SELECT c.relname AS name, pg_relation_size(c.oid) AS bytes FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'i' AND n.nspname = current_schema()"
        )
        return {str(r["name"]): int(r["bytes"]) for r in rows}

    # -- full-text search ---------------------------------------------------------------------

    def _index_columns(self, searchable: str) -> dict[str, Any]:
        literal, words = tsquery.indexed(searchable)
        return {"search_tsv": literal, "search_len": words}

    def match_segments(
        self, query: Query, *, limit: int, offset: int = 0, show: str | None = None
    ) -> list[SegmentMatch]:
        """Segments matching the query, ranked by BM25 exactly as FTS5's bm25() ranks them
        (same phrases, same counts, same lengths), best first.

        The index gives the matching segments; the best CANDIDATES of them by ts_rank (or
        four times the page) are scored with BM25 from the stored counts, and only the page
        is read whole. When a query matches no more than CANDIDATES segments, both stores give
        the same hits in the same order. A query said in more than EXACT_SCAN segments (a word
        said every few minutes in a library of thousands of hours) is ranked among its newest
        matches (about NEWEST of them: the segments of the latest episodes), so no query reads
        more; its phrases are counted up to MATCH_SCAN."""
        widened: dict[str, list[str]] = {}

        def widen(prefix: str) -> list[str]:
            if prefix not in widened:
                widened[prefix] = self.widen(prefix)
            return widened[prefix]

        expr = tsquery.render(query, widen)
        if not expr:
            return []
        totals = self._row(
            "SELECT segments, words, (SELECT MAX(id) FROM segments) AS last FROM segment_totals"
            " WHERE id = 1"
        )
        n_rows = int(totals["segments"]) if totals else 0
        n_words = int(totals["words"]) if totals else 0
        last = int(totals["last"] or 0) if totals else 0
        ranked = self._ranked(query, expr, show, widen, (n_rows, n_words, last), limit + offset)
        scored = ranked[offset : offset + limit]
        if not scored:
            return []
        full = {
            int(r["segment_id"]): r
            for r in self._rows(
                self.HIT_COLUMNS + " FROM segments s" + self.HIT_JOINS + " WHERE s.id = ANY(?)",
                ([sid for _, sid in scored],),
            )
        }
        return [self._match(full[sid], score) for score, sid in scored if sid in full]

    def _ranked(
        self,
        query: Query,
        expr: str,
        show: str | None,
        widen: Callable[[str], list[str]],
        totals: tuple[int, int, int],
        wanted: int,
    ) -> list[tuple[float, int]]:
        """(BM25 score, segment id) of the best candidates, best first. The last query's
        ranking is kept for this thread and reused while the library's segments are as they
        were: their count, their words and the largest id (any insert, delete or rewrite of
        segments changes one of them), so the next page of the same search costs no index
        read and a write by any process is seen at the next search."""
        key = (expr, show, totals)
        memo = getattr(self._local, "ranked", None)
        if memo is not None and memo[0] == key and (memo[2] or len(memo[1]) >= wanted):
            return list(memo[1])
        inner = "SELECT s.id, s.search_text, s.search_tsv FROM segments s"
        args: list[Any] = []
        if show:
            inner += self.HIT_JOINS + " WHERE s.search_tsv @@ CAST(? AS tsquery) AND"
            inner += self.SHOW_FILTER
            args += [expr, f"%{show}%", show]
        else:
            inner += " WHERE s.search_tsv @@ CAST(? AS tsquery)"
            args.append(expr)
        expected = self._expected_matches(query, widen)
        if expected > EXACT_SCAN and totals[2] and not show:
            # a very common query: its newest matches only (segment ids grow with time)
            since = max(0, totals[2] - int(totals[2] * NEWEST * 2 / expected))
            inner += " AND s.id > ?"
            args.append(since)
        cap = max(CANDIDATES, wanted * 4)
        # the matches ranked by ts_rank, the best `cap` scored by BM25
        with self.transaction():
            # a full-text match is answered from the GIN index: a scan of the whole table
            # (which the planner may pick for a common phrase) reads every row; room for the
            # bitmap of a common word to stay exact (a lossy one rechecks whole pages)
            self._exec("SET LOCAL enable_seqscan = off")
            self._exec("SET LOCAL enable_indexscan = off")  # bitmaps: GIN AND the id range
            self._exec("SET LOCAL work_mem = '64MB'")
            rows = self._rows(
                "SELECT m.id, m.search_text, ts_rank(m.search_tsv, CAST(? AS tsquery), 1) AS rank,"
                " COUNT(*) OVER () AS matched"
                f" FROM ({inner}) m ORDER BY rank DESC, m.id LIMIT ?",
                [expr, *args, cap],
            )
        if not rows:
            self._local.ranked = (key, [], True)
            return []
        found = tsquery.phrases(query, widen)
        # one phrase: the segments holding it are the ones just matched (when all were; else
        # the expected count: with one phrase its IDF scales every score alike, the order
        # does not depend on it)
        whole = expected <= EXACT_SCAN
        matched = int(rows[0]["matched"]) if whole else max(expected, int(rows[0]["matched"]))
        known = {found[0]: matched} if len(found) == 1 else {}
        holding = self._phrase_counts(found, known)
        scored = sorted(
            (
                tsquery.bm25(found, holding, totals[0], totals[1], str(r["search_text"] or "")),
                int(r["id"]),
            )
            for r in rows
        )
        self._local.ranked = (key, scored, len(rows) < cap)
        return list(scored)

    def _expected_matches(self, query: Query, widen: Callable[[str], list[str]]) -> int:
        """About how many segments a query matches, from the stored word counts (at most:
        an AND group by its rarest term, a phrase by its rarest word, a prefix by the words
        it begins, OR groups added up)."""
        groups = query.groups()
        words = {
            stem(tok)
            for group in groups
            for t in group
            for w in (t.words if not t.prefix else t.words[:-1])
            for tok in tokens(w)
        }
        for group in groups:  # a prefix matches the whole words it is widened with too
            for t in group:
                if t.prefix:
                    words |= {stem(w) for word in widen(t.words[-1]) for w in tokens(word)}
        counts = self.term_counts(sorted(words))
        total = 0
        for group in groups:
            least: int | None = None
            for t in group:
                stems = [stem(tok) for w in t.words for tok in tokens(w)]
                if t.prefix:
                    head = tokens(t.words[-1])
                    begun = head[-1] if head else ""
                    n = int(
                        self._value(
                            "SELECT COALESCE(SUM(segments), 0) AS n FROM term_docs"
                            " WHERE stem >= ? AND stem < ?",
                            (begun, begun + "\U0010ffff"),
                        )
                        or 0
                    )
                    n += sum(
                        counts.get(stem(w), 0) for word in widen(t.words[-1]) for w in tokens(word)
                    )
                    stems = stems[:-1]
                    if stems:
                        n = min(n, *(counts.get(x, 0) for x in stems))
                else:
                    n = min((counts.get(x, 0) for x in stems), default=0)
                least = n if least is None else min(least, n)
            total += least or 0
        return total

    def _phrase_counts(
        self, found: list[tsquery.Phrase], known: dict[tsquery.Phrase, int]
    ) -> dict[tsquery.Phrase, int]:
        """How many segments hold each phrase (as FTS5 counts them for BM25): a word from
        term_docs, a phrase or a prefix counted in the index up to MATCH_SCAN."""
        words = [p for p in found if len(p.stems) == 1 and not p.prefix and p not in known]
        counts = self.term_counts([p.stems[0] for p in words])
        out = {**known, **{p: counts.get(p.stems[0], 0) for p in words}}
        for p in found:
            if p not in out:
                with self.transaction():
                    self._exec("SET LOCAL enable_seqscan = off")
                    out[p] = int(
                        self._value(
                            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM segments"
                            " WHERE search_tsv @@ CAST(? AS tsquery) LIMIT ?) m",
                            (p.tsquery(), MATCH_SCAN),
                        )
                    )
        return out

    def term_counts(self, terms: list[str]) -> dict[str, int]:
        if not terms:
            return {}
        rows = self._rows(
            "SELECT stem, segments FROM term_docs WHERE stem = ANY(?)", (list(set(terms)),)
        )
        found = {str(r["stem"]): int(r["segments"]) for r in rows}
        return {t: max(found.get(t, 0), 0) for t in terms}

    def optimize_index(self) -> None:
        """Let the server refresh its statistics of the tables search reads (ANALYZE); the
        GIN index's pending list is merged by autovacuum."""
        self._exec("ANALYZE segments")
        self._exec("ANALYZE passages")

    # -- vectors ------------------------------------------------------------------------------

    def write_passages(
        self,
        transcript_id: int,
        model: str,
        spans: list[tuple[int, int, float, float]],
        vectors: np.ndarray,
    ) -> None:
        """Store a transcript's passages with their vectors (pgvector), replacing its passages
        of any model. A vector is kept as SQLite keeps it (int8 steps times a scale), so both
        stores score a passage alike; vectors are unit length, so the inner product the index
        ranks by is their cosine."""
        from podgrep.semantic.index import quantize

        if len(spans):
            steps, scales = quantize(vectors)
            vectors = steps.astype(np.float32) * scales[:, None]
        with self.transaction():
            # two writers of one transcript's passages take turns (no unique key to stop a
            # second set: each DELETE would miss the other's uncommitted rows)
            self._exec("SELECT id FROM transcripts WHERE id=? FOR UPDATE", (transcript_id,))
            self._exec("DELETE FROM passages WHERE transcript_id=?", (transcript_id,))
            self._many(
                'INSERT INTO passages (transcript_id, first_idx, last_idx, start, "end", model,'
                " embedding) VALUES (?,?,?,?,?,?,CAST(? AS vector))",
                [
                    (transcript_id, a, b, start, end, model, _vector_text(vectors[i]))
                    for i, (a, b, start, end) in enumerate(spans)
                ],
            )

    def identity(self) -> str:
        """Which database this is, however its URL is written (for `db copy`)."""
        row = self._row(
            "SELECT (SELECT system_identifier FROM pg_control_system()) AS cluster,"
            " current_database() AS db"
        )
        return f"postgresql:{row['cluster']}/{row['db']}" if row else self.location

    def table_columns(self, table: str) -> list[str]:
        rows = self._rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
            " AND table_schema = current_schema() AND is_generated = 'NEVER'"
            " ORDER BY ordinal_position",
            (table,),
        )
        return [str(r["column_name"]) for r in rows]

    def vectors_of(self, passage_ids: list[int]) -> dict[int, np.ndarray]:
        rows = self._rows(
            "SELECT id, CAST(embedding AS text) AS v FROM passages WHERE id = ANY(?)",
            (list(passage_ids),),
        )
        return {int(r["id"]): _parse_vector(str(r["v"])) for r in rows}

    def import_passages(
        self, columns: list[str], rows: list[Row], vectors: dict[int, np.ndarray]
    ) -> None:
        if not rows:
            return
        names = [*columns, "embedding"]
        marks = ",".join(["?"] * len(columns) + ["CAST(? AS vector)"])
        quoted = ", ".join(f'"{c}"' for c in names)
        self._many(
            f"INSERT INTO passages ({quoted}) VALUES ({marks}) ON CONFLICT DO NOTHING",
            [[*(r[c] for c in columns), _vector_text(vectors[int(r["id"])])] for r in rows],
        )

    def after_import(self, table: str) -> None:
        self._rows(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1),"
            f" MAX(id) IS NOT NULL) AS v FROM {table}"  # noqa: S608
        )

    def nearest(
        self, vector: np.ndarray, k: int, episodes: set[int] | None, model: str, dim: int
    ) -> list[tuple[int, float]]:
        """The k passages of `model` nearest a unit vector: (passage id, cosine), best first,
        through the HNSW index (ef_search raised to cover k)."""
        if k < 1:
            return []
        v = _vector_text(vector)
        if episodes is not None:
            if not episodes:
                return []
            # a show's passages: scored exactly (the filter would starve the index's candidates)
            rows = self._rows(
                "WITH c AS MATERIALIZED (SELECT p.id, p.embedding FROM passages p"
                " JOIN transcripts t ON t.id = p.transcript_id"
                " WHERE p.model = ? AND t.episode_id = ANY(?))"
                " SELECT id, -(embedding <#> CAST(? AS vector)) AS cosine FROM c"
                " ORDER BY embedding <#> CAST(? AS vector), id LIMIT ?",
                (model, sorted(episodes), v, v, k),
            )
        else:
            with self.transaction():
                # hnsw.ef_search bounds how many candidates the index looks at: 200, or twice
                # k (measured on 1,000 h of transcripts repeated with their vectors moved a
                # little: recall of the exact top 50 was 0.51 at 50, 0.80 at 100, 0.90 at 200
                # and at 400); iterative scans (pgvector 0.8) keep looking when the model
                # filter drops some
                self._exec(f"SET LOCAL hnsw.ef_search = {max(200, min(1000, 2 * int(k)))}")
                self._exec("SET LOCAL hnsw.iterative_scan = relaxed_order")
                rows = self._rows(
                    "SELECT id, -(embedding <#> CAST(? AS vector)) AS cosine FROM passages"
                    " WHERE model = ? ORDER BY embedding <#> CAST(? AS vector) LIMIT ?",
                    (v, model, v, k),
                )
        found = [(int(r["id"]), float(r["cosine"])) for r in rows]
        return sorted(found, key=lambda f: (-f[1], f[0]))

    # -- sync lock ----------------------------------------------------------------------------

    @contextmanager
    def sync_lock(self, on_wait: Callable[[], None] | None = None) -> Iterator[bool]:
        """Hold the library's feed-check lock for the block: a session-level advisory lock on
        a connection of the pool kept for the block alone, so one sync at a time checks this
        library's feeds, whichever machine or home it was started from; one started meanwhile
        waits for it and yields True (the feeds were just checked: it shares the jobs). The
        server releases the lock with the session if the process dies."""
        psycopg = self._psycopg
        key = 7263012  # the library's feed check (7263011 is the migration's lock)
        try:
            conn: Any = self._pool.getconn()
        except psycopg.OperationalError as exc:
            raise _connect_error(self.url, exc) from exc
        try:
            try:
                row = conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (key,)).fetchone()
                waited = row is None or not row["got"]
                if waited:
                    if on_wait is not None:
                        on_wait()
                    conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            except psycopg.OperationalError as exc:
                raise _connect_error(self.url, exc) from exc
            try:
                yield waited
            finally:
                try:  # noqa: SIM105 - an unlock that fails is no error here
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                except psycopg.Error:
                    pass  # the session is gone, and its lock with it
        finally:
            self._pool.putconn(conn)


def _vector_text(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


def _parse_vector(text: str) -> np.ndarray:
    return np.asarray([float(x) for x in text.strip("[]").split(",") if x], dtype=np.float32)


__all__ = ["PostgresStore"]
