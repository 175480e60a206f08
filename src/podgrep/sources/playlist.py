"""Video channels and playlists: anything yt-dlp lists as a playlist, followed like a feed.

`podgrep add URL` lists the page once with yt-dlp's flat listing (`--flat-playlist`: the
entries named, none resolved or downloaded, no media read); a listing of several entries (or
any playlist from a site's own extractor: a channel, a playlist) makes a show of kind
`playlist` whose entries are episodes. Every sync lists it again the same way and adds the
entries it has not seen (`refresh`). Each entry's audio is downloaded later, by the fetch
step, through yt-dlp with `bestaudio/best` (`url.download_page_media`).

The listing runs in the same bounded yt-dlp child as single pages (`url._run`: a whole
deadline, capped output, limited memory). The playlist's address is the user's choice, but
what it lists is the page's content: an entry is kept only where podgrep would fetch the
playlist's content itself (`net.content_rules`: public addresses, and the machine the user
named the playlist by, by address), checked at listing and again before its download.
"""

from __future__ import annotations

import calendar
import json
import re
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from podgrep import net
from podgrep.domain import Episode, Show
from podgrep.errors import SourceError
from podgrep.sources import url as url_source

KIND = "playlist"  # shows.kind of a followed channel or playlist
MAX_ENTRIES = 1000  # entries one listing reads (a site's newest first, a page's in order)
_PAGE_EXTRACTORS = ("generic", "html5")  # yt-dlp's readers of any page (embedded players)


def list_page(page_url: str, deadline: float | None = None) -> dict[str, Any]:
    """yt-dlp's flat listing of a page: a playlist's entries unresolved, or one video's
    info. Raises SourceError with yt-dlp's reason (a dead link, a page with no media)."""
    args = url_source._ydl_args(
        "--flat-playlist",
        "--playlist-end",
        str(MAX_ENTRIES),
        "--dump-single-json",
        "--",
        page_url,
    )
    outcome = url_source._run(
        args,
        deadline=url_source.PAGE_DEADLINE if deadline is None else deadline,
        stdout_max=url_source.INFO_MAX_BYTES,
    )
    if outcome.stopped:
        raise SourceError(f"yt-dlp stopped reading {page_url}: {outcome.stopped}")
    if outcome.returncode != 0:
        raise SourceError(
            f"yt-dlp could not list {page_url}: {_short(url_source._reason(outcome))}"
        )
    try:
        found = json.loads(outcome.stdout)
    except (ValueError, RecursionError):
        found = None
    if not isinstance(found, dict):
        raise SourceError(f"yt-dlp gave no listing for {page_url}")
    return found


def _short(reason: str) -> str:
    """yt-dlp's reason without its extractor tag and repeated cause: `[generic] id: Unable to
    download webpage: HTTP Error 404: Not Found (caused by <HTTPError 404: …>)` → `Unable to
    download webpage: HTTP Error 404: Not Found`."""
    reason = re.sub(r"^\[[\w:.-]+\] [^:]{0,200}: ", "", reason)
    return re.sub(r" \(caused by .*\)$", "", reason)


def _entries(info: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in info.get("entries") or [] if isinstance(e, dict)]


def is_playlist(info: dict[str, Any]) -> bool:
    """Whether a listing is a playlist to follow: a site's playlist or channel (its own
    extractor), or a page with several embedded players; a page with one player is a single
    episode, as before."""
    if info.get("_type") != "playlist":
        return False
    if str(info.get("extractor") or "").lower() in _PAGE_EXTRACTORS:
        return len(_entries(info)) >= 2
    return True


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _http(value: Any, base: str) -> str | None:
    """An absolute http(s) URL from a listing's field, else None."""
    text = _text(value)
    if text is None:
        return None
    try:
        absolute = urllib.parse.urljoin(base, text)
        parts = urllib.parse.urlsplit(absolute)
    except ValueError:
        return None
    return absolute if parts.scheme in ("http", "https") and parts.hostname else None


def _published(entry: dict[str, Any]) -> float | None:
    for key in ("timestamp", "release_timestamp"):
        value = url_source._number(entry.get(key))
        if value is not None:
            return float(value)
    for key in ("upload_date", "release_date"):
        day = _text(entry.get(key))
        if day and len(day) == 8 and day.isdigit():
            try:
                return float(calendar.timegm(time.strptime(day, "%Y%m%d")))
            except ValueError:
                continue
    return None


def _thumbnail(entry: dict[str, Any], base: str) -> str | None:
    found = _http(entry.get("thumbnail"), base)
    if found:
        return found
    thumbs = [t for t in entry.get("thumbnails") or [] if isinstance(t, dict)]
    for thumb in reversed(thumbs):  # yt-dlp lists them worst first
        found = _http(thumb.get("url"), base)
        if found:
            return found
    return None


