"""Enrich an episode once it has a transcript: chapters, links and passage vectors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from podgrep.domain import Chapter, Episode
from podgrep.enrich.chapters import chapters_from_notes, fetch_chapters
from podgrep.enrich.links import links_from_notes, spoken_links
from podgrep.enrich.topics import generate_chapters
from podgrep.semantic.embed import Embedder
from podgrep.semantic.vectors import embed_missing
from podgrep.store import Store


@dataclass
class Enriched:
    """What enriching an episode produced."""

    chapters: int
    chapter_source: str | None
    links: int
    passages: int


def stored_chapters(store: Store, episode_id: int) -> list[Chapter]:
    """The chapters stored for an episode."""
    return store.chapter_rows(episode_id)


def choose_chapters(
    store: Store, ep: Episode, embedder: Embedder, client: httpx.Client | None
) -> list[Chapter]:
    """The publisher's chapters JSON, else show-notes timestamps, else headings found in an
    imported transcript, else chapters generated from topic shifts."""
    assert ep.id is not None
    if ep.chapters_url:
        found = fetch_chapters(client, ep.chapters_url, hidden=True) if client else []
        if found:
            return found
        # not fetched now (an import works offline) or unreachable: the feed's chapters stored
        # before stay; chapters from the notes or a transcript never replace them
        found = [c for c in stored_chapters(store, ep.id) if c.source == "feed"]
        if found:
            return found
    found = chapters_from_notes(ep.show_notes_html)
    if found:
        return found
    kept = [c for c in stored_chapters(store, ep.id) if c.source == "transcript"]
    if kept:
        return kept
    transcript = store.transcript_for(ep.id)
    return generate_chapters(transcript.segments, embedder) if transcript else []


INDEX_PARTS = 3  # what enrich_episode reports progress in: chapters, links, passages


def enrich_episode(
    store: Store,
    ep: Episode,
    embedder: Embedder,
    client: httpx.Client | None = None,
    progress: Callable[[float], None] | None = None,
) -> Enriched:
    """Store the episode's chapters and links, and embed every transcript not yet embedded.

    `progress` is told how many of the INDEX_PARTS are done (chapters, links, then the
    passages of each transcript embedded in turn)."""
    assert ep.id is not None
    told = [0.0]

    def tell(done: float) -> None:
        if progress is not None and done > told[0]:
            told[0] = done
            progress(done)

    chapters = choose_chapters(store, ep, embedder, client)
    _fill_ends(chapters, ep.duration)
    store.set_chapters(ep.id, chapters)
    tell(1)
    transcript = store.transcript_for(ep.id)
    links = links_from_notes(ep.show_notes_html)
    known = {lk.url for lk in links}
    if transcript:
        links += [lk for lk in spoken_links(transcript.segments) if lk.url not in known]
    store.set_links(ep.id, links)
    tell(2)
    # its own transcripts only: another episode's may be between its transcription and its
    # speakers step (another worker's), whose segments are about to be written again
    passages = embed_missing(
        store, embedder, lambda n, of: tell(2 + n / max(of, 1)), episode_id=ep.id
    )
    tell(3)
    return Enriched(len(chapters), chapters[0].source if chapters else None, len(links), passages)


def _fill_ends(chapters: list[Chapter], duration: float | None) -> None:
    """Each chapter ends where the next starts (the last at the episode's end, when known)."""
    chapters.sort(key=lambda c: c.start)
    for i, c in enumerate(chapters):
        if c.end is None:
            c.end = chapters[i + 1].start if i + 1 < len(chapters) else duration
