"""A parsed query in FTS5 MATCH syntax, every user word quoted so none is read as an operator."""

from __future__ import annotations

from collections.abc import Callable

from podgrep.query import Query, Term


def _none(_: str) -> list[str]:
    return []


def term(t: Term, widen: Callable[[str], list[str]] = _none) -> str:
    """One term in FTS5 syntax. A prefix is matched against stems, so `widen` (the words said
    that begin with the prefix but whose stems do not) adds those words whole: `regulat*`
    finds "regulation" (regul)."""
    quoted = '"' + " ".join(t.words) + '"'
    if not t.prefix:
        return quoted
    head = " ".join(t.words[:-1])
    whole = [f'"{head} {w}"' if head else f'"{w}"' for w in widen(t.words[-1])]
    return "(" + " OR ".join([quoted + " *", *whole]) + ")" if whole else quoted + " *"


def render(query: Query, widen: Callable[[str], list[str]] = _none, exclude: bool = True) -> str:
    """The whole query as an FTS5 MATCH expression (without the `-words` unless `exclude`)."""
    expr = ""
    for i, (t, op) in enumerate(query.positives()):
        expr += term(t, widen) if i == 0 else f" {op} {term(t, widen)}"
    for t in query.excluded if exclude else []:
        expr = f"({expr}) NOT {term(t, widen)}"
    return expr
