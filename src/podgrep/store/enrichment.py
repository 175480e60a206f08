"""Chapters, links, passages and imported transcripts: the SQL behind issue 6, written once for
every SQL store (the vectors themselves are each store's own: store/sqlite, store/postgres)."""

from __future__ import annotations

import json
import time
from abc import abstractmethod
from collections.abc import Iterable
from typing import Any

from podgrep.domain import Chapter, PassageInfo, Segment, SharedLink, StoredLink, TranscriptSource
from podgrep.store.base import SqlBase, from_row


def source_label(source: str, model: str | None) -> str:
    """`publisher`, or `whisper:<model>` for a transcript made here."""
    return f"{source}:{model}" if source == "whisper" and model else source


class EnrichmentQueries(SqlBase):
    """Imported transcripts, chapters, links and the passages found by meaning."""

    @abstractmethod
    def insert_segments(self, transcript_id: int, segments: list[Segment], window: int) -> None:
        """Append segments to a transcript inside the caller's transaction (store/sql.py)."""

    # -- transcripts ----------------------------------------------------------------------------

    def replace_transcript(
        self,
        episode_id: int,
        source: str,
        model: str | None,
        language: str | None,
        segments: list[Segment],
        *,
        whole: bool = False,
    ) -> int:
        """Store a whole transcript of `source` in one transaction, its named speakers as the
        episode's speakers P1, P2…; return its id.

        It replaces an earlier transcript of the same source and model and the speakers that
        one named; `whole` replaces every transcript of the episode (Whisper's too, with its
        segments, full-text rows and passages, which go with it) and every speaker: what a
        user's import means."""
        with self.transaction():
            if whole:
                # segments (and with them the full-text rows) and passages cascade
                self._exec("DELETE FROM transcripts WHERE episode_id=?", (episode_id,))
                self._exec("DELETE FROM speakers WHERE episode_id=?", (episode_id,))
            else:
                self._exec(
                    "DELETE FROM transcripts WHERE episode_id=? AND source=?"
                    " AND model IS NOT DISTINCT FROM ?",
                    (episode_id, source, model),
                )
                self._exec(
                    "DELETE FROM speakers WHERE episode_id=? AND name_source=?",
                    (episode_id, source),
                )
            tid = self._insert(
                "INSERT INTO transcripts (episode_id, source, model, language, complete, created)"
                " VALUES (?,?,?,?,1,?)",
                (episode_id, source, model, language, time.time()),
            )
            ids = self._named_speakers(episode_id, source, segments)
            for segment in segments:
                segment.speaker_id = ids.get(segment.speaker or "")
            self.insert_segments(tid, segments, 0)
        return tid

    def _named_speakers(
        self, episode_id: int, source: str, segments: list[Segment]
    ) -> dict[str, int]:
        """Speakers named by an imported transcript, labelled P1, P2… by speech time."""
        seconds: dict[str, float] = {}
        for seg in segments:
            if seg.speaker:
                seconds[seg.speaker] = seconds.get(seg.speaker, 0.0) + max(0.0, seg.end - seg.start)
        taken = {
            str(r["label"])
            for r in self._rows("SELECT label FROM speakers WHERE episode_id=?", (episode_id,))
        }
        ids: dict[str, int] = {}
        n = 0
        for name in sorted(seconds, key=lambda k: -seconds[k]):
            n += 1
            while f"P{n}" in taken:
                n += 1
            ids[name] = self._insert(
                "INSERT INTO speakers (episode_id, label, name, name_source, seconds)"
                " VALUES (?,?,?,?,?)",
                (episode_id, f"P{n}", name, source, round(seconds[name], 2)),
            )
        return ids

    def transcript_sources(self, episode_id: int) -> list[TranscriptSource]:
        """The transcripts an episode has: id, source, model, complete, segment count."""
        rows = self._rows(
            "SELECT t.id, t.source, t.model, t.language, t.complete,"
            " (SELECT COUNT(*) FROM segments s WHERE s.transcript_id = t.id) AS segments"
            " FROM transcripts t WHERE t.episode_id=? ORDER BY t.id",
            (episode_id,),
        )
        return [
            from_row(
                TranscriptSource,
                r,
                id=int(r["id"]),
                complete=bool(r["complete"]),
                segments=int(r["segments"]),
            )
            for r in rows
        ]

    # -- chapters -------------------------------------------------------------------------------

    def set_chapters(self, episode_id: int, chapters: Iterable[Any]) -> None:
        """Replace an episode's stored chapters (objects with start, end, title, url, img, toc,
        source, location; an untitled chapter has title "")."""
        with self.transaction():
            self._exec("DELETE FROM chapters WHERE episode_id=?", (episode_id,))
            self._many(
                'INSERT INTO chapters (episode_id, start, "end", title, url, img, toc, source,'
                " location_json) VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (
                        episode_id,
                        c.start,
                        c.end,
                        c.title or "",
                        c.url,
                        c.img,
                        int(c.toc),
                        c.source,
                        json.dumps(loc, ensure_ascii=False) if (loc := c.location) else None,
                    )
                    for c in chapters
                ],
            )

    def chapter_rows(self, episode_id: int) -> list[Chapter]:
        """An episode's stored chapters in order, `location` read back from its JSON."""
        rows = self._rows(
            "SELECT * FROM chapters WHERE episode_id=? ORDER BY start, id", (episode_id,)
        )
        return [
            from_row(
                Chapter,
                r,
                toc=bool(r["toc"]),
                location=json.loads(raw) if (raw := r["location_json"]) else None,
            )
            for r in rows
        ]

    # -- links ----------------------------------------------------------------------------------

    def set_links(self, episode_id: int, links: Iterable[Any]) -> None:
        """Replace an episode's links (objects with url, title, origin, start)."""
        with self.transaction():
            self._exec("DELETE FROM links WHERE episode_id=?", (episode_id,))
            self._many(
                "INSERT INTO links (episode_id, url, title, origin, start) VALUES (?,?,?,?,?)"
                " ON CONFLICT DO NOTHING",
                [(episode_id, lk.url, lk.title, lk.origin, lk.start) for lk in links],
            )

    def link_rows(self, episode_id: int) -> list[StoredLink]:
        """An episode's links, notes first, in the order found."""
        rows = self._rows(
            "SELECT url, title, origin, start FROM links WHERE episode_id=?"
            " ORDER BY CASE WHEN origin = 'spoken' THEN 1 ELSE 0 END, id",
            (episode_id,),
        )
        return [from_row(StoredLink, r) for r in rows]

    def shared_links(self, show_id: int, minimum: int = 2) -> list[SharedLink]:
        """Links found in at least `minimum` episodes of a show, most shared first, with a
        title."""
        rows = self._rows(
            "SELECT l.url, COUNT(DISTINCT l.episode_id) AS episodes,"
            " (SELECT l2.title FROM links l2 JOIN episodes e2 ON e2.id = l2.episode_id"
            "  WHERE l2.url = l.url AND e2.show_id = ? AND l2.title IS NOT NULL"
            "  GROUP BY l2.title ORDER BY COUNT(*) DESC, l2.title LIMIT 1) AS title,"
            " MIN(l.episode_id) AS first_episode"
            " FROM links l JOIN episodes e ON e.id = l.episode_id WHERE e.show_id = ?"
            " GROUP BY l.url HAVING COUNT(DISTINCT l.episode_id) >= ?"
            " ORDER BY episodes DESC, l.url",
            (show_id, show_id, minimum),
        )
        return [
            from_row(
                SharedLink,
                r,
                episodes=int(r["episodes"]),
                first_episode=int(r["first_episode"]),
            )
            for r in rows
        ]

    # -- passages -------------------------------------------------------------------------------

    def transcripts_without_passages(
        self, model: str, episode_id: int | None = None
    ) -> list[int]:
        """Complete transcripts that have segments but no passages embedded with `model` (of
        one episode, when given)."""
        one = " AND t.episode_id = ?" if episode_id is not None else ""
        rows = self._rows(
            "SELECT t.id FROM transcripts t WHERE t.complete = 1"
            " AND EXISTS (SELECT 1 FROM segments s WHERE s.transcript_id = t.id)"
            " AND NOT EXISTS (SELECT 1 FROM passages p WHERE p.transcript_id = t.id"
            f" AND p.model = ?){one} ORDER BY t.id",
            (model,) if episode_id is None else (model, episode_id),
        )
        return [int(r["id"]) for r in rows]

    def has_passages(self, model: str) -> bool:
        """Whether any passage has a vector of `model`."""
        return (
            self._row("SELECT 1 AS one FROM passages WHERE model=? LIMIT 1", (model,)) is not None
        )

    def passage_hits(self, passage_ids: list[int]) -> dict[int, PassageInfo]:
        """Passage details for hits: span, text of its segments, episode, show, first segment
        id."""
        if not passage_ids:
            return {}
        marks = ",".join("?" * len(passage_ids))
        rows = self._rows(
            'SELECT p.id, p.transcript_id, p.first_idx, p.last_idx, p.start, p."end",'
            " e.id AS episode_id, e.title AS episode, sh.title AS show, sh.id AS show_id"
            " FROM passages p JOIN transcripts t ON t.id = p.transcript_id"
            " JOIN episodes e ON e.id = t.episode_id JOIN shows sh ON sh.id = e.show_id"
            f" WHERE p.id IN ({marks})",
            passage_ids,
        )
        # the text of each passage's segments in order, joined here: neither SQLite's
        # group_concat nor PostgreSQL's string_agg promises to keep a subquery's order
        said = self._rows(
            "SELECT p.id AS passage_id, s.id, s.idx, s.text FROM passages p"
            " JOIN segments s ON s.transcript_id = p.transcript_id"
            " AND s.idx BETWEEN p.first_idx AND p.last_idx"
            f" WHERE p.id IN ({marks}) ORDER BY p.id, s.idx",
            passage_ids,
        )
        texts: dict[int, list[str]] = {}
        firsts: dict[tuple[int, int], int] = {}  # (passage, idx) -> segment id
        for s in said:
            pid = int(s["passage_id"])
            if s["text"] is not None:
                texts.setdefault(pid, []).append(str(s["text"]))
            firsts[(pid, int(s["idx"]))] = int(s["id"])
        out: dict[int, PassageInfo] = {}
        for r in rows:
            pid = int(r["id"])
            out[pid] = PassageInfo(
                id=pid,
                transcript_id=int(r["transcript_id"]),
                first_idx=int(r["first_idx"]),
                last_idx=int(r["last_idx"]),
                start=float(r["start"]),
                end=float(r["end"]),
                episode_id=int(r["episode_id"]),
                episode=str(r["episode"]),
                show=str(r["show"]),
                show_id=int(r["show_id"]),
                text=" ".join(texts.get(pid, [])),
                segment_id=firsts.get((pid, int(r["first_idx"]))),
            )
        return out

    def passages_of_segments(self, segment_ids: list[int]) -> dict[int, list[int]]:
        """For each segment id, every passage that covers it (passages overlap, so usually
        two)."""
        if not segment_ids:
            return {}
        marks = ",".join("?" * len(segment_ids))
        rows = self._rows(
            "SELECT s.id AS segment_id, p.id AS passage_id"
            " FROM segments s JOIN passages p ON p.transcript_id = s.transcript_id"
            " AND p.first_idx <= s.idx AND p.last_idx >= s.idx"
            f" WHERE s.id IN ({marks}) ORDER BY s.id, p.first_idx",
            segment_ids,
        )
        out: dict[int, list[int]] = {}
        for r in rows:
            out.setdefault(int(r["segment_id"]), []).append(int(r["passage_id"]))
        return out
