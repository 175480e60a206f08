"""Word views on the web: the key terms of an episode or a show (`keyterms.py`) in the API and
on their pages, and the word tree (`word_tree.py`) as a page and an API endpoint.

Counts are kept per show, keyed by `show_version` (read on every request), and summed into the
library's; an episode's or a show's terms are kept until a show of the library changes.
"""

from __future__ import annotations

from typing import Annotated, Any

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
from podgrep.word_tree import WordTree, word_tree

TERMS = 24

api_router = APIRouter(prefix="/api", tags=["api"])
page_router = APIRouter(include_in_schema=False)


def _versions(store: Store) -> tuple[tuple[int, tuple[int, int]], ...]:
    return tuple((s.id or 0, store.show_version(s.id or 0)) for s in store.list_shows())


def _show_counts(state: WebState, store: Store, show_id: int, version: tuple[int, int]) -> Counts:
    return state.cached(
        ("word-counts", state.settings.store, show_id, version),
        lambda: show_counts(store, show_id),
    )


def _library(state: WebState, store: Store) -> tuple[Counts, tuple[Any, ...]]:
    versions = _versions(store)
    library = state.cached(
        ("library-counts", state.settings.store, versions),
        lambda: library_counts(_show_counts(state, store, sid, v) for sid, v in versions),
    )
    return library, versions


def show_terms(state: WebState, store: Store, show_id: int, n: int = TERMS) -> list[Term]:
    """The show's key terms against the rest of the library and general English."""
    store.get_show(show_id)  # NotFoundError for an unknown show
    library, versions = _library(state, store)
    version = dict(versions).get(show_id) or store.show_version(show_id)
    return state.cached(
        ("show-terms", state.settings.store, show_id, versions, n),
        lambda: key_terms(_show_counts(state, store, show_id, version), library, n),
    )


def episode_terms(state: WebState, store: Store, episode_id: int, n: int = TERMS) -> list[Term]:
    """The episode's key terms against the rest of the library and general English."""
    store.get_episode(episode_id)  # NotFoundError for an unknown episode
    library, versions = _library(state, store)
    return state.cached(
        ("episode-terms", state.settings.store, episode_id, versions, n),
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
