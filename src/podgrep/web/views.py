"""What pages and API both build from the store: shows with counts, episodes, chapters, glances."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from podgrep.domain import Chapter, Episode, SharedLink, Show, ShowCounts, StoredLink
from podgrep.enrich.chapters import chapters_from_notes
from podgrep.store import Store
from podgrep.web.health import FeedHealth
from podgrep.web.overview import Overview, overview
from podgrep.web.safety import safe_url
from podgrep.web.schemas import EpisodeOut, ShowOut
from podgrep.web.state import WebState

TRANSCRIBED = ("transcribed", "indexed")
_SLUG = re.compile(r"[^A-Za-z0-9]+")


def show_out(show: Show, counts: ShowCounts | None = None) -> ShowOut:
    """A show for the API, with counts from `store.status_counts()` when given."""
    return ShowOut(
        id=show.id or 0,
        title=show.title,
        kind=show.kind,
        feed_url=show.feed_url,
        author=show.author,
        description=show.description,
        image=safe_url(show.image),
        link=safe_url(show.link),
        language=show.language,
        episodes=counts.episodes if counts else 0,
        transcribed=counts.transcribed if counts else 0,
        failed=counts.failed if counts else 0,
        last_error=counts.last_error if counts else None,
        paused=show.paused,
        url=f"/shows/{show.id}",
    )


def shows_with_counts(store: Store) -> list[tuple[Show, ShowCounts | None]]:
    """Every show with its episode counts by status."""
    counts = {c.id: c for c in store.status_counts()}
    return [(s, counts.get(s.id or 0)) for s in store.list_shows()]


def counts_of(store: Store, show_id: int | None) -> ShowCounts | None:
    """One show's episode counts by status (None for a show not known)."""
    return next((c for c in store.status_counts() if c.id == show_id), None)


def has_audio(ep: Episode) -> bool:
    """Whether the episode's audio can be played: cached here or at an http(s) address."""
    return bool(ep.media_path) or safe_url(ep.media_url) is not None


def episode_out(ep: Episode, show: str | None = None) -> EpisodeOut:
    """An episode for the API."""
    return EpisodeOut(
        id=ep.id or 0,
        show_id=ep.show_id or 0,
        show=show,
        title=ep.title,
        published=ep.published,
        published_iso=(
            datetime.fromtimestamp(ep.published, UTC).isoformat() if ep.published else None
        ),
        duration=ep.duration,
        status=ep.status,
        error=ep.error,
        media_url=safe_url(ep.media_url),
        audio_url=f"/api/episodes/{ep.id}/audio" if has_audio(ep) else None,
        link=safe_url(ep.link),
        url=f"/episodes/{ep.id}",
    )


def chapters_for(state: WebState, ep: Episode) -> list[Chapter]:
    """The episode's chapters as stored when it was indexed (the publisher's chapters JSON,
    notes, transcript or generated), else timestamps in its notes; never fetched live."""
    from podgrep.enrich.episode import stored_chapters

    if ep.id is not None:
        with state.store() as store:
            kept = [c for c in stored_chapters(store, ep.id) if c.toc]
        if kept:
            return kept
    return chapters_from_notes(ep.show_notes_html)


def links_for(store: Store, episode_id: int) -> list[StoredLink]:
    """The episode's links with only safe (http/https) addresses."""
    rows = store.link_rows(episode_id)
    return [replace(r, url=url) for r in rows if (url := safe_url(r.url))]


def shared_links_for(store: Store, show_id: int) -> list[SharedLink]:
    """Links shared by two or more of the show's episodes (safe addresses only), top 20."""
    rows = store.shared_links(show_id)[:20]
    return [replace(r, url=url) for r in rows if (url := safe_url(r.url))]


@dataclass
class Glance:
    """A show at a glance: overview numbers and its most-said words."""

    overview: Overview
    words: list[tuple[str, int]]


def glance(state: WebState, store: Store, show: Show, episodes: list[Episode]) -> Glance:
    """Totals, cadence, monthly history and most-said words: the show's key terms against
    the library and general English (see web/word_views.py; cached until a show changes)."""
    from podgrep.web.word_views import show_terms

    assert show.id is not None
    words = [(t.term, t.count) for t in show_terms(state, store, show.id)]
    return Glance(overview(episodes), words)


def health(
    state: WebState, show: Show, episodes: list[Episode], last_error: str | None = None
) -> FeedHealth | None:
    """The feed's health as last checked in the background (never fetched while a page waits):
    until a check has run, what the stored episodes and the last sync's feed error say."""
    assert state.feeds is not None
    return state.feeds.health(show, episodes, last_error)


def download_name(title: str, ext: str) -> str:
    """A file name for an export: the title's letters and digits joined by dashes."""
    stem = _SLUG.sub("-", title).strip("-")[:80] or "transcript"
    return stem + ext
