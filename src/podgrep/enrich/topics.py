"""Chapters generated from a transcript where the publisher gave none: topic shifts found by
TextTiling over sentence embeddings, each chapter titled by its key phrases.

Boundaries: every sentence of the transcript is embedded once; at each segment start the
word-weighted mean vector of the sentences spoken in the WINDOW seconds before it is compared
with that of the WINDOW seconds after it (cosine), the curve is smoothed over neighbouring
segment starts, and the deepest valleys (TextTiling depth scores) become chapter starts: one
per SECONDS_PER_CHAPTER of talk, at least MIN_CHAPTER apart. Boundaries fall on segment starts,
which in a diarised transcript are speaker turns.

Titles: phrases of one to three words (no stopwords or filler at either end) ranked by
class-based TF-IDF (c-TF-IDF: how often the chapter says a phrase, against how often the whole
episode does), the best one, or two when the second scores half the first at least, in title
case, at most MAX_TITLE characters.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import numpy as np

from podgrep.domain import Chapter, Segment
from podgrep.semantic.embed import Embedder

WINDOW = 120.0  # seconds of talk compared on each side of a candidate boundary
SMOOTH = 1  # the similarity curve is averaged over this many segment starts either side
MIN_CHAPTER = 120.0  # seconds; no two boundaries closer than this
SECONDS_PER_CHAPTER = 180.0  # publishers list about one chapter per three to four minutes
MIN_TALK = 360.0  # shorter transcripts get no generated chapters
MAX_TITLE = 60
SECOND = 0.5  # a second phrase joins the title when it scores half the first at least
_SENTENCE = re.compile(r"(?<=[.?!])\s+(?=[\"'A-Z0-9])")
_CLAUSE = re.compile(r"[.,;:?!()\[\]\"…—–]+|\s-\s")
_TOKEN = re.compile(r"[A-Za-z0-9][\w'’+-]*[\w+]|[A-Za-z]")
_STOP_TEXT = """a about above after again against all also am an and another any anything are
around as at away back be because been before being below between both but by came can can't
cannot come could couldn't did didn't do does doesn't doing don't done down during each either
else enough ever every everything few for from further get gets getting give go goes going gone
got had hadn't has hasn't have haven't having he he's her here here's hers him his how i i'd i'll
i'm i've if in into is isn't it it's its itself just know let let's like lot lots made make makes
making many may me might more most much must my need needs never no nor not now of off oh ok okay
on once one only or other others our out over own per put quite rather really right said same say
saying says see seem seems she should so some something sometimes stuff such sure take than that
that's the their them then there there's these they they'd they'll they're they've thing things
think thinking this those though through to too took try trying um uh under until up us use used
using very want wanted wants was wasn't way we we'd we'll we're we've well went were weren't what
what's when where which while who whole why will with within without won't would wouldn't yeah
yes yet you you'd you'll you're you've your yours actually basically kind sort mean means pretty
gonna wanna gotta maybe even still probably definitely totally literally obviously exactly
absolutely great good cool awesome interesting super different little big bit kinda hey guys
today talk talked tell told mention mentioned people person everyone someone anyone somebody
time times year years day days lots part point question questions answer work works working
worked call called talking look looking looked feel felt guess hear heard show shows start
started going came coming new first last next able true fact case example whatever basically
honestly especially certainly already always often across along via back front end thanks
thank welcome episode podcast guest host blah yada etc versus whether second minute minutes
hour hours understand write writes wrote written read reading solve help helps care worried
depends depend happen happens happened run runs ran train trained apply applying click open
bad wrong useful multiple hard easy best better worse high low deep long short important
problem problems idea ideas number word words piece list kinds type types reason reasons sense
level levels place places world value values couple half two three four five six seven eight
nine ten hundred thousand million billion"""
STOP = frozenset(_STOP_TEXT.split())
_JOINERS = frozenset({"of", "vs", "for", "and", "to", "in", "on"})  # allowed inside a phrase
_SMALL = frozenset({"of", "vs", "for", "and", "to", "in", "on", "the", "a", "an", "with"})


def _sentences(segments: list[Segment]) -> tuple[list[int], list[float], list[str]]:
    """The sentences of the usable segments: their segment's index, start time and text."""
    seg_of, starts, texts = [], [], []
    for i, seg in enumerate(segments):
        text = seg.text.strip()
        pos, length = 0, max(1, len(text))
        for part in _SENTENCE.split(text):
            at = max(text.find(part, pos), pos)
            pos = at + len(part)
            seg_of.append(i)
            starts.append(seg.start + (seg.end - seg.start) * at / length)
            texts.append(part)
    return seg_of, starts, texts


