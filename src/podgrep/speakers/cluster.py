"""Group window embeddings into speakers without being told how many there are.

Average-linkage agglomerative clustering on cosine similarity, stopped when the two closest
clusters are less alike than `threshold`: the number of speakers is where merging stops. Clusters
holding too little speech to be a voice (a cough, a laugh, crosstalk) join their nearest
neighbour, and a few k-means passes over every window settle the centroids. Long episodes are
clustered on an even sample of their windows, so the similarity matrix stays bounded.

The threshold leans towards splitting, because a channel pulls voices together: down a phone line
(or with real voices rather than synthetic ones) two people's windows can average 0.67 alike,
where synthetic voices on clean audio stay under 0.56. One voice split in two is then put back by
its centroids, which average its windows' noise away: two clusters whose centroids are more alike
than `SAME_VOICE` are one voice (halves of one voice measured 0.94 or more, different voices 0.85
or less; see `benchmarks/speakers.py --hard`).
"""

from __future__ import annotations

import numpy as np

THRESHOLD = 0.68  # mean cosine similarity below which two clusters are different voices
SAME_VOICE = 0.90  # centroid cosine similarity above which two clusters are one voice
MAX_ITEMS = 1200  # windows clustered directly; the rest are assigned to the centroids
MIN_SECONDS = 8.0  # a speaker has at least this much speech in the episode...
MIN_SHARE = 0.01  # ...and this share of it


def _normed(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)


def agglomerate(vectors: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Average-linkage clustering on cosine similarity; returns a label per row, from 0."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=int)
    x = _normed(vectors.astype(np.float64))
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    size = np.ones(n)
    parent = np.arange(n)
    active = np.ones(n, dtype=bool)
    # best partner per row, so each merge rescans two rows instead of the whole matrix
    best = np.argmax(sim, axis=1)
    best_sim = sim[np.arange(n), best]
    while active.sum() > 1:
        i = int(np.argmax(np.where(active, best_sim, -np.inf)))
        j = int(best[i])
        if best_sim[i] < threshold:
            break
        merged = (size[i] * sim[i] + size[j] * sim[j]) / (size[i] + size[j])
        sim[i], sim[:, i] = merged, merged
        sim[i, i] = -np.inf
        sim[j], sim[:, j] = -np.inf, -np.inf
        size[i] += size[j]
        active[j] = False
        best_sim[j] = -np.inf
        parent[parent == j] = i
        stale = active & ((best == i) | (best == j))
        stale[i] = True
        for r in np.flatnonzero(stale):
            best[r] = int(np.argmax(sim[r]))
            best_sim[r] = sim[r, best[r]]
        # rows whose best was elsewhere may now prefer the merged cluster
        better = active & (sim[:, i] > best_sim)
        best[better] = i
        best_sim[better] = sim[better, i]
    _, labels = np.unique(parent, return_inverse=True)
    return labels


def _centroids(vectors: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    return _normed(np.stack([vectors[labels == c].mean(axis=0) for c in range(k)]))


def _twin(centroids: np.ndarray, amounts: np.ndarray, same_voice: float) -> int | None:
    """The smaller of the two most alike clusters, if their centroids are alike enough to be
    one voice; None otherwise."""
    if len(centroids) < 2:
        return None
    sim = centroids @ centroids.T
    np.fill_diagonal(sim, -np.inf)
    i, j = np.unravel_index(int(np.argmax(sim)), sim.shape)
    if sim[i, j] < same_voice:
        return None
    return int(i if amounts[i] < amounts[j] else j)


def cluster(
    vectors: np.ndarray,
    seconds: np.ndarray,
    threshold: float = THRESHOLD,
    min_seconds: float = MIN_SECONDS,
    min_share: float = MIN_SHARE,
    same_voice: float = SAME_VOICE,
) -> tuple[np.ndarray, np.ndarray]:
    """Speaker labels (0 = most speech) for each window and the speakers' centroids.

    `seconds` is how much new speech each window brings (windows overlap), used to weigh
    clusters by speech time rather than by window count.
    """
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=int), np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 256))
    sample = np.linspace(0, n - 1, min(n, MAX_ITEMS)).round().astype(int)
    sample = np.unique(sample)
    labels_s = agglomerate(vectors[sample], threshold)
    k = int(labels_s.max()) + 1
    centroids = _centroids(vectors[sample], labels_s, k)
    labels = np.argmax(vectors @ centroids.T, axis=1)
    total = float(seconds.sum())
    floor = max(min_seconds, min_share * total)
    for _ in range(20):
        # drop the smallest cluster below the floor, if any, or else the smaller of two clusters
        # of one voice; its windows go to the nearest of the rest
        amounts = np.array([seconds[labels == c].sum() for c in range(len(centroids))])
        small = np.flatnonzero(amounts < floor)
        twin = _twin(centroids, amounts, same_voice) if not len(small) else None
        if len(small) and len(centroids) > 1:
            keep = [c for c in range(len(centroids)) if c != small[np.argmin(amounts[small])]]
            centroids = centroids[keep]
        elif twin is not None:
            centroids = np.delete(centroids, twin, axis=0)
        new = np.argmax(vectors @ centroids.T, axis=1)
        centroids = _normed(
            np.stack(
                [
                    vectors[new == c].mean(axis=0) if np.any(new == c) else centroids[c]
                    for c in range(len(centroids))
                ]
            )
        )
        if np.array_equal(new, labels) and not len(small) and twin is None:
            break
        labels = new
    amounts = np.array([seconds[labels == c].sum() for c in range(len(centroids))])
    order = np.argsort(-amounts, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[labels], centroids[order]
