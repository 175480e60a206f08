"""Query parsing: words, phrases, prefixes, exclusions, OR, and errors."""

from __future__ import annotations

import pytest

from podgrep.domain import Word
from podgrep.errors import QueryError
from podgrep.search import locate, parse_query


def test_words_phrases_prefixes():
    q = parse_query('reinforc* "human feedback" -robots OR rlhf')
    assert q.fts() == '("reinforc" * AND "human feedback" OR "rlhf") NOT "robots"'


def test_operators_in_user_text_are_quoted():
    assert parse_query("NEAR(a b) col:x").fts() == '"near a" AND "b" AND "col x"'


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