def similarity_curve(
    vectors: np.ndarray,
    weights: np.ndarray,
    times: np.ndarray,
    first: np.ndarray,
    at: np.ndarray,
    window: float = WINDOW,
) -> np.ndarray:
    """Cosine similarity, at each candidate boundary, between the weighted mean vectors of the
    sentences in the `window` seconds before it and those in the `window` seconds after it.
    `times` are the sentences' start times (ascending), `first` the index of the first sentence
    after each candidate and `at` its time."""
    cum = np.vstack([np.zeros((1, vectors.shape[1])), np.cumsum(vectors * weights[:, None], 0)])
    lo = np.searchsorted(times, at - window, side="left")
    hi = np.searchsorted(times, at + window, side="left")
    hi = np.maximum(hi, first + 1)
    left, right = cum[first] - cum[lo], cum[hi] - cum[first]
    norms = np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1)
    sims = np.einsum("ij,ij->i", left, right) / np.maximum(norms, 1e-12)
    return np.where(norms > 0, sims, 1.0)


def depth_scores(sims: np.ndarray) -> np.ndarray:
    """TextTiling depth: how far each point lies below the highest point reached by climbing
    from it to the left, plus the same to the right."""
    n = len(sims)
    depth = np.zeros(n)
    for g in range(n):
        left = sims[g]
        for k in range(g - 1, -1, -1):
            if sims[k] < left:
                break
            left = sims[k]
        right = sims[g]
        for k in range(g + 1, n):
            if sims[k] < right:
                break
            right = sims[k]
        depth[g] = left + right - 2 * sims[g]
    return depth


def pick_boundaries(depth: np.ndarray, at: np.ndarray, duration: float) -> list[int]:
    """Indices of the deepest valleys: one per SECONDS_PER_CHAPTER of talk at most, none within
    MIN_CHAPTER of another or within MIN_CHAPTER / 2 of either end."""
    most = max(1, round(duration / SECONDS_PER_CHAPTER))
    chosen: list[int] = []
    for g in np.argsort(-depth, kind="stable"):
        if len(chosen) >= most or depth[g] <= 0:
            break
        t = at[g]
        if t < MIN_CHAPTER / 2 or duration - t < MIN_CHAPTER / 2:
            continue
        if all(abs(t - at[c]) >= MIN_CHAPTER for c in chosen):
            chosen.append(int(g))
    return sorted(chosen)


def _phrases(text: str, surface: dict[str, Counter[str]]) -> Counter[str]:
    """Phrases of one to three words that neither start nor end on a stopword or a number,
    counted by their lower-case form; `surface` collects how each was written."""
    out: Counter[str] = Counter()
    for clause in _CLAUSE.split(text):
        tokens = _TOKEN.findall(clause)
        low = [t.lower().replace("’", "'") for t in tokens]
        for n in (1, 2, 3):
            for i in range(len(tokens) - n + 1):
                gram = low[i : i + n]
                if any(
                    not _content(w, tokens[i + k]) for k, w in ((0, gram[0]), (n - 1, gram[-1]))
                ):
                    continue
                if any(w in STOP and w not in _JOINERS for w in gram[1:-1]):
                    continue
                key = " ".join(gram)
                out[key] += 1
                surface[key][" ".join(tokens[i : i + n])] += 1
    return out


def _stems(phrase: str) -> set[str]:
    return {w[:-1] if w.endswith("s") and not w.endswith("ss") else w for w in phrase.split()}


