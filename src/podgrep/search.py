"""Keyword search: a parsed query to the store's full-text index, hits at the right second."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import snowballstemmer

from podgrep.domain import Hit, SegmentMatch, Word
from podgrep.errors import QueryError
from podgrep.query import _WORDCHARS, Query, Term, _words, parse_query
from podgrep.store import LEAD_WORDS, Store

__all__ = ["Query", "Term", "holds", "holds_excluded", "locate", "parse_query", "search"]

_STEMMER = snowballstemmer.stemmer("porter")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    # memoised: the pure-Python stemmer costs ~70 µs a word, and hits repeat their words
    return _STEMMER.stemWord(word.lower().strip("'"))


def _norm(words: list[Word]) -> list[tuple[str, str]]:
    out = []
    for w in words:
        tokens = _words(w.word)
        plain = " ".join(tokens)
        out.append((plain, " ".join(_stem(t) for t in tokens)))
    return out


def _match_at(term: Term, norm: list[tuple[str, str]], i: int) -> int:
    """How many words of `norm` from i the term matches (0 when it does not)."""
    n = len(term.words)
    if i + n > len(norm):
        return 0
    for k, qword in enumerate(term.words):
        plain, stem = norm[i + k]
        last = k == n - 1
        if last and term.prefix:
            if not plain.startswith(qword) and not any(p.startswith(qword) for p in plain.split()):
                return 0
        elif stem != _stem(qword) and plain != qword and _stem(qword) not in stem.split():
            return 0
    return n


def locate(terms: list[Term], words: list[Word]) -> list[tuple[int, int]]:
    """Word-index spans [start, end) where any positive term matches, in order."""
    norm = _norm(words)
    spans = []
    for i in range(len(norm)):
        for term in terms:
            if term.negated:
                continue
            n = _match_at(term, norm, i)
            if n:
                spans.append((i, i + n))
                break
    return spans


def _marks(text: str, terms: list[Term]) -> list[tuple[int, int]]:
    """Character spans of `text` to highlight: the runs of words the query terms match."""
    found = list(_WORDCHARS.finditer(text))
    pseudo = [Word(0.0, 0.0, m.group()) for m in found]
    return [(found[a].start(), found[b - 1].end()) for a, b in locate(terms, pseudo)]


def search(
    store: Store, query: str, *, limit: int = 20, offset: int = 0, show: str | None = None
) -> list[Hit]:
    """Find where `query` was said: BM25-ranked hits, each at the second its words begin."""
    if limit < 1:
        raise QueryError("--limit must be at least 1")
    parsed = parse_query(query)
    hits: list[Hit] = []
    page = max((limit + offset) * 2, 20)
    skip = 0
    # rows whose match begins in the next segment's lead are dropped (that segment is its own
    # hit), so pages are read until enough hits remain, each twice the one before (a query
    # whose best rows are mostly such leads costs a few index reads, not dozens)
    while len(hits) < limit + offset:
        # `-words` are left to _hit, which checks them on the text shown: the index would
        # also exclude a segment for an excluded word in the next segment's lead
        rows = store.match_segments(parsed, limit=page, offset=skip, show=show)
        following = store.next_segments([(r.transcript_id, r.idx) for r in rows])
        for row in rows:
            hit = _hit(row, parsed, following.get((row.transcript_id, row.idx)))
            if hit is not None:
                hits.append(hit)
        if len(rows) < page:
            break
        skip += page
        page *= 2
    return hits[offset : offset + limit]


def holds_excluded(parsed: Query, text: str) -> bool:
    """Whether `text` holds any of the query's `-words` (as the index would match them)."""
    return bool(parsed.excluded) and bool(
        _marks(text, [replace(t, negated=False) for t in parsed.excluded])
    )


def holds(parsed: Query, text: str) -> bool:
    """Whether `text` has every prefix the query asks for as typed (the index matches a
    prefix's stem, and stems are shared: "general" and "generation" are both "gener").
    Other terms are as the index matched them."""
    if not any(t.prefix for t in parsed.terms):
        return True
    found = list(_WORDCHARS.finditer(text))
    norm = _norm([Word(0.0, 0.0, m.group()) for m in found])

    def has(term: Term) -> bool:
        return not term.prefix or any(_match_at(term, norm, i) for i in range(len(norm)))

    return any(all(has(t) for t in group) for group in parsed.groups())


def _hit(
    row: SegmentMatch, parsed: Query, following: tuple[str, list[Word], float] | None
) -> Hit | None:
    """The hit of one matching segment, opened at its first matched word; None when the
    match only begins in the next segment (that segment is its own hit) or the text shown
    holds an excluded word. A match running on into the next segment shows both."""
    if not holds(parsed, row.search_text or row.text):
        return None
    text = row.text
    start, end = row.start, row.end
    own = list(row.words)
    timed = bool(own)
    if not timed:  # a publisher's transcript without word times: the words of the text
        own = [Word(start, end, w) for w in _WORDCHARS.findall(text)]
    next_text, next_words, next_end = following or ("", [], 0.0)
    lead_said = next_words or [Word(next_end, next_end, w) for w in next_text.split()]
    lead = lead_said[:LEAD_WORDS]
    spans = locate(parsed.terms, own + lead)
    if spans:
        first, last = spans[0][0], max(s[1] for s in spans) - 1
        if first >= len(own):
            return None
        if timed:
            start = (own + lead)[first].start
            end = max(end, (own + lead)[last].end)
        if last >= len(own) and next_text:
            text = f"{text} {next_text}"
            end = max(end, next_end)
    if holds_excluded(parsed, text):
        return None
    return Hit(
        episode_id=row.episode_id,
        show=row.show,
        episode=row.episode,
        start=start,
        end=end,
        text=text,
        segment_id=row.segment_id,
        score=row.score,
        marks=_marks(text, parsed.terms),
        speaker=row.speaker,
    )
