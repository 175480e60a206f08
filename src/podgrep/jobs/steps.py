"""The steps of an episode's job: fetch its media, transcribe it, index it.

Each step is idempotent and resumable: it reads what is already stored and does only the rest.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from podgrep import audio, net
from podgrep.asr.language import choose_model, spoken
from podgrep.asr.plan import Window
from podgrep.asr.whisper import Engines
from podgrep.config import Settings
from podgrep.domain import Episode, Segment, Show
from podgrep.errors import DiskFullError, FetchError, MediaError, full_disk_cause
from podgrep.fetch import MediaCache
from podgrep.sources import playlist
from podgrep.sources import url as url_source
from podgrep.store import Store

Progress = Callable[[float, float | None], None]


@dataclass
class StepContext:
    """What steps share during one sync: the store, settings, cache and lazily loaded models."""

    store: Store
    settings: Settings
    cache: MediaCache
    notify: Callable[[str], None] | None = None
    # set to stop the run (a web server shutting down): the step running is given back at its
    # next progress report, as Ctrl-C gives it back (jobs.worker.Stopped)
    cancel: threading.Event | None = None
    engine: Engines = field(init=False)  # engine(model): loaded once, reused for every episode

    def __post_init__(self) -> None:
        self.engine = Engines(self.settings, self.notify)


def _file_path(media_url: str) -> Path:
    return Path(urllib.parse.unquote(urllib.parse.urlparse(media_url).path))


def _check_local_media_allowed(ctx: StepContext, ep: Episode) -> None:
    """A file: enclosure is read only for local sources and for feeds that are local files
    themselves: a feed from the web must not make podgrep read (and hash, and transcribe into
    a searchable library) whatever file of this machine it names."""
    assert ep.show_id is not None
    show = ctx.store.get_show(ep.show_id)
    if show.kind == "local" or show.feed_url.startswith("file:") or "://" not in show.feed_url:
        return
    raise MediaError(
        f"Episode {ep.id} of {show.feed_url} points at a local file ({ep.media_url}); "
        "podgrep reads local files only for folders, files and feeds on this machine"
    )


def fetch(ctx: StepContext, ep: Episode, progress: Progress) -> None:
    """Bring the episode's media into the cache (or hash a local file) and check it is audio."""
    assert ep.id is not None and ep.media_url
    if ep.media_path and Path(ep.media_path).is_file():
        ctx.store.set_status(ep.id, "fetched")  # a run killed after the download finished
        return
    if ep.media_kept == "none":  # dropped once transcribed (retention): fetched when needed
        ctx.store.set_status(ep.id, "fetched")
        return
    show = ctx.store.get_show(ep.show_id) if ep.show_id is not None else None
    if ep.media_url.startswith("file://"):
        _check_local_media_allowed(ctx, ep)
        result = ctx.cache.add_file(_file_path(ep.media_url))
    elif (
        ep.media_type == url_source.YTDLP_TYPE
        and show is not None
        and show.kind in ("url", "playlist")
        and not ep.remote
    ):
        # only pages the user added (url.page_episode) and the entries of playlists the user
        # added (sources/playlist.py): yt-dlp makes its own connections, which no guard
        # watches, so a feed's enclosure (or a remote caller's URL) never reaches it
        # (a playlist's entry: its address and its chosen format's, checked before; DNS can
        # change since the listing, and the entry's page can put its media anywhere)
        refused = (
            playlist.unreachable_media(ep.media_url, content_guard(ctx, ep, show))
            if show.kind == "playlist"
            else None
        )
        if refused is not None:
            raise MediaError(
                f"Episode {ep.id} of {show.feed_url} would download from {refused}, a loopback, "
                "private or reserved address podgrep does not fetch for a playlist's entries: "
                "add it to allow_networks in podgrep.toml (PODGREP_ALLOW_NETWORKS) if it is yours"
            )
        downloads = ctx.cache.root / "partial" / "yt-dlp"
        ctx.cache.ensure_space()
        kbps = ctx.settings.min_download_kbps
        try:
            path = url_source.download_page_media(
                ep.media_url,
                downloads,
                min_rate=kbps * 1024 if kbps and kbps > 0 else None,
                max_bytes=ctx.settings.max_download_mb * 1024 * 1024,
                progress=progress,
            )
            result = ctx.cache.ingest(path)
        except FetchError as exc:  # yt-dlp reports a full disk as a download error
            if full_disk_cause(exc) or "No space left on device" in str(exc):
                raise DiskFullError.about(ctx.cache.root, reserve=ctx.cache.reserve_bytes) from exc
            raise
    else:
        guard: net.Guard | None = None  # a URL the user added: fetched wherever it is
        if show is not None and show.kind == "feed":
            guard = content_guard(ctx, ep, show)  # an enclosure is the feed's content
        elif ep.remote:  # added by a remote API caller: public addresses only
            guard = net.content_guard(ctx.settings, None, remote=True)
        result = ctx.cache.fetch(
            ep.media_url, progress=lambda done, total: progress(done, total), guard=guard
        )
    info = audio.check(Path(result.path), ep.media_url)
    ctx.store.set_media(ep.id, result.sha256, str(result.path))
    if info.duration:
        ctx.store.set_duration(ep.id, info.duration)
    ctx.store.set_status(ep.id, "fetched")