def _audio_url(entry: dict[str, Any], base: str) -> str | None:
    """The media address of an entry yt-dlp resolved while listing (an embedded player:
    its formats are the files themselves): an audio-only format first, then any with audio."""
    formats = [f for f in entry.get("formats") or [] if isinstance(f, dict)]
    audio_only = [f for f in formats if f.get("vcodec") == "none" and f.get("acodec") != "none"]
    with_audio = [f for f in formats if f.get("acodec") != "none"]
    for f in [*audio_only, *with_audio, *formats]:
        found = _http(f.get("url"), base)
        if found:
            return found
    return _http(entry.get("url"), base)


def entry_url(entry: dict[str, Any], base: str) -> str | None:
    """Where an entry's audio is downloaded from with yt-dlp: the entry's own page for a
    site's playlist (a video's address), the media file for an embedded player."""
    if entry.get("_type") in ("url", "url_transparent"):
        return _http(entry.get("url"), base) or _http(entry.get("webpage_url"), base)
    return _audio_url(entry, base) or _http(entry.get("webpage_url"), base)


def entry_episode(entry: dict[str, Any], base: str) -> Episode | None:
    """An episode for one listed entry, or None when it names no http(s) address."""
    where = entry_url(entry, base)
    if where is None:
        return None
    link = _http(entry.get("webpage_url"), base) or where
    return Episode(
        id=None,
        show_id=None,
        guid=where,
        title=_text(entry.get("title")) or where,
        media_url=where,
        media_type=url_source.YTDLP_TYPE,
        duration=url_source._number(entry.get("duration")),
        published=_published(entry),
        link=link,
        show_notes_html=_text(entry.get("description")),
        image=_thumbnail(entry, base),
    )


def _reachable(rules: net.Guard) -> Callable[[str], bool]:
    """`net.may_reach` under `rules`, asked once per scheme, host and port of a listing."""
    seen: dict[tuple[str, str, int | None], bool] = {}

    def check(address: str) -> bool:
        try:
            parts = urllib.parse.urlsplit(address)
            key = (parts.scheme, parts.hostname or "", parts.port)
        except ValueError:
            return False
        if key not in seen:
            seen[key] = net.may_reach(rules, address)
        return seen[key]

    return check


def show_of(
    info: dict[str, Any], page_url: str, rules: net.Guard
) -> tuple[Show, list[Episode], int]:
    """The show and episodes of a playlist listing, and how many entries were left out
    because `rules` (the playlist's content rules) would not let podgrep reach them."""
    base = _http(info.get("webpage_url"), page_url) or page_url
    title = (
        _text(info.get("title"))
        or _text(info.get("channel"))
        or _text(info.get("uploader"))
        or page_url
    )
    show = Show(
        id=None,
        feed_url=page_url,
        title=title,
        kind=KIND,
        author=_text(info.get("channel")) or _text(info.get("uploader")),
        description=_text(info.get("description")),
        image=_thumbnail(info, base),
        link=base,
    )
    allowed = _reachable(rules)
    episodes: list[Episode] = []
    refused = 0
    seen: set[str] = set()
    for entry in _entries(info):
        ep = entry_episode(entry, base)
        if ep is None or ep.guid in seen:
            continue
        seen.add(ep.guid)
        if not allowed(ep.media_url or ""):
            refused += 1
            continue
        episodes.append(ep)
    if refused and not episodes:
        raise SourceError(
            f"{page_url} lists {refused} entr{'y' if refused == 1 else 'ies'}, all on loopback, "
            "private or reserved addresses podgrep does not fetch for a page's content: add them "
            "to allow_networks in podgrep.toml (PODGREP_ALLOW_NETWORKS) if they are yours"
        )
    return show, episodes, refused


def rules_for(base: net.Guard, show: Show) -> net.Guard:
    """Where a playlist's entries may be fetched from: its content rules."""
    return net.content_rules(base, show.feed_url, remote=not show.chosen_by_user)


def check(show: Show, base: net.Guard) -> tuple[Show, list[Episode]]:
    """List a followed playlist again (a sync's check): its show and current entries."""
    info = list_page(show.feed_url)
    if info.get("_type") != "playlist":
        raise SourceError(f"{show.feed_url} no longer lists a playlist (yt-dlp reads one video)")
    listed, episodes, _ = show_of(info, show.feed_url, rules_for(base, show))
    return listed, episodes


def may_download(show: Show, ep: Episode, base: net.Guard) -> bool:
    """Whether an entry's address is still one podgrep may reach for this playlist (DNS can
    change between the listing and the download)."""
    return bool(ep.media_url) and net.may_reach(rules_for(base, show), ep.media_url or "")
