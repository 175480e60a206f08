"""The words and phrases that make an episode (or a show) what it is, against the rest of the
library and a general background of English.

A term said y times in the target's n tokens and r times in the m tokens of the rest of the
library, with frequency p in general English (wordfreq's `small` English list, from subtitles,
books, web text and news; a word it lacks gets half its smallest frequency, a phrase the
frequency of its rarest word, an upper bound), is scored as

    q      = (r + β·p) / (m + β)              the reference rate: the rest of the library with
                                              English as its informative Dirichlet prior (β tokens)
    t      = (y + α·q) / (n + α)              the target's rate, shrunk towards q (α tokens)
    var    = y / (y + α·q)² + r / (r + β·p)²  of ln t − ln q (Poisson counts; p is known)
    score  = ln(t / q) − 1.96·√var            the lower end of a 95% interval of the log ratio

— a log-odds-style ratio with an informative Dirichlet prior (Monroe, Colaresi and Quinn,
"Fightin' Words", 2008), ranked by its conservative end as corpus linguists rank keywords
(Hardie's Log Ratio, Evert's conservative LRC) rather than by a z-score, which favours frequent
words. A filler of talk is said more often than in written English, but the rest of a spoken
library says it as often: once the library holds a few hours (β = 20,000 tokens) its own rates
decide, and before that English holds "nice", "bit", "great" down by how common they are. A
name nobody else says scores by how often the target says it (its variance is its own count's).
Words said once are left out; words are grouped by the index's stem (see `words.py`) and shown
in their most-said form; function words never stand alone.

Phrases (collocations) are bigrams and trigrams said at least `MIN_PHRASE` times inside one
sentence (never across a segment's or a sentence's end), neither end a function word, whose
words go together more than chance: Dunning's log-likelihood ratio G² of the bigram (for a
trigram, of both ways of splitting it) at least `MIN_G2` (p < 0.001). A word said mostly inside
listed phrases, and a bigram said mostly inside a listed trigram, give way to them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from podgrep.store import Store
from podgrep.store.base import hidden
from podgrep.words import fold, stem

BACKGROUND_TOKENS = 20_000.0  # β: how many tokens of the library general English weighs
PRIOR_TOKENS = 1_000.0  # α: how many tokens the reference weighs in the target's estimate
Z = 1.96  # the lower end of a 95% interval
MIN_COUNT = 2  # a word said once is not what an episode is about
MIN_PHRASE = 3  # a phrase said at least this often in the target
MIN_G2 = 10.83  # χ²(1) at p = 0.001
ABSORB = 0.6  # a word this share of whose uses fall inside a listed phrase is left out
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?;:…]+(?:\s|$)|\s[-–—]+\s")
# function words: never the first or last word of a phrase, never a key term on their own
_FUNCTION_TEXT = """a about above after again against all am an and any are as at be because been
    before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves uh um hmm mm mhm oh yeah yes okay ok like"""
_FUNCTION = frozenset(_FUNCTION_TEXT.split())


@dataclass(frozen=True)
class Term:
    """One key word or phrase: as shown, how often the target says it, its score."""

    term: str
    count: int
    score: float


@dataclass
class Counts:
    """Word and phrase counts of some text: by stem key (a phrase: stems joined by spaces)."""

    tokens: int = 0
    grams: Counter[str] = field(default_factory=Counter)  # stem key → count (1–3 words)
    forms: dict[str, Counter[str]] = field(default_factory=dict)  # stem key → surface forms

    def add(self, other: Counts) -> None:
        """Add `other`'s counts to these."""
        self.tokens += other.tokens
        self.grams.update(other.grams)
        for key, seen in other.forms.items():
            self.forms.setdefault(key, Counter()).update(seen)

    def minus(self, other: Counts) -> Counts:
        """These counts less `other`'s (the rest of a library without one episode or show)."""
        grams = self.grams.copy()
        grams.subtract(other.grams)
        return Counts(
            max(0, self.tokens - other.tokens), +grams, self.forms
        )  # +: drops zero and negative counts


