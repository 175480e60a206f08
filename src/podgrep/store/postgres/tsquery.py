"""Text and queries in PostgreSQL's full-text types, made the way SQLite's FTS5 makes them.

SQLite indexes segments with `porter unicode61 remove_diacritics 2`: words split at anything
not a letter or digit, folded (lowercase, accents off) and Porter-stemmed. Here podgrep does
the same in Python and hands PostgreSQL the stems with their positions as a `tsvector`
literal, and a parsed query as a `tsquery` literal of the same stems, so the two stores match
exactly the same words; no PostgreSQL text-search dictionary is involved.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from podgrep.query import Query, Term
from podgrep.words import stem, tokens

MAX_POSITION = 16383  # the largest word position a tsvector holds
MAX_LEXEME = 500  # longer "words" (pasted garbage) are left out of the index


def _none(_: str) -> list[str]:
    return []


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def indexed(text: str) -> tuple[str, int]:
    """A segment's searchable text as the index holds it: the tsvector literal (each stem
    with its positions) and how many words it has (BM25's length), from one reading."""
    said = tokens(text)
    positions: dict[str, list[int]] = {}
    for i, token in enumerate(said):
        if len(token) > MAX_LEXEME:
            continue
        positions.setdefault(stem(token), []).append(min(i + 1, MAX_POSITION))
    literal = " ".join(
        f"{_quote(lexeme)}:{','.join(str(p) for p in sorted(set(at)))}"
        for lexeme, at in positions.items()
    )
    return literal, len(said)


def term(t: Term, widen: Callable[[str], list[str]] = _none) -> str:
    """One term as a tsquery: a word, a phrase (`<->` between its words) or a prefix
    (`'regulat':*`, matched against stems as FTS5 does, widened with the whole words said
    that begin with it but whose stems do not)."""
    parts = [tok for w in t.words for tok in tokens(w) if len(tok) <= MAX_LEXEME]
    if not parts:
        return ""
    if not t.prefix:
        return "(" + " <-> ".join(_quote(stem(p)) for p in parts) + ")"
    head = [_quote(stem(p)) for p in parts[:-1]]
    alternatives = [_quote(parts[-1]) + ":*"]
    for word in widen(t.words[-1]):
        alternatives += [_quote(stem(w)) for w in tokens(word)[:1]]
    last = "(" + " | ".join(dict.fromkeys(alternatives)) + ")"
    return "(" + " <-> ".join([*head, last]) + ")"


def render(query: Query, widen: Callable[[str], list[str]] = _none, exclude: bool = False) -> str:
    """The whole query as a tsquery (the `-words` only when `exclude`): AND binds tighter
    than OR, as in FTS5; "" when no term has a word the index could hold."""
    expr = ""
    for t, op in query.positives():
        rendered = term(t, widen)
        if not rendered:
            continue
        expr = rendered if not expr else f"{expr} {'|' if op == 'OR' else '&'} {rendered}"
    if expr and exclude:
        for t in query.excluded:
            rendered = term(t, widen)
            if rendered:
                expr = f"({expr}) & !{rendered}"
    return expr


# -- BM25 as FTS5 computes it -------------------------------------------------------------------

K1, B = 1.2, 0.75  # FTS5's bm25() defaults


@dataclass(frozen=True)
class Phrase:
    """One phrase of a query as FTS5's bm25() sees it: stems in order, the last one a prefix
    (as typed, not stemmed) when `prefix`."""

    stems: tuple[str, ...]
    prefix: bool = False

    def tsquery(self) -> str:
        """This phrase alone, as a tsquery (to count the segments holding it)."""
        parts = [_quote(s) for s in self.stems]
        if self.prefix:
            parts[-1] += ":*"
        return "(" + " <-> ".join(parts) + ")"

    def count_in(self, stems: list[str]) -> int:
        """How many times the phrase is said in a segment's stems."""
        want = self.stems
        if len(want) == 1:
            if self.prefix:
                return sum(1 for s in stems if s.startswith(want[0]))
            return stems.count(want[0])
        n, last = len(want), want[-1]
        found = 0
        for i in (i for i, s in enumerate(stems[: len(stems) - n + 1]) if s == want[0]):
            if all(stems[i + k] == want[k] for k in range(1, n - 1)):
                tail = stems[i + n - 1]
                found += tail.startswith(last) if self.prefix else tail == last
        return found


def phrases(query: Query, widen: Callable[[str], list[str]] = _none) -> list[Phrase]:
    """The phrases of a query's positive terms, as store/sqlite/fts.py writes them for FTS5:
    each term one phrase; a prefix also each whole word it was widened with."""
    out: list[Phrase] = []
    for t, _ in query.positives():
        parts = [tok for w in t.words for tok in tokens(w) if len(tok) <= MAX_LEXEME]
        if not parts:
            continue
        if not t.prefix:
            out.append(Phrase(tuple(stem(p) for p in parts)))
            continue
        head = tuple(stem(p) for p in parts[:-1])
        out.append(Phrase((*head, parts[-1]), prefix=True))
        for word in widen(t.words[-1]):
            whole = [stem(w) for w in tokens(word)]
            if whole:
                out.append(Phrase((*head, *whole)))
    return out


def segment_stems(text: str) -> list[str]:
    """The stems of a segment's searchable text, in order (what the index holds)."""
    return [stem(t) for t in tokens(text)]


def bm25(
    found: list[Phrase],
    holding: dict[Phrase, int],
    rows: int,
    words: int,
    text: str,
) -> float:
    """FTS5's bm25() of one segment: minus the sum over phrases of IDF times the saturated
    phrase frequency, normalised by the segment's length against the average."""
    said = segment_stems(text)
    average = words / rows if rows else 0.0
    score = 0.0
    for phrase in found:
        n = holding.get(phrase, 0)
        idf = math.log((rows - n + 0.5) / (n + 0.5)) if rows else 0.0
        if idf <= 0.0:
            idf = 1e-6
        f = phrase.count_in(said)
        if not f:
            continue
        norm = (1.0 - B + B * len(said) / average) if average else 1.0
        score += idf * (f * (K1 + 1.0)) / (f + K1 * norm)
    return -score
