"""Taking things out of a library: a show or an episode with everything of it, in one
transaction, and pausing a show. A mixin of the SQL stores, written once in portable SQL.

Every row of a removed episode goes: its passages (and their vectors), segments (SQLite's
FTS5 entries through the segments' delete trigger, PostgreSQL's term_docs and
segment_totals through its statement triggers), transcripts, speakers, chapters, links and
jobs; a removed show takes its voiceprints too, and a removed episode's show has its
voiceprints rebuilt from the named speakers left. The media files the removed episodes used
are returned when no episode left in the library points at the same path (the cache is
content-addressed, so the same bytes are one path; an Opus copy and the original it was made
from are two files, each going when its last episode does): the caller deletes them after
the commit, so a rolled-back removal never loses a file.

Lock order (PostgreSQL): a removal locks the episodes' transcripts FOR UPDATE (by id) before
it touches a segment, passage or `segment_totals`, and the episode rows and their jobs last.
Every writer of a transcript's segments or passages takes that transcript's row first too
(`add_window`, `write_passages`, `complete_transcript`, `save_diarization`,
`swap_transcript`, `replace_transcript`'s DELETE), so the two meet at the transcript row: one
waits for the other there, holding nothing the other needs, and a step whose transcript was
removed finds it gone at its next write. No writer locks an episode row or a job and then
a transcript in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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

    if TYPE_CHECKING:  # SpeakerQueries' (store/speakers.py), beside this in the stores' bases

        def refresh_voiceprints(self, show_id: int) -> int: ...

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
        """The media paths of these episodes that no other episode points at. Decided by
        path, not by bytes: an episode keeping the Opus copy of bytes another keeps the
        original of shares neither file with it."""
        sql = "SELECT DISTINCT media_path FROM episodes WHERE {where}"
        rows = self._in("id", episode_ids, sql + " AND media_path IS NOT NULL")
        mine = sorted({str(r["media_path"]) for r in rows})
        gone = set(episode_ids)
        used: set[str] = set()
        for part in [mine[i : i + AT_ONCE] for i in range(0, len(mine), AT_ONCE)]:
            marks = ",".join("?" * len(part))
            for r in self._rows(
                f"SELECT id, media_path FROM episodes WHERE media_path IN ({marks})",  # noqa: S608
                part,
            ):
                if int(r["id"]) not in gone:
                    used.add(str(r["media_path"]))
        return [p for p in mine if p not in used]

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
        does for each of a show's), and rebuild its show's voiceprints from the named
        speakers left (a name only this episode taught goes); return the media paths no
        other episode uses."""
        with self.transaction():
            episodes = self._episode_ids(None, episode_id)
            show_id = self._value("SELECT show_id FROM episodes WHERE id = ?", (episode_id,))
            media = self._remove_episodes(episodes)
            if show_id is not None:
                self.refresh_voiceprints(int(show_id))
        return media

    def _remove_episodes(self, episode_ids: list[int]) -> list[str]:
        """Inside the caller's transaction: every row of these episodes, children first."""
        if not episode_ids:
            return []
        media = self._unshared_media(episode_ids)
        # the transcripts locked first, before any segment, passage or the segment totals
        # (PostgreSQL; the lock order in this module's docstring): a step writing to one
        # holds its row first too, so one of the two waits there and neither deadlocks; a
        # step that waited finds no transcript at its next write
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