def local_media(ctx: StepContext, ep: Episode) -> Episode:
    """The episode with its media in this worker's cache: a worker on another machine (or a
    cache emptied since) fetches it again, and the content must be what was fetched before."""
    assert ep.id is not None
    if ep.media_path and Path(ep.media_path).is_file():
        return ep
    cached = ctx.cache.path_for(ep.media_sha256) if ep.media_sha256 else None
    if cached is not None:  # the same content in this cache (another worker's copy path)
        ctx.store.set_media(ep.id, str(ep.media_sha256), str(cached))
        return ctx.store.get_episode(ep.id)
    fetch(ctx, replace(ep, media_path=None, media_kept=None), lambda done, total: None)
    ctx.store.set_status(ep.id, ep.status)  # fetch marks it "fetched": it is further on
    fetched = ctx.store.get_episode(ep.id)
    if ep.media_sha256 and fetched.media_sha256 != ep.media_sha256:
        raise MediaError(
            f"The media of episode {ep.id} changed since it was first fetched"
            f" ({ep.media_url}): its transcript no longer matches it; re-add the episode"
        )
    return fetched


def _feed_language(ctx: StepContext, ep: Episode) -> str | None:
    if ctx.settings.language:
        return ctx.settings.language
    assert ep.show_id is not None
    show_lang = ctx.store.get_show(ep.show_id).language
    return show_lang.split("-")[0].lower() if show_lang else None


def transcribe(ctx: StepContext, ep: Episode, progress: Progress) -> None:
    """Transcribe the episode window by window as the audio streams in; each window is written
    in one transaction, so a killed run resumes at the first window not written."""
    assert ep.id is not None and ep.media_url
    # a retranscription (`ep.model`, podgrep retranscribe) is Whisper's whatever else it has
    if not ep.model and publisher_transcript(ctx, ep) and not ctx.settings.whisper_too:
        ctx.store.set_status(ep.id, "transcribed")  # the publisher's own text, no Whisper
        progress(1, 1)
        return
    ep = local_media(ctx, ep)
    assert ep.id is not None and ep.media_url and ep.media_path
    path = Path(ep.media_path)
    transcript = ctx.store.resumable_transcript(ep.id, "whisper")
    if ep.model:  # that model's transcript, written out of search beside the old one
        from podgrep.retranscribe import retranscript

        transcript = retranscript(ctx.store, ep, transcript, _feed_language(ctx, ep))
        if transcript is None:  # finished and swapped in already
            ctx.store.set_status(ep.id, "transcribed")
            return
    if transcript is None:
        if ctx.store.finished_transcript(ep.id, "whisper"):  # killed just after finishing
            ctx.store.set_status(ep.id, "transcribed")
            return
        model, language = choose_model(ctx.settings, _feed_language(ctx, ep))
        transcript = ctx.store.open_transcript(ep.id, "whisper", model, language, None)
    assert transcript.id is not None and transcript.model
    engine = ctx.engine(transcript.model)
    tid = transcript.id
    ctx.store.drop_partial_window(tid)  # left by a version that wrote segments one by one
    target, cuts = ctx.store.windows(tid)
    if target is None:
        target = ctx.settings.window_seconds
        ctx.store.set_windows(tid, target, cuts)
    first = ctx.store.windows_done(tid)
    skip = cuts[first][0] if first < len(cuts) else (cuts[-1][1] if cuts else 0)
    total = ep.duration
    shown = [-1.0]

    def at(seconds: float) -> None:  # the bar only moves forward, and not past the end
        seconds = min(seconds, total) if total else seconds
        if seconds > shown[0]:
            shown[0] = seconds
            progress(seconds, total)

    at(skip / audio.SAMPLE_RATE)

    def planned(window: Window) -> None:
        if window.index >= len(cuts):
            cuts.append((window.start, window.end))
            ctx.store.set_windows(tid, target, cuts)

    before = []  # the text of the window before the first one left: it prompts that one
    if first > 0:
        start = cuts[first - 1][0] / audio.SAMPLE_RATE
        before = [s for s in ctx.store.segments(tid) if s.start >= start]
    blocks = audio.stream(path, ep.media_url, skip_samples=skip)
    heard: list[Segment] = []  # this run's segments: the detector's confidence is on them
    for window, segments in engine.transcribe_stream(
        blocks,
        language=transcript.language,
        window_seconds=target,
        known_windows=cuts,
        first=first,
        on_window=planned,
        before=before,
        on_progress=lambda decoded: at(skip / audio.SAMPLE_RATE + decoded),
        hotwords=_hotwords(ctx, ep),
    ):
        ctx.store.add_window(tid, window.index, segments)
        at(window.end / audio.SAMPLE_RATE)
        heard += segments
    if cuts:
        ctx.store.set_duration(ep.id, cuts[-1][1] / audio.SAMPLE_RATE)
    if transcript.language is None:  # found chunk by chunk: the one most speech was in
        language = spoken(ctx.store.segments(tid))[0] or "en"
        prob = spoken(s for s in heard if s.language == language)[1]
        ctx.store.set_language(tid, language, prob)
    if ep.model:  # a retranscription: it replaces the old transcript in one transaction
        ctx.store.swap_transcript(ep.id, tid)
    else:
        ctx.store.complete_transcript(tid)
    ctx.store.set_status(ep.id, "transcribed")


