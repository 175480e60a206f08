"""The HTML pages: library, show, episode and search, rendered on the server."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from podgrep.domain import Show
from podgrep.errors import NotFoundError, PodgrepError, StoreError
from podgrep.formats import FORMATS
from podgrep.web import views, word_views
from podgrep.web.api import Id, State, audio_src
from podgrep.web.overview import history_svg
from podgrep.web.render import page
from podgrep.web.safety import safe_url, sanitize_notes
from podgrep.web.search_view import (
    MODES,
    Filters,
    check_mode,
    default_mode,
    find,
    group,
    parse_day,
)
from podgrep.web.transcript_view import paragraphs

EPISODES_PER_PAGE = 25
HITS_PER_PAGE = 20

router = APIRouter(include_in_schema=False)


def art_url(show: Show) -> str | None:
    """Where a page loads the show's artwork from: podgrep itself, never the feed's URL."""
    return f"/art/shows/{show.id}" if safe_url(show.image) else None


@router.get("/art/shows/{show_id}")
def show_art(show_id: Id, state: State) -> Response:
    """The show's artwork, fetched once under the feed's rules (see web/art.py)."""
    from podgrep.web.art import Busy

    with state.store() as store:
        show = store.get_show(show_id)
    try:
        found = state.art.get(show)
    except Busy as exc:
        return Response(str(exc), status_code=503, headers={"Retry-After": "2"})
    if found is None:
        raise NotFoundError(f"Show {show_id} has no artwork podgrep could fetch")
    path, kind = found
    return FileResponse(
        path,
        media_type=kind,
        headers={"Cache-Control": "private, max-age=86400", "Content-Security-Policy": "sandbox"},
    )


@router.get("/", response_class=HTMLResponse)
def library(request: Request, state: State) -> HTMLResponse:
    """Shows with artwork and progress; add, upload, sync; failed jobs to retry."""
    with state.store() as store:
        shows = views.shows_with_counts(store)
        failures = store.failures()
    return page(
        request,
        "library.html",
        title="Library",
        shows=[(s, c, art_url(s)) for s, c in shows],
        failures=failures,
    )


@router.get("/shows/{show_id}", response_class=HTMLResponse)
def show_page(
    request: Request,
    show_id: Id,
    state: State,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100000)] = 1,
) -> HTMLResponse:
    """A show at a glance above its episodes, newest first."""
    with state.store() as store:
        show = store.get_show(show_id)
        episodes = store.list_episodes(show_id)
        glance = views.glance(state, store, show, episodes)
        counts = views.counts_of(store, show_id)
        shared = views.shared_links_for(store, show_id)
    health = views.health(state, show, episodes, counts.last_error if counts else None)
    pages = max(1, math.ceil(len(episodes) / EPISODES_PER_PAGE))
    page_no = min(page_no, pages)
    start = (page_no - 1) * EPISODES_PER_PAGE
    return page(
        request,
        "show.html",
        title=show.title,
        show=show,
        counts=counts,
        image=art_url(show),
        link=safe_url(show.link),
        episodes=episodes[start : start + EPISODES_PER_PAGE],
        page_no=page_no,
        pages=pages,
        glance=glance,
        chart=history_svg(glance.overview.months),
        health=health,
        shared_links=shared,
    )


@router.get("/episodes/{episode_id}", response_class=HTMLResponse)
def episode_page(
    request: Request,
    episode_id: Id,
    state: State,
    t: Annotated[str | None, Query(description="Start at this second")] = None,
) -> HTMLResponse:
    """Notes, player and the transcript by speaker turn; ?t= and #t= open at a second."""
    with state.store() as store:
        ep = store.get_episode(episode_id)
        show = store.get_show(ep.show_id or 0)
        transcript = store.transcript_for(episode_id)
        links = views.links_for(store, episode_id)
        speakers = store.list_speakers(episode_id)
        terms = word_views.episode_terms(state, store, episode_id) if transcript else []
    chapters = views.chapters_for(state, ep)
    return page(
        request,
        "episode.html",
        links=links,
        speakers=speakers,
        terms=terms,
        title=ep.title,
        ep=ep,
        show=show,
        notes=sanitize_notes(ep.show_notes_html),
        link=safe_url(ep.link),
        audio=views.has_audio(ep),
        audio_src=audio_src(state, ep),
        transcript=transcript,
        paragraphs=paragraphs(transcript.segments) if transcript else [],
        untimed=transcript is not None and any("untimed" in s.flags for s in transcript.segments),
        chapters=chapters,
        formats=FORMATS if transcript and transcript.segments else (),
        start=t or "",
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    state: State,
    q: str = "",
    show: str = "",
    since: str = "",
    until: str = "",
    mode: str = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=500)] = 1,
) -> HTMLResponse:
    """Hits grouped by episode with the match highlighted, filters, search mode and pages."""
    error = None
    groups: list = []
    more = False
    count = meaning = 0
    with state.store() as store:
        shows = store.list_shows()
        chosen = mode or default_mode(store)
        try:
            check_mode(mode)
            if q.strip():
                filters = Filters(show or None, parse_day(since, "from"), parse_day(until, "to"))
                hits, more = find(
                    store,
                    q,
                    filters,
                    limit=HITS_PER_PAGE,
                    offset=(page_no - 1) * HITS_PER_PAGE,
                    mode=chosen,
                )
                groups = group(hits)
                count = len(hits)
                meaning = sum(1 for v in hits if v.hit.match == "meaning")
        except StoreError:
            raise  # not the query's fault: answered 503 by the app
        except PodgrepError as exc:
            error = str(exc)
    return page(
        request,
        "search.html",
        title=f"Search: {q}" if q else "Search",
        q=q,
        show_filter=show,
        since=since,
        until=until,
        mode=chosen,
        count=count,
        meaning=meaning,
        first=(page_no - 1) * HITS_PER_PAGE + 1,
        modes=MODES,
        shows=shows,
        groups=groups,
        more=more,
        page_no=page_no,
        error=error,
        status=400 if error else 200,
    )
