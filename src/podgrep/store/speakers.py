"""Speakers of episodes and voiceprints of shows, in the SQLite store."""

from __future__ import annotations

import time

import numpy as np

from podgrep.domain import Segment, Speaker
from podgrep.errors import NotFoundError
from podgrep.store.sqlite import SqliteStore

TRUSTED = 3.0  # evidence score from which an automatic name teaches the show its voice


def _blob(vector: np.ndarray | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


def _vector(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()


def segment_windows(store: SqliteStore, transcript_id: int) -> dict[int, int]:
    """The audio window each segment (by idx) was transcribed in."""
    rows = store.db.execute(
        "SELECT idx, window FROM segments WHERE transcript_id=?", (transcript_id,)
    )
    return {int(r["idx"]): int(r["window"]) for r in rows}


def labelled(store: SqliteStore, transcript_id: int) -> bool:
    """True when every segment of the transcript has a speaker (the step is done)."""
    row = store.db.execute(
        "SELECT COUNT(*) AS n, COUNT(speaker_id) AS labelled FROM segments WHERE transcript_id=?",
        (transcript_id,),
    ).fetchone()
    return bool(row["n"]) and row["n"] == row["labelled"]


def save_diarization(
    store: SqliteStore,
    episode_id: int,
    transcript_id: int,
    speakers: list[tuple[Speaker, np.ndarray | None]],
    segments: list[tuple[Segment, int, int]],
) -> None:
    """Replace the episode's speakers and rewrite the transcript's segments, atomically.

    `segments` are (segment, audio window, index into `speakers`): segments split at a change
    of speaker take new positions, so the transcript is written again in order, in one
    transaction — a crash leaves the old transcript or the new one, never a mix.
    """
    with store.transaction() as db:
        db.execute(
            "UPDATE segments SET speaker_id=NULL WHERE transcript_id IN"
            " (SELECT id FROM transcripts WHERE episode_id=?)",
            (episode_id,),
        )
        db.execute("DELETE FROM speakers WHERE episode_id=?", (episode_id,))
        ids = []
        for spk, vector in speakers:
            cur = db.execute(
                "INSERT INTO speakers (episode_id, label, name, name_source, role, seconds,"
                " confidence, embedding) VALUES (?,?,?,?,?,?,?,?)",
                (
                    episode_id,
                    spk.label,
                    spk.name,
                    spk.name_source,
                    spk.role,
                    spk.seconds,
                    spk.confidence,
                    _blob(vector),
                ),
            )
            spk.id = int(cur.lastrowid or 0)
            ids.append(spk.id)
        db.execute("DELETE FROM segments WHERE transcript_id=?", (transcript_id,))
        for seg, window, k in segments:
            seg.speaker_id = ids[k] if 0 <= k < len(ids) else None
            store._insert_segment(db, transcript_id, seg, window)


def list_speakers(store: SqliteStore, episode_id: int) -> list[Speaker]:
    """The episode's speakers, most speech first."""
    rows = store.db.execute(
        "SELECT id, episode_id, label, name, name_source, role, seconds, confidence FROM speakers"
        " WHERE episode_id=? ORDER BY seconds DESC, id",
        (episode_id,),
    )
    return [Speaker(**dict(r)) for r in rows]


def speaker_vectors(store: SqliteStore, episode_id: int) -> dict[str, np.ndarray]:
    """Each speaker's voice centroid, by label."""
    rows = store.db.execute(
        "SELECT label, embedding FROM speakers WHERE episode_id=? AND embedding IS NOT NULL",
        (episode_id,),
    )
    return {r["label"]: v for r in rows if (v := _vector(r["embedding"])) is not None}


def speaker_segments(store: SqliteStore, episode_id: int) -> dict[int, int]:
    """How many segments each speaker (by id) has in the episode's transcripts."""
    rows = store.db.execute(
        "SELECT s.speaker_id, COUNT(*) AS n FROM segments s JOIN speakers p ON p.id = s.speaker_id"
        " WHERE p.episode_id=? GROUP BY s.speaker_id",
        (episode_id,),
    )
    return {int(r["speaker_id"]): int(r["n"]) for r in rows}


def rename_speaker(store: SqliteStore, episode_id: int, label: str, name: str | None) -> Speaker:
    """Give a speaker of an episode a name (None clears it); return the speaker."""
    found = {s.label.lower(): s for s in list_speakers(store, episode_id)}
    spk = found.get(label.strip().lower())
    if spk is None:
        known = ", ".join(sorted(s.label for s in found.values())) or "none yet"
        raise NotFoundError(
            f"Episode {episode_id} has no speaker {label!r} (speakers: {known}): "
            "`podgrep speakers EPISODE` lists them"
        )
    store.db.execute(
        "UPDATE speakers SET name=?, name_source=?, confidence=NULL WHERE id=?",
        (name, "user" if name else None, spk.id),
    )
    spk.name, spk.name_source = name, "user" if name else None
    return spk


def voiceprints(store: SqliteStore, show_id: int) -> dict[str, np.ndarray]:
    """The show's voiceprints: name -> normed voice vector."""
    rows = store.db.execute("SELECT name, embedding FROM voiceprints WHERE show_id=?", (show_id,))
    return {r["name"]: v for r in rows if (v := _vector(r["embedding"])) is not None}


def refresh_voiceprints(store: SqliteStore, show_id: int) -> int:
    """Rebuild the show's voiceprints from its named speakers; return how many there are.

    A voiceprint is the normed mean of the voice centroids of every speaker of the show's
    episodes who bears that name, so a rename is reflected at once, and one wrong name
    weighs one episode against all the others. Only names a user gave or that strong evidence
    gave (TRUSTED or more) count: a name guessed from roles alone must not teach a voice.
    """
    rows = store.db.execute(
        "SELECT p.name, p.embedding FROM speakers p JOIN episodes e ON e.id = p.episode_id"
        " WHERE e.show_id=? AND p.name IS NOT NULL AND p.embedding IS NOT NULL"
        " AND (p.name_source = 'user' OR p.confidence >= ?)",
        (show_id, TRUSTED),
    ).fetchall()
    sums: dict[str, list[np.ndarray]] = {}
    for r in rows:
        vector = _vector(r["embedding"])
        if vector is not None:
            sums.setdefault(r["name"], []).append(vector)
    now = time.time()
    with store.transaction() as db:
        db.execute("DELETE FROM voiceprints WHERE show_id=?", (show_id,))
        for name, vectors in sums.items():
            mean = np.mean(vectors, axis=0)
            mean /= max(float(np.linalg.norm(mean)), 1e-8)
            db.execute(
                "INSERT INTO voiceprints (show_id, name, embedding, episodes, updated)"
                " VALUES (?,?,?,?,?)",
                (show_id, name, _blob(mean), len(vectors), now),
            )
    return len(sums)
