"""Speakers of episodes and voiceprints of shows, in SQL every store runs."""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable
from itertools import groupby

import numpy as np

from podgrep.domain import Segment, Speaker
from podgrep.errors import NotFoundError
from podgrep.store.base import SqlBase, from_row

TRUSTED = 3.0  # evidence score from which an automatic name teaches the show its voice


def _blob(vector: np.ndarray | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


def _vector(blob: bytes | memoryview | None) -> np.ndarray | None:
    # psycopg may hand a bytea back as a memoryview
    return None if blob is None else np.frombuffer(bytes(blob), dtype=np.float32).copy()


class SpeakerQueries(SqlBase):
    """Who spoke in each episode, and the voices each show has learnt."""

    for_update = ""  # the store's FOR UPDATE (PostgreSQL: store/sql.py's SqlStore)

    @abstractmethod
    def insert_segments(self, transcript_id: int, segments: list[Segment], window: int) -> None:
        """Append segments to a transcript inside the caller's transaction (store/sql.py)."""

    def segment_windows(self, transcript_id: int) -> dict[int, int]:
        """The audio window each segment (by idx) was transcribed in."""
        rows = self._rows(
            'SELECT idx, "window" FROM segments WHERE transcript_id=?', (transcript_id,)
        )
        return {int(r["idx"]): int(r["window"]) for r in rows}

    def labelled(self, transcript_id: int) -> bool:
        """True when every segment of the transcript has a speaker (the step is done)."""
        row = self._row(
            "SELECT COUNT(*) AS n, COUNT(speaker_id) AS labelled FROM segments"
            " WHERE transcript_id=?",
            (transcript_id,),
        )
        return row is not None and bool(row["n"]) and row["n"] == row["labelled"]

    def save_diarization(
        self,
        episode_id: int,
        transcript_id: int,
        speakers: list[tuple[Speaker, np.ndarray | None]],
        segments: list[tuple[Segment, int, int]],
    ) -> None:
        """Replace the episode's speakers and rewrite the transcript's segments, atomically.

        `segments` are (segment, audio window, index into `speakers`): segments split at a
        change of speaker take new positions, so the transcript is written again in order, in
        one transaction — a crash leaves the old transcript or the new one, never a mix.
        """
        with self.transaction():
            # the episode's transcripts before their segments (store/removal.py's lock order)
            self._rows(
                f"SELECT id FROM transcripts WHERE episode_id=? ORDER BY id{self.for_update}",
                (episode_id,),
            )
            self._exec(
                "UPDATE segments SET speaker_id=NULL WHERE transcript_id IN"
                " (SELECT id FROM transcripts WHERE episode_id=?)",
                (episode_id,),
            )
            self._exec("DELETE FROM speakers WHERE episode_id=?", (episode_id,))
            ids = []
            for spk, vector in speakers:
                spk.id = self._insert(
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
                ids.append(spk.id)
            self._exec("DELETE FROM segments WHERE transcript_id=?", (transcript_id,))
            # passages point at segment positions, which a split moves: embedded again later
            self._exec("DELETE FROM passages WHERE transcript_id=?", (transcript_id,))
            for seg, _, k in segments:
                seg.speaker_id = ids[k] if 0 <= k < len(ids) else None
            # in order, each run of segments of one window at a time
            for window, run in groupby(segments, key=lambda row: row[1]):
                self.insert_segments(transcript_id, [seg for seg, _, _ in run], window)

    def list_speakers(self, episode_id: int) -> list[Speaker]:
        """The episode's speakers, most speech first."""
        rows = self._rows(
            "SELECT id, episode_id, label, name, name_source, role, seconds, confidence"
            " FROM speakers WHERE episode_id=? ORDER BY seconds DESC, id",
            (episode_id,),
        )
        return [from_row(Speaker, r) for r in rows]

    def speaker_vectors(self, episode_id: int) -> dict[str, np.ndarray]:
        """Each speaker's voice centroid, by label."""
        rows = self._rows(
            "SELECT label, embedding FROM speakers WHERE episode_id=? AND embedding IS NOT NULL",
            (episode_id,),
        )
        return {str(r["label"]): v for r in rows if (v := _vector(r["embedding"])) is not None}

    def speaker_segments(self, episode_id: int) -> dict[int, int]:
        """How many segments each speaker (by id) has in the episode's transcripts."""
        rows = self._rows(
            "SELECT s.speaker_id, COUNT(*) AS n FROM segments s"
            " JOIN speakers p ON p.id = s.speaker_id"
            " WHERE p.episode_id=? GROUP BY s.speaker_id",
            (episode_id,),
        )
        return {int(r["speaker_id"]): int(r["n"]) for r in rows}

    def rename_speaker(self, episode_id: int, label: str, name: str | None) -> Speaker:
        """Give a speaker of an episode a name (None clears it); return the speaker."""
        found = {s.label.lower(): s for s in self.list_speakers(episode_id)}
        spk = found.get(label.strip().lower())
        if spk is None:
            known = ", ".join(sorted(s.label for s in found.values())) or "none yet"
            raise NotFoundError(
                f"Episode {episode_id} has no speaker {label!r} (speakers: {known}): "
                "`podgrep speakers EPISODE` lists them"
            )
        self._exec(
            "UPDATE speakers SET name=?, name_source=?, confidence=NULL WHERE id=?",
            (name, "user" if name else None, spk.id),
        )
        spk.name, spk.name_source = name, "user" if name else None
        return spk

    def unname_raw_labels(
        self, episode_id: int, source: str, is_raw: Callable[[str], bool]
    ) -> None:
        """Speakers `source` named with what `is_raw` calls a diarizer's numbering
        (`SPEAKER_00`, `spk_1`) keep that as their label (when no other speaker of the episode
        has it) and lose the name: hits show the label and the user can name them (`name` is
        for names)."""
        with self.transaction():
            rows = self._rows(
                "SELECT id, name FROM speakers WHERE episode_id=? AND name_source=? ORDER BY id",
                (episode_id, source),
            )
            taken = {
                str(r["label"])
                for r in self._rows("SELECT label FROM speakers WHERE episode_id=?", (episode_id,))
            }
            for r in rows:
                name = r["name"]
                if not is_raw(name):
                    continue
                label = name if name not in taken else None
                if label:
                    taken.add(label)
                self._exec(
                    "UPDATE speakers SET label=COALESCE(?, label), name=NULL WHERE id=?",
                    (label, r["id"]),
                )

    def voiceprints(self, show_id: int) -> dict[str, np.ndarray]:
        """The show's voiceprints: name -> normed voice vector."""
        rows = self._rows("SELECT name, embedding FROM voiceprints WHERE show_id=?", (show_id,))
        return {str(r["name"]): v for r in rows if (v := _vector(r["embedding"])) is not None}

    def refresh_voiceprints(self, show_id: int) -> int:
        """Rebuild the show's voiceprints from its named speakers; return how many there are.

        A voiceprint is the normed mean of the voice centroids of every speaker of the show's
        episodes who bears that name, so a rename is reflected at once, and one wrong name
        weighs one episode against all the others. Only names a user gave or that strong
        evidence gave (TRUSTED or more) count: a name guessed from roles alone must not teach
        a voice.
        """
        rows = self._rows(
            "SELECT p.name, p.embedding FROM speakers p JOIN episodes e ON e.id = p.episode_id"
            " WHERE e.show_id=? AND p.name IS NOT NULL AND p.embedding IS NOT NULL"
            " AND (p.name_source = 'user' OR p.confidence >= ?) ORDER BY p.id",
            (show_id, TRUSTED),
        )
        sums: dict[str, list[np.ndarray]] = {}
        for r in rows:
            vector = _vector(r["embedding"])
            if vector is not None:
                sums.setdefault(str(r["name"]), []).append(vector)
        now = time.time()
        with self.transaction():
            self._exec("DELETE FROM voiceprints WHERE show_id=?", (show_id,))
            for name, vectors in sums.items():
                mean = np.mean(vectors, axis=0)
                mean /= max(float(np.linalg.norm(mean)), 1e-8)
                self._exec(
                    "INSERT INTO voiceprints (show_id, name, embedding, episodes, updated)"
                    " VALUES (?,?,?,?,?)",
                    (show_id, name, _blob(mean), len(vectors), now),
                )
        return len(sums)
