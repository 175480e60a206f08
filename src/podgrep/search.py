"""Keyword search: a user's query to an FTS5 expression, BM25-ranked hits at the right second."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

from podgrep.domain import Hit, Word
from podgrep.errors import QueryError
from podgrep.store import SqliteStore

_STEMMER = snowballstemmer.stemmer("porter")
_TOKEN = re.compile(r'"[^"]*"|\S+')
_WORDCHARS = re.compile(r"[\w']+", re.UNICODE)


@dataclass
class Term:
    """One query term: a word, a prefix (`reinforc*`) or a quoted phrase."""

    words: list[str]
    prefix: bool = False
    negated: bool = False

    def fts(self) -> str:
        """This term in FTS5 syntax (quoted so no user text is read as an operator)."""
        quoted = '"' + " ".join(self.words) + '"'
        return quoted + " *" if self.prefix else quoted


@dataclass
class Query:
    """A parsed query: terms joined by AND unless `OR` stands between them."""

    terms: list[Term]
    ops: list[str]  # operator before each term after the first: "AND" | "OR"

    def fts(self) -> str:
        """The whole query as an FTS5 MATCH expression."""
        positives = [
            (t, op) for t, op in zip(self.terms, ["AND", *self.ops], strict=True) if not t.negated
        ]
        expr = ""
        for i, (term, op) in enumerate(positives):
            expr += term.fts() if i == 0 else f" {op} {term.fts()}"
        for term in self.terms:
            if term.negated:
                expr = f"({expr}) NOT {term.fts()}"
        return expr


def _words(text: str) -> list[str]:
    return [w.lower().strip("'") for w in _WORDCHARS.findall(text) if w.strip("'_")]


def parse_query(query: str) -> Query:
    """Parse `words`, `"a phrase"`, `prefix*`, `-excluded` and `OR` into a Query."""
    if query.count('"') % 2:
        raise QueryError(
            f'Unbalanced quote in {query!r}: close the phrase with another " or remove it'
        )
    terms: list[Term] = []
    ops: list[str] = []
    pending_op = "AND"
    for token in _TOKEN.findall(query):
        if token in ("OR", "AND"):
            if terms:
                pending_op = token
            continue
        negated = token.startswith("-") and len(token) > 1
        if negated:
            token = token[1:]
        if token.startswith('"'):
            words, prefix = _words(token[1:-1]), False
        else:
            prefix = token.endswith("*")
            words = _words(token)
        if not words:
            continue
        if terms:
            ops.append(pending_op)
        terms.append(Term(words, prefix, negated))
        pending_op = "AND"
    if not any(not t.negated for t in terms):
        raise QueryError(f"Nothing to search for in {query!r}: give at least one word")
    return Query(terms, ops)


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
    store: SqliteStore, query: str, *, limit: int = 20, offset: int = 0, show: str | None = None
) -> list[Hit]:
    """Find where `query` was said: BM25-ranked hits, each at the second its words begin."""
    if limit < 1:
        raise QueryError("--limit must be at least 1")
    parsed = parse_query(query)
    hits: list[Hit] = []
    page = max(limit * 2, 20)
    skip = 0
    # rows whose match begins in the next segment's lead are dropped (that segment is its own
    # hit), so pages are read until enough hits remain
    while len(hits) < limit + offset:
        rows = store.search(parsed.fts(), limit=page, offset=skip, show=show)
        for row in rows:
            hit = _hit(store, row, parsed)
            if hit is not None:
                hits.append(hit)
        if len(rows) < page:
            break
        skip += page
    return hits[offset : offset + limit]


def _hit(store: SqliteStore, row: dict, parsed: Query) -> Hit | None:
    own = [Word(**w) for w in json.loads(row["words_json"] or "[]")]
    start, end = float(row["start"]), float(row["end"])
    if own:
        lead = store.next_segment_words(row["transcript_id"], row["idx"])
        spans = locate(parsed.terms, own + lead)
        if spans:
            first, last = spans[0][0], max(s[1] for s in spans) - 1
            if first >= len(own):
                return None
            start = (own + lead)[first].start
            end = max(end, (own + lead)[last].end)
    return Hit(
        episode_id=row["episode_id"],
        show=row["show"],
        episode=row["episode"],
        start=start,
        end=end,
        text=row["text"],
        segment_id=row["segment_id"],
        score=float(row["score"]),
        marks=_marks(row["text"], parsed.terms),
    )
