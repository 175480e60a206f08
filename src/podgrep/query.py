"""A user's search query, parsed once into terms every store renders to its own index's
syntax (FTS5 on SQLite, tsquery on PostgreSQL): words, "quoted phrases", `prefix*`,
`-excluded` and `OR` (AND binds tighter)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from podgrep.errors import QueryError
from podgrep.words import fold

_TOKEN = re.compile(r'"[^"]*"|\S+')
_WORDCHARS = re.compile(r"[\w']+", re.UNICODE)


@dataclass
class Term:
    """One query term: a word, a prefix (`reinforc*`) or a quoted phrase."""

    words: list[str]
    prefix: bool = False
    negated: bool = False
    quoted: bool = False  # written in quotes: a phrase asked for as said


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
