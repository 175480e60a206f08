"""The embedded default store: one SQLite file with an FTS5 index over transcript segments."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from podgrep.domain import Episode, Person, Segment, Show, Transcript, TranscriptRef, Word
from podgrep.errors import (
    DiskFullError,
    NotFoundError,
    PodgrepError,
    SchemaError,
    is_disk_full,
)
from podgrep.store.words import add_words, fill_words

T = TypeVar("T")
STEPS = ("fetch", "transcribe", "speakers", "index")
LEAD_WORDS = 8  # words of the next segment appended to a segment's searchable text
# Where an episode stands in the job queue: (show id, -published (or added), episode id).
QueuePosition = tuple[int, float, int]
HIDDEN_FLAGS = {"hallucination"}  # segments kept for the record but never searchable


@dataclass(frozen=True)
class NextJob:
    """The next runnable step of the queue and where its episode stands in it."""

    episode_id: int
    step: str
    position: QueuePosition


# Episodes with a step left whose step is not parked (failed max_attempts times), read from
# the partial index episodes_queue in its own order, so LIMIT 1 stops at the first row.
_READY = "next_step IS NOT NULL AND (next_failed IS NULL OR next_failed < ?)"
_NEXT_COLUMNS = "SELECT id, next_step, show_id, queue_age FROM episodes INDEXED BY episodes_queue"
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


# the parts of a library `podgrep db status` counts, in the order it prints them
COUNTED = (
    "shows", "episodes", "transcripts", "segments", "speakers", "voiceprints", "chapters",
    "links", "passages", "words", "jobs",
)  # fmt: skip


@dataclass
class StoreStats:
    """A store at a glance: kind, location, schema versions, bytes on disk, rows per part."""

    store: str  # "sqlite"
    location: str
    schema_version: int
    latest_version: int  # the newest migration this podgrep knows
    size_bytes: int
    rows: dict[str, int]
    jobs: dict[str, int]  # jobs by state


WORDS_VERSION = 7  # the migration creating `words`, filled from the segments already stored


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("podgrep.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def open_store(db_path: Path) -> SqliteStore:
    """Open (creating and migrating as needed) the SQLite store at `db_path`."""
    return SqliteStore(db_path)


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


def _from_row(cls: type[T], row: sqlite3.Row, **converted: Any) -> T:
    """A dataclass from a row: columns named like its fields, plus the converted ones."""
    columns = set(row.keys())
    plain = {
        f.name: row[f.name]
        for f in fields(cls)  # type: ignore[arg-type]  # T is always a dataclass
        if f.name in columns and f.name not in converted
    }
    return cls(**plain, **converted)


def _persons(raw: str | None) -> list[Person]:
    return [Person(**p) for p in json.loads(raw or "[]")]


class SqliteStore:
    """Shows, episodes, transcripts, segments and jobs in one SQLite database."""

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

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block atomically (BEGIN IMMEDIATE so writers queue instead of failing)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if self.db.in_transaction:  # SQLite has rolled back already on a full disk
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

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
                with self.transaction() as db:
                    fill_words(db)

    def stats(self) -> StoreStats:
        """What `podgrep db status` prints: the store, where it is, its schema version, its
        size on disk (the database with its write-ahead log) and how many rows each part of
        the library holds."""
        counts = {
            table: int(self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608
            for table in COUNTED
        }
        jobs = {
            str(r["state"]): int(r["n"])
            for r in self.db.execute("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
        }
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

    # -- shows ----------------------------------------------------------------------------------

    def add_show(self, show: Show) -> tuple[int, bool]:
        """Insert a show unless its feed URL is known; return (id, created)."""
        row = self.db.execute(
            "SELECT id FROM shows WHERE feed_url = ?", (show.feed_url,)
        ).fetchone()
        if row:
            return int(row["id"]), False
        cur = self.db.execute(
            "INSERT INTO shows (feed_url, kind, title, author, description, image, language, link,"
            " persons_json, etag, last_modified, last_checked, added)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (show.feed_url, show.kind, *_show_metadata(show), show.last_checked, time.time()),
        )
        return int(cur.lastrowid or 0), True

    def mark_remote(self, show_id: int | None, episode_ids: list[int]) -> None:
        """Record that a show and/or episodes were added by a remote API caller."""
        with self.transaction() as db:
            if show_id is not None:
                db.execute("UPDATE shows SET remote = 1 WHERE id = ?", (show_id,))
                db.execute("UPDATE episodes SET remote = 1 WHERE show_id = ?", (show_id,))
            db.executemany(
                "UPDATE episodes SET remote = 1 WHERE id = ?", [(e,) for e in episode_ids]
            )

    def update_show(self, show_id: int, show: Show) -> None:
        """Refresh a show's metadata and conditional-GET state after a feed fetch."""
        self.db.execute(
            "UPDATE shows SET title=?, author=?, description=?, image=?, language=?, link=?,"
            " persons_json=?, etag=?, last_modified=?, last_checked=?, last_error=NULL WHERE id=?",
            (*_show_metadata(show), time.time(), show_id),
        )

    def mark_show_checked(self, show_id: int, error: str | None = None) -> None:
        """Record a feed check that changed nothing (304) or failed with `error`."""
        self.db.execute(
            "UPDATE shows SET last_checked=?, last_error=? WHERE id=?",
            (time.time(), error, show_id),
        )

    def _show(self, row: sqlite3.Row) -> Show:
        return _from_row(Show, row, persons=_persons(row["persons_json"]))

    def get_show(self, show_id: int) -> Show:
        """The show with this id."""
        row = self.db.execute("SELECT * FROM shows WHERE id=?", (show_id,)).fetchone()
        if not row:
            raise NotFoundError(f"No show with id {show_id}: `podgrep status` lists them")
        return self._show(row)

    def show_by_url(self, feed_url: str) -> Show | None:
        """The show added from this feed URL (or pseudo-URL), if any."""
        row = self.db.execute("SELECT * FROM shows WHERE feed_url=?", (feed_url,)).fetchone()
        return self._show(row) if row else None

    def show_holding(self, title: str, guids: list[str]) -> Show | None:
        """A feed show of this title that already holds most of these episode guids: the same
        podcast under another address."""
        if not guids:
            return None
        for row in self.db.execute("SELECT * FROM shows WHERE kind='feed' AND title=?", (title,)):
            known = {
                r[0]
                for r in self.db.execute("SELECT guid FROM episodes WHERE show_id=?", (row["id"],))
            }
            if sum(g in known for g in guids) * 2 >= len(guids):
                return self._show(row)
        return None

    def move_show(self, show_id: int, feed_url: str, *, typed: bool = True) -> bool:
        """Give a show the address its feed moved to (`typed`: one the user gave, not one the
        feed announced); False (nothing changed) when another show already has that address."""
        if self.show_by_url(feed_url) is not None:
            return False
        self.db.execute(
            "UPDATE shows SET feed_url=?, typed=? WHERE id=?", (feed_url, int(typed), show_id)
        )
        return True

    def list_shows(self) -> list[Show]:
        """Every show, in the order added."""
        return [self._show(r) for r in self.db.execute("SELECT * FROM shows ORDER BY id")]

    def show_errors(self) -> dict[int, str]:
        """The last feed error per show, for shows whose last check failed."""
        rows = self.db.execute("SELECT id, last_error FROM shows WHERE last_error IS NOT NULL")
        return {int(r["id"]): r["last_error"] for r in rows}

    # -- episodes -------------------------------------------------------------------------------

    def add_episodes(self, show_id: int, episodes: list[Episode]) -> list[int]:
        """Insert episodes not yet known (by show and guid) with their jobs; return the new ids."""
        new_ids: list[int] = []
        now = time.time()
        with self.transaction() as db:
            owner = db.execute("SELECT remote FROM shows WHERE id = ?", (show_id,)).fetchone()
            remote = bool(owner and owner["remote"])  # a remote caller's feed: so are its episodes
            for ep in episodes:
                cur = db.execute(
                    "INSERT OR IGNORE INTO episodes (show_id, guid, title, published, duration,"
                    " media_url, media_type, media_length, link, show_notes_html, image,"
                    " transcripts_json, chapters_url, persons_json, media_sha256, media_path,"
                    " status, added, remote) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
                        "new",
                        now,
                        int(remote or ep.remote),
                    ),
                )
                if cur.rowcount:
                    eid = int(cur.lastrowid or 0)
                    new_ids.append(eid)
                    db.executemany(
                        "INSERT INTO jobs (episode_id, step, updated) VALUES (?,?,?)",
                        [(eid, step, now) for step in STEPS],
                    )
        return new_ids

    def _episode(self, row: sqlite3.Row) -> Episode:
        refs = [TranscriptRef(**t) for t in json.loads(row["transcripts_json"] or "[]")]
        return _from_row(Episode, row, transcripts=refs, persons=_persons(row["persons_json"]))

    def get_episode(self, episode_id: int) -> Episode:
        """The episode with this id."""
        row = self.db.execute("SELECT * FROM episodes WHERE id=?", (episode_id,)).fetchone()
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
        return [self._episode(r) for r in self.db.execute(sql, args)]

    def episode_count(self, show_id: int | None) -> int:
        """How many episodes a show has."""
        row = self.db.execute("SELECT COUNT(*) FROM episodes WHERE show_id=?", (show_id,))
        return int(row.fetchone()[0])

    def find_episodes(self, text: str) -> list[Episode]:
        """Episodes whose guid equals `text` or whose title contains it (case-insensitive)."""
        rows = self.db.execute(
            "SELECT * FROM episodes WHERE guid = ? OR title LIKE ? ESCAPE '\\' ORDER BY id",
            (text, "%" + text.replace("%", "\\%").replace("_", "\\_") + "%"),
        )
        return [self._episode(r) for r in rows]

    def set_media(self, episode_id: int, sha256: str, path: str) -> None:
        """Record where an episode's media bytes lie in the cache."""
        self.db.execute(
            "UPDATE episodes SET media_sha256=?, media_path=? WHERE id=?",
            (sha256, path, episode_id),
        )

    def set_duration(self, episode_id: int, duration: float) -> None:
        """Record the measured duration of an episode's audio."""
        self.db.execute("UPDATE episodes SET duration=? WHERE id=?", (duration, episode_id))

    def set_status(self, episode_id: int, status: str, error: str | None = None) -> None:
        """Set an episode's pipeline status (and its last error)."""
        self.db.execute(
            "UPDATE episodes SET status=?, error=? WHERE id=?", (status, error, episode_id)
        )

    # -- jobs -----------------------------------------------------------------------------------

    def pending_work(self, max_attempts: int) -> list[tuple[int, str]]:
        """(episode id, next step) for each episode with a step left to run, in queue order:
        by show, newest published first; a parked step holds back its episode's later steps."""
        rows = self.db.execute(
            f"SELECT id, next_step FROM episodes INDEXED BY episodes_queue WHERE {_READY}"
            " ORDER BY show_id, queue_age, id",
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
            row = self.db.execute(_NEXT_FIRST, (max_attempts,)).fetchone()
        else:
            show_id, age, episode_id = after
            row = self.db.execute(_NEXT_SAME, (max_attempts, show_id, age, episode_id)).fetchone()
            if row is None:
                row = self.db.execute(_NEXT_LATER, (max_attempts, show_id, age)).fetchone()
        if row is None:
            return None
        position = (int(row["show_id"]), float(row["queue_age"]), int(row["id"]))
        return NextJob(int(row["id"]), str(row["next_step"]), position)

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
            for r in self.db.execute("EXPLAIN QUERY PLAN " + sql, args)
        ]

    def start_job(self, episode_id: int, step: str, lease_seconds: float = 3600) -> int:
        """Mark a step running and count the attempt; return the attempt number."""
        with self.transaction() as db:
            db.execute(
                "UPDATE jobs SET state='running', attempts=attempts+1, lease_until=?, updated=?"
                " WHERE episode_id=? AND step=?",
                (time.time() + lease_seconds, time.time(), episode_id, step),
            )
            row = db.execute(
                "SELECT attempts FROM jobs WHERE episode_id=? AND step=?", (episode_id, step)
            ).fetchone()
        return int(row["attempts"]) if row else 0

    def finish_job(self, episode_id: int, step: str) -> None:
        """Mark a step done."""
        self.db.execute(
            "UPDATE jobs SET state='done', error=NULL, lease_until=NULL, updated=?"
            " WHERE episode_id=? AND step=?",
            (time.time(), episode_id, step),
        )

    def fail_job(
        self,
        episode_id: int,
        step: str,
        error: str,
        *,
        park: bool,
        max_attempts: int,
        charge: bool = True,
    ) -> None:
        """Record a failed attempt; `park` stops retries at once (the input itself is bad);
        `charge=False` gives the attempt back (a full disk is not the episode's fault)."""
        if self.db.in_transaction:  # the step's own COMMIT failed (a full disk): drop it
            self.db.execute("ROLLBACK")
        with self.transaction() as db:
            if not charge:
                db.execute(
                    "UPDATE jobs SET attempts=MAX(attempts-1, 0) WHERE episode_id=? AND step=?",
                    (episode_id, step),
                )
            if park:
                db.execute(
                    "UPDATE jobs SET attempts=MAX(attempts, ?) WHERE episode_id=? AND step=?",
                    (max_attempts, episode_id, step),
                )
            db.execute(
                "UPDATE jobs SET state='failed', error=?, lease_until=NULL, updated=?"
                " WHERE episode_id=? AND step=?",
                (error, time.time(), episode_id, step),
            )
            db.execute(
                "UPDATE episodes SET status='failed', error=? WHERE id=?", (error, episode_id)
            )

    def retry_failed(self) -> int:
        """Give parked steps a fresh set of attempts; return how many."""
        cur = self.db.execute(
            "UPDATE jobs SET state='pending', attempts=0, updated=? WHERE state='failed'",
            (time.time(),),
        )
        return cur.rowcount

    def release_job(self, episode_id: int, step: str) -> None:
        """Give back a started attempt that was not the episode's fault (e.g. no model)."""
        self.db.execute(
            "UPDATE jobs SET state='pending', attempts=MAX(attempts-1, 0), lease_until=NULL"
            " WHERE episode_id=? AND step=?",
            (episode_id, step),
        )

    def jobs(self, episode_id: int | None = None) -> list[dict[str, Any]]:
        """Job rows (optionally for one episode) as dicts."""
        sql = "SELECT * FROM jobs"
        args: tuple[Any, ...] = ()
        if episode_id is not None:
            sql += " WHERE episode_id=?"
            args = (episode_id,)
        return [dict(r) for r in self.db.execute(sql + " ORDER BY episode_id, id", args)]

    def status_counts(self) -> list[dict[str, Any]]:
        """Per show: episode counts by status."""
        rows = self.db.execute(
            "SELECT s.id, s.title, s.kind, s.feed_url, s.last_error,"
            " COUNT(e.id) AS episodes,"
            " SUM(e.status = 'new') AS new,"
            " SUM(e.status = 'fetched') AS fetched,"
            " SUM(e.status IN ('transcribed', 'indexed')) AS transcribed,"
            " SUM(e.status = 'failed') AS failed"
            " FROM shows s LEFT JOIN episodes e ON e.show_id = s.id GROUP BY s.id ORDER BY s.id"
        )
        counts = ("episodes", "new", "fetched", "transcribed", "failed")
        return [{**dict(r), **{k: r[k] or 0 for k in counts}} for r in rows]

    def failures(self) -> list[dict[str, Any]]:
        """Failed steps with their episode, attempts and last error."""
        rows = self.db.execute(
            "SELECT e.id AS episode_id, e.title, s.title AS show, j.step, j.attempts, j.error"
            " FROM jobs j JOIN episodes e ON e.id = j.episode_id JOIN shows s ON s.id = e.show_id"
            " WHERE j.state = 'failed' ORDER BY e.id"
        )
        return [dict(r) for r in rows]

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
        row = self.db.execute(
            "SELECT * FROM transcripts WHERE episode_id=? AND source=? AND model IS ?"
            " ORDER BY id DESC LIMIT 1",
            (episode_id, source, model),
        ).fetchone()
        if row is None:
            cur = self.db.execute(
                "INSERT INTO transcripts (episode_id, source, model, language, language_prob,"
                " created) VALUES (?,?,?,?,?,?)",
                (episode_id, source, model, language, language_prob, time.time()),
            )
            row = self.db.execute(
                "SELECT * FROM transcripts WHERE id=?", (cur.lastrowid,)
            ).fetchone()
        return self._transcript(row)

    def _transcript(self, row: sqlite3.Row) -> Transcript:
        return _from_row(Transcript, row, complete=bool(row["complete"]))

    def windows_done(self, transcript_id: int) -> int:
        """How many audio windows of this transcript are fully written."""
        row = self.db.execute(
            "SELECT windows_done FROM transcripts WHERE id=?", (transcript_id,)
        ).fetchone()
        return int(row["windows_done"]) if row else 0

    def windows(self, transcript_id: int) -> tuple[float | None, list[tuple[int, int]]]:
        """The window target (seconds) and the cuts fixed so far for this transcript.

        Windows are planned as the audio streams in; each cut is stored before its window is
        decoded, and the target with the first, so a resumed run plans exactly the same windows.
        """
        row = self.db.execute(
            "SELECT windows_json FROM transcripts WHERE id=?", (transcript_id,)
        ).fetchone()
        if not row or row["windows_json"] is None:
            return None, []
        data = json.loads(row["windows_json"])
        if isinstance(data, list):  # written by 0.1 before windows were streamed
            return None, [(int(a), int(b)) for a, b in data]
        return data.get("target"), [(int(a), int(b)) for a, b in data["cuts"]]

    def set_windows(
        self, transcript_id: int, target: float, windows: list[tuple[int, int]]
    ) -> None:
        """Store the window target and the cuts planned so far (they only ever grow)."""
        self.db.execute(
            "UPDATE transcripts SET windows_json=? WHERE id=?",
            (json.dumps({"target": target, "cuts": windows}), transcript_id),
        )

    def set_language(self, transcript_id: int, language: str | None, prob: float | None) -> None:
        """Record the transcript's language and the detector's confidence."""
        self.db.execute(
            "UPDATE transcripts SET language=?, language_prob=? WHERE id=?",
            (language, prob, transcript_id),
        )

    def drop_partial_window(self, transcript_id: int) -> int:
        """Delete segments of windows not finished (left by a killed run); return how many."""
        with self.transaction() as db:
            done = db.execute(
                "SELECT windows_done FROM transcripts WHERE id=?", (transcript_id,)
            ).fetchone()["windows_done"]
            cur = db.execute(
                "DELETE FROM segments WHERE transcript_id=? AND window>=?", (transcript_id, done)
            )
        return cur.rowcount

    def add_segment(self, transcript_id: int, segment: Segment, window: int) -> int:
        """Write one segment (searchable at once); return its id."""
        with self.transaction() as db:
            return self._insert_segment(db, transcript_id, segment, window)

    def add_window(self, transcript_id: int, window: int, segments: list[Segment]) -> None:
        """Write a finished window's segments and mark it done, all in one transaction.

        A crash can leave a window entirely written or not at all, never half.
        """
        with self.transaction() as db:
            for segment in segments:
                self._insert_segment(db, transcript_id, segment, window)
            self.finish_window(transcript_id, window)

    def _insert_segment(
        self, db: sqlite3.Connection, transcript_id: int, segment: Segment, window: int
    ) -> int:
        searchable = "" if HIDDEN_FLAGS & set(segment.flags) else segment.text.strip()
        words = json.dumps([asdict(w) for w in segment.words], ensure_ascii=False)
        prev = db.execute(
            "SELECT id, idx, text, flags FROM segments WHERE transcript_id=?"
            " ORDER BY idx DESC LIMIT 1",
            (transcript_id,),
        ).fetchone()
        idx = int(prev["idx"]) + 1 if prev else 0
        cur = db.execute(
            'INSERT INTO segments (transcript_id, idx, window, start, "end", text,'
            " search_text, words_json, flags, speaker_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                transcript_id,
                idx,
                window,
                segment.start,
                segment.end,
                segment.text.strip(),
                searchable,
                words,
                ",".join(segment.flags),
                segment.speaker_id,
            ),
        )
        if searchable:
            add_words(db, [searchable])
        if prev and searchable and not HIDDEN_FLAGS & set(prev["flags"].split(",")):
            lead = " ".join(searchable.split()[:LEAD_WORDS])
            db.execute(
                "UPDATE segments SET search_text=? WHERE id=?",
                (prev["text"] + " " + lead, prev["id"]),
            )
        segment.idx = idx
        segment.id = int(cur.lastrowid or 0)
        return segment.id

    def finished_transcript(self, episode_id: int, source: str) -> bool:
        """True when the episode has a complete transcript from this source."""
        row = self.db.execute(
            "SELECT 1 FROM transcripts WHERE episode_id=? AND source=? AND complete=1 LIMIT 1",
            (episode_id, source),
        ).fetchone()
        return row is not None

    def resumable_transcript(self, episode_id: int, source: str) -> Transcript | None:
        """The newest unfinished transcript of this source, whatever its model, if any."""
        row = self.db.execute(
            "SELECT * FROM transcripts WHERE episode_id=? AND source=? AND complete=0"
            " ORDER BY id DESC LIMIT 1",
            (episode_id, source),
        ).fetchone()
        return self._transcript(row) if row else None

    def finish_window(self, transcript_id: int, window: int) -> None:
        """Mark audio window `window` fully written: a resumed run starts after it."""
        self.db.execute(
            "UPDATE transcripts SET windows_done=MAX(windows_done, ?) WHERE id=?",
            (window + 1, transcript_id),
        )

    def complete_transcript(self, transcript_id: int) -> None:
        """Mark a transcript finished."""
        self.db.execute("UPDATE transcripts SET complete=1 WHERE id=?", (transcript_id,))

    def optimize_index(self) -> None:
        """Merge FTS5 index segments a little, keeping queries fast as the library grows."""
        self.db.execute("INSERT INTO segments_fts(segments_fts, rank) VALUES ('merge', 64)")

    def transcript_for(self, episode_id: int) -> Transcript | None:
        """The episode's best transcript with its segments (complete first, newest first)."""
        row = self.db.execute(
            "SELECT * FROM transcripts WHERE episode_id=? ORDER BY complete DESC, id DESC LIMIT 1",
            (episode_id,),
        ).fetchone()
        if not row:
            return None
        t = self._transcript(row)
        t.segments = self.segments(int(row["id"]))
        return t

    def segments(self, transcript_id: int) -> list[Segment]:
        """All segments of a transcript in order."""
        rows = self.db.execute(
            "SELECT s.*, COALESCE(p.name, p.label) AS speaker FROM segments s"
            " LEFT JOIN speakers p ON p.id = s.speaker_id"
            " WHERE s.transcript_id=? ORDER BY s.idx",
            (transcript_id,),
        )
        return [self._segment(r) for r in rows]

    def _segment(self, r: sqlite3.Row) -> Segment:
        words = [Word(**w) for w in json.loads(r["words_json"] or "[]")]
        return _from_row(Segment, r, words=words, flags=[f for f in r["flags"].split(",") if f])

    def segment_count(self) -> int:
        """Segments in the whole library."""
        return int(self.db.execute("SELECT COUNT(*) FROM segments").fetchone()[0])

    # -- search ---------------------------------------------------------------------------------

    def search(
        self, match: str, *, limit: int, offset: int = 0, show: str | None = None
    ) -> list[dict[str, Any]]:
        """BM25-ranked segments matching an FTS5 expression, with their neighbours' words."""
        columns = (
            'SELECT s.id AS segment_id, s.transcript_id, s.idx, s.start, s."end", s.text,'
            " s.search_text, s.words_json, e.id AS episode_id, e.title AS episode,"
            " sh.title AS show, (SELECT COALESCE(sp.name, sp.label) FROM speakers sp"
            " WHERE sp.id = s.speaker_id) AS speaker,"
        )
        joins = (
            " JOIN transcripts t ON t.id = s.transcript_id"
            " JOIN episodes e ON e.id = t.episode_id JOIN shows sh ON sh.id = e.show_id"
        )
        args: list[Any] = [match]
        if show:
            sql = (
                columns + " bm25(segments_fts) AS score"
                " FROM segments_fts JOIN segments s ON s.id = segments_fts.rowid"
                + joins
                + " WHERE segments_fts MATCH ? AND (sh.title LIKE ? OR CAST(sh.id AS TEXT) = ?)"
                " ORDER BY score, s.id LIMIT ? OFFSET ?"
            )
            args += [f"%{show}%", show]
        else:
            # rank inside the full-text index first and join only the page: a common word
            # matches tens of thousands of segments in a large library
            sql = (
                columns + " f.score AS score FROM (SELECT rowid, bm25(segments_fts) AS score"
                " FROM segments_fts WHERE segments_fts MATCH ? ORDER BY score, rowid"
                " LIMIT ? OFFSET ?) f JOIN segments s ON s.id = f.rowid"
                + joins
                + " ORDER BY f.score, s.id"
            )
        args += [limit, offset]
        try:
            rows = self.db.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            from podgrep.errors import QueryError

            raise QueryError(f"Search query not understood ({exc})") from exc
        return [dict(r) for r in rows]

    def segment_speakers(self, segment_ids: list[int]) -> dict[int, str]:
        """Who said each segment: the speaker's name, else its label (unlabelled: absent)."""
        out: dict[int, str] = {}
        for start in range(0, len(segment_ids), 500):
            part = segment_ids[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self.db.execute(
                "SELECT s.id, COALESCE(sp.name, sp.label) AS speaker FROM segments s"
                f" JOIN speakers sp ON sp.id = s.speaker_id WHERE s.id IN ({marks})",
                part,
            )
            out.update({int(r["id"]): str(r["speaker"]) for r in rows})
        return out

    def next_segment(self, transcript_id: int, idx: int) -> tuple[str, list[Word], float]:
        """The text, words and end of the segment after `idx` (where a boundary-spanning
        match ends); empty when there is none."""
        row = self.db.execute(
            'SELECT text, words_json, "end" FROM segments WHERE transcript_id=? AND idx=?',
            (transcript_id, idx + 1),
        ).fetchone()
        if row is None:
            return "", [], 0.0
        words = [Word(**w) for w in json.loads(row["words_json"] or "[]")]
        return str(row["text"] or ""), words, float(row["end"])

    def passage_segments(
        self, transcript_id: int, first_idx: int, last_idx: int
    ) -> list[tuple[str, str | None]]:
        """The text and speaker (name, else label) of each segment of a passage, in order."""
        rows = self.db.execute(
            "SELECT s.text, COALESCE(sp.name, sp.label) AS speaker FROM segments s"
            " LEFT JOIN speakers sp ON sp.id = s.speaker_id"
            " WHERE s.transcript_id=? AND s.idx BETWEEN ? AND ? ORDER BY s.idx",
            (transcript_id, first_idx, last_idx),
        )
        return [(str(r["text"] or ""), r["speaker"]) for r in rows]
