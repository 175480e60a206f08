"""Scoring diarization against truth: diarization error rate and words given the right speaker.

DER follows NIST md-eval: time is scored in 10 ms frames; frames within `collar` seconds of any
reference turn boundary are not scored; over the rest, missed speech + false alarm + speaker
confusion, divided by the reference speech time. Overlapping speech counts once per speaker.
Hypothesis speakers are mapped one-to-one onto reference speakers to maximise their overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Turn = tuple[str, float, float]  # speaker, start, end (seconds)
STEP = 0.01


def best_mapping(overlap: np.ndarray) -> dict[int, int]:
    """The one-to-one row -> column assignment maximising the summed `overlap` (Hungarian)."""
    rows, cols = overlap.shape
    n = max(rows, cols)
    cost = np.zeros((n, n))
    cost[:rows, :cols] = overlap.max() - overlap if overlap.size else 0
    # Kuhn-Munkres with potentials, O(n^3); n is a handful of speakers
    u, v = np.zeros(n + 1), np.zeros(n + 1)
    p, way = np.zeros(n + 1, dtype=int), np.zeros(n + 1, dtype=int)
    for i in range(1, n + 1):
        p[0], j0 = i, 0
        minv = np.full(n + 1, np.inf)
        used = np.zeros(n + 1, dtype=bool)
        while True:
            used[j0] = True
            i0, delta, j1 = p[j0], np.inf, 0
            for j in range(1, n + 1):
                if not used[j]:
                    cur = cost[i0 - 1, j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(n + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    mapping = {}
    for j in range(1, n + 1):
        r, c = p[j] - 1, j - 1
        if r < rows and c < cols and overlap[r, c] > 0:
            mapping[r] = c
    return mapping


def _grid(turns: list[Turn], names: list[str], frames: int) -> np.ndarray:
    grid = np.zeros((len(names), frames), dtype=bool)
    for spk, a, b in turns:
        grid[names.index(spk), int(round(a / STEP)) : int(round(b / STEP))] = True
    return grid


@dataclass
class DerResult:
    """Diarization error rate and its parts, in seconds of scored reference speech."""

    der: float
    missed: float
    false_alarm: float
    confusion: float
    speech: float
    mapping: dict[str, str]


def der(reference: list[Turn], hypothesis: list[Turn], collar: float = 0.25) -> DerResult:
    """DER of `hypothesis` against `reference`, not scoring `collar` s around reference edges."""
    ref_names = sorted({t[0] for t in reference})
    hyp_names = sorted({t[0] for t in hypothesis})
    end = max([t[2] for t in reference + hypothesis], default=0.0)
    frames = int(round(end / STEP)) + 1
    ref = _grid(reference, ref_names, frames)
    hyp = _grid(hypothesis, hyp_names, frames)
    scored = np.ones(frames, dtype=bool)
    c = int(round(collar / STEP))
    for _, a, b in reference:
        for edge in (a, b):
            e = int(round(edge / STEP))
            scored[max(0, e - c) : e + c] = False
    ref, hyp = ref[:, scored], hyp[:, scored]
    overlap = (
        (hyp.astype(np.float64) @ ref.T.astype(np.float64))
        if len(hyp_names)
        else (np.zeros((0, len(ref_names))))
    )
    mapping = best_mapping(overlap) if overlap.size else {}
    n_ref, n_hyp = ref.sum(axis=0), hyp.sum(axis=0)
    correct = np.zeros(ref.shape[1])
    for h, r in mapping.items():
        correct += hyp[h] & ref[r]
    missed = np.maximum(0, n_ref - n_hyp).sum() * STEP
    false_alarm = np.maximum(0, n_hyp - n_ref).sum() * STEP
    confusion = (np.minimum(n_ref, n_hyp) - correct).sum() * STEP
    speech = n_ref.sum() * STEP
    return DerResult(
        der=(missed + false_alarm + confusion) / speech if speech else 0.0,
        missed=missed,
        false_alarm=false_alarm,
        confusion=confusion,
        speech=speech,
        mapping={hyp_names[h]: ref_names[r] for h, r in mapping.items()},
    )


def word_accuracy(
    reference: list[Turn], words: list[tuple[float, float, str]], mapping: dict[str, str]
) -> tuple[float, int]:
    """Share of words (start, end, speaker) whose mapped speaker says them in the reference.

    A word belongs to the reference turn holding its middle, or else to the nearest turn; words
    in overlapped speech count as right for either speaker. Returns (share, words scored).
    """
    if not words:
        return 0.0, 0
    right = 0
    for a, b, spk in words:
        mid = (a + b) / 2
        holders = {t[0] for t in reference if t[1] <= mid <= t[2]}
        if not holders and reference:
            near = min(reference, key=lambda t: min(abs(t[1] - mid), abs(t[2] - mid)))
            holders = {near[0]}
        right += mapping.get(spk) in holders
    return right / len(words), len(words)
