"""The steps of an episode's job: fetch its media, transcribe it, index it.

Each step is idempotent and resumable: it reads what is already stored and does only the rest.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from podgrep import audio
from podgrep.asr.whisper import WhisperEngine
from podgrep.config import Settings
from podgrep.domain import Episode
from podgrep.errors import MediaError
from podgrep.fetch import MediaCache
from podgrep.sources import url as url_source
from podgrep.store import SqliteStore

Progress = Callable[[float, float | None], None]


@dataclass
class StepContext:
    """What steps share during one sync: the store, settings, cache and a lazily loaded model."""

    store: SqliteStore
    settings: Settings
    cache: MediaCache
    _engine: WhisperEngine | None = None

    def engine(self) -> WhisperEngine:
        """The Whisper engine, loaded on first use and then reused for every episode."""
        if self._engine is None:
            self._engine = WhisperEngine.from_settings(self.settings)
        return self._engine


def _file_path(media_url: str) -> Path:
    return Path(urllib.parse.unquote(urllib.parse.urlparse(media_url).path))


def fetch(ctx: StepContext, ep: Episode, progress: Progress) -> None:
    """Bring the episode's media into the cache (or hash a local file) and check it is audio."""
    assert ep.id is not None and ep.media_url
    if ep.media_path and Path(ep.media_path).is_file():
        ctx.store.set_status(ep.id, "fetched")  # a run killed after the download finished
        return
    if ep.media_url.startswith("file://"):
        result = ctx.cache.add_file(_file_path(ep.media_url))
    elif ep.media_type == url_source.YTDLP_TYPE:
        downloads = ctx.cache.root / "partial" / "yt-dlp"
        result = ctx.cache.ingest(url_source.download_page_media(ep.media_url, downloads))
    else:
        result = ctx.cache.fetch(ep.media_url, progress=lambda done, total: progress(done, total))
    info = audio.check(Path(result.path), ep.media_url)
    ctx.store.set_media(ep.id, result.sha256, str(result.path))
    if info.duration:
        ctx.store.set_duration(ep.id, info.duration)
    ctx.store.set_status(ep.id, "fetched")


def _language(ctx: StepContext, ep: Episode) -> str | None:
    if ctx.settings.language:
        return ctx.settings.language
    assert ep.show_id is not None
    show_lang = ctx.store.get_show(ep.show_id).language
    return show_lang.split("-")[0].lower() if show_lang else None


def transcribe(ctx: StepContext, ep: Episode, progress: Progress) -> None:
    """Transcribe the episode window by window, writing segments as they arrive."""
    assert ep.id is not None
    if not ep.media_path or not Path(ep.media_path).is_file():
        raise MediaError(f"The media of episode {ep.id} is missing from the cache: run sync again")
    engine = ctx.engine()
    transcript = ctx.store.open_transcript(ep.id, "whisper", engine.name, None, None)
    assert transcript.id is not None
    if transcript.complete:  # a run killed after the last window: nothing to decode again
        ctx.store.set_status(ep.id, "transcribed")
        return
    samples = audio.decode(Path(ep.media_path), ep.media_url)
    total = len(samples) / audio.SAMPLE_RATE
    ctx.store.set_duration(ep.id, total)
    ctx.store.drop_partial_window(transcript.id)
    language = transcript.language
    if language is None:
        language, prob = _language(ctx, ep), None
        if language is None:
            language, prob = engine.detect_language(samples)
        ctx.store.set_language(transcript.id, language, prob)
    windows = ctx.store.windows(transcript.id)
    if windows is None:
        windows = audio.speech_windows(samples, ctx.settings.window_seconds)
        ctx.store.set_windows(transcript.id, windows)
    first = ctx.store.windows_done(transcript.id)
    progress(windows[first][0] / audio.SAMPLE_RATE if first < len(windows) else total, total)
    for w, seg in engine.transcribe_windows(samples, windows, language=language, first=first):
        if seg is None:
            ctx.store.finish_window(transcript.id, w)
            progress(windows[w][1] / audio.SAMPLE_RATE, total)
            continue
        ctx.store.add_segment(transcript.id, seg, w)
        progress(seg.end, total)
    ctx.store.complete_transcript(transcript.id)
    ctx.store.set_status(ep.id, "transcribed")


def index(ctx: StepContext, ep: Episode, progress: Progress) -> None:
    """Finish indexing: segments are searchable as written; merge the FTS index and mark it."""
    assert ep.id is not None
    ctx.store.optimize_index()
    ctx.store.set_status(ep.id, "indexed")
    progress(1, 1)


STEP_FUNCTIONS: dict[str, Callable[[StepContext, Episode, Progress], None]] = {
    "fetch": fetch,
    "transcribe": transcribe,
    "index": index,
}
