"""Chapters, links, passages with vectors, and imported transcripts: the SQL behind issue 6."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from podgrep.domain import Segment
from podgrep.store.sqlite import SqliteStore

# -- transcripts -------------------------------------------------------------------------------


def replace_transcript(
    store: SqliteStore,
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

    It replaces an earlier transcript of the same source and model and the speakers that one
    named; `whole` replaces every transcript of the episode (Whisper's too, with its segments,
    full-text rows and passages, which go with it) and every speaker: what a user's import
    means."""
    with store.transaction() as db:
        if whole:
            # segments (and through their trigger the full-text rows) and passages cascade
            db.execute("DELETE FROM transcripts WHERE episode_id=?", (episode_id,))
            db.execute("DELETE FROM speakers WHERE episode_id=?", (episode_id,))
        else:
            db.execute(
                "DELETE FROM transcripts WHERE episode_id=? AND source=? AND model IS ?",
                (episode_id, source, model),
            )
            db.execute(
                "DELETE FROM speakers WHERE episode_id=? AND name_source=?", (episode_id, source)
            )
        cur = db.execute(
            "INSERT INTO transcripts (episode_id, source, model, language, complete, created)"
            " VALUES (?,?,?,?,1,?)",
            (episode_id, source, model, language, time.time()),
        )
        tid = int(cur.lastrowid or 0)
        ids = _named_speakers(db, episode_id, source, segments)
        for segment in segments:
            segment.speaker_id = ids.get(segment.speaker or "")
            store._insert_segment(db, tid, segment, 0)
    return tid


def _named_speakers(
    db: sqlite3.Connection, episode_id: int, source: str, segments: list[Segment]
) -> dict[str, int]:
    """Speakers named by an imported transcript, labelled P1, P2… by speech time."""
    seconds: dict[str, float] = {}
    for seg in segments:
        if seg.speaker:
            seconds[seg.speaker] = seconds.get(seg.speaker, 0.0) + max(0.0, seg.end - seg.start)
    taken = {
        r[0] for r in db.execute("SELECT label FROM speakers WHERE episode_id=?", (episode_id,))
    }
    ids: dict[str, int] = {}
    n = 0
    for name in sorted(seconds, key=lambda k: -seconds[k]):
        n += 1
        while f"P{n}" in taken:
            n += 1
        cur = db.execute(
            "INSERT INTO speakers (episode_id, label, name, name_source, seconds)"
            " VALUES (?,?,?,?,?)",
            (episode_id, f"P{n}", name, source, round(seconds[name], 2)),
        )
        ids[name] = int(cur.lastrowid or 0)
    return ids


def transcript_sources(store: SqliteStore, episode_id: int) -> list[dict[str, Any]]:
    """The transcripts an episode has: id, source, model, complete, segment count."""
    rows = store.db.execute(
        "SELECT t.id, t.source, t.model, t.language, t.complete,"
        " (SELECT COUNT(*) FROM segments s WHERE s.transcript_id = t.id) AS segments"
        " FROM transcripts t WHERE t.episode_id=? ORDER BY t.id",
        (episode_id,),
    )
    return [dict(r) for r in rows]


def source_label(source: str, model: str | None) -> str:
    """`publisher`, or `whisper:<model>` for a transcript made here."""
    return f"{source}:{model}" if source == "whisper" and model else source


# -- chapters ----------------------------------------------------------------------------------


