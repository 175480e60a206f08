"""An in-memory vector index that stays fast at a million passages on two cores.

Vectors are kept as int8 rows (with a scale each) and as sign bits. A query first ranks every
passage by Hamming distance of the sign bits (48 bytes a row, XOR and popcount), then re-scores
the best few thousand with the int8 vectors exactly. Below that many passages it is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESCORE = 4000  # candidates kept from the bit scan for exact scoring


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and their scales, so that row * scale ~= the float vector."""
    peak = np.maximum(np.abs(vectors).max(axis=1), 1e-12)
    scale = (peak / 127.0).astype(np.float32)
    rows = np.clip(np.rint(vectors / scale[:, None]), -127, 127).astype(np.int8)
    return rows, scale


def sign_bits(vectors: np.ndarray) -> np.ndarray:
    """Each row's sign bits packed into uint64 words."""
    packed = np.packbits(vectors > 0, axis=1)
    pad = (-packed.shape[1]) % 8
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return np.ascontiguousarray(packed).view(np.uint64)


@dataclass
class VectorIndex:
    """Passage ids with their int8 vectors, scales, sign bits and episode ids."""

    ids: np.ndarray  # int64 passage ids
    rows: np.ndarray  # int8, n x dim
    scales: np.ndarray  # float32, n
    episodes: np.ndarray  # int64 episode id of each passage
    bits: np.ndarray  # uint64, n x dim/64

    @classmethod
    def build(
        cls, ids: np.ndarray, rows: np.ndarray, scales: np.ndarray, episodes: np.ndarray
    ) -> VectorIndex:
        """An index over stored int8 vectors."""
        return cls(ids, rows, scales, episodes, sign_bits(rows))

    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self, query: np.ndarray, k: int, episodes: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """The k passages nearest a unit query vector: (passage id, cosine), best first."""
        if not len(self.ids) or k < 1:
            return []
        candidates = np.arange(len(self.ids))
        if episodes is not None:
            candidates = np.flatnonzero(np.isin(self.episodes, list(episodes)))
            if not len(candidates):
                return []
        if len(candidates) > RESCORE:
            qbits = sign_bits(query[None, :])[0]
            bits = self.bits if episodes is None else self.bits[candidates]
            distance = np.bitwise_count(bits ^ qbits).sum(axis=1, dtype=np.int32)
            keep = np.argpartition(distance, RESCORE)[:RESCORE]
            candidates = candidates[keep]
        scores = (self.rows[candidates].astype(np.float32) @ query) * self.scales[candidates]
        k = min(k, len(candidates))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(self.ids[candidates[i]]), float(scores[i])) for i in best]
