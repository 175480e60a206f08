"""Search modes: keyword (BM25), semantic (passage vectors) and hybrid (reciprocal rank fusion)."""

from __future__ import annotations

import math
import re

from podgrep.domain import Hit, PassageInfo
from podgrep.errors import QueryError
from podgrep.search import Query, _marks, _stem, holds_excluded, parse_query
from podgrep.search import search as keyword_search
from podgrep.semantic.embed import DIM, MODEL_NAME, shared_embedder
from podgrep.semantic.lexicon import is_word
from podgrep.semantic.vectors import has_vectors
from podgrep.store import Store
from podgrep.words import tokens

MODES = ("keyword", "semantic", "hybrid")
RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al. 2009)
DEPTH = 50  # how many results each ranking contributes to the fusion
KEYWORD_WEIGHT = 1.0  # the keyword ranking's vote beside the vector ranking's (1.0)
COMMON = 5000  # segments holding a word, above which it is too common for the keyword side
MOST_TERMS = 4  # the rarest words of a question the keyword side searches for
# the cosine below which a passage is not shown as near the query's meaning: the highest floor
# keeping the tuning questions' recall, and no lower than the lowest at which none of the
# tuning nonsense queries gets a hit (`benchmarks/search.py --calibrate`)
MEANING_FLOOR = 0.34
UNKNOWN_SHARE = 3  # a query is made up when a third or more of its content words are unknown
WHOLE = 0.999  # the share of the question's words a sentence holds to be given alone
_OPERATORS = re.compile(r'"|\bOR\b|\bAND\b|(^|\s)-\S|\*')
_WORD = re.compile(r"[\w']+")
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


def default_mode(store: Store) -> str:
    """hybrid once passages have vectors, else keyword."""
    return "hybrid" if has_vectors(store) else "keyword"


def find(
    store: Store,
    query: str,
    *,
    mode: str | None = None,
    limit: int = 20,
    offset: int = 0,
    show: str | None = None,
) -> list[Hit]:
    """Search in `mode` (None: the default for this library); hits best first, each with who
    said it and whether it holds the query's words or only comes near its meaning."""
    mode = mode or default_mode(store)
    if mode not in MODES:
        raise QueryError(f"Unknown search mode {mode!r}: use keyword, semantic or hybrid")
    if limit < 1:
        raise QueryError("--limit must be at least 1")
    if mode == "keyword":
        hits = keyword_search(store, query, limit=limit, offset=offset, show=show)
    else:
        parsed = parse_query(query)  # the same errors as keyword search
        if not has_vectors(store):
            raise QueryError(
                f"--mode {mode} needs passage vectors: run `podgrep sync` (or `podgrep index`)"
                " first"
            )
        if parsed.exact:
            # a phrase or a prefix asks for those words as said, in every mode: only hits
            # holding them, each opened at the sentence, as keyword search gives them
            hits = keyword_search(store, query, limit=limit, offset=offset, show=show)
        elif not meaningful(store, parsed):
            hits = []
        elif mode == "semantic":
            hits = semantic_search(store, query, limit=limit, offset=offset, show=show)
        else:
            hits = hybrid_search(store, query, limit=limit, offset=offset, show=show)
    _name_speakers(store, hits)
    return hits


def _name_speakers(store: Store, hits: list[Hit]) -> None:
    """Fill in who said each hit that does not say yet: keyword hits and passages say
    already (`_passage_speaker`); a passage whose matched or main speaker is unlabelled gets
    the speaker of the segment it begins with."""
    missing = [h.segment_id for h in hits if h.speaker is None and h.segment_id]
    if missing:
        speakers = store.segment_speakers(missing)
        for h in hits:
            if h.speaker is None:
                h.speaker = speakers.get(h.segment_id)


def _episodes(store: Store, show: str | None) -> set[int] | None:
    return store.show_episode_ids(show) if show else None


