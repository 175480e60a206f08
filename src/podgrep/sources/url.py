"""Single media URLs: direct links to audio/video files, or pages yt-dlp can extract."""

from __future__ import annotations

import concurrent.futures
import re
import urllib.parse
from pathlib import Path, PurePosixPath
from typing import Any

from podgrep.domain import Episode, Show
from podgrep.errors import FetchError

URLS_SHOW_URL = "urls:added"  # the pseudo-show that collects single URLs
YTDLP_TYPE = "yt-dlp"  # media_type marking an episode whose media_url is a page for yt-dlp


def urls_show() -> Show:
    """The pseudo-show that holds single URLs."""
    return Show(id=None, feed_url=URLS_SHOW_URL, title="Added URLs", kind="url")


def direct_episode(url: str, content_type: str | None, length: int | None) -> Episode:
    """An episode for a URL that answers with media bytes."""
    name = PurePosixPath(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name
    title = PurePosixPath(name).stem.replace("_", " ").replace("-", " ").strip() or url
    return Episode(
        id=None,
        show_id=None,
        guid=url,
        title=title,
        media_url=url,
        media_type=content_type,
        media_length=length,
    )


class _Quiet:
    """yt-dlp prints errors itself even when quiet; podgrep reports them in its own words."""

    def debug(self, msg: str) -> None:
        """Drop."""

    info = warning = error = debug


PAGE_DEADLINE = 60.0  # seconds yt-dlp may spend reading a page before `add` gives up on it
SOCKET_TIMEOUT = 30.0  # yt-dlp's own per-read timeout (it makes its own connections)


def _ydl_options(**extra: Any) -> dict[str, Any]:
    return {
        "socket_timeout": SOCKET_TIMEOUT,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "noplaylist": True,
        "logger": _Quiet(),
        **extra,
    }


def _extract(url: str) -> dict[str, Any] | None:
    import yt_dlp

    try:
        with yt_dlp.YoutubeDL(_ydl_options()) as ydl:
            found = ydl.extract_info(url, download=False)
    except yt_dlp.utils.DownloadError:
        return None
    return found if isinstance(found, dict) else None


def page_episode(url: str, deadline: float = PAGE_DEADLINE) -> Episode | None:
    """An episode for a page yt-dlp can extract media from, or None when it cannot (or does
    not finish within `deadline` seconds: a page that drips must not hang `add`)."""
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="podgrep-yt-dlp")
    try:
        info = pool.submit(_extract, url).result(timeout=deadline)
    except concurrent.futures.TimeoutError:
        return None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if not info:
        return None
    if info.get("_type") == "playlist":
        entries = [e for e in info.get("entries") or [] if e]
        if not entries:
            return None
        # a page with one embedded player: the page's title names the talk better
        page_title = info.get("title") if len(entries) == 1 else None
        info = {**entries[0], "title": page_title or entries[0].get("title")}
    title = info.get("title") or url
    if info.get("extractor") in ("generic", "html5"):
        # the generic extractor numbers embedded players: "Page title (1)" for id "page-1"
        m = re.match(r"^(.*) \((\d+)\)$", title)
        if m and str(info.get("id", "")).endswith("-" + m.group(2)):
            title = m.group(1)
    return Episode(
        id=None,
        show_id=None,
        guid=info.get("webpage_url") or url,
        title=title,
        media_url=url,
        media_type=YTDLP_TYPE,
        duration=info.get("duration"),
        published=info.get("timestamp"),
        link=info.get("webpage_url") or url,
        show_notes_html=info.get("description"),
        image=info.get("thumbnail"),
    )


def download_page_media(url: str, dest: Path) -> Path:
    """Download the best audio of a yt-dlp page into `dest` (resuming a .part file)."""
    import yt_dlp

    dest.mkdir(parents=True, exist_ok=True)
    opts = _ydl_options(
        format="bestaudio/best",
        outtmpl=str(dest / "%(id)s.%(ext)s"),
        continuedl=True,
        retries=5,
    )
    try:
        with yt_dlp.YoutubeDL(opts) as ydl:
            info = ydl.extract_info(url, download=True)
            path = Path(ydl.prepare_filename(info))
    except yt_dlp.utils.DownloadError as exc:
        raise FetchError(
            f"yt-dlp could not download {url}: {str(exc)[:200]}", transient=True
        ) from exc
    if not path.is_file():
        raise FetchError(f"yt-dlp reported no file for {url}")
    return path
