"""Taking things out of a library: a show or an episode with everything of it, in one
transaction, and pausing a show. A mixin of the SQL stores, written once in portable SQL.

Every row of a removed episode goes: its passages (and their vectors), segments (SQLite's
FTS5 entries through the segments' delete trigger, PostgreSQL's term_docs and
segment_totals through its statement triggers), transcripts, speakers, chapters, links and
jobs; a removed show takes its voiceprints too. The media files the removed episodes used
are returned when no episode left in the library uses the same file or the same bytes: the
caller deletes them after the commit, so a rolled-back removal never loses a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from podgrep.errors import NotFoundError
from podgrep.store.base import SqlBase

AT_ONCE = 500  # ids per IN (...) list: well under both stores' limits on parameters


@dataclass(frozen=True)
class Removal:
    """What removing a show or an episode takes: its episodes, transcripts, and the media
    files (paths as stored) that no other episode of the library uses."""

    episodes: int
    transcripts: int
    media: list[str] = field(default_factory=list)


def _parts(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + AT_ONCE] for i in range(0, len(ids), AT_ONCE)] or []


class RemovalQueries(SqlBase):
    """remove_show, remove_episode, removal_preview and set_paused."""

    for_update = ""  # the store's FOR UPDATE (PostgreSQL); SQLite's BEGIN IMMEDIATE serialises

    # -- what would go ----------------------------------------------------------------------

    def _episode_ids(self, show_id: int | None, episode_id: int | None) -> list[int]:
        """The episodes a removal takes (NotFoundError when the show or episode is unknown)."""
        if show_id is not None:
            if self._value("SELECT id FROM shows WHERE id = ?", (show_id,)) is None:
                raise NotFoundError(f"No show with id {show_id}: `podgrep status` lists them")
            rows = self._rows("SELECT id FROM episodes WHERE show_id = ? ORDER BY id", (show_id,))
            return [int(r["id"]) for r in rows]
        if (
            episode_id is None
            or self._value("SELECT id FROM episodes WHERE id = ?", (episode_id,)) is None
        ):
            raise NotFoundError(
                f"No episode with id {episode_id}: `podgrep episodes` lists them with their ids"
            )
        return [episode_id]

    def _in(self, column: str, ids: Sequence[int], sql: str) -> list[Any]:
        """Rows of `sql` (with a `{where}` for `column IN (...)`) over every part of `ids`."""
        out: list[Any] = []
        for part in _parts(ids):
            where = f"{column} IN ({','.join('?' * len(part))})"
            out += self._rows(sql.format(where=where), part)
        return out

    def _transcript_ids(self, episode_ids: Sequence[int], lock: bool = False) -> list[int]:
        suffix = self.for_update if lock else ""
        sql = "SELECT id FROM transcripts WHERE {where} ORDER BY id" + suffix
        rows = self._in("episode_id", episode_ids, sql)
        return [int(r["id"]) for r in rows]

    def _unshared_media(self, episode_ids: Sequence[int]) -> list[str]:
        """The media paths of these episodes that no other episode uses (by path or bytes)."""
        sql = "SELECT media_path, media_sha256 FROM episodes WHERE {where}"
        rows = self._in("id", episode_ids, sql + " AND media_path IS NOT NULL")
        mine = {(str(r["media_path"]), r["media_sha256"]) for r in rows}
        if not mine:
            return []
        paths = sorted({p for p, _ in mine})
        shas = sorted({s for _, s in mine if s})
        gone = set(episode_ids)
        used_paths: set[str] = set()
        used_shas: set[str] = set()
        for column, values in (("media_path", paths), ("media_sha256", shas)):
            for part in [values[i : i + AT_ONCE] for i in range(0, len(values), AT_ONCE)]:
                marks = ",".join("?" * len(part))
                for r in self._rows(
                    "SELECT id, media_path, media_sha256 FROM episodes"  # noqa: S608
                    f" WHERE {column} IN ({marks})",
                    part,
                ):
                    if int(r["id"]) in gone:
                        continue
                    used_paths.add(str(r["media_path"]))
                    if r["media_sha256"]:
                        used_shas.add(str(r["media_sha256"]))
        return sorted(p for p, s in mine if p not in used_paths and (not s or s not in used_shas))

    def removal_preview(
        self, *, show_id: int | None = None, episode_id: int | None = None
    ) -> Removal:
        """What `remove_show(show_id)` or `remove_episode(episode_id)` would take, changing
        nothing (NotFoundError for an unknown id)."""
        episodes = self._episode_ids(show_id, episode_id)
        return Removal(
            len(episodes), len(self._transcript_ids(episodes)), self._unshared_media(episodes)
        )

    # -- removing ---------------------------------------------------------------------------

    def remove_show(self, show_id: int) -> list[str]:
        """Delete a show and everything of it in one transaction: its episodes with their
        transcripts, segments (and full-text entries), speakers, chapters, links, passages
        (and vectors) and jobs, and the show's voiceprints. Return the media paths no episode
        left in the library uses (the caller deletes the files after this returns)."""
        with self.transaction():
            if self.for_update:  # writers of this show's rows finish first (lock order)
                self._rows(f"SELECT id FROM shows WHERE id = ?{self.for_update}", (show_id,))
            episodes = self._episode_ids(show_id, None)
            media = self._remove_episodes(episodes)
            self._exec("DELETE FROM voiceprints WHERE show_id = ?", (show_id,))
            self._exec("DELETE FROM shows WHERE id = ?", (show_id,))
        return media

    def remove_episode(self, episode_id: int) -> list[str]:
        """Delete one episode and everything of it in one transaction (as `remove_show`
        does for each of a show's); return the media paths no other episode uses."""
        with self.transaction():
            episodes = self._episode_ids(None, episode_id)
            media = self._remove_episodes(episodes)
        return media

    def _remove_episodes(self, episode_ids: list[int]) -> list[str]:
        """Inside the caller's transaction: every row of these episodes, children first."""
        if not episode_ids:
            return []
        media = self._unshared_media(episode_ids)
        # the transcripts locked first: a step writing a window holds its transcript's row,
        # then the segment totals (PostgreSQL), so taking them in the same order never
        # deadlocks with it; it waits, and its next write finds no transcript
        transcripts = self._transcript_ids(episode_ids, lock=True)
        for part in _parts(transcripts):
            marks = ",".join("?" * len(part))
            self._exec(f"DELETE FROM passages WHERE transcript_id IN ({marks})", part)  # noqa: S608
            self._exec(f"DELETE FROM segments WHERE transcript_id IN ({marks})", part)  # noqa: S608
        if transcripts:
            self._passages_removed()
        for part in _parts(episode_ids):
            marks = ",".join("?" * len(part))
            for table in ("transcripts", "speakers", "chapters", "links", "jobs"):
                self._exec(f"DELETE FROM {table} WHERE episode_id IN ({marks})", part)  # noqa: S608
            self._exec(f"DELETE FROM episodes WHERE id IN ({marks})", part)  # noqa: S608
        return media

    def _passages_removed(self) -> None:
        """Count removals in the `library` table: SQLite's in-memory vector index compares
        it, since passages written after a removal can take the removed ones' ids again."""
        self._exec(
            "INSERT INTO library (key, value) VALUES ('passages_removed', '1')"
            " ON CONFLICT (key) DO UPDATE SET"
            " value = CAST(CAST(library.value AS INTEGER) + 1 AS TEXT)"
        )

    def passages_removed(self) -> int:
        """How many removals took passages out of this library (see `_passages_removed`)."""
        value = self._value("SELECT value FROM library WHERE key = 'passages_removed'")
        return int(value or 0)

    # -- pausing ----------------------------------------------------------------------------

    def set_paused(self, show_id: int, paused: bool) -> None:
        """Pause a show (its feed is not checked, its episodes' jobs not claimed) or resume
        it; NotFoundError for an unknown show."""
        changed = self._exec("UPDATE shows SET paused = ? WHERE id = ?", (int(paused), show_id))
        if not changed:
            raise NotFoundError(f"No show with id {show_id}: `podgrep status` lists them")
