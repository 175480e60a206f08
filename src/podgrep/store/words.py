"""The words said, unstemmed: what a prefix query (`regulat*`) is matched against.

The full-text index stems every word (porter), and FTS5 does not stem a prefix, so `regulat*`
would look for stems beginning with "regulat" while "regulation" is indexed as "regul". The
`words` table keeps each word as said (folded as the index's tokenizer folds it) with its stem;
a prefix is widened with the words that begin with it but whose stems do not.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import snowballstemmer

_STEMMER = snowballstemmer.stemmer("porter")  # the algorithm of FTS5's porter tokenizer
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # unicode61: letters and digits, the rest separates
MOST_WIDENED = 400  # words one prefix is widened with; beyond, the rest come from the index


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """Lowercased, accents removed: how `unicode61 remove_diacritics 2` sees a word."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Porter stem of a folded word (memoised: the pure-Python stemmer is slow)."""
    return str(_STEMMER.stemWord(word))


def tokens(text: str) -> list[str]:
    """The folded words of `text`, split as the full-text index splits them."""
    return [fold(t) for t in _TOKEN.findall(text)]


def add_words(db: sqlite3.Connection, texts: Iterable[str]) -> None:
    """Record the words of `texts` (inside the caller's transaction)."""
    seen = {t for text in texts for t in tokens(text)}
    if seen:
        db.executemany(
            "INSERT OR IGNORE INTO words (word, stem) VALUES (?, ?)",
            [(w, stem(w)) for w in seen],
        )


def fill_words(db: sqlite3.Connection) -> int:
    """Record the words of every stored segment (once, when the table is new); return how many
    distinct words the table holds."""
    batch: list[str] = []
    for (text,) in db.execute("SELECT text FROM segments"):
        batch.append(text or "")
        if len(batch) >= 5000:
            add_words(db, batch)
            batch = []
    add_words(db, batch)
    return int(db.execute("SELECT COUNT(*) FROM words").fetchone()[0])


def widen(db: sqlite3.Connection, prefix: str) -> list[str]:
    """The words said that begin with `prefix` but whose stems do not (so the index's own
    prefix match misses them), at most MOST_WIDENED of them."""
    prefix = fold(prefix)
    if not prefix:
        return []
    try:
        rows = db.execute(
            "SELECT word FROM words WHERE word >= ? AND word < ? AND substr(stem, 1, ?) <> ?"
            " LIMIT ?",
            (prefix, prefix + "\U0010ffff", len(prefix), prefix, MOST_WIDENED),
        ).fetchall()
    except sqlite3.OperationalError:  # a database opened read-only before its upgrade
        return []
    return [str(r[0]) for r in rows]
