"""Query parsing: words, phrases, prefixes, exclusions, OR, and errors."""

from __future__ import annotations

import pytest

from podgrep.domain import Word
from podgrep.errors import QueryError
from podgrep.search import locate, parse_query
from podgrep.store.postgres import tsquery
from podgrep.store.sqlite import fts


def test_words_phrases_prefixes():
    q = parse_query('reinforc* "human feedback" -robots OR rlhf')
    assert fts.render(q) == '("reinforc" * AND "human feedback" OR "rlhf") NOT "robots"'
    # the same query for PostgreSQL: the same Porter stems, & binding tighter than |
    assert (
        tsquery.render(q, exclude=True)
        == "((('reinforc':*)) & ('human' <-> 'feedback') | ('rlhf')) & !('robot')"
    )


def test_operators_in_user_text_are_quoted():
    assert fts.render(parse_query("NEAR(a b) col:x")) == '"near a" AND "b" AND "col x"'
    assert tsquery.render(parse_query("NEAR(a b) col:x")) == (
        "('near' <-> 'a') & ('b') & ('col' <-> 'x')"
    )


def test_text_becomes_the_stems_fts5_indexes():
    assert tsquery.indexed("Regulators, régulation — it's done") == (
        "'regul':1,2 'it':3 's':4 'done':5",
        5,
    )
    assert tsquery.indexed("") == ("", 0)


@pytest.mark.parametrize("query", ['"open', 'a "b" "c', '"'])
def test_unbalanced_quotes(query: str):
    with pytest.raises(QueryError, match="Unbalanced quote"):
        parse_query(query)


def test_only_negative_or_empty():
    with pytest.raises(QueryError):
        parse_query("-alone")
    with pytest.raises(QueryError):
        parse_query("   ")


def test_locate_uses_stems_and_prefixes():
    tokens = ["We", "were", "learning", "to", "reinforce", "it"]
    words = [Word(i, i + 0.5, w) for i, w in enumerate(tokens)]
    q = parse_query("learn reinforc*")
    assert locate(q.terms, words) == [(2, 3), (4, 5)]
    assert locate(parse_query('"to reinforce"').terms, words) == [(3, 5)]