def set_chapters(store: SqliteStore, episode_id: int, chapters: Iterable[Any]) -> None:
    """Replace an episode's stored chapters (objects with start, end, title, url, img, toc,
    source, location; an untitled chapter has title "")."""
    with store.transaction() as db:
        db.execute("DELETE FROM chapters WHERE episode_id=?", (episode_id,))
        db.executemany(
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


def chapter_rows(store: SqliteStore, episode_id: int) -> list[dict[str, Any]]:
    """An episode's stored chapters in order, `location` read back from its JSON."""
    rows = store.db.execute(
        "SELECT * FROM chapters WHERE episode_id=? ORDER BY start, id", (episode_id,)
    )
    out = []
    for r in rows:
        row = dict(r)
        raw = row.pop("location_json", None)
        row["location"] = json.loads(raw) if raw else None
        out.append(row)
    return out


# -- links -------------------------------------------------------------------------------------


def set_links(store: SqliteStore, episode_id: int, links: Iterable[Any]) -> None:
    """Replace an episode's links (objects with url, title, origin, start)."""
    with store.transaction() as db:
        db.execute("DELETE FROM links WHERE episode_id=?", (episode_id,))
        db.executemany(
            "INSERT OR IGNORE INTO links (episode_id, url, title, origin, start)"
            " VALUES (?,?,?,?,?)",
            [(episode_id, lk.url, lk.title, lk.origin, lk.start) for lk in links],
        )


def link_rows(store: SqliteStore, episode_id: int) -> list[dict[str, Any]]:
    """An episode's links, notes first, in the order found."""
    rows = store.db.execute(
        "SELECT url, title, origin, start FROM links WHERE episode_id=?"
        " ORDER BY origin = 'spoken', id",
        (episode_id,),
    )
    return [dict(r) for r in rows]


def shared_links(store: SqliteStore, show_id: int, minimum: int = 2) -> list[dict[str, Any]]:
    """Links found in at least `minimum` episodes of a show, most shared first, with a title."""
    rows = store.db.execute(
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
    return [dict(r) for r in rows]


# -- passages and vectors ----------------------------------------------------------------------


def transcripts_without_passages(store: SqliteStore, model: str) -> list[int]:
    """Complete transcripts that have segments but no passages embedded with `model`."""
    rows = store.db.execute(
        "SELECT t.id FROM transcripts t WHERE t.complete = 1"
        " AND EXISTS (SELECT 1 FROM segments s WHERE s.transcript_id = t.id)"
        " AND NOT EXISTS (SELECT 1 FROM passages p WHERE p.transcript_id = t.id AND p.model = ?)"
        " ORDER BY t.id",
        (model,),
    )
    return [int(r["id"]) for r in rows]


def write_passages(
    store: SqliteStore,
    transcript_id: int,
    model: str,
    spans: list[tuple[int, int, float, float]],
    rows: np.ndarray,
    scales: np.ndarray,
) -> None:
    """Store a transcript's passages (first idx, last idx, start, end) with int8 vectors. They
    replace the transcript's passages of any model: passages embedded by a model no longer used
    would still be found by the keyword side of hybrid search."""
    with store.transaction() as db:
        db.execute("DELETE FROM passages WHERE transcript_id=?", (transcript_id,))
        db.executemany(
            'INSERT INTO passages (transcript_id, first_idx, last_idx, start, "end", model,'
            " vector, scale) VALUES (?,?,?,?,?,?,?,?)",
            [
                (transcript_id, a, b, start, end, model, rows[i].tobytes(), float(scales[i]))
                for i, (a, b, start, end) in enumerate(spans)
            ],
        )


def passages_version(store: SqliteStore) -> tuple[int, int]:
    """(count, largest id) of all passages: changes whenever passages are written or deleted.

    Counted on the small transcript index, not the table of vectors, so it costs a few ms."""
    row = store.db.execute(
        "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM passages INDEXED BY passages_transcript"
    ).fetchone()
    return int(row[0]), int(row[1])


def term_counts(store: SqliteStore, terms: list[str]) -> dict[str, int]:
    """How many segments hold each stemmed term (0 for a term never said)."""
    out = {}
    try:
        for term in terms:
            row = store.db.execute(
                "SELECT doc FROM segments_vocab WHERE term = ?", (term,)
            ).fetchone()
            out[term] = int(row[0]) if row else 0
    except sqlite3.OperationalError:  # a database made before the vocabulary table existed
        return {}
    return out


def segments_about(store: SqliteStore) -> int:
    """About how many segments the library holds (the largest id: instant at any size)."""
    row = store.db.execute("SELECT MAX(id) FROM segments").fetchone()
    return int(row[0] or 0)


def change_stamp(store: SqliteStore) -> tuple[int, int]:
    """Changes cheaply: commits by other connections, and changes made by this one."""
    return int(store.db.execute("PRAGMA data_version").fetchone()[0]), store.db.total_changes


def has_passages(store: SqliteStore, model: str) -> bool:
    """Whether any passage has a vector of `model`."""
    row = store.db.execute("SELECT 1 FROM passages WHERE model=? LIMIT 1", (model,)).fetchone()
    return row is not None


def load_vectors(
    store: SqliteStore, model: str, dim: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every passage vector of a model: (ids, int8 rows, scales, episode ids)."""
    cur = store.db.execute(
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


def passage_hits(store: SqliteStore, passage_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Passage details for hits: span, text of its segments, episode, show, first segment id."""
    if not passage_ids:
        return {}
    marks = ",".join("?" * len(passage_ids))
    rows = store.db.execute(
        'SELECT p.id, p.transcript_id, p.first_idx, p.last_idx, p.start, p."end",'
        " e.id AS episode_id, e.title AS episode, sh.title AS show, sh.id AS show_id,"
        " (SELECT group_concat(s.text, ' ') FROM (SELECT text FROM segments"
        "   WHERE transcript_id = p.transcript_id AND idx BETWEEN p.first_idx AND p.last_idx"
        "   ORDER BY idx) s) AS text,"
        " (SELECT id FROM segments WHERE transcript_id = p.transcript_id AND idx = p.first_idx)"
        "   AS segment_id"
        " FROM passages p JOIN transcripts t ON t.id = p.transcript_id"
        " JOIN episodes e ON e.id = t.episode_id JOIN shows sh ON sh.id = e.show_id"
        f" WHERE p.id IN ({marks})",
        passage_ids,
    )
    return {int(r["id"]): dict(r) for r in rows}


def passages_of_segments(store: SqliteStore, segment_ids: list[int]) -> dict[int, list[int]]:
    """For each segment id, every passage that covers it (passages overlap, so usually two)."""
    if not segment_ids:
        return {}
    marks = ",".join("?" * len(segment_ids))
    rows = store.db.execute(
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


def show_episode_ids(store: SqliteStore, show: str) -> set[int]:
    """Episodes of the shows a `--show` filter names (title part or id), as search reads it."""
    rows = store.db.execute(
        "SELECT e.id FROM episodes e JOIN shows sh ON sh.id = e.show_id"
        " WHERE sh.title LIKE ? OR CAST(sh.id AS TEXT) = ?",
        (f"%{show}%", show),
    )
    return {int(r["id"]) for r in rows}
