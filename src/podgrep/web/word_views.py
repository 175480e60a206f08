"""Word views on the web: the key terms of an episode or a show (`keyterms.py`) in the API and
on their pages, and the word tree (`word_tree.py`) as a page and an API endpoint.

Counts are kept per show, keyed by `show_version` (read on every request), and summed into the
library's; an episode's or a show's terms are kept until a show of the library changes. Each
cache keeps only the latest version of a key (a sync writes a window at a time, and every
window is a new version: an older one is never asked for again) and a bounded number of keys,
the least recently used dropped first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from podgrep.keyterms import (
    Counts,
    Term,
    count,
    episode_texts,
    key_terms,
    library_counts,
    show_counts,
)
from podgrep.store import Store
from podgrep.web.api import ERRORS, Id, State
from podgrep.web.render import page
from podgrep.web.state import WebState
from podgrep.word_tree import WEB_TRANSCRIPTS, WordTree, word_tree

TERMS = 24
SHOW_COUNTS_KEPT = 256  # one show's counts each (per store); the library's sum needs them all
LIBRARY_COUNTS_KEPT = 2  # the library's counts: one per store
TERMS_KEPT = 64  # episodes' and shows' terms (small lists)

V = TypeVar("V")


class LatestCache(Generic[V]):
    """A value per key for its latest version only: a new version replaces the old one, and
    past `limit` keys the least recently used is dropped."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[Hashable, tuple[Hashable, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: Hashable, make: Callable[[], V]) -> V:
        """The value of `key` at `version`: kept, or `make()` (the older version dropped)."""
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] == version:
                self._items.move_to_end(key)
                return hit[1]
        value = make()
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = (version, value)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)

    def versions(self) -> list[tuple[Hashable, Hashable]]:
        """The (key, version) pairs kept, oldest first."""
        with self._lock:
            return [(k, v) for k, (v, _) in self._items.items()]


class WordCaches:
    """The word views' caches of one web app."""

    def __init__(self) -> None:
        self.show_counts: LatestCache[Counts] = LatestCache(SHOW_COUNTS_KEPT)
        self.library: LatestCache[Counts] = LatestCache(LIBRARY_COUNTS_KEPT)
        self.terms: LatestCache[list[Term]] = LatestCache(TERMS_KEPT)


_caches_lock = threading.Lock()


def caches(state: WebState) -> WordCaches:
    """The word caches of this app (made on first use, kept on the state)."""
    with _caches_lock:
        found = state.__dict__.get("_word_caches")
        if found is None:
            found = state.__dict__["_word_caches"] = WordCaches()
        return found  # type: ignore[no-any-return]


api_router = APIRouter(prefix="/api", tags=["api"])
page_router = APIRouter(include_in_schema=False)


def _versions(store: Store) -> tuple[tuple[int, tuple[int, int]], ...]:
    return tuple((s.id or 0, store.show_version(s.id or 0)) for s in store.list_shows())


def _show_counts(state: WebState, store: Store, show_id: int, version: tuple[int, int]) -> Counts:
    return caches(state).show_counts.get(
        (state.settings.store, show_id), version, lambda: show_counts(store, show_id)
    )


def _library(state: WebState, store: Store) -> tuple[Counts, tuple[Any, ...]]:
    versions = _versions(store)
    library = caches(state).library.get(
        state.settings.store,
        versions,
        lambda: library_counts(_show_counts(state, store, sid, v) for sid, v in versions),
    )
    return library, versions


def show_terms(state: WebState, store: Store, show_id: int, n: int = TERMS) -> list[Term]:
    """The show's key terms against the rest of the library and general English."""
    store.get_show(show_id)  # NotFoundError for an unknown show
    library, versions = _library(state, store)
    version = dict(versions).get(show_id) or store.show_version(show_id)
    return caches(state).terms.get(
        ("show", state.settings.store, show_id, n),
        versions,
        lambda: key_terms(_show_counts(state, store, show_id, version), library, n),
    )


def episode_terms(state: WebState, store: Store, episode_id: int, n: int = TERMS) -> list[Term]:
    """The episode's key terms against the rest of the library and general English."""
    store.get_episode(episode_id)  # NotFoundError for an unknown episode
    library, versions = _library(state, store)
    return caches(state).terms.get(
        ("episode", state.settings.store, episode_id, n),
        versions,
        lambda: key_terms(count(episode_texts(store, episode_id)), library, n),
    )


def _terms_out(terms: list[Term]) -> list[dict[str, Any]]:
    return [{"term": t.term, "count": t.count, "score": t.score} for t in terms]


Many = Annotated[int, Query(ge=1, le=200, description="How many terms")]


@api_router.get("/episodes/{episode_id}/words", responses=ERRORS, summary="An episode's key terms")
def episode_words(episode_id: Id, state: State, n: Many = TERMS) -> list[dict[str, Any]]:
    """The words and phrases this episode says far more than the rest of the library and
    general English do, best first: `score` is the conservative log ratio of its rate to
    theirs (see docs/api.md)."""
    with state.store() as store:
        return _terms_out(episode_terms(state, store, episode_id, n))


@api_router.get("/shows/{show_id}/words", responses=ERRORS, summary="A show's key terms")
def show_words(show_id: Id, state: State, n: Many = TERMS) -> list[dict[str, Any]]:
    """The words and phrases this show says far more than the rest of the library and general
    English do, best first."""
    with state.store() as store:
        return _terms_out(show_terms(state, store, show_id, n))


def _tree(state: WebState, q: str, show: str, episode: str) -> tuple[WordTree, Any, Any]:
    from podgrep.shows import find_episode, find_show

    with state.store() as store:
        ep = find_episode(store, episode) if episode.strip() else None
        sh = (
            store.get_show(ep.show_id or 0)
            if ep is not None
            else find_show(store, show, partial=True)
            if show.strip()
            else None
        )
        tree = word_tree(
            store,
            q,
            show_id=sh.id if sh is not None else None,
            episode_id=ep.id if ep is not None else None,
            max_transcripts=WEB_TRANSCRIPTS,
        )
    return tree, sh, ep


Words = Annotated[str, Query(description="A word or phrase (matched as search matches it)")]
ShowRef = Annotated[str, Query(description="Only this show: its id, feed URL or title")]
EpisodeRef = Annotated[str, Query(description="Only this episode: its id, guid or title")]


@api_router.get("/context", summary="A word tree: a word or phrase in context")
def context_api(state: State, q: Words = "", show: ShowRef = "", episode: EpisodeRef = "") -> Any:
    """Every time the words were said (in an episode, a show or the library), with the words
    before and after, as a tree grouped by the words that follow; each occurrence links to
    its second on the episode page."""
    tree, _, _ = _tree(state, q, show, episode)
    return tree.as_dict()


@page_router.get("/context", response_class=HTMLResponse)
def context_page(
    request: Request, state: State, q: str = "", show: str = "", episode: str = ""
) -> HTMLResponse:
    """The word tree page: a form, then the branches with their occurrences."""
    tree = sh = ep = None
    if q.strip():
        tree, sh, ep = _tree(state, q, show, episode)
    with state.store() as store:
        shows = store.list_shows()
    return page(
        request,
        "context.html",
        title=f"In context: {q}" if q.strip() else "In context",
        q=q,
        tree=tree,
        show=sh,
        episode=ep,
        show_filter=str(sh.id) if sh is not None else show,
        episode_filter=str(ep.id) if ep is not None else "",
        shows=shows,
    )
