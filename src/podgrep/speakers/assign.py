"""From speaker windows to a speaker per word: turn changes fall between words, at pauses.

Each word is scored against every speaker's centroid by the windows that overlap it, weighted
towards the windows centred on it. A Viterbi pass over the words then picks the speaker sequence:
changing speaker costs a penalty that is small at a pause or a sentence end and large inside a
run of words, so a turn boundary lands on the gap between two words, where people take turns.
Segments whose words belong to two speakers are split there.
"""

from __future__ import annotations

import numpy as np

from podgrep.domain import Segment, Word

SHARPNESS = 25.0  # cosine similarity to log-score: 0.04 of similarity is one nat
SWITCH = 4.0  # cost of a speaker change between two words said without a pause
SWITCH_AT_PAUSE = 0.5  # ...after a pause of PAUSE seconds or more, or a sentence end
PAUSE = 0.6
SENTENCE_END = (".", "?", "!", "…")


def _units(segment: Segment) -> list[Word]:
    """A segment's timed words, or the segment as one unit when it has none."""
    words = [w for w in segment.words if w.word.strip()]
    return words or [Word(segment.start, segment.end, segment.text)]


def word_scores(
    spans: np.ndarray, starts: np.ndarray, ends: np.ndarray, sims: np.ndarray
) -> np.ndarray:
    """(n_words, k) mean similarity of each word span's nearby windows to each speaker.

    A window counts for a word by how much it overlaps the word, times how close the window's
    middle is to the word's middle (triangular, zero at the window's edge); a word no window
    touches takes its nearest window.
    """
    order = np.argsort(starts, kind="stable")
    starts, ends, sims = starts[order], ends[order], sims[order]
    centres = (starts + ends) / 2
    halves = np.maximum((ends - starts) / 2, 1e-3)
    out = np.zeros((len(spans), sims.shape[1]))
    max_len = float((ends - starts).max()) if len(starts) else 0.0
    for n, (a, b) in enumerate(spans):
        lo = np.searchsorted(starts, a - max_len, side="left")
        hi = np.searchsorted(starts, b, side="right")
        idx = np.arange(lo, hi)
        overlap = np.minimum(ends[idx], b) - np.maximum(starts[idx], a)
        idx, overlap = idx[overlap > 0], overlap[overlap > 0]
        if len(idx):
            mid = (a + b) / 2
            closeness = np.maximum(0.05, 1 - np.abs(centres[idx] - mid) / halves[idx])
            weight = np.maximum(overlap, 0.02) * closeness
            out[n] = weight @ sims[idx] / weight.sum()
        elif len(starts):
            mid = (a + b) / 2
            out[n] = sims[int(np.argmin(np.abs(centres - mid)))]
    return out


def viterbi(scores: np.ndarray, switch_costs: np.ndarray) -> np.ndarray:
    """The best speaker per word: emission `scores` (n, k), `switch_costs[i]` before word i."""
    n, k = scores.shape
    if n == 0:
        return np.zeros(0, dtype=int)
    back = np.zeros((n, k), dtype=int)
    total = scores[0].copy()
    for i in range(1, n):
        stay = total
        best = int(np.argmax(total))
        move = total[best] - switch_costs[i]
        take_move = move > stay
        back[i] = np.where(take_move, best, np.arange(k))
        total = np.where(take_move, move, stay) + scores[i]
    path = np.zeros(n, dtype=int)
    path[-1] = int(np.argmax(total))
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def switch_costs(units: list[Word]) -> np.ndarray:
    """The cost of a speaker change before each word: cheap at pauses and sentence ends."""
    costs = np.full(len(units), SWITCH)
    for i in range(1, len(units)):
        gap = units[i].start - units[i - 1].end
        ends = units[i - 1].word.strip().endswith(SENTENCE_END)
        if gap >= PAUSE or ends:
            costs[i] = SWITCH_AT_PAUSE
        elif gap > 0.2:
            costs[i] = (SWITCH + SWITCH_AT_PAUSE) / 2
    return costs


def label_segments(
    segments: list[Segment],
    starts: np.ndarray,
    ends: np.ndarray,
    labels: np.ndarray,
    centroids: np.ndarray,
    vectors: np.ndarray,
) -> list[tuple[Segment, int]]:
    """Each segment with its speaker index, split where its words change speaker."""
    if not segments:
        return []
    if len(centroids) <= 1 or len(vectors) == 0:
        return [(s, 0) for s in segments]
    units: list[Word] = []
    owner: list[int] = []
    for n, seg in enumerate(segments):
        for w in _units(seg):
            units.append(w)
            owner.append(n)
    spans = np.array([(w.start, max(w.end, w.start + 0.05)) for w in units])
    sims = vectors @ centroids.T
    scores = SHARPNESS * word_scores(spans, starts, ends, sims)
    path = viterbi(scores, switch_costs(units))
    out: list[tuple[Segment, int]] = []
    i = 0
    for n, seg in enumerate(segments):
        j = i
        while j < len(units) and owner[j] == n:
            j += 1
        out.extend(_split(seg, path[i:j]))
        i = j
    return out


def _split(seg: Segment, speakers: np.ndarray) -> list[tuple[Segment, int]]:
    """The segment cut wherever consecutive words have different speakers."""
    words = [w for w in seg.words if w.word.strip()]
    if not words or len(set(speakers.tolist())) == 1:
        return [(seg, int(speakers[0]))]
    # keep the text intact unless its words spell it (guards may have rewritten it)
    if "".join(w.word for w in words).split() != seg.text.split():
        values, counts = np.unique(speakers, return_counts=True)
        return [(seg, int(values[np.argmax(counts)]))]
    parts: list[tuple[Segment, int]] = []
    start = 0
    for i in range(1, len(words) + 1):
        if i == len(words) or speakers[i] != speakers[start]:
            group = words[start:i]
            text = "".join(w.word for w in group).strip()
            parts.append(
                (
                    Segment(
                        start=group[0].start,
                        end=max(group[-1].end, group[0].start),
                        text=text,
                        words=group,
                        flags=list(seg.flags),
                        idx=seg.idx,  # where it came from (its audio window is looked up by it)
                        language=seg.language,
                    ),
                    int(speakers[start]),
                )
            )
            start = i
    return parts