def words_of(text: str) -> list[str]:
    """The folded words of `text` (apostrophes kept inside a word: "don't")."""
    return [fold(w).replace("’", "'") for w in _WORD.findall(text)]


def _sentences(texts: Iterable[str]) -> Iterator[tuple[list[str], list[str]]]:
    """The words of each sentence of `texts` and their stems."""
    for text in texts:
        for sentence in _SENTENCE_END.split(text):
            words = words_of(sentence)
            if words:
                yield words, [stem(w) for w in words]


def count(texts: Iterable[str]) -> Counts:
    """Words, bigrams and trigrams of `texts` (segment texts), counted by stem; phrases never
    cross a segment's or a sentence's end.

    Two passes: the first counts every gram, the second keeps the surface forms of the words
    and of the phrases said more than once (nothing reads a phrase said once by its forms:
    it is neither a key term nor kept by `pruned`), so a long show does not hold a Counter
    for each of its (mostly once-said) trigrams."""
    texts = texts if isinstance(texts, list | tuple) else list(texts)
    out = Counts()
    grams = out.grams
    for words, stems in _sentences(texts):
        out.tokens += len(words)
        for i in range(len(words)):
            grams[stems[i]] += 1
            for k in (2, 3):
                if i + k <= len(words):
                    grams[" ".join(stems[i : i + k])] += 1
    forms = out.forms
    for words, stems in _sentences(texts):
        for i, (w, s) in enumerate(zip(words, stems, strict=True)):
            forms.setdefault(s, Counter())[w] += 1
            for k in (2, 3):
                if i + k <= len(words):
                    key = " ".join(stems[i : i + k])
                    if grams[key] > 1:
                        forms.setdefault(key, Counter())[" ".join(words[i : i + k])] += 1
    return out


@lru_cache(maxsize=1)
def background() -> tuple[dict[str, float], float]:
    """General English word frequencies (wordfreq's `small` list) and the floor for words it
    lacks; empty if wordfreq is missing (it is a dependency: only a broken install lacks it)."""
    try:
        from wordfreq import get_frequency_dict
    except ImportError:
        return {}, 1e-6
    freqs = get_frequency_dict("en", wordlist="small")
    return freqs, min(freqs.values()) / 2


def _english(key: str, library: Counts) -> float:
    """The background frequency of a stem key: its forms' summed (a phrase: its rarest
    word's)."""
    freqs, floor = background()
    if " " in key:
        return min(_english(part, library) for part in key.split(" "))
    seen = library.forms.get(key)
    total = sum(freqs.get(w, 0.0) for w in seen) if seen else freqs.get(key, 0.0)
    return max(total, floor)


def _g2(k11: float, k12: float, k21: float, k22: float) -> float:
    """Dunning's log-likelihood ratio of a 2×2 table."""

    def h(*ks: float) -> float:
        total = sum(ks)
        return sum(k * math.log(k / total) for k in ks if k > 0)

    return 2 * (h(k11, k12, k21, k22) - h(k11 + k12, k21 + k22) - h(k11 + k21, k12 + k22))


def _associated(a: str, b: str, target: Counts) -> bool:
    """Whether the stem sequences `a` then `b` go together more than chance in `target`."""
    both = target.grams[f"{a} {b}"]
    n = max(target.tokens, 1)
    fa, fb = target.grams[a], target.grams[b]
    return _g2(both, fa - both, fb - both, n - fa - fb + both) >= MIN_G2


def _collocation(key: str, target: Counts) -> bool:
    parts = key.split(" ")
    said = _shown(key, target).split(" ")
    if said[0] in _FUNCTION or said[-1] in _FUNCTION:
        return False
    if len(parts) == 2:
        return _associated(parts[0], parts[1], target)
    return _associated(parts[0], " ".join(parts[1:]), target) and _associated(
        " ".join(parts[:2]), parts[2], target
    )


