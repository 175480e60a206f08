"""What both stores share: the catalog, transcripts and job queue in SQL that SQLite and
PostgreSQL both run.

Each store (store/sqlite, store/postgres) supplies its connection and transactions, the few
words of dialect that differ (`_sql`), its migrations, and its full-text index and vectors.
Statements here are written once with `?` placeholders and portable SQL (`RETURNING id`,
`ON CONFLICT DO NOTHING`, `GREATEST`, `IS NOT DISTINCT FROM`, `ILIKE`), which
each store renders to its own dialect. Nothing outside `store/` sees a connection or a row.
"""

from __future__ import annotations

import json
import time
from abc import abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any, Self, TypeVar

import numpy as np

from podgrep.domain import (
    Claim,
    Episode,
    Failure,
    Job,
    Person,
    Segment,
    SegmentMatch,
    Show,
    ShowCounts,
    Transcript,
    TranscriptRef,
    Word,
)
from podgrep.errors import NotFoundError
from podgrep.query import Query
from podgrep.store.backlog import HELD, BacklogQueries
from podgrep.store.base import HIDDEN_FLAGS, LEAD_WORDS, Row, SqlBase, from_row, hidden, words_of
from podgrep.store.browse import BrowseQueries
from podgrep.store.enrichment import EnrichmentQueries
from podgrep.store.removal import RemovalQueries
from podgrep.store.retranscription import RetranscriptionQueries
from podgrep.store.speakers import SpeakerQueries
from podgrep.words import fold, stem, tokens

# the largest raw feed kept for `podgrep publish` (a fetch already refuses a larger one)
FEED_XML_MAX = 32 * 1024 * 1024

T = TypeVar("T")
STEPS = ("fetch", "transcribe", "speakers", "index")
# Where an episode stands in the job queue: (show id, -published (or added), episode id).
QueuePosition = tuple[int, float, int]
MOST_WIDENED = 400  # words one prefix is widened with; beyond, the rest come from the index

# the parts of a library `podgrep db status` counts, in the order it prints them
COUNTED = (
    "shows", "episodes", "transcripts", "segments", "speakers", "voiceprints", "chapters",
    "links", "passages", "words", "jobs",
)  # fmt: skip


@dataclass(frozen=True)
class NextJob:
    """The next runnable step of the queue and where its episode stands in it."""

    episode_id: int
    step: str
    position: QueuePosition


@dataclass
class StoreStats:
    """A store at a glance: kind, location, schema versions, bytes on disk, rows per part."""

    store: str  # "sqlite" | "postgresql"
    location: str
    schema_version: int
    latest_version: int  # the newest migration this podgrep knows
    size_bytes: int
    rows: dict[str, int]
    jobs: dict[str, int]  # jobs by state


# Episodes with a step left whose step is not parked (failed max_attempts times), read from
# the partial index episodes_queue in its own order, so LIMIT 1 stops at the first row.
# A paused show's episodes are passed by (shows.paused, `podgrep pause`): the short list of
# paused shows is read once per query, each queue entry checked against it on the index.
_READY = (
    "next_step IS NOT NULL AND (next_failed IS NULL OR next_failed < ?)"
    " AND show_id NOT IN (SELECT id FROM shows WHERE paused = 1)"
)
_NEXT_COLUMNS = "SELECT id, next_step, show_id, queue_age FROM episodes {queue_index}"
_NEXT_FIRST = f"{_NEXT_COLUMNS} WHERE {_READY} ORDER BY show_id, queue_age, id LIMIT 1"
# past a position: the rest of its tie (same show and date) by id, else the next date or show
_NEXT_SAME = (
    f"{_NEXT_COLUMNS} WHERE {_READY} AND show_id = ? AND queue_age = ? AND id > ?"
    " ORDER BY id LIMIT 1"
)
_NEXT_LATER = (
    f"{_NEXT_COLUMNS} WHERE {_READY} AND (show_id, queue_age) > (?, ?)"
    " ORDER BY show_id, queue_age, id LIMIT 1"
)


def _show_metadata(show: Show) -> tuple:
    """The feed-given columns of a show, in the order `add_show` and `update_show` write them:
    title, author, description, image, language, link, persons_json, etag, last_modified."""
    return (
        show.title,
        show.author,
        show.description,
        show.image,
        show.language,
        show.link,
        _persons_json(show.persons),
        show.etag,
        show.last_modified,
    )


def _persons_json(persons: list[Person]) -> str:
    return json.dumps([asdict(p) for p in persons], ensure_ascii=False)


def _persons(raw: str | None) -> list[Person]:
    return [Person(**p) for p in json.loads(raw or "[]")]


