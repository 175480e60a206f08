"""Keyword search: a user's query to an FTS5 expression, BM25-ranked hits at the right second."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

import snowballstemmer

from podgrep.domain import Hit, Word
from podgrep.errors import QueryError
from podgrep.store import SqliteStore
from podgrep.store.sqlite import LEAD_WORDS
from podgrep.store.words import fold, widen

_STEMMER = snowballstemmer.stemmer("porter")
_TOKEN = re.compile(r'"[^"]*"|\S+')
_WORDCHARS = re.compile(r"[\w']+", re.UNICODE)


@dataclass
class Term:
    """One query term: a word, a prefix (`reinforc*`) or a quoted phrase."""

    words: list[str]
    prefix: bool = False
    negated: bool = False
    quoted: bool = False  # written in quotes: a phrase asked for as said

    def fts(self, widen: Callable[[str], list[str]] | None = None) -> str:
        """This term in FTS5 syntax (quoted so no user text is read as an operator). A prefix
        is matched against stems, so `widen` (the words said that begin with the prefix but
        whose stems do not) adds those words whole: `regulat*` finds "regulation" (regul)."""
        quoted = '"' + " ".join(self.words) + '"'
        if not self.prefix:
            return quoted
        head = " ".join(self.words[:-1])
        whole = [f'"{head} {w}"' if head else f'"{w}"' for w in (widen or _none)(self.words[-1])]
        return "(" + " OR ".join([quoted + " *", *whole]) + ")" if whole else quoted + " *"


@dataclass
class Query:
    """A parsed query: terms joined by AND unless `OR` stands between them."""

    terms: list[Term]
    ops: list[str]  # operator before each term after the first: "AND" | "OR"
    text: str = ""  # the words as written, without operators, quotes or `-words`

    def positives(self) -> list[tuple[Term, str]]:
        """The terms that must be found, each with the operator before it."""
        pairs = zip(self.terms, ["AND", *self.ops], strict=True)
        return [(t, op) for t, op in pairs if not t.negated]

    def groups(self) -> list[list[Term]]:
        """The positive terms as alternatives of conjunctions (AND binds tighter than OR)."""
        out: list[list[Term]] = []
        for i, (term, op) in enumerate(self.positives()):
            if i == 0 or op == "OR":
                out.append([])
            out[-1].append(term)
        return out

    @property
    def exact(self) -> bool:
        """Whether the query asks for exact words: a quoted phrase or a prefix."""
        return any(t.prefix or t.quoted for t, _ in self.positives())

    @property
    def excluded(self) -> list[Term]:
        """The `-word` terms."""
        return [t for t in self.terms if t.negated]

    def fts(self, widen: Callable[[str], list[str]] | None = None, exclude: bool = True) -> str:
        """The whole query as an FTS5 MATCH expression (without the `-words` unless
        `exclude`)."""
        expr = ""
        for i, (term, op) in enumerate(self.positives()):
            expr += term.fts(widen) if i == 0 else f" {op} {term.fts(widen)}"
        for term in self.excluded if exclude else []:
            expr = f"({expr}) NOT {term.fts(widen)}"
        return expr


def _none(_: str) -> list[str]:
    return []


def _words(text: str) -> list[str]:
    return [fold(w).strip("'") for w in _WORDCHARS.findall(text) if w.strip("'_")]


def parse_query(query: str) -> Query:
    """Parse `words`, `"a phrase"`, `prefix*`, `-excluded` and `OR` into a Query."""
    if query.count('"') % 2:
        raise QueryError(
            f'Unbalanced quote in {query!r}: close the phrase with another " or remove it'
        )
    terms: list[Term] = []
    ops: list[str] = []
    plain: list[str] = []  # the query as written, less operators and excluded words
    pending_op = "AND"
    for token in _TOKEN.findall(query):
        if token in ("OR", "AND"):
            if terms:
                pending_op = token
            continue
        negated = token.startswith("-") and len(token) > 1
        if negated:
            token = token[1:]
        quoted = token.startswith('"')
        if quoted and "*" in token:
            raise QueryError(
                f"A prefix inside quotes is not supported ({token}): write the phrase's"
                " words without quotes, or the prefix outside them"
            )
        if quoted:
            words, prefix = _words(token[1:-1]), False
        else:
            prefix = token.endswith("*")
            words = _words(token)
        if not words:
            continue
        if terms:
            ops.append(pending_op)
        terms.append(Term(words, prefix, negated, quoted))
        plain.append(token.strip('"').rstrip("*") if not negated else "")
        pending_op = "AND"
    if not any(not t.negated for t in terms):
        raise QueryError(f"Nothing to search for in {query!r}: give at least one word")
    return Query(terms, ops, " ".join(p for p in plain if p))


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
        # `-words` are left to _hit, which checks them on the text shown: the index would
        # also exclude a segment for an excluded word in the next segment's lead
        match = parsed.fts(lambda prefix: widen(store.db, prefix), exclude=False)
        rows = store.search(match, limit=page, offset=skip, show=show)
        for row in rows:
            hit = _hit(store, row, parsed)
            if hit is not None:
                hits.append(hit)
        if len(rows) < page:
            break
        skip += page
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


def _hit(store: SqliteStore, row: dict, parsed: Query) -> Hit | None:
    """The hit of one matching segment, opened at its first matched word; None when the
    match only begins in the next segment (that segment is its own hit) or the text shown
    holds an excluded word. A match running on into the next segment shows both."""
    if not holds(parsed, row["search_text"] or row["text"]):
        return None
    text = row["text"] or ""
    start, end = float(row["start"]), float(row["end"])
    own = [Word(**w) for w in json.loads(row["words_json"] or "[]")]
    timed = bool(own)
    if not timed:  # a publisher's transcript without word times: the words of the text
        own = [Word(start, end, w) for w in _WORDCHARS.findall(text)]
    next_text, next_words, next_end = store.next_segment(row["transcript_id"], row["idx"])
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
        episode_id=row["episode_id"],
        show=row["show"],
        episode=row["episode"],
        start=start,
        end=end,
        text=text,
        segment_id=row["segment_id"],
        score=float(row["score"]),
        marks=_marks(text, parsed.terms),
        speaker=row["speaker"],
    )
