"""Whether a word of a query is a word at all: in an English dictionary (Webster's 2nd and
GCIDE, from the `english-words` package) or the embedding model's vocabulary, directly or once
its ending is taken off ("lobbyists" -> lobbyist, "malfunctions" -> malfunction). A made-up
word ("xyzzyplugh", "glorpfinch") is neither, and unless the library says it, nothing can
match it: not the index, and not the vectors, which know no meaning for it."""

from __future__ import annotations

import threading
from collections.abc import Callable

import snowballstemmer

_STEMMER = snowballstemmer.stemmer("porter")
_words: frozenset[str] | None = None
_lock = threading.Lock()
# endings taken off a word, and what replaces them, to find its dictionary form
_ENDINGS = [
    ("'s", ""),
    ("s'", "s"),
    ("ies", "y"),
    ("es", ""),
    ("s", ""),
    ("ied", "y"),
    ("ed", ""),
    ("ed", "e"),
    ("ing", ""),
    ("ing", "e"),
    ("ly", ""),
    ("er", ""),
    ("est", ""),
    ("ness", ""),
    ("ment", ""),
    ("ful", ""),
    ("less", ""),
    ("ism", ""),
    ("ist", ""),
    ("ists", ""),
]


def _dictionary() -> frozenset[str]:
    global _words
    with _lock:
        if _words is None:
            from english_words import get_english_words_set

            _words = frozenset(get_english_words_set(["web2", "gcide"], lower=True))
        return _words


def forms(word: str) -> list[str]:
    """The word and the forms it may have in a dictionary: without an inflection's ending, its
    stem, the part before an apostrophe ("doesn't" -> doesn)."""
    word = word.lower()
    out = [word, word.split("'")[0]]
    for ending, put in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            base = word[: -len(ending)] + put
            out.append(base)
            if len(base) > 3 and base[-1] == base[-2]:  # "stopped" -> stopp -> stop
                out.append(base[:-1])
    out.append(_STEMMER.stemWord(word))
    return list(dict.fromkeys(w for w in out if w))


def is_word(word: str, known: Callable[[str], bool] | None = None) -> bool:
    """Whether `word`, or one of its dictionary forms, is in the dictionary or `known` (for
    instance the embedding model's vocabulary)."""
    words = _dictionary()
    return any(f in words or (known is not None and known(f)) for f in forms(word))
