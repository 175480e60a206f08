"""Who spoke when: window embeddings, clustering, then a speaker per word and per segment."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from podgrep.domain import Segment
from podgrep.speakers.assign import label_segments
from podgrep.speakers.cluster import THRESHOLD, cluster
from podgrep.speakers.windows import HOP_SECONDS, Windows, embed_windows


@dataclass
class Diarization:
    """Segments (split at speaker changes) with a speaker index each, and each speaker's voice."""

    segments: list[tuple[Segment, int]]
    centroids: np.ndarray  # (speakers, 256), L2-normed
    seconds: list[float]  # seconds of transcript per speaker
    windows: Windows

    @property
    def count(self) -> int:
        """How many speakers were found."""
        return len(self.centroids)


def _new_speech(windows: Windows) -> np.ndarray:
    """Seconds of speech each window adds beyond the one before it (windows overlap)."""
    if not len(windows):
        return np.zeros(0)
    prev_end = np.concatenate([[-np.inf], windows.ends[:-1]])
    return np.maximum(0.0, windows.ends - np.maximum(windows.starts, prev_end))


def diarize_windows(
    windows: Windows, segments: list[Segment], threshold: float = THRESHOLD
) -> Diarization:
    """Cluster embedded windows into speakers and give every segment one."""
    labels, centroids = cluster(windows.vectors, _new_speech(windows), threshold)
    if len(centroids) == 0:
        centroids = np.zeros((1, 256), dtype=np.float32)
    labelled = label_segments(
        segments, windows.starts, windows.ends, labels, centroids, windows.vectors
    )
    seconds = [0.0] * len(centroids)
    for seg, k in labelled:
        seconds[k] += max(0.0, seg.end - seg.start)
    # a voice no segment ended up with is not a speaker of this transcript
    used = sorted({k for _, k in labelled}, key=lambda k: -seconds[k])
    remap = {old: new for new, old in enumerate(used)}
    return Diarization(
        segments=[(seg, remap[k]) for seg, k in labelled],
        centroids=centroids[used] if used else centroids[:0],
        seconds=[seconds[k] for k in used],
        windows=windows,
    )


def diarize(
    blocks: Iterable[np.ndarray],
    segments: list[Segment],
    *,
    threshold: float = THRESHOLD,
    hop_seconds: float = HOP_SECONDS,
) -> Diarization:
    """Diarize a stream of 16 kHz mono blocks (see `audio.stream`) against its transcript."""
    windows = embed_windows(blocks, hop_seconds)
    return diarize_windows(windows, segments, threshold)