def meaning_text(parsed: Query) -> str:
    """What the vectors are asked: the query as written without operators, quotes or the
    excluded words (embedding "-carbon" would pull towards carbon)."""
    return parsed.text or " ".join(" ".join(t.words) for t, _ in parsed.positives())


def meaningful(store: Store, parsed: Query) -> bool:
    """Whether a query can match anything: in at least one of its alternatives (`a OR b`)
    fewer than a third of the content words are unknown, a word being known when it is a
    word (of an English dictionary or the embedding model, see semantic/lexicon.py) or said
    in the library. An unknown word ("xyzzyplugh") is said nowhere and means nothing the
    vectors know, so "xyzzyplugh regulation" is no question about regulation and, as in
    keyword search, matches nothing; a longer question with one word the dictionary lacks
    ("…chase views with clickbait or trends") still has a meaning to look for."""
    embedder = shared_embedder()
    known: dict[str, bool] = {}

    def is_known(word: str) -> bool:
        if word not in known:
            # said: each part the index splits it into ("nvidia's": nvidia, s) is indexed
            parts = [t for t in tokens(word) if len(t) > 1] or tokens(word)
            counts = store.term_counts([_stem(t) for t in parts])
            said = bool(counts) and all(counts.values())
            known[word] = said or is_word(word, embedder.knows)
        return known[word]

    for group in parsed.groups():
        words = [w for t in group for w in t.words]
        content = [w for w in words if w not in STOPWORDS] or words
        unknown = sum(1 for w in content if not is_known(w))
        if unknown * UNKNOWN_SHARE < len(content):
            return True
    return False


def _vector_ranking(
    store: Store, parsed: Query, depth: int, show: str | None
) -> list[tuple[int, float]]:
    """Passages near the query's meaning, best first, those below the relevance floor left
    out (so a query meaning nothing said gets none)."""
    vector = shared_embedder().embed_one(meaning_text(parsed))
    found = store.nearest(vector, depth, _episodes(store, show), MODEL_NAME, DIM)
    return [(pid, score) for pid, score in found if score >= MEANING_FLOOR]


def _without_excluded(
    parsed: Query, ranked: list[tuple[int, float]], details: dict[int, PassageInfo]
) -> list[tuple[int, float]]:
    """The passages that hold none of the query's `-words`."""
    if not parsed.excluded:
        return ranked
    return [
        (pid, score)
        for pid, score in ranked
        if pid in details and not holds_excluded(parsed, details[pid].text)
    ]


def semantic_search(
    store: Store, query: str, *, limit: int = 20, offset: int = 0, show: str | None = None
) -> list[Hit]:
    """Passages nearest the meaning of `query`, above the relevance floor; none holding an
    excluded word."""
    parsed = parse_query(query)
    ranked = _vector_ranking(store, parsed, (limit + offset) * 2 + 10, show)
    details = store.passage_hits([pid for pid, _ in ranked])
    ranked = _without_excluded(parsed, ranked, details)
    fused = [(("p", pid), 1.0 / (RRF_K + r + 1)) for r, (pid, _) in enumerate(ranked)]
    leg = keyword_leg(query)
    question = _idf(store, _stems(leg))
    return _hits(store, fused, {}, limit + offset, details, _terms(leg), question)[offset:]


def keyword_leg(query: str, store: Store | None = None) -> str:
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
        counts = store.term_counts([_stem(w) for w in words])
        if not counts:
            return " OR ".join(words[:MOST_TERMS])
        by_word = {w: counts[_stem(w)] for w in words}
        kept = sorted((w for w in words if 0 < by_word[w] <= COMMON), key=lambda w: by_word[w])
        words = kept[:MOST_TERMS]
        if not words:
            return ""
    return " OR ".join(words) if words else query


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


