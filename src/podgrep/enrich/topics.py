"""Chapters generated from a transcript where the publisher gave none: topic shifts found by
TextTiling over sentence embeddings, each chapter titled by its key phrases."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from podgrep.domain import Chapter, Segment
from podgrep.semantic.embed import Embedder
from podgrep.semantic.hybrid import STOPWORDS

BLOCK_SECONDS = 20.0  # the transcript is cut into blocks this long, one vector each
WINDOW = 6  # blocks compared on each side of a gap (2 minutes)
MIN_CHAPTER = 150.0  # seconds; no two boundaries closer than this
SECONDS_PER_CHAPTER = 240.0  # at most one chapter per this much talk
MIN_TALK = 360.0  # shorter transcripts get no generated chapters
_WORD = re.compile(r"[A-Za-z][\w'-]*")
_FILLER_TEXT = """yeah okay like um uh know really right mean actually kind sort lot pretty
basically just going gonna want yes well sure maybe also even get got"""
_FILLER = frozenset(_FILLER_TEXT.split())


def _blocks(segments: list[Segment]) -> list[tuple[float, str]]:
    blocks: list[tuple[float, list[str]]] = []
    for seg in segments:
        if "hallucination" in seg.flags or not seg.text.strip():
            continue
        if not blocks or seg.start - blocks[-1][0] >= BLOCK_SECONDS:
            blocks.append((seg.start, []))
        blocks[-1][1].append(seg.text)
    return [(start, " ".join(texts)) for start, texts in blocks]


def boundaries(vectors: np.ndarray, starts: list[float], duration: float) -> list[int]:
    """Block indices where a new topic starts: TextTiling depth scores of the similarity
    between the mean vectors of the WINDOW blocks either side of each gap, the deepest valleys
    first, kept when deeper than mean - std / 2 and MIN_CHAPTER apart."""
    n = len(vectors)
    if n < 2 * WINDOW:
        return []
    sims = np.zeros(n)
    for gap in range(1, n):
        left = vectors[max(0, gap - WINDOW) : gap].mean(axis=0)
        right = vectors[gap : gap + WINDOW].mean(axis=0)
        sims[gap] = float(left @ right / (np.linalg.norm(left) * np.linalg.norm(right) + 1e-9))
    depth = np.zeros(n)
    for gap in range(1, n):
        lpeak = sims[gap]
        for k in range(gap - 1, 0, -1):
            if sims[k] < lpeak:
                break
            lpeak = sims[k]
        rpeak = sims[gap]
        for k in range(gap + 1, n):
            if sims[k] < rpeak:
                break
            rpeak = sims[k]
        depth[gap] = lpeak + rpeak - 2 * sims[gap]
    scored = depth[1:]
    cutoff = scored.mean() - scored.std() / 2 if len(scored) else 0.0
    cutoff = max(cutoff, 0.0)
    most = max(1, int(duration / SECONDS_PER_CHAPTER))
    chosen: list[int] = []
    for gap in np.argsort(-depth, kind="stable"):
        if gap == 0 or depth[gap] <= cutoff or len(chosen) >= most:
            break
        at = starts[gap]
        if at < MIN_CHAPTER / 2 or duration - at < MIN_CHAPTER / 2:
            continue
        if all(abs(at - starts[c]) >= MIN_CHAPTER for c in chosen):
            chosen.append(int(gap))
    return sorted(chosen)


def _candidates(text: str) -> Counter[str]:
    """Phrases of one to three content words that do not start or end on a stopword."""
    words = [w.lower() for w in _WORD.findall(text)]
    out: Counter[str] = Counter()
    for n in (1, 2, 3):
        for i in range(len(words) - n + 1):
            gram = words[i : i + n]
            if gram[0] in STOPWORDS or gram[-1] in STOPWORDS:
                continue
            if any(w in _FILLER or len(w) < 3 for w in gram):
                continue
            out[" ".join(gram)] += 1
    return out


def key_phrases(
    texts: list[str], centroids: np.ndarray, embedder: Embedder, per_title: int = 2
) -> list[str]:
    """A title per text: its phrases scored by TF-IDF across the texts, the best dozen
    re-ranked by closeness in meaning to the text's centroid vector, the top ones joined."""
    counts = [_candidates(t) for t in texts]
    df: Counter[str] = Counter()
    for c in counts:
        df.update(set(c))
    titles = []
    for centroid, c in zip(centroids, counts, strict=True):
        scored = sorted(
            c,
            key=lambda p: -(c[p] * len(p.split()) * np.log(1 + len(texts) / df[p])),
        )[:12]
        if not scored:
            titles.append("")
            continue
        closeness = embedder.embed(scored) @ centroid
        ranked = [scored[i] for i in np.argsort(-closeness, kind="stable")]
        picked: list[str] = []
        for phrase in ranked:
            if any(phrase in p or p in phrase for p in picked):
                continue
            picked.append(phrase)
            if len(picked) == per_title:
                break
        titles.append(", ".join(_title_case(p) for p in picked))
    return titles


def _title_case(phrase: str) -> str:
    return " ".join(w if w.isupper() else w[:1].upper() + w[1:] for w in phrase.split())


def generate_chapters(segments: list[Segment], embedder: Embedder) -> list[Chapter]:
    """Chapters from topic shifts in a transcript (none for short talk)."""
    blocks = _blocks(segments)
    if not blocks:
        return []
    duration = max(s.end for s in segments)
    if duration < MIN_TALK:
        return []
    starts = [b[0] for b in blocks]
    vectors = embedder.embed([b[1] for b in blocks])
    cuts = [0, *boundaries(vectors, starts, duration)]
    spans = [(cuts[i], cuts[i + 1] if i + 1 < len(cuts) else len(blocks)) for i in range(len(cuts))]
    texts = [" ".join(b[1] for b in blocks[a:z]) for a, z in spans]
    centroids = np.stack([vectors[a:z].mean(axis=0) for a, z in spans])
    titles = key_phrases(texts, centroids, embedder)
    chapters = []
    for i, ((a, _), title) in enumerate(zip(spans, titles, strict=True)):
        end = starts[spans[i + 1][0]] if i + 1 < len(spans) else duration
        start = 0.0 if i == 0 else starts[a]
        chapters.append(Chapter(start, title or f"Part {i + 1}", end=end, source="generated"))
    return chapters


def boundary_f1(found: list[float], truth: list[float], tolerance: float = 30.0) -> float:
    """F1 of chapter starts matched one-to-one within `tolerance` seconds (start 0 ignored)."""
    found = sorted(t for t in found if t > tolerance)
    truth = sorted(t for t in truth if t > tolerance)
    if not found or not truth:
        return 0.0
    used: set[int] = set()
    hits = 0
    for f in found:
        best = min(
            (j for j in range(len(truth)) if j not in used and abs(truth[j] - f) <= tolerance),
            key=lambda j: abs(truth[j] - f),
            default=None,
        )
        if best is not None:
            used.add(best)
            hits += 1
    precision, recall = hits / len(found), hits / len(truth)
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)
