"""Words as the full-text index sees them: split at anything not a letter or digit, folded
(lowercase, accents off) and Porter-stemmed, as SQLite's `porter unicode61 remove_diacritics 2`
tokenizer does. Both stores index with these (PostgreSQL's tsvector is built from them), and
the `words` table each store keeps (every word as said, with its stem) widens a prefix query:
FTS5 does not stem a prefix, so `regulat*` would look for stems beginning with "regulat"
while "regulation" is indexed as "regul".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_STEMMER = snowballstemmer.stemmer("porter")  # the algorithm of FTS5's porter tokenizer
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # unicode61: letters and digits, the rest separates


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """Lowercased, accents removed: how `unicode61 remove_diacritics 2` sees a word."""
    decomposed = unicodedata.normalize("NFD", word.lower())  # ligatures stay, as in FTS5
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Porter stem of a folded word as FTS5's porter tokenizer makes it: words shorter
    than 3 or longer than 64 characters are kept as they are (memoised: the pure-Python
    stemmer is slow)."""
    if len(word) < 3 or len(word) > 64:
        return word
    return str(_STEMMER.stemWord(word))


def tokens(text: str) -> list[str]:
    """The folded words of `text`, split as the full-text index splits them."""
    return [fold(t) for t in _TOKEN.findall(text)]