def hybrid_search(
    store: Store, query: str, *, limit: int = 20, offset: int = 0, show: str | None = None
) -> list[Hit]:
    """BM25 and vector rankings of passages fused by weighted reciprocal rank.

    Both sides rank the same units: a keyword hit (a segment) counts for every passage that
    covers it, at the rank of the best hit inside that passage, so the passage the vectors
    found and an overlapping one the words found are not two results that shut each other
    out. The keyword side's share is weighed by how much of the question a passage holds:
    a passage holding one word of a long question is weak evidence and cannot push out
    strong semantic hits."""
    depth = max(DEPTH, (limit + offset) * 2)
    leg = keyword_leg(query, store)
    try:
        keyword_hits = keyword_search(store, leg, limit=depth, show=show) if leg else []
    except QueryError:
        keyword_hits = []  # e.g. only stopwords: the meaning side still answers
    covering = store.passages_of_segments([h.segment_id for h in keyword_hits])
    keyword_ranked: list[tuple[str, int]] = []  # passages (or lone segments), best first
    by_key: dict[tuple[str, int], Hit] = {}
    for hit in keyword_hits:
        pids = covering.get(hit.segment_id)
        keys = [("p", pid) for pid in pids] if pids else [("s", hit.segment_id)]
        for key in keys:
            if key not in by_key:  # a passage counts once, at its best keyword rank
                by_key[key] = hit
                keyword_ranked.append(key)
    parsed = parse_query(query)
    near = _vector_ranking(store, parsed, depth, show)
    details = store.passage_hits(
        list({k[1] for k in keyword_ranked if k[0] == "p"} | {pid for pid, _ in near})
    )
    vector_ranked = [("p", pid) for pid, _ in _without_excluded(parsed, near, details)]
    wanted = _idf(store, _stems(keyword_leg(query)))
    # a sentence holding every word of the query is a hit of its own, as in keyword search
    # (two such sentences in one passage are two hits); with operators (`a OR b`, `-c`) the
    # keyword side ran the user's own query, so every hit it found matches it
    boolean = leg == query
    whole = [h for h in keyword_hits if boolean or _coverage(wanted, h.text) >= WHOLE]
    whole_keys = {("s", h.segment_id) for h in whole}
    for hit in whole:
        by_key.setdefault(("s", hit.segment_id), hit)
    near_keys = set(vector_ranked)
    scores: dict[tuple[str, int], float] = {}
    for rank, key in enumerate(keyword_ranked):
        info = details.get(key[1]) if key[0] == "p" else None
        text = info.text if info is not None else by_key[key].text
        coverage = 1.0 if boolean else _coverage(wanted, text)
        if key not in near_keys and coverage < WHOLE:
            continue  # a few of the question's words, and nothing near its meaning: no hit
        if coverage >= WHOLE:
            whole_keys.add(key)
        scores[key] = coverage * KEYWORD_WEIGHT / (RRF_K + rank + 1)
    for rank, hit in enumerate(whole):
        key = ("s", hit.segment_id)
        scores[key] = max(scores.get(key, 0.0), KEYWORD_WEIGHT / (RRF_K + rank + 1))
    for rank, key in enumerate(vector_ranked):
        scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
    fused = sorted(scores.items(), key=lambda kv: -kv[1])
    terms = _terms(leg)
    hits = _hits(store, fused, by_key, limit + offset, details, terms, wanted, whole_keys)
    # a passage around a keyword hit may hold an excluded word
    return [h for h in hits if not holds_excluded(parsed, h.text)][offset:]


def _idf(store: Store, stems: set[str]) -> dict[str, float]:
    """Each stem's inverse document frequency over segments (as BM25 weighs it), so that a
    rare word of the question counts for more than a common one; equal weights on a
    database without the vocabulary table."""
    counts = store.term_counts(sorted(stems)) if stems else {}
    if not counts:
        return dict.fromkeys(stems, 1.0)
    n = max(store.segments_about(), 1)
    return {s: math.log(1 + (n - counts[s] + 0.5) / (counts[s] + 0.5)) for s in stems}


