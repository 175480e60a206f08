"""Publishers' own transcripts: fetch the best `podcast:transcript` of an episode and store it,
or store a transcript file the user has."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import httpx

from podgrep import audio, net
from podgrep.domain import Episode, TranscriptRef
from podgrep.errors import FetchError, PodgrepError
from podgrep.store import Store
from podgrep.transcripts.importer import ImportedEpisode, read_transcript
from podgrep.transcripts.labels import is_raw_label

MAX_BYTES = net.TEXT_MAX_BYTES
# richest first: JSON and WebVTT carry speakers and exact times; plain text may carry neither
PREFERENCE = (
    "application/json",
    "application/json+transcript",
    "text/vtt",
    "application/x-subrip",
    "application/srt",
    "text/html",
    "text/plain",
)
SOURCE = "publisher"
MAX_LINKS = 3  # transcript links tried per episode: a feed listing hundreds must not hold a sync


def ranked(refs: list[TranscriptRef]) -> list[TranscriptRef]:
    """An episode's transcript links, best first (unknown types last)."""

    def rank(ref: TranscriptRef) -> int:
        kind = (ref.type or "").split(";")[0].strip().lower()
        return PREFERENCE.index(kind) if kind in PREFERENCE else len(PREFERENCE)

    return sorted(refs, key=rank)


def download(client: httpx.Client, ref: TranscriptRef) -> tuple[bytes, str | None]:
    """The bytes of a transcript link and the content type the server gave."""
    if not ref.url.startswith(("http://", "https://")):
        raise FetchError(f"Transcript link {ref.url!r} is not http(s)")
    try:
        with client.stream("GET", ref.url) as resp:
            if resp.status_code != 200:
                raise FetchError(
                    f"Transcript {ref.url} answered HTTP {resp.status_code}",
                    transient=resp.status_code >= 500,
                )
            data = net.read_capped(resp, MAX_BYTES, f"Transcript {ref.url}")
            return data, resp.headers.get("content-type")
    except net.REQUEST_ERRORS as exc:
        msg = f"Transcript {ref.url!r} could not be fetched ({net.reason(exc)})"
        raise FetchError(msg, transient=True) from exc


def store_imported(
    store: Store,
    episode_id: int,
    imported: ImportedEpisode,
    language: str | None = None,
    *,
    whole: bool = False,
) -> int:
    """Store an imported transcript as the episode's `publisher` transcript (replacing an
    earlier one) with the chapter headings it carried; return the transcript id.

    `whole` (a user's import) replaces every transcript and speaker the episode had, Whisper's
    included, so the episode has one transcript, one set of speakers, one copy of each sentence
    in search; the show's voiceprints are rebuilt when a dropped speaker had a voice."""
    if not imported.segments:
        raise PodgrepError("The transcript holds no text to import")
    ep = store.get_episode(episode_id)
    duration = ep.duration or _probe_duration(store, ep)
    last = max(s.end for s in imported.segments)
    if duration and last > duration * 1.1 + 60:  # a transcript of something else, or bad times
        raise PodgrepError(
            f"The transcript's times run to {_clock(last)}, far beyond the episode's "
            f"{_clock(duration)}: it is not this episode's transcript, or its times are wrong"
        )
    voiced = whole and bool(store.speaker_vectors(episode_id))
    tid = store.replace_transcript(
        episode_id, SOURCE, None, language, imported.segments, whole=whole
    )
    # a diarizer's numbering (`SPEAKER_00`) stays a label the user can name, not a name
    store.unname_raw_labels(episode_id, SOURCE, is_raw_label)
    if voiced and ep.show_id is not None:
        store.refresh_voiceprints(ep.show_id)
    if imported.chapters and not store.chapter_rows(episode_id):
        store.set_chapters(episode_id, imported.chapters)
    return tid


def _local_media(store: Store, ep: Episode) -> Path | None:
    """The episode's media on this machine: the cached copy, or the local file it was added
    as, read only where the fetch step would read it (a folder, a file, or a feed that is a
    file itself: a feed from the web must not make podgrep open whatever file it names)."""
    if ep.media_path and Path(ep.media_path).is_file():
        return Path(ep.media_path)
    if not (ep.media_url or "").startswith("file://") or ep.show_id is None:
        return None
    show = store.get_show(ep.show_id)
    if not (
        show.kind == "local" or show.feed_url.startswith("file:") or "://" not in show.feed_url
    ):
        return None
    path = Path(urllib.parse.unquote(urllib.parse.urlparse(ep.media_url or "").path))
    return path if path.is_file() else None


def _probe_duration(store: Store, ep: Episode) -> float | None:
    """The duration of an episode not fetched yet, read from its media when it is on this
    machine (and remembered); None when nothing says."""
    path = _local_media(store, ep)
    if path is None or ep.id is None:
        return None
    try:
        duration = audio.probe(path).duration
    except PodgrepError:
        return None
    if duration:
        store.set_duration(ep.id, duration)
    return duration or None


def import_from_feed(store: Store, ep: Episode, client: httpx.Client) -> int | None:
    """Fetch and store the episode's best publisher transcript; None when no link worked."""
    assert ep.id is not None
    errors = []
    for ref in ranked(ep.transcripts)[:MAX_LINKS]:
        try:
            data, kind = download(client, ref)
            found = read_transcript(data, ref.url.rsplit("?", 1)[0], kind or ref.type)
        except PodgrepError as exc:
            errors.append(str(exc))
            continue
        if found and found[0].segments:
            return store_imported(store, ep.id, found[0], ref.language)
    return None


def pick_episode(found: list[ImportedEpisode], title: str, part: int | None) -> ImportedEpisode:
    """The episode of a multi-episode file meant for `title` (or the `part`-th, from 1)."""
    with_text = [e for e in found if e.segments]
    if part is not None:
        if not 1 <= part <= len(found):
            raise PodgrepError(f"--part must be between 1 and {len(found)}")
        return found[part - 1]
    if len(with_text) == 1:
        return with_text[0]
    if not with_text:
        raise PodgrepError("The file holds no transcript text")
    words = set(_words(title))
    scored = sorted(
        with_text, key=lambda e: -len(words & set(_words(e.title or ""))) / (len(words) or 1)
    )
    best = scored[0]
    overlap = len(words & set(_words(best.title or ""))) / (len(words) or 1)
    if overlap < 0.5:
        listing = "; ".join(f"{i + 1}: {e.title}" for i, e in enumerate(found))
        raise PodgrepError(
            f"The file holds {len(found)} episodes and none is titled like {title!r}: "
            f"choose one with --part N ({listing})"
        )
    return best


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _words(text: str) -> list[str]:
    return [w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split()]
