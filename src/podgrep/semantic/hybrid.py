"""Search modes: keyword (BM25), semantic (passage vectors) and hybrid (reciprocal rank fusion)."""

from __future__ import annotations

import re

import snowballstemmer

from podgrep.domain import Hit
from podgrep.errors import QueryError
from podgrep.search import parse_query
from podgrep.search import search as keyword_search
from podgrep.semantic.embed import shared_embedder
from podgrep.semantic.vectors import has_vectors, vector_index
from podgrep.store import SqliteStore
from podgrep.store import enrichment as db

MODES = ("keyword", "semantic", "hybrid")
RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al. 2009)
DEPTH = 50  # how many results each ranking contributes to the fusion
COMMON = 5000  # segments holding a word, above which it is too common for the keyword side
MOST_TERMS = 4  # the rarest words of a question the keyword side searches for
_OPERATORS = re.compile(r'"|\bOR\b|\bAND\b|(^|\s)-\S|\*')
_WORD = re.compile(r"[\w']+")
_STEMMER = snowballstemmer.stemmer("porter")
_STOPWORDS_TEXT = """
a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most my
    no nor not of off on once only or other our out over own same she should so some such than that
    the their them then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours did say said says talk
    talked tell told mention mentioned anyone someone something thing things think guest host
    episode podcast"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def default_mode(store: SqliteStore) -> str:
    """hybrid once passages have vectors, else keyword."""
    return "hybrid" if has_vectors(store) else "keyword"


def find(
    store: SqliteStore,
    query: str,
    *,
    mode: str | None = None,
    limit: int = 20,
    offset: int = 0,
    show: str | None = None,
) -> list[Hit]:
    """Search in `mode` (None: the default for this library); hits best first."""
    mode = mode or default_mode(store)
    if mode not in MODES:
        raise QueryError(f"Unknown search mode {mode!r}: use keyword, semantic or hybrid")
    if limit < 1:
        raise QueryError("--limit must be at least 1")
    if mode == "keyword":
        return keyword_search(store, query, limit=limit, offset=offset, show=show)
    parse_query(query)  # the same errors as keyword search: unbalanced quotes, no words
    if not has_vectors(store):
        raise QueryError(
            f"--mode {mode} needs passage vectors: run `podgrep sync` (or `podgrep index`) first"
        )
    if mode == "semantic":
        return semantic_search(store, query, limit=limit, offset=offset, show=show)
    return hybrid_search(store, query, limit=limit, offset=offset, show=show)


def _episodes(store: SqliteStore, show: str | None) -> set[int] | None:
    return db.show_episode_ids(store, show) if show else None


def _vector_ranking(store: SqliteStore, query: str, depth: int, show: str | None) -> list[int]:
    vector = shared_embedder().embed_one(query)
    return [pid for pid, _ in vector_index(store).search(vector, depth, _episodes(store, show))]


def semantic_search(
    store: SqliteStore, query: str, *, limit: int = 20, offset: int = 0, show: str | None = None
) -> list[Hit]:
    """Passages nearest the meaning of `query`."""
    ranked = _vector_ranking(store, query, (limit + offset) * 2 + 10, show)
    fused = [(("p", pid), 1.0 / (RRF_K + r + 1)) for r, pid in enumerate(ranked)]
    return _hits(store, fused, {}, limit + offset)[offset:]


def keyword_leg(query: str, store: SqliteStore | None = None) -> str:
    """The query the BM25 side of hybrid search runs: the user's own when it uses operators,
    else its content words joined by OR (a question rarely has all its words in the answer).
    Given the store, words in more than COMMON segments are left out and the rarest
    MOST_TERMS kept: common words would cost a scan of much of the index and rank nothing."""
    if _OPERATORS.search(query):
        return query
    words = list(
        dict.fromkeys(w for w in _WORD.findall(query.lower()) if w not in STOPWORDS and len(w) > 1)
    )
    if store is not None and words:
        counts = db.term_counts(store, [_STEMMER.stemWord(w) for w in words])
        if not counts:
            return " OR ".join(words[:MOST_TERMS])
        by_word = {w: counts[_STEMMER.stemWord(w)] for w in words}
        kept = sorted((w for w in words if 0 < by_word[w] <= COMMON), key=lambda w: by_word[w])
        words = kept[:MOST_TERMS]
        if not words:
            return ""
    return " OR ".join(words) if words else query


def _stems(text: str) -> set[str]:
    return {_STEMMER.stemWord(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


def hybrid_search(
    store: SqliteStore, query: str, *, limit: int = 20, offset: int = 0, show: str | None = None
) -> list[Hit]:
    """BM25 and vector rankings fused by reciprocal rank: sum of 1/(60 + rank) per passage."""
    depth = max(DEPTH, (limit + offset) * 2)
    leg = keyword_leg(query, store)
    try:
        keyword_hits = keyword_search(store, leg, limit=depth, show=show) if leg else []
    except QueryError:
        keyword_hits = []  # e.g. only stopwords: the meaning side still answers
    covering = db.passages_of_segments(store, [h.segment_id for h in keyword_hits])
    scores: dict[tuple[str, int], float] = {}
    by_key: dict[tuple[str, int], Hit] = {}
    wanted = _stems(keyword_leg(query))
    for rank, hit in enumerate(keyword_hits):
        pid = covering.get(hit.segment_id)
        key = ("p", pid) if pid else ("s", hit.segment_id)
        if key in by_key:
            continue  # a passage counts once, at its best keyword rank
        by_key[key] = hit
        # a hit matching one word of a long question says little: weigh it by the share of
        # the query's words it holds
        weight = (len(wanted & _stems(hit.text)) / len(wanted)) ** 2 if wanted else 1.0
        scores[key] = scores.get(key, 0.0) + weight / (RRF_K + rank + 1)
    for rank, pid in enumerate(_vector_ranking(store, query, depth, show)):
        key = ("p", pid)
        scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
    fused = sorted(scores.items(), key=lambda kv: -kv[1])
    return _hits(store, fused, by_key, limit + offset)[offset:]


def _hits(
    store: SqliteStore,
    fused: list[tuple[tuple[str, int], float]],
    keyword: dict[tuple[str, int], Hit],
    wanted: int,
) -> list[Hit]:
    """Hits for fused keys, best first, skipping passages overlapping one already given."""
    details = db.passage_hits(store, [k[1] for k, _ in fused if k[0] == "p"])
    taken: dict[int, list[tuple[int, int]]] = {}  # transcript -> segment spans given
    out: list[Hit] = []
    for key, score in fused:
        info = details.get(key[1]) if key[0] == "p" else None
        if info is not None:
            tid, span = info["transcript_id"], (info["first_idx"], info["last_idx"])
            if any(a <= span[1] and span[0] <= b for a, b in taken.get(tid, [])):
                continue
            taken.setdefault(tid, []).append(span)
        hit = keyword.get(key)
        if hit is not None:
            hit.score = score
        elif info is not None:
            hit = Hit(
                episode_id=info["episode_id"],
                show=info["show"],
                episode=info["episode"],
                start=float(info["start"]),
                end=float(info["end"]),
                text=info["text"] or "",
                segment_id=info["segment_id"] or 0,
                score=score,
            )
        else:
            continue
        out.append(hit)
        if len(out) >= wanted:
            break
    return out