def _coverage(wanted: dict[str, float], text: str) -> float:
    """The squared share of the question's content words that `text` holds, weighed by IDF
    (1 when the question has none): holding only a common word of a long question, or one
    word of four, gives a small part of a full keyword vote."""
    total = sum(wanted.values())
    if not total:
        return 1.0
    held = _stems(text)
    return (sum(w for s, w in wanted.items() if s in held) / total) ** 2


def _terms(leg: str) -> list:
    try:
        return parse_query(leg).terms if leg else []
    except QueryError:
        return []


def _hits(
    store: Store,
    fused: list[tuple[tuple[str, int], float]],
    keyword: dict[tuple[str, int], Hit],
    wanted: int,
    details: dict[int, PassageInfo] | None = None,
    terms: list | None = None,
    question: dict[str, float] | None = None,
    whole_keys: set[tuple[str, int]] | None = None,
) -> list[Hit]:
    """Hits for fused keys, best first, skipping passages overlapping one already given.
    A passage is given whole (its span and text, the query's words marked), unless its best
    keyword hit holds as much of the question as the whole passage: then that sentence is
    given, so the hit opens at the second the words were said. It must hold all of the
    question's words for that (a phrase search): a question whose words the sentence only
    partly holds is answered by the passage around it, which the vectors judged as a whole
    (on the labelled queries of benchmarks/search.py this lifted hybrid recall@5 from 0.67
    to 0.71 on the tuning set, held-out unchanged). A sentence key ("s") is a keyword hit
    given as keyword search found it. Each hit is marked "words" when it holds every content
    word of the question (or its key is in `whole_keys`: it matched the query as keyword search
    does), else "meaning"; a passage's speaker is who said its first matched
    word, else who says most of it."""
    if details is None:
        details = store.passage_hits([k[1] for k, _ in fused if k[0] == "p"])
    question = question or {}
    taken: dict[int, list[tuple[int, int]]] = {}  # transcript -> segment spans given
    given: set[int] = set()  # sentences given
    out: list[Hit] = []
    for key, score in fused:
        info = details.get(key[1]) if key[0] == "p" else None
        if info is not None:
            tid, span = info.transcript_id, (info.first_idx, info.last_idx)
            if any(a <= span[1] and span[0] <= b for a, b in taken.get(tid, [])):
                continue
            taken.setdefault(tid, []).append(span)
            text = info.text
            exact = keyword.get(key)
            if exact is not None and _coverage(question, exact.text) >= max(
                _coverage(question, text), WHOLE
            ):
                if exact.segment_id in given:
                    continue
                hit = exact
            else:
                marks = _marks(text, terms) if terms else []
                hit = Hit(
                    episode_id=info.episode_id,
                    show=info.show,
                    episode=info.episode,
                    start=info.start,
                    end=info.end,
                    text=text,
                    segment_id=info.segment_id or 0,
                    score=score,
                    marks=marks,
                    speaker=_passage_speaker(store, info, marks),
                )
        elif key[0] == "s" and key in keyword:
            hit = keyword[key]
            if hit.segment_id in given:
                continue
        else:
            continue
        hit.score = score
        holds = key in (whole_keys or set()) or _coverage(question, hit.text) >= WHOLE
        hit.match = "words" if holds else "meaning"
        given.add(hit.segment_id)
        out.append(hit)
        if len(out) >= wanted:
            break
    return out


def _passage_speaker(store: Store, info: PassageInfo, marks: list[tuple[int, int]]) -> str | None:
    """Who said the first matched word of a passage, else who says most of it."""
    parts = store.passage_segments(info.transcript_id, info.first_idx, info.last_idx)
    if not parts:
        return None
    if marks:
        at = min(a for a, _ in marks)
        offset = 0
        for text, speaker in parts:
            offset += len(text) + 1  # the passage's text joins its segments with a space
            if at < offset:
                return speaker
    said: dict[str | None, int] = {}
    for text, speaker in parts:
        said[speaker] = said.get(speaker, 0) + len(text)
    return max(said.items(), key=lambda kv: kv[1])[0]