class SqlStore(
    EnrichmentQueries, BrowseQueries, SpeakerQueries, RetranscriptionQueries, RemovalQueries,
    BacklogQueries, SqlBase,
):
    """Shows, episodes, transcripts, segments and jobs in a SQL database."""

    kind = "sql"
    # how a claim locks the job it takes so that concurrent claimers pass it by (PostgreSQL:
    # FOR UPDATE OF j SKIP LOCKED); SQLite's BEGIN IMMEDIATE already runs one claim at a time
    skip_locked = ""
    for_update = ""  # a row read to be updated in the same transaction (PostgreSQL: FOR UPDATE)
    # rendered into the queue queries: SQLite names its partial index, PostgreSQL plans it
    queue_index = ""

    # -- what each store provides beyond the primitives ----------------------------------------

    @abstractmethod
    def stats(self) -> StoreStats:
        """What `podgrep db status` prints."""

    @property
    @abstractmethod
    def schema_version(self) -> int:
        """The migration version this database is at."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the library lives, as shown to the user (a path, or a URL without password)."""

    @abstractmethod
    def match_segments(
        self, query: Query, *, limit: int, offset: int = 0, show: str | None = None
    ) -> list[SegmentMatch]:
        """Segments matching a parsed query, best first (the `-words` are left to the caller,
        which checks them on the text it shows)."""

    @abstractmethod
    def term_counts(self, terms: list[str]) -> dict[str, int]:
        """How many segments hold each stemmed term (0 for a term never said)."""

    @abstractmethod
    def optimize_index(self) -> None:
        """Keep the full-text index fast as the library grows."""

    @abstractmethod
    def write_passages(
        self,
        transcript_id: int,
        model: str,
        spans: list[tuple[int, int, float, float]],
        vectors: np.ndarray,
    ) -> None:
        """Store a transcript's passages (first idx, last idx, start, end) with their unit
        vectors, replacing its passages of any model."""

    @abstractmethod
    def nearest(
        self, vector: np.ndarray, k: int, episodes: set[int] | None, model: str, dim: int
    ) -> list[tuple[int, float]]:
        """The k passages of `model` nearest a unit vector, among those of `episodes` when
        given: (passage id, cosine), best first."""

    # search text written with a segment, in whatever form the store's index wants
    def _index_columns(self, searchable: str) -> dict[str, Any]:
        return {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.location}>"

    @abstractmethod
    def identity(self) -> str:
        """Which database this is, however its URL or path is written."""

    @abstractmethod
    def table_columns(self, table: str) -> list[str]:
        """The stored (not generated) columns of a table, in order."""

    @abstractmethod
    def vectors_of(self, passage_ids: list[int]) -> dict[int, np.ndarray]:
        """The float vector of each passage (for `db copy`)."""

    @abstractmethod
    def import_passages(
        self, columns: list[str], rows: list[Row], vectors: dict[int, np.ndarray]
    ) -> None:
        """Write copied passages (ids kept) with their vectors in this store's form."""

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Load much at once (db copy, benchmarks): a store may put off index upkeep till the
        end (PostgreSQL does); SQLite keeps its indexes as it goes."""
        yield

    @contextmanager
    def sync_lock(self, on_wait: Callable[[], None] | None = None) -> Iterator[bool]:
        """Hold the library's feed-check lock for the block (yields whether it had to wait
        for another sync's): nothing here, as a SQLite library is one file in one home, whose
        file lock (jobs.local.SyncLock) does it."""
        yield False

    def import_rows(self, table: str, columns: list[str], rows: list[Row]) -> None:
        """Write copied rows as they are, ids kept (inside the caller's transaction); segments
        get this store's index columns."""
        if not rows:
            return
        names = list(columns)
        extra: list[str] = []
        if table == "segments":
            extra = list(self._index_columns(""))
        marks = ",".join("?" * (len(names) + len(extra)))
        quoted = ", ".join(f'"{c}"' for c in names + extra)
        values = []
        for r in rows:
            row = [r[c] for c in names]
            if extra:
                row += list(self._index_columns(str(r["search_text"] or "")).values())
            values.append(row)
        self._many(
            f"INSERT INTO {table} ({quoted}) VALUES ({marks}) ON CONFLICT DO NOTHING",  # noqa: S608
            values,
        )

    def after_import(self, table: str) -> None:
        """Bring a table's id generator past the ids a copy wrote."""

    # -- shows ----------------------------------------------------------------------------------

    def add_show(self, show: Show) -> tuple[int, bool]:
        """Insert a show unless its feed URL is known; return (id, created). A new show keeps
        `show.typed` (False: an address the user did not choose, e.g. an outline of a list
        fetched from a URL); a known one is left as it is."""
        with self.transaction():
            known = self._value("SELECT id FROM shows WHERE feed_url = ?", (show.feed_url,))
            if known is not None:
                return int(known), False
            # another process may add the same feed at the same moment: one of them makes it
            sid = self._insert(
                "INSERT INTO shows (feed_url, kind, title, author, description, image, language,"
                " link, persons_json, etag, last_modified, last_checked, added, check_every,"
                " typed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (feed_url) DO NOTHING",
                (show.feed_url, show.kind, *_show_metadata(show), show.last_checked, time.time(),
                 show.check_every, int(show.typed)),  # fmt: skip
            )
        if not sid:
            return int(
                self._value("SELECT id FROM shows WHERE feed_url = ?", (show.feed_url,))
            ), False
        return sid, True

    def mark_remote(self, show_id: int | None, episode_ids: list[int]) -> None:
        """Record that a show and/or episodes were added by a remote API caller."""
        with self.transaction():
            if show_id is not None:
                self._exec("UPDATE shows SET remote = 1 WHERE id = ?", (show_id,))
                self._exec("UPDATE episodes SET remote = 1 WHERE show_id = ?", (show_id,))
            self._many("UPDATE episodes SET remote = 1 WHERE id = ?", [(e,) for e in episode_ids])

    def update_show(self, show_id: int, show: Show) -> None:
        """Refresh a show's metadata and conditional-GET state after a feed fetch (a good
        check: the wait its feed asks for, `check_every`, kept; failures in a row reset)."""
        self._exec(
            "UPDATE shows SET title=?, author=?, description=?, image=?, language=?, link=?,"
            " persons_json=?, etag=?, last_modified=?, last_checked=?, last_error=NULL,"
            " check_every=?, check_failures=0 WHERE id=?",
            (*_show_metadata(show), time.time(), show.check_every, show_id),
        )

    def mark_show_checked(self, show_id: int, error: str | None = None) -> None:
        """Record a feed check that changed nothing (304) or failed with `error` (counted in
        `check_failures`, failures in a row; a good check resets it)."""
        failures = "check_failures + 1" if error is not None else "0"
        self._exec(
            f"UPDATE shows SET last_checked=?, last_error=?, check_failures={failures} WHERE id=?",  # noqa: S608
            (time.time(), error, show_id),
        )

    def _show(self, row: Row) -> Show:
        return from_row(
            Show,
            row,
            persons=_persons(row["persons_json"]),
            remote=bool(row["remote"]),
            typed=bool(row["typed"]),
            paused=bool(row["paused"]),
        )

    def get_show(self, show_id: int) -> Show:
        """The show with this id."""
        row = self._row(self._shows + " FROM shows WHERE id=?", (show_id,))
        if not row:
            raise NotFoundError(f"No show with id {show_id}: `podgrep status` lists them")
        return self._show(row)

    def show_by_url(self, feed_url: str) -> Show | None:
        """The show added from this feed URL (or pseudo-URL), if any."""
        row = self._row(self._shows + " FROM shows WHERE feed_url=?", (feed_url,))
        return self._show(row) if row else None

    def show_holding(self, title: str, guids: list[str]) -> Show | None:
        """A feed show of this title that already holds most of these episode guids: the same
        podcast under another address."""
        if not guids:
            return None
        for row in self._rows(self._shows + " FROM shows WHERE kind='feed' AND title=?", (title,)):
            known = {
                r["guid"]
                for r in self._rows("SELECT guid FROM episodes WHERE show_id=?", (row["id"],))
            }
            if sum(g in known for g in guids) * 2 >= len(guids):
                return self._show(row)
        return None

    def move_show(self, show_id: int, feed_url: str, *, typed: bool = True) -> bool:
        """Give a show the address its feed moved to (`typed`: one the user gave, not one the
        feed announced); False (nothing changed) when another show already has that address."""
        if self.show_by_url(feed_url) is not None:
            return False
        self._exec(
            "UPDATE shows SET feed_url=?, typed=? WHERE id=?", (feed_url, int(typed), show_id)
        )
        return True

    @cached_property
    def _shows(self) -> str:
        """`SELECT` of every column of `shows` but the raw feed (up to FEED_XML_MAX bytes a
        show, read only by `feed_xml`)."""
        columns = [c for c in self.table_columns("shows") if c != "feed_xml"]
        return "SELECT " + ", ".join(f'"{c}"' for c in columns)

    def set_feed_xml(self, show_id: int, data: bytes | None) -> None:
        """Keep the raw bytes of a show's feed as just fetched (None, or over the cap: none)."""
        if data is not None and len(data) > FEED_XML_MAX:
            data = None
        self._exec("UPDATE shows SET feed_xml=? WHERE id=?", (data, show_id))

    def feed_xml(self, show_id: int) -> bytes | None:
        """The raw feed `set_feed_xml` kept for the show (None: none kept)."""
        value = self._value("SELECT feed_xml FROM shows WHERE id=?", (show_id,))
        return None if value is None else bytes(value)  # psycopg: bytes or memoryview

    def list_shows(self) -> list[Show]:
        """Every show, in the order added."""
        return [self._show(r) for r in self._rows(self._shows + " FROM shows ORDER BY id")]

    def show_errors(self) -> dict[int, str]:
        """The last feed error per show, for shows whose last check failed."""
        rows = self._rows("SELECT id, last_error FROM shows WHERE last_error IS NOT NULL")
        return {int(r["id"]): r["last_error"] for r in rows}

    def show_episode_ids(self, show: str) -> set[int]:
        """Episodes of the shows a `--show` filter names (title part or id), as search reads it."""
        rows = self._rows(
            "SELECT e.id FROM episodes e JOIN shows sh ON sh.id = e.show_id"
            " WHERE sh.title ILIKE ? OR CAST(sh.id AS TEXT) = ?",
            (f"%{show}%", show),
        )
        return {int(r["id"]) for r in rows}

    # -- episodes -------------------------------------------------------------------------------

    def add_episodes(
        self, show_id: int, episodes: list[Episode], hold: Collection[str] = ()
    ) -> list[int]:
        """Insert episodes not yet known (by show and guid) with their jobs; return the new ids.
        Those whose guid is in `hold` are recorded `held`, without jobs (store/backlog.py)."""
        new_ids: list[int] = []
        now = time.time()
        with self.transaction():
            owner = self._value("SELECT remote FROM shows WHERE id = ?", (show_id,))
            if owner is None:  # removed (`podgrep remove`) while its feed was being read
                return []
            remote = bool(owner)  # a remote caller's feed: so are its episodes
            for ep in episodes:
                ids = self._ids(
                    "INSERT INTO episodes (show_id, guid, title, published, duration,"
                    " media_url, media_type, media_length, link, show_notes_html, image,"
                    " transcripts_json, chapters_url, persons_json, media_sha256, media_path,"
                    " status, added, remote) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT DO NOTHING",
                    (
                        show_id,
                        ep.guid,
                        ep.title,
                        ep.published,
                        ep.duration,
                        ep.media_url,
                        ep.media_type,
                        ep.media_length,
                        ep.link,
                        ep.show_notes_html,
                        ep.image,
                        json.dumps([asdict(t) for t in ep.transcripts], ensure_ascii=False),
                        ep.chapters_url,
                        _persons_json(ep.persons),
                        ep.media_sha256,
                        ep.media_path,
                        HELD if ep.guid in hold else "new",
                        now,
                        int(remote or ep.remote),
                    ),
                )
                for eid in ids:
                    new_ids.append(eid)
                    if ep.guid in hold:
                        continue
                    self._many(
                        "INSERT INTO jobs (episode_id, step, updated) VALUES (?,?,?)",
                        [(eid, step, now) for step in STEPS],
                    )
        return new_ids

    def _episode(self, row: Row) -> Episode:
        refs = [TranscriptRef(**t) for t in json.loads(row["transcripts_json"] or "[]")]
        return from_row(
            Episode,
            row,
            transcripts=refs,
            persons=_persons(row["persons_json"]),
            remote=bool(row["remote"]),
        )

    def get_episode(self, episode_id: int) -> Episode:
        """The episode with this id."""
        row = self._row("SELECT * FROM episodes WHERE id=?", (episode_id,))
        if not row:
            raise NotFoundError(
                f"No episode with id {episode_id}: `podgrep episodes` lists them with their ids"
            )
        return self._episode(row)

    def list_episodes(self, show_id: int | None = None) -> list[Episode]:
        """Episodes, newest first (per show when `show_id` is given)."""
        sql = "SELECT * FROM episodes"
        args: tuple[Any, ...] = ()
        if show_id is not None:
            sql += " WHERE show_id=?"
            args = (show_id,)
        sql += " ORDER BY show_id, COALESCE(published, added) DESC, id DESC"
        return [self._episode(r) for r in self._rows(sql, args)]

    def episode_count(self, show_id: int | None) -> int:
        """How many episodes a show has."""
        return int(self._value("SELECT COUNT(*) AS n FROM episodes WHERE show_id=?", (show_id,)))

    def find_episodes(self, text: str) -> list[Episode]:
        """Episodes whose guid equals `text` or whose title contains it (case-insensitive)."""
        rows = self._rows(
            "SELECT * FROM episodes WHERE guid = ? OR title ILIKE ? ESCAPE '\\' ORDER BY id",
            (text, "%" + text.replace("%", "\\%").replace("_", "\\_") + "%"),
        )
        return [self._episode(r) for r in rows]

    def set_media(self, episode_id: int, sha256: str, path: str) -> None:
        """Record where an episode's media bytes lie in the cache (the original again: what
        retention did to an earlier copy no longer holds, so `media_kept` is cleared)."""
        self._exec(
            "UPDATE episodes SET media_sha256=?, media_path=?, media_kept=NULL WHERE id=?",
            (sha256, path, episode_id),
        )

    # -- media retention (podgrep.retention) ----------------------------------------------------

    def set_keep_media(self, show_id: int, keep: str | None) -> None:
        """A show's own `keep_media` (None: the setting's)."""
        self._exec("UPDATE shows SET keep_media=? WHERE id=?", (keep, show_id))

    def set_media_kept(self, episode_id: int, kept: str, path: str | None) -> None:
        """What retention left of an episode's media: `kept` and the file now kept (None)."""
        self._exec(
            "UPDATE episodes SET media_kept=?, media_path=? WHERE id=?", (kept, path, episode_id)
        )

    def episodes_using(self, path: str) -> list[int]:
        """The episodes whose media is the file at `path`."""
        rows = self._rows("SELECT id FROM episodes WHERE media_path=? ORDER BY id", (path,))
        return [int(r["id"]) for r in rows]

    def media_files(self) -> list[tuple[int, str]]:
        """(show id, media path) of every episode with media on disk."""
        rows = self._rows(
            "SELECT DISTINCT show_id, media_path FROM episodes WHERE media_path IS NOT NULL"
        )
        return [(int(r["show_id"]), str(r["media_path"])) for r in rows]

    def listened_episodes(self, show_id: int | None = None) -> list[Episode]:
        """Episodes whose speakers step is done (nothing after it listens to the audio), with
        no step queued again (a retranscription) and their media still on disk, oldest first
        (of one show when `show_id` is given)."""
        sql = (
            "SELECT e.* FROM episodes e JOIN jobs j ON j.episode_id = e.id"
            " WHERE j.step = 'speakers' AND j.state = 'done' AND e.media_path IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM jobs k WHERE k.episode_id = e.id"
            " AND k.step IN ('fetch', 'transcribe', 'speakers') AND k.state <> 'done')"
        )
        args: tuple[Any, ...] = ()
        if show_id is not None:
            sql += " AND e.show_id = ?"
            args = (show_id,)
        return [self._episode(r) for r in self._rows(sql + " ORDER BY e.id", args)]

    def set_duration(self, episode_id: int, duration: float) -> None:
        """Record the measured duration of an episode's audio."""
        self._exec("UPDATE episodes SET duration=? WHERE id=?", (duration, episode_id))

    def set_status(self, episode_id: int, status: str, error: str | None = None) -> None:
        """Set an episode's pipeline status (and its last error)."""
        self._exec("UPDATE episodes SET status=?, error=? WHERE id=?", (status, error, episode_id))

    # -- jobs -----------------------------------------------------------------------------------

    def _queue(self, sql: str) -> str:
        return sql.format(queue_index=self.queue_index)

    def pending_work(self, max_attempts: int) -> list[tuple[int, str]]:
        """(episode id, next step) for each episode with a step left to run, in queue order:
        by show, newest published first; a parked step holds back its episode's later steps."""
        rows = self._rows(
            self._queue(
                f"SELECT id, next_step FROM episodes {{queue_index}} WHERE {_READY}"
                " ORDER BY show_id, queue_age, id"
            ),
            (max_attempts,),
        )
        return [(int(r["id"]), str(r["next_step"])) for r in rows]

    def next_job(self, max_attempts: int, after: QueuePosition | None = None) -> NextJob | None:
        """The first runnable step in queue order (pending_work's first entry), or the first
        one past `after`: an index lookup, never a scan of the job table.

        Each episode's next step (its first job not done, in pipeline order) and that step's
        failed attempts are kept on the episode by triggers; running jobs count as runnable,
        so a killed run's work is taken up again. A runner that moves `after` past each
        episode whose step failed tries every (episode, step) at most once per run.
        """
        if after is None:
            row = self._row(self._queue(_NEXT_FIRST), (max_attempts,))
        else:
            show_id, age, episode_id = after
            row = self._row(self._queue(_NEXT_SAME), (max_attempts, show_id, age, episode_id))
            if row is None:
                row = self._row(self._queue(_NEXT_LATER), (max_attempts, show_id, age))
        if row is None:
            return None
        position = (int(row["show_id"]), float(row["queue_age"]), int(row["id"]))
        return NextJob(int(row["id"]), str(row["next_step"]), position)

    def claim_job(
        self,
        worker: str,
        max_attempts: int,
        lease_seconds: float,
        *,
        steps: Sequence[str] | None = None,
        episode_id: int | None = None,
        failed_before: float | None = None,
    ) -> Claim | None:
        """Claim the first runnable step in queue order, atomically: mark it running, held by
        `worker` with a lease of `lease_seconds`, and count the attempt.

        Runnable: the episode's next step, not parked, and not held by a live lease (a running
        job whose lease ran out, or one from before leases, is taken over: its worker died).
        `steps` limits the claim to those steps, `episode_id` to that episode's next step, and
        `failed_before` passes over steps that failed at or after that time (a run tries each
        step once). Two workers never hold the same job: PostgreSQL locks the row it takes and
        skips rows others are taking; SQLite runs one claim at a time (BEGIN IMMEDIATE).
        """
        now = time.time()
        select, args = self._claim_query(now, max_attempts, steps, episode_id, failed_before)
        for _ in range(8):  # another claimer took the row between our read and write: again
            with self.transaction():
                row = self._row(select, args)
                if row is None:
                    return None
                lease = now + lease_seconds
                taken = self._exec(
                    "UPDATE jobs SET state='running', attempts=attempts+1, worker=?, started=?,"
                    " lease_until=?, updated=? WHERE id=? AND state <> 'done'"
                    " AND (state <> 'running' OR worker IS NULL OR lease_until < ?)",
                    (worker, now, lease, now, row["job_id"], now),
                )
                if taken != 1:
                    continue
                attempt = self._value("SELECT attempts FROM jobs WHERE id=?", (row["job_id"],))
            return Claim(
                int(row["job_id"]), int(row["episode_id"]), str(row["step"]), int(attempt),
                worker, now, lease,
            )  # fmt: skip
        return None

    def _claim_query(
        self,
        now: float,
        max_attempts: int,
        steps: Sequence[str] | None = None,
        episode_id: int | None = None,
        failed_before: float | None = None,
    ) -> tuple[str, list[Any]]:
        """The claim's choice of job: the queue index walked in order, each episode's next
        step joined by its (episode, step) key, LIMIT 1."""
        where = [_READY.replace("next_step", "e.next_step").replace("next_failed", "e.next_failed")]
        args: list[Any] = [max_attempts]
        where.append("j.state <> 'done'")
        # a job whose worker died is taken over, unless every attempt's worker died
        where.append(
            "(j.state <> 'running' OR j.worker IS NULL OR (j.lease_until < ? AND j.attempts < ?))"
        )
        args += [now, max_attempts]
        if failed_before is not None:
            where.append("(j.state <> 'failed' OR j.updated < ?)")
            args.append(failed_before)
        if steps is not None:
            where.append(f"e.next_step IN ({','.join('?' * len(steps))})")
            args.extend(steps)
        if episode_id is not None:
            where.append("e.id = ?")
            args.append(episode_id)
        index = "" if episode_id is not None else self.queue_index  # one episode: its key
        select = (
            f"SELECT j.id AS job_id, e.id AS episode_id, j.step FROM episodes e {index}"
            " JOIN jobs j ON j.episode_id = e.id AND j.step = e.next_step"
            f" WHERE {' AND '.join(where)} ORDER BY e.show_id, e.queue_age, e.id LIMIT 1"
            f"{self.skip_locked}"
        )
        return select, args

    def renew_lease(self, claim: Claim, lease_seconds: float) -> bool:
        """Extend the lease of a job `claim` still holds; False when it lost the job (the
        lease ran out and another worker claimed it, or the job ended)."""
        return (
            self._exec(
                "UPDATE jobs SET lease_until=? WHERE id=? AND state='running' AND worker=?"
                " AND started=?",
                (time.time() + lease_seconds, claim.job_id, claim.worker, claim.started),
            )
            == 1
        )

    def expire_lease(self, episode_id: int, step: str, worker: str) -> bool:
        """End the lease of a running job `worker` holds (its process is known to be dead),
        so another worker claims it at once; False if it is no longer that worker's."""
        return (
            self._exec(
                "UPDATE jobs SET lease_until=0 WHERE episode_id=? AND step=? AND state='running'"
                " AND worker=?",
                (episode_id, step, worker),
            )
            == 1
        )

    def start_job(self, episode_id: int, step: str, lease_seconds: float = 3600) -> int:
        """Mark a step running and count the attempt, whoever holds it; return the attempt
        number (claim_job is how workers take jobs; this is for tools and tests)."""
        with self.transaction():
            self._exec(
                "UPDATE jobs SET state='running', attempts=attempts+1, lease_until=?, updated=?,"
                " started=?, worker=NULL WHERE episode_id=? AND step=?",
                (time.time() + lease_seconds, time.time(), time.time(), episode_id, step),
            )
            attempts = self._value(
                "SELECT attempts FROM jobs WHERE episode_id=? AND step=?", (episode_id, step)
            )
        return int(attempts or 0)

    def _held_by(self, claim: Claim | None) -> tuple[str, tuple[Any, ...]]:
        """The condition that the job is still `claim`'s (none without a claim)."""
        if claim is None:
            return "", ()
        return " AND state='running' AND worker=? AND started=?", (claim.worker, claim.started)

    def finish_job(self, episode_id: int, step: str, claim: Claim | None = None) -> bool:
        """Mark a step done; with `claim`, only while the job is still that claim's (a worker
        whose lease ran out records nothing over the worker that took the job over). Return
        whether it was recorded."""
        mine, held = self._held_by(claim)
        return (
            self._exec(
                "UPDATE jobs SET state='done', error=NULL, lease_until=NULL, updated=?"
                f" WHERE episode_id=? AND step=?{mine}",
                (time.time(), episode_id, step, *held),
            )
            == 1
        )

    def _abandon(self) -> None:
        """Drop a transaction a failed commit left open (SQLite on a full disk)."""

    def fail_job(
        self,
        episode_id: int,
        step: str,
        error: str,
        *,
        park: bool,
        max_attempts: int,
        charge: bool = True,
        claim: Claim | None = None,
    ) -> bool:
        """Record a failed attempt; `park` stops retries at once (the input itself is bad);
        `charge=False` gives the attempt back (a full disk is not the episode's fault); with
        `claim`, only while the job is still that claim's. Return whether it was recorded."""
        self._abandon()
        mine, held = self._held_by(claim)
        with self.transaction():
            if claim is not None and not self._row(
                f"SELECT id FROM jobs WHERE episode_id=? AND step=?{mine}{self.for_update}",
                (episode_id, step, *held),
            ):
                return False
            if not charge:
                self._exec(
                    "UPDATE jobs SET attempts=GREATEST(attempts-1, 0)"
                    " WHERE episode_id=? AND step=?",
                    (episode_id, step),
                )
            if park:
                self._exec(
                    "UPDATE jobs SET attempts=GREATEST(attempts, ?) WHERE episode_id=? AND step=?",
                    (max_attempts, episode_id, step),
                )
            self._exec(
                "UPDATE jobs SET state='failed', error=?, lease_until=NULL, updated=?"
                " WHERE episode_id=? AND step=?",
                (error, time.time(), episode_id, step),
            )
            self._exec(
                "UPDATE episodes SET status='failed', error=? WHERE id=?", (error, episode_id)
            )
        return True

    def retry_failed(self) -> int:
        """Give parked steps a fresh set of attempts; return how many."""
        return self._exec(
            "UPDATE jobs SET state='pending', attempts=0, updated=? WHERE state='failed'",
            (time.time(),),
        )

    def release_job(self, episode_id: int, step: str, claim: Claim | None = None) -> bool:
        """Give back a started attempt that was not the episode's fault (e.g. no model); with
        `claim`, only while the job is still that claim's. Return whether it was given back."""
        mine, held = self._held_by(claim)
        return (
            self._exec(
                "UPDATE jobs SET state='pending', attempts=GREATEST(attempts-1, 0),"
                f" lease_until=NULL WHERE episode_id=? AND step=?{mine}",
                (episode_id, step, *held),
            )
            == 1
        )

    def park_abandoned(self, max_attempts: int) -> int:
        """Fail, parked, the running jobs whose lease ran out after `max_attempts` claims: each
        claim's worker died running it (killed for memory, a crash), so another claim would
        likely kill the next one too. Return how many."""
        now = time.time()
        error = (
            f"its worker stopped (died or was killed) while running it, at attempt"
            f" {max_attempts} of {max_attempts}: see that machine's log (out of memory?),"
            " then `podgrep sync --retry`"
        )
        with self.transaction():
            rows = self._rows(
                "UPDATE jobs SET state='failed', error=?, lease_until=NULL, updated=?"
                " WHERE state='running' AND worker IS NOT NULL AND lease_until < ?"
                " AND attempts >= ? RETURNING episode_id",
                (error, now, now, max_attempts),
            )
            for r in rows:
                self._exec(
                    "UPDATE episodes SET status='failed', error=? WHERE id=?",
                    (error, r["episode_id"]),
                )
        return len(rows)

    def jobs(self, episode_id: int | None = None) -> list[Job]:
        """Job rows (optionally for one episode)."""
        sql = "SELECT * FROM jobs"
        args: tuple[Any, ...] = ()
        if episode_id is not None:
            sql += " WHERE episode_id=?"
            args = (episode_id,)
        return [from_row(Job, r) for r in self._rows(sql + " ORDER BY episode_id, id", args)]

    def jobs_by_state(self) -> dict[str, int]:
        """How many job steps are in each state there is (only the states present)."""
        rows = self._rows("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
        return {str(r["state"]): int(r["n"]) for r in rows}

    def job_counts(self) -> dict[str, int]:
        """How many job steps are pending, running, done and failed in the whole library."""
        return {"pending": 0, "running": 0, "done": 0, "failed": 0, **self.jobs_by_state()}

    def part_counts(self) -> dict[str, int]:
        """The rows of each part of the library `db status` counts, in COUNTED order."""
        return {
            table: int(self._value(f"SELECT COUNT(*) AS n FROM {table}"))  # noqa: S608
            for table in COUNTED
        }

    def status_counts(self) -> list[ShowCounts]:
        """Per show: episode counts by status."""

        rows = self._rows(
            "SELECT s.id, s.title, s.kind, s.feed_url, s.last_error, s.paused,"
            " COUNT(e.id) AS episodes,"
            " SUM(CASE WHEN e.status = 'new' THEN 1 ELSE 0 END) AS new,"
            " SUM(CASE WHEN e.status = 'fetched' THEN 1 ELSE 0 END) AS fetched,"
            " SUM(CASE WHEN e.status IN ('transcribed', 'indexed') THEN 1 ELSE 0 END)"
            " AS transcribed,"
            " SUM(CASE WHEN e.status = 'failed' THEN 1 ELSE 0 END) AS failed,"
            " SUM(CASE WHEN e.status = 'held' THEN 1 ELSE 0 END) AS held"
            " FROM shows s LEFT JOIN episodes e ON e.show_id = s.id"
            " GROUP BY s.id, s.title, s.kind, s.feed_url, s.last_error, s.paused ORDER BY s.id"
        )
        counted = ("episodes", "new", "fetched", "transcribed", "failed", "held")
        return [
            from_row(
                ShowCounts, r, paused=bool(r["paused"]), **{k: int(r[k] or 0) for k in counted}
            )
            for r in rows
        ]

    def failures(self) -> list[Failure]:
        """Failed steps with their episode, attempts and last error."""
        rows = self._rows(
            "SELECT e.id AS episode_id, e.title, s.title AS show, j.step, j.attempts, j.error"
            " FROM jobs j JOIN episodes e ON e.id = j.episode_id JOIN shows s ON s.id = e.show_id"
            " WHERE j.state = 'failed' ORDER BY e.id"
        )
        return [from_row(Failure, r) for r in rows]

    # -- transcripts ----------------------------------------------------------------------------

    def open_transcript(
        self,
        episode_id: int,
        source: str,
        model: str | None,
        language: str | None,
        language_prob: float | None,
    ) -> Transcript:
        """The unfinished transcript of this source and model to resume, or a new one."""
        with self.transaction():
            row = self._row(
                "SELECT * FROM transcripts WHERE episode_id=? AND source=?"
                " AND model IS NOT DISTINCT FROM ? ORDER BY id DESC LIMIT 1",
                (episode_id, source, model),
            )
            if row is None:
                tid = self._insert(
                    "INSERT INTO transcripts (episode_id, source, model, language, language_prob,"
                    " created) VALUES (?,?,?,?,?,?)",
                    (episode_id, source, model, language, language_prob, time.time()),
                )
                row = self._row("SELECT * FROM transcripts WHERE id=?", (tid,))
        assert row is not None
        return self._transcript(row)

    def _transcript(self, row: Row) -> Transcript:
        return from_row(Transcript, row, complete=bool(row["complete"]))

    def windows_done(self, transcript_id: int) -> int:
        """How many audio windows of this transcript are fully written."""
        done = self._value("SELECT windows_done FROM transcripts WHERE id=?", (transcript_id,))
        return int(done or 0)

    def windows(self, transcript_id: int) -> tuple[float | None, list[tuple[int, int]]]:
        """The window target (seconds) and the cuts fixed so far for this transcript.

        Windows are planned as the audio streams in; each cut is stored before its window is
        decoded, and the target with the first, so a resumed run plans exactly the same windows.
        """
        raw = self._value("SELECT windows_json FROM transcripts WHERE id=?", (transcript_id,))
        if raw is None:
            return None, []
        data = json.loads(raw)
        if isinstance(data, list):  # written by 0.1 before windows were streamed
            return None, [(int(a), int(b)) for a, b in data]
        return data.get("target"), [(int(a), int(b)) for a, b in data["cuts"]]

    def set_windows(
        self, transcript_id: int, target: float, windows: list[tuple[int, int]]
    ) -> None:
        """Store the window target and the cuts planned so far (they only ever grow)."""
        self._exec(
            "UPDATE transcripts SET windows_json=? WHERE id=?",
            (json.dumps({"target": target, "cuts": windows}), transcript_id),
        )

    def set_language(self, transcript_id: int, language: str | None, prob: float | None) -> None:
        """Record the transcript's language and the detector's confidence."""
        self._exec(
            "UPDATE transcripts SET language=?, language_prob=? WHERE id=?",
            (language, prob, transcript_id),
        )

    def drop_partial_window(self, transcript_id: int) -> int:
        """Delete segments of windows not finished (left by a killed run); return how many."""
        with self.transaction():
            done = self.windows_done(transcript_id)
            return self._exec(
                'DELETE FROM segments WHERE transcript_id=? AND "window">=?', (transcript_id, done)
            )

    def add_segment(self, transcript_id: int, segment: Segment, window: int) -> int:
        """Write one segment (searchable at once); return its id."""
        with self.transaction():
            self.insert_segments(transcript_id, [segment], window)
        return int(segment.id or 0)

    def add_window(self, transcript_id: int, window: int, segments: list[Segment]) -> None:
        """Write a finished window's segments and mark it done, all in one transaction.

        A crash can leave a window entirely written or not at all, never half; a window
        written already is not written again, so a step run twice leaves one copy.
        """
        with self.transaction():
            done = self._value(
                f"SELECT windows_done FROM transcripts WHERE id=?{self.for_update}",
                (transcript_id,),
            )
            if int(done or 0) > window:
                return  # written already (by a worker whose lease ran out, still running)
            self.insert_segments(transcript_id, segments, window)
            self.finish_window(transcript_id, window)

    def insert_segments(self, transcript_id: int, segments: list[Segment], window: int) -> None:
        """Append segments to a transcript inside the caller's transaction: each gets the next
        idx, and each shown segment's searchable text ends with the first words of the shown
        segment after it (so a phrase said across the boundary is found). Sets each segment's
        id and idx. One batch of rows, one update of the segment written before them."""
        if not segments:
            return
        prev = self._row(
            "SELECT id, idx, text, flags FROM segments WHERE transcript_id=?"
            " ORDER BY idx DESC LIMIT 1",
            (transcript_id,),
        )
        first = int(prev["idx"]) + 1 if prev else 0
        texts = [s.text.strip() for s in segments]
        shown = [not (HIDDEN_FLAGS & set(s.flags)) for s in segments]
        searchable = [t if ok else "" for t, ok in zip(texts, shown, strict=True)]
        for i in range(len(segments) - 1):
            if shown[i] and shown[i + 1] and searchable[i + 1]:
                searchable[i] += " " + " ".join(searchable[i + 1].split()[:LEAD_WORDS])
        said = searchable  # its words are recorded even while it is kept out of search
        if self.shadowed(transcript_id):  # a retranscription: out of search until complete
            searchable = [""] * len(segments)
        rows = []
        extra_names: list[str] = []
        for i, segment in enumerate(segments):
            extra = self._index_columns(searchable[i])
            extra_names = list(extra)
            segment.idx = first + i
            rows.append(
                (
                    transcript_id,
                    first + i,
                    window,
                    segment.start,
                    segment.end,
                    texts[i],
                    searchable[i],
                    json.dumps([asdict(w) for w in segment.words], ensure_ascii=False),
                    ",".join(segment.flags),
                    segment.speaker_id,
                    segment.language,
                    *extra.values(),
                )
            )
        names = "".join(f", {k}" for k in extra_names)
        marks = ",?" * len(extra_names)
        self._many(
            'INSERT INTO segments (transcript_id, idx, "window", start, "end", text,'
            f" search_text, words_json, flags, speaker_id, language{names})"
            f" VALUES (?,?,?,?,?,?,?,?,?,?,?{marks})",
            rows,
        )
        ids = {
            int(r["idx"]): int(r["id"])
            for r in self._rows(
                "SELECT id, idx FROM segments WHERE transcript_id=? AND idx >= ?",
                (transcript_id, first),
            )
        }
        for segment in segments:
            segment.id = ids.get(segment.idx)
        if prev and not hidden(prev["flags"]) and shown[0] and searchable[0]:
            lead = str(prev["text"]) + " " + " ".join(texts[0].split()[:LEAD_WORDS])
            lead_extra = self._index_columns(lead)
            sets = "".join(f", {k}=?" for k in lead_extra)
            self._exec(
                f"UPDATE segments SET search_text=?{sets} WHERE id=?",
                (lead, *lead_extra.values(), prev["id"]),
            )
        self.add_words(t for t in said if t)

    def finished_transcript(self, episode_id: int, source: str) -> bool:
        """True when the episode has a complete transcript from this source."""
        row = self._row(
            "SELECT 1 AS one FROM transcripts WHERE episode_id=? AND source=? AND complete=1"
            " LIMIT 1",
            (episode_id, source),
        )
        return row is not None

    def resumable_transcript(self, episode_id: int, source: str) -> Transcript | None:
        """The newest unfinished transcript of this source, whatever its model, if any."""
        row = self._row(
            "SELECT * FROM transcripts WHERE episode_id=? AND source=? AND complete=0"
            " ORDER BY id DESC LIMIT 1",
            (episode_id, source),
        )
        return self._transcript(row) if row else None

    def finish_window(self, transcript_id: int, window: int) -> None:
        """Mark audio window `window` fully written: a resumed run starts after it."""
        self._exec(
            "UPDATE transcripts SET windows_done=GREATEST(windows_done, ?) WHERE id=?",
            (window + 1, transcript_id),
        )

    def complete_transcript(self, transcript_id: int) -> None:
        """Mark a transcript finished (searchable, where it was written out of search)."""
        with self.transaction():
            # its row before its segments (store/removal.py's lock order)
            self._rows(f"SELECT id FROM transcripts WHERE id=?{self.for_update}", (transcript_id,))
            self.publish_transcript(transcript_id)
            self._exec("UPDATE transcripts SET complete=1 WHERE id=?", (transcript_id,))

    def transcript_for(self, episode_id: int) -> Transcript | None:
        """The episode's best transcript with its segments (complete first, newest first)."""
        row = self._row(
            "SELECT * FROM transcripts WHERE episode_id=? ORDER BY complete DESC, id DESC LIMIT 1",
            (episode_id,),
        )
        if not row:
            return None
        t = self._transcript(row)
        t.segments = self.segments(int(row["id"]))
        return t

    def segments(self, transcript_id: int) -> list[Segment]:
        """All segments of a transcript in order."""
        rows = self._rows(
            'SELECT s.id, s.idx, s.start, s."end", s.text, s.words_json, s.flags, s.speaker_id,'
            " s.language, COALESCE(p.name, p.label) AS speaker FROM segments s"
            " LEFT JOIN speakers p ON p.id = s.speaker_id"
            " WHERE s.transcript_id=? ORDER BY s.idx",
            (transcript_id,),
        )
        return [self._segment(r) for r in rows]

    def _segment(self, r: Row) -> Segment:
        return from_row(
            Segment,
            r,
            words=words_of(r["words_json"]),
            flags=[f for f in r["flags"].split(",") if f],
        )

    def segment_count(self) -> int:
        """Segments in the whole library."""
        return int(self._value("SELECT COUNT(*) AS n FROM segments"))

    def segments_about(self) -> int:
        """About how many segments the library holds (the largest id: instant at any size)."""
        return int(self._value("SELECT MAX(id) AS n FROM segments") or 0)

    # -- words ----------------------------------------------------------------------------------

    def add_words(self, texts: Iterable[str]) -> None:
        """Record the words of `texts` (inside the caller's transaction)."""
        seen = sorted({t for text in texts for t in tokens(text)})
        if seen:
            self._many(
                "INSERT INTO words (word, stem) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(w, stem(w)) for w in seen],
            )

    def fill_words(self) -> int:
        """Record the words of every stored segment (once, when the table is new); return how
        many distinct words the table holds."""
        last = 0
        while True:
            rows = self._rows(
                "SELECT id, text FROM segments WHERE id > ? ORDER BY id LIMIT 5000", (last,)
            )
            if not rows:
                break
            self.add_words(str(r["text"] or "") for r in rows)
            last = int(rows[-1]["id"])
        return int(self._value("SELECT COUNT(*) AS n FROM words"))

    def widen(self, prefix: str) -> list[str]:
        """The words said that begin with `prefix` but whose stems do not (so the index's own
        prefix match misses them), at most MOST_WIDENED of them."""
        prefix = fold(prefix)
        if not prefix:
            return []
        rows = self._rows(
            "SELECT word FROM words WHERE word >= ? AND word < ? AND substr(stem, 1, ?) <> ?"
            " ORDER BY word LIMIT ?",
            (prefix, prefix + "\U0010ffff", len(prefix), prefix, MOST_WIDENED),
        )
        return [str(r["word"]) for r in rows]

    # -- reading around hits ----------------------------------------------------------------------

    def segment_speakers(self, segment_ids: list[int]) -> dict[int, str]:
        """Who said each segment: the speaker's name, else its label (unlabelled: absent)."""
        out: dict[int, str] = {}
        for part in chunks(segment_ids, 500):
            marks = ",".join("?" * len(part))
            rows = self._rows(
                "SELECT s.id, COALESCE(sp.name, sp.label) AS speaker FROM segments s"
                f" JOIN speakers sp ON sp.id = s.speaker_id WHERE s.id IN ({marks})",
                part,
            )
            out.update({int(r["id"]): str(r["speaker"]) for r in rows})
        return out

    def next_segments(
        self, places: list[tuple[int, int]]
    ) -> dict[tuple[int, int], tuple[str, list[Word], float]]:
        """For each (transcript id, idx): the text, words and end of the segment after it
        (where a boundary-spanning match ends); places with none are absent. One query."""
        out: dict[tuple[int, int], tuple[str, list[Word], float]] = {}
        for part in chunks(sorted(set(places)), 400):
            marks = ",".join("(?,?)" for _ in part)
            # a join on a VALUES list (columns column1, column2 in both dialects): each place
            # one lookup in the (transcript_id, idx) index; SQLite would scan for a row-value IN
            rows = self._rows(
                'SELECT s.transcript_id, s.idx, s.text, s.words_json, s."end"'
                f" FROM (VALUES {marks}) AS v JOIN segments s"
                " ON s.transcript_id = v.column1 AND s.idx = v.column2",
                [v for tid, idx in part for v in (tid, idx + 1)],
            )
            for r in rows:
                out[(int(r["transcript_id"]), int(r["idx"]) - 1)] = (
                    str(r["text"] or ""),
                    words_of(r["words_json"]),
                    float(r["end"]),
                )
        return out

    def passage_segments(
        self, transcript_id: int, first_idx: int, last_idx: int
    ) -> list[tuple[str, str | None]]:
        """The text and speaker (name, else label) of each segment of a passage, in order."""
        rows = self._rows(
            "SELECT s.text, COALESCE(sp.name, sp.label) AS speaker FROM segments s"
            " LEFT JOIN speakers sp ON sp.id = s.speaker_id"
            " WHERE s.transcript_id=? AND s.idx BETWEEN ? AND ? ORDER BY s.idx",
            (transcript_id, first_idx, last_idx),
        )
        return [(str(r["text"] or ""), r["speaker"]) for r in rows]

    def segment_context(self, segment_ids: list[int]) -> dict[int, tuple[str | None, str | None]]:
        """For each segment id: the text of the segments just before and just after it."""
        if not segment_ids:
            return {}
        marks = ",".join("?" * len(segment_ids))
        rows = self._rows(
            "SELECT s.id, p.text AS before, n.text AS after, p.flags AS pflags, n.flags AS nflags"
            " FROM segments s"
            " LEFT JOIN segments p ON p.transcript_id = s.transcript_id AND p.idx = s.idx - 1"
            " LEFT JOIN segments n ON n.transcript_id = s.transcript_id AND n.idx = s.idx + 1"
            f" WHERE s.id IN ({marks})",
            segment_ids,
        )
        out: dict[int, tuple[str | None, str | None]] = {}
        for r in rows:
            before = r["before"] if not hidden(r["pflags"]) else None
            after = r["after"] if not hidden(r["nflags"]) else None
            out[int(r["id"])] = (before, after)
        return out

    def _match(self, r: Row, score: float) -> SegmentMatch:
        return SegmentMatch(
            segment_id=int(r["segment_id"]),
            transcript_id=int(r["transcript_id"]),
            idx=int(r["idx"]),
            start=float(r["start"]),
            end=float(r["end"]),
            text=str(r["text"] or ""),
            search_text=str(r["search_text"] or ""),
            words=words_of(r["words_json"]),
            episode_id=int(r["episode_id"]),
            episode=str(r["episode"]),
            show=str(r["show"]),
            speaker=r["speaker"],
            score=score,
        )

    # columns and joins of a search hit's row, shared by both stores' match_segments
    HIT_COLUMNS = (
        'SELECT s.id AS segment_id, s.transcript_id, s.idx, s.start, s."end", s.text,'
        " s.search_text, s.words_json, e.id AS episode_id, e.title AS episode,"
        " sh.title AS show, (SELECT COALESCE(sp.name, sp.label) FROM speakers sp"
        " WHERE sp.id = s.speaker_id) AS speaker"
    )
    HIT_JOINS = (
        " JOIN transcripts t ON t.id = s.transcript_id"
        " JOIN episodes e ON e.id = t.episode_id JOIN shows sh ON sh.id = e.show_id"
    )
    SHOW_FILTER = " (sh.title ILIKE ? OR CAST(sh.id AS TEXT) = ?)"


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