def _shown(key: str, counts: Counts) -> str:
    seen = counts.forms.get(key)
    return seen.most_common(1)[0][0] if seen else key


def score(y: float, n: float, r: float, m: float, english: float) -> float:
    """The conservative log ratio of the target's rate of a term to the reference's (see the
    module): `y` of `n` tokens in the target, `r` of `m` in the rest of the library, its
    frequency in general English `english`."""
    ref = (r + BACKGROUND_TOKENS * english) / (m + BACKGROUND_TOKENS)
    rate = (y + PRIOR_TOKENS * ref) / (n + PRIOR_TOKENS)
    spread = y / (y + PRIOR_TOKENS * ref) ** 2 + r / (r + BACKGROUND_TOKENS * english) ** 2
    return math.log(rate / ref) - Z * math.sqrt(spread)


def key_terms(target: Counts, library: Counts, n: int = 24) -> list[Term]:
    """The `n` terms of `target` most over-represented against the rest of `library` (which
    holds the target's counts too) and general English, best first."""
    rest = library.minus(target)
    candidates: list[Term] = []
    keys: list[str] = []
    for key, y in target.grams.items():
        words = key.count(" ") + 1
        if words == 1:
            if y < MIN_COUNT or key in _FUNCTION or len(key) < 3:
                continue
            if _shown(key, target) in _FUNCTION:
                continue
        elif y < MIN_PHRASE or not _collocation(key, target):
            continue
        english = _english(key, library)
        z = score(y, target.tokens, rest.grams.get(key, 0), rest.tokens, english)
        if z > 0:
            candidates.append(Term(_shown(key, target), y, round(z, 3)))
            keys.append(key)
    ranked = sorted(zip(candidates, keys, strict=True), key=lambda t: -t[0].score)
    phrases = [(t, k) for t, k in ranked if " " in k][: n // 2]
    picked: list[Term] = []
    listed = {k for _, k in phrases}
    for term, key in ranked:
        if " " in key:
            if key not in listed or _inside_longer(key, listed, target):
                continue
        elif _absorbed(key, listed, target):
            continue
        picked.append(term)
        if len(picked) == n:
            break
    return picked


def _inside_longer(key: str, listed: set[str], target: Counts) -> bool:
    """A bigram nearly always said inside a listed trigram gives way to it."""
    return any(
        other != key
        and f" {key} " in f" {other} "
        and target.grams[other] >= ABSORB * target.grams[key]
        for other in listed
    )


def _absorbed(key: str, listed: set[str], target: Counts) -> bool:
    """A word said mostly inside the listed phrases (those not inside a longer one listed)
    gives way to them."""
    outer = [p for p in listed if not any(o != p and f" {p} " in f" {o} " for o in listed)]
    inside = sum(target.grams[p] for p in outer if key in p.split(" "))
    return inside >= ABSORB * target.grams[key]


def pruned(counts: Counts) -> Counts:
    """`counts` without the phrases said once (what a library keeps of each show: a phrase
    said once elsewhere hardly moves a score, and they are most of the distinct phrases)."""
    grams = Counter({k: v for k, v in counts.grams.items() if v > 1 or " " not in k})
    forms = {k: v for k, v in counts.forms.items() if k in grams}
    return Counts(counts.tokens, grams, forms)


def episode_texts(store: Store, episode_id: int) -> list[str]:
    """The text of the shown segments of an episode's best transcript."""
    transcript = store.transcript_for(episode_id)
    if transcript is None:
        return []
    return [s.text for s in transcript.segments if not hidden(",".join(s.flags))]


def show_counts(store: Store, show_id: int) -> Counts:
    """A show's word and phrase counts (pruned)."""
    return pruned(count(store.show_texts(show_id)))


def library_counts(parts: Iterable[Counts]) -> Counts:
    """The library's counts: the sum of its shows'."""
    total = Counts()
    for part in parts:
        total.add(part)
    return total
