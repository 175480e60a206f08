"""Transcribing an episode again (`podgrep retranscribe`), in SQL every store runs.

A retranscription writes a second transcript beside the episode's complete one. While it is
being written its segments are stored without searchable text (no full-text row, no words in
the PostgreSQL vector), so search, which reads the full-text index alone, never shows an
episode twice and stays one index lookup; `transcript_for` already prefers the complete one.
When the new one is complete, one transaction gives its segments their searchable text, marks
it complete and deletes every other transcript of the episode with its segments, full-text
rows and passages (vectors), counting that removal of passages (`_passages_removed`: SQLite's
in-memory vector index would otherwise take the new passages, which may reuse the removed
ones' ids, for the old). Until the index step embeds the new transcript, the episode has no
passages: semantic search finds it again then.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from podgrep.store.backlog import HELD
from podgrep.store.base import LEAD_WORDS, SqlBase, hidden

REDONE = ("transcribe", "speakers", "index")  # the steps a retranscription runs again


def searchable_texts(texts: Sequence[str], shown: Sequence[bool]) -> list[str]:
    """The searchable text of each segment of a transcript, in order, as `insert_segments`
    writes it: a shown segment's text followed by the first words of the shown segment after
    it (a phrase said across the boundary is found); a hidden one's is empty."""
    out = []
    for i, (text, ok) in enumerate(zip(texts, shown, strict=True)):
        if not ok:
            out.append("")
            continue
        after = texts[i + 1] if i + 1 < len(texts) and shown[i + 1] else ""
        out.append(text + " " + " ".join(after.split()[:LEAD_WORDS]) if after else text)
    return out


class RetranscriptionQueries(SqlBase):
    """A second transcript of an episode written out of search, then swapped in whole."""

    for_update = ""  # the store's FOR UPDATE (PostgreSQL: store/sql.py's SqlStore)

    @abstractmethod
    def _index_columns(self, searchable: str) -> dict[str, Any]:
        """The store's own index columns for a searchable text (store/sql.py)."""

    @abstractmethod
    def add_words(self, texts: Iterable[str]) -> None:
        """Record the words of `texts` (store/sql.py)."""

    if TYPE_CHECKING:  # RemovalQueries' (store/removal.py), later in the stores' bases

        def _passages_removed(self) -> None: ...

    def requeue_transcription(self, episode_ids: Sequence[int], model: str) -> int:
        """Ask for episodes to be transcribed again with `model`: the model recorded on each
        (`episodes.model`) and its transcribe, speakers and index steps pending again with
        fresh attempts (a worker running one of them loses it at its next report); the fetch
        step stays as it is (created pending where it is missing: every step or none). A held
        episode (no jobs until `podgrep queue`) is left as it is. One transaction; return how
        many episodes."""
        from podgrep.store.sql import STEPS  # sql.py imports this mixin

        now = time.time()
        n = 0
        with self.transaction():
            for eid in episode_ids:
                if not self._exec(
                    "UPDATE episodes SET model=?, error=NULL WHERE id=? AND status<>?",
                    (model, eid, HELD),
                ):
                    continue
                n += 1
                self._many(
                    "INSERT INTO jobs (episode_id, step, updated) VALUES (?,?,?)"
                    " ON CONFLICT DO NOTHING",
                    [(eid, step, now) for step in STEPS],
                )
                self._exec(
                    "UPDATE jobs SET state='pending', attempts=0, error=NULL, lease_until=NULL,"
                    " worker=NULL, updated=? WHERE episode_id=? AND step IN (?,?,?)",
                    (now, eid, *REDONE),
                )
        return n

    def shadowed(self, transcript_id: int) -> bool:
        """Whether a transcript is unfinished while its episode has a complete one (a
        retranscription being written): its segments stay out of search until it is done."""
        row = self._row(
            "SELECT 1 AS one FROM transcripts t JOIN transcripts o ON o.episode_id = t.episode_id"
            " AND o.id <> t.id AND o.complete = 1 WHERE t.id = ? AND t.complete = 0 LIMIT 1",
            (transcript_id,),
        )
        return row is not None

    def publish_transcript(self, transcript_id: int) -> int:
        """Give every segment of a transcript the searchable text `insert_segments` gives,
        where a shadowed write left it out (inside the caller's transaction); return how many
        segments changed (none for a transcript written in search)."""
        rows = self._rows(
            "SELECT id, text, flags, search_text FROM segments WHERE transcript_id=? ORDER BY idx",
            (transcript_id,),
        )
        texts = [str(r["text"] or "") for r in rows]
        wanted = searchable_texts(texts, [not hidden(r["flags"]) for r in rows])
        changed = [
            (text, r["id"])
            for text, r in zip(wanted, rows, strict=True)
            if text != str(r["search_text"] or "")
        ]
        if not changed:
            return 0
        names = list(self._index_columns(""))
        sets = "".join(f", {k}=?" for k in names)
        self._many(
            f"UPDATE segments SET search_text=?{sets} WHERE id=?",
            [(text, *self._index_columns(text).values(), sid) for text, sid in changed],
        )
        self.add_words(text for text, _ in changed)
        return len(changed)

    def drop_unfinished(self, episode_id: int, source: str, model: str) -> int:
        """Delete the episode's unfinished transcripts of `source` and a model other than
        `model` (superseded by a retranscription with `model`); return how many."""
        return self._exec(
            "DELETE FROM transcripts WHERE episode_id=? AND source=? AND complete=0"
            " AND (model IS NULL OR model <> ?)",
            (episode_id, source, model),
        )

    def swap_transcript(self, episode_id: int, transcript_id: int) -> int:
        """Make a finished transcript the episode's only one, in one transaction: its segments
        searchable, it marked complete, and every other transcript of the episode deleted with
        its segments, full-text rows and passages (vectors), that removal of passages counted
        (`_passages_removed`). Return how many were deleted."""
        with self.transaction():
            # the episode's transcripts before their segments (store/removal.py's lock order)
            self._rows(
                f"SELECT id FROM transcripts WHERE episode_id=? ORDER BY id{self.for_update}",
                (episode_id,),
            )
            self.publish_transcript(transcript_id)
            self._exec("UPDATE transcripts SET complete=1 WHERE id=?", (transcript_id,))
            had_passages = self._value(
                "SELECT 1 AS one FROM passages p JOIN transcripts t ON t.id = p.transcript_id"
                " WHERE t.episode_id=? AND t.id<>? LIMIT 1",
                (episode_id, transcript_id),
            )
            deleted = self._exec(
                "DELETE FROM transcripts WHERE episode_id=? AND id<>?", (episode_id, transcript_id)
            )
            if had_passages is not None:  # gone by the cascade: their ids may come back
                self._passages_removed()
            return deleted