def _hotwords(ctx: StepContext, ep: Episode) -> str | None:
    """The names Whisper is prompted with (`asr.hotwords`), from the stored episode and show
    only, so a resumed run prompts as the first did; None when the `hotwords` setting is off."""
    from podgrep.asr.hotwords import episode_hotwords

    if not ctx.settings.hotwords:
        return None
    show = ctx.store.get_show(ep.show_id) if ep.show_id is not None else None
    return episode_hotwords(show, ep) or None


def content_guard(ctx: StepContext, ep: Episode, show: Show | None = None) -> net.Guard:
    """Where what the episode's feed links to may be fetched from (see net.content_guard);
    `show` is the episode's show when the caller has it already."""
    assert ep.show_id is not None
    show = show or ctx.store.get_show(ep.show_id)
    return net.content_guard(
        ctx.settings, show.feed_url, remote=not show.chosen_by_user or bool(ep.remote)
    )


def content_client(ctx: StepContext, ep: Episode) -> httpx.Client:
    """A client for what the episode's feed links to (transcripts, chapters)."""
    return net.client(ctx.settings, guard=content_guard(ctx, ep))


def publisher_transcript(ctx: StepContext, ep: Episode) -> bool:
    """Whether the episode has the publisher's transcript, fetching it now if it links one."""
    from podgrep.transcripts.publisher import import_from_feed

    assert ep.id is not None
    if ctx.store.finished_transcript(ep.id, "publisher"):
        return True
    if not ep.transcripts:
        return False
    with content_client(ctx, ep) as client:
        return import_from_feed(ctx.store, ep, client) is not None


def speakers(ctx: StepContext, ep: Episode, progress: Progress) -> None:
    """Label every segment with its speaker and name the speakers where the episode lets us."""
    from podgrep.speakers.label import label_episode

    ep = local_media(ctx, ep)
    total = ep.duration
    progress(0, total)
    label_episode(ctx.store, ep, progress=lambda seconds: progress(seconds, total))
    from podgrep.retention import after_listening  # nothing after this step needs the audio

    after_listening(ctx.store, ctx.settings, ctx.cache.root, ep, ctx.notify)
    progress(total or 1, total or 1)


def index(ctx: StepContext, ep: Episode, progress: Progress) -> None:
    """Finish indexing: chapters, links and passage vectors; merge the FTS index and mark it."""
    from podgrep.enrich.episode import INDEX_PARTS, enrich_episode
    from podgrep.semantic.embed import shared_embedder

    assert ep.id is not None
    parts = INDEX_PARTS + 1  # and merging the full-text index
    progress(0, parts)
    with content_client(ctx, ep) as client:
        enrich_episode(
            ctx.store,
            ctx.store.get_episode(ep.id),
            shared_embedder(ctx.settings.cpu_threads),
            client,
            progress=lambda done: progress(done, parts),
        )
    ctx.store.optimize_index()
    ctx.store.set_status(ep.id, "indexed")
    progress(parts, parts)


STEP_FUNCTIONS: dict[str, Callable[[StepContext, Episode, Progress], None]] = {
    "fetch": fetch,
    "transcribe": transcribe,
    "speakers": speakers,
    "index": index,
}