def _content(low: str, raw: str) -> bool:
    """A word that may open or close a phrase: no stopword or number, three letters at least
    unless written as an acronym (AI, ML)."""
    if low in STOP or low.isdigit() or "'" in low or (low.endswith("ly") and raw.islower()):
        return False
    return len(low) >= 3 or (raw.isupper() and len(raw) >= 2)


def key_phrases(texts: list[str], per_title: int = 2) -> list[str]:
    """A title per text from its phrases ranked by c-TF-IDF against all the texts: a phrase's
    count in the text times log(1 + average words per text / its count in all texts), longer
    phrases preferred, phrases said once left out while others are said more often."""
    surface: dict[str, Counter[str]] = defaultdict(Counter)
    counts = [_phrases(t, surface) for t in texts]
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    average = max(1.0, sum(len(_TOKEN.findall(t)) for t in texts) / max(1, len(texts)))
    titles = []
    for c in counts:
        floor = 2 if any(v >= 2 for v in c.values()) else 1

        def score(p: str, c: Counter[str] = c) -> float:
            n = len(p.split())
            proper = n > 1 or any(ch.isupper() for ch in surface[p].most_common(1)[0][0])
            return c[p] * np.log(1 + average / total[p]) * (0.5 + 0.5 * n) * (1 if proper else 0.75)

        ranked = sorted((p for p in c if c[p] >= floor), key=lambda p: (-score(p), p))
        picked: list[str] = []
        for phrase in ranked:
            if picked and score(phrase) < SECOND * score(picked[0]):
                break
            if any(_stems(phrase) & _stems(p) for p in picked):
                continue
            title = " and ".join(
                _title_case(surface[p].most_common(1)[0][0]) for p in [*picked, phrase]
            )
            if picked and len(title) > MAX_TITLE:
                continue
            picked.append(phrase)
            if len(picked) == per_title:
                break
        title = " and ".join(_title_case(surface[p].most_common(1)[0][0]) for p in picked)
        titles.append(title[:MAX_TITLE].rstrip())
    return titles


def _title_case(phrase: str) -> str:
    words = phrase.split()
    out = []
    for i, w in enumerate(words):
        if i and w.lower() in _SMALL:
            out.append(w.lower())
        elif any(ch.isupper() for ch in w[1:]) or w[:1].isupper():
            out.append(w)  # as written: OpenAI, GPT-4, Brightwave
        else:
            out.append("-".join(p[:1].upper() + p[1:] for p in w.split("-")))
    return " ".join(out)


def generate_chapters(segments: list[Segment], embedder: Embedder) -> list[Chapter]:
    """Chapters from topic shifts in a transcript (none for short talk)."""
    usable = [s for s in segments if s.text.strip() and "hallucination" not in s.flags]
    if not usable:
        return []
    duration = max(s.end for s in segments)
    if duration < MIN_TALK:
        return []
    seg_of, times, texts = _sentences(usable)
    vectors = embedder.embed(texts)
    weights = np.array([len(t.split()) for t in texts], dtype=np.float64)
    first_of: dict[int, int] = {}
    for k, i in enumerate(seg_of):
        first_of.setdefault(i, k)
    cands = np.array(sorted(i for i in first_of if i > 0), dtype=np.int64)
    cuts: list[int] = []
    if len(cands) >= 2:
        first = np.array([first_of[int(i)] for i in cands])
        at = np.array([usable[int(i)].start for i in cands])
        sims = similarity_curve(vectors, weights, np.asarray(times), first, at)
        if SMOOTH:
            kernel = np.ones(2 * SMOOTH + 1) / (2 * SMOOTH + 1)
            sims = np.convolve(np.pad(sims, SMOOTH, mode="edge"), kernel, "valid")
        cuts = [int(cands[g]) for g in pick_boundaries(depth_scores(sims), at, duration)]
    edges = [0, *cuts, len(usable)]
    spans = list(zip(edges, edges[1:], strict=False))
    titles = key_phrases([" ".join(s.text for s in usable[a:z]) for a, z in spans])
    chapters = []
    for i, ((a, z), title) in enumerate(zip(spans, titles, strict=True)):
        start = 0.0 if i == 0 else usable[a].start
        end = usable[z].start if z < len(usable) else duration
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
