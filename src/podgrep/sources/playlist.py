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
named the playlist by, by address), checked at listing and again before its download, with
the addresses of the format yt-dlp chooses for it (`unreachable_media`). What a listing leaves
out (refused entries, a channel's tabs it could not list) comes back as `notes`.
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
from podgrep.errors import FetchError, SourceError
from podgrep.sources import url as url_source

KIND = "playlist"  # shows.kind of a followed channel or playlist
MAX_ENTRIES = 1000  # entries one listing reads (a site's newest first, a page's in order)
MAX_TABS = 3  # nested playlists listed without entries (a channel's tabs) listed once more each
_PAGE_EXTRACTORS = ("generic", "html5")  # yt-dlp's readers of any page (embedded players)


def list_page(
    page_url: str, deadline: float | None = None, *, expand: bool = True
) -> dict[str, Any]:
    """yt-dlp's flat listing of a page: a playlist's entries unresolved, or one video's
    info; with `expand`, its nested playlists listed without entries (a channel root's tabs)
    listed too (`expand_tabs`). Raises SourceError with yt-dlp's reason (a dead link, a page
    with no media)."""
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
    if not expand:
        return found
    return expand_tabs(found, page_url, lambda where: list_page_once(where, deadline))


def list_page_once(page_url: str, deadline: float | None = None) -> dict[str, Any]:
    """One flat listing of a nested playlist (a channel's tab), its own tabs left unlisted."""
    return list_page(page_url, deadline, expand=False)


def _nested(entry: dict[str, Any]) -> bool:
    """Whether a listed entry is a playlist of its own (a channel root's Videos, Shorts and
    Live tabs) rather than a video: yt-dlp names it `_type: playlist` when it listed it, or
    an unresolved `url` entry for a playlist extractor (`YoutubeTab`) when it did not."""
    if entry.get("_type") == "playlist":
        return True
    key = str(entry.get("ie_key") or "").lower()
    return entry.get("_type") in ("url", "url_transparent") and key.endswith(
        ("tab", "playlist", "channel")
    )


def expand_tabs(
    info: dict[str, Any], page_url: str, lister: Callable[[str], dict[str, Any]]
) -> dict[str, Any]:
    """`info` with its nested playlists that came without entries listed by `lister`, at
    most MAX_TABS of them (one bounded listing each); those past the limit or failing to list
    stay without entries and are counted by `unlisted`."""
    budget = MAX_TABS
    entries = info.get("entries")
    if not isinstance(entries, list):
        return info
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not _nested(entry):
            continue
        if isinstance(entry.get("entries"), list):  # listed already (maybe empty)
            continue
        where = _http(entry.get("url"), page_url) or _http(entry.get("webpage_url"), page_url)
        if where is None or budget <= 0:
            continue
        budget -= 1
        try:
            got = lister(where)
        except SourceError:
            continue
        if got.get("_type") == "playlist":
            entries[i] = {**got, "_type": "playlist"}
    return info


def _short(reason: str) -> str:
    """yt-dlp's reason without its extractor tag and repeated cause: `[generic] id: Unable to
    download webpage: HTTP Error 404: Not Found (caused by <HTTPError 404: …>)` → `Unable to
    download webpage: HTTP Error 404: Not Found`."""
    reason = re.sub(r"^\[[\w:.-]+\] [^:]{0,200}: ", "", reason)
    return re.sub(r" \(caused by .*\)$", "", reason)


def _entries(info: dict[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    """A listing's entries, those of its nested playlists (a channel's tabs) in their place;
    a nested playlist without entries gives none (`unlisted` counts them)."""
    found: list[dict[str, Any]] = []
    for entry in info.get("entries") or []:
        if not isinstance(entry, dict):
            continue
        if _nested(entry):
            if depth < 3:
                found += _entries(entry, depth + 1)
            continue
        found.append(entry)
    return found


def unlisted(info: dict[str, Any], depth: int = 0) -> list[str]:
    """The nested playlists of a listing that came without entries (their titles or
    addresses): what a show of it leaves out."""
    left: list[str] = []
    for entry in info.get("entries") or []:
        if isinstance(entry, dict) and _nested(entry):
            inner = entry.get("entries")
            if isinstance(inner, list):
                if depth < 3:
                    left += unlisted(entry, depth + 1)
            else:
                name = _text(entry.get("title")) or _text(entry.get("url")) or "a playlist"
                left.append(name)
    return left


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


def notes(info: dict[str, Any], page_url: str, refused: int) -> list[str]:
    """The `note:` lines about what a listing of `page_url` left out: entries its content
    rules do not let podgrep reach, nested playlists (tabs) not listed."""
    found: list[str] = []
    if refused:
        found.append(
            f"{refused} entr{'y' if refused == 1 else 'ies'} of {page_url} left out: "
            f"{'its address is' if refused == 1 else 'their addresses are'} not reachable "
            "under its rules"
        )
    left = unlisted(info)
    if left:
        found.append(
            f"{len(left)} playlist(s) inside {page_url} not listed ({', '.join(left[:3])}"
            f"{', …' if len(left) > 3 else ''}): add each by its own address to follow it"
        )
    return found


def check(show: Show, base: net.Guard) -> tuple[Show, list[Episode], list[str]]:
    """List a followed playlist again (a sync's check): its show, current entries and the
    notes about what it left out. A page whose players dropped to one (yt-dlp then reads a
    single video, not a playlist) lists that one entry, the show as it was."""
    info = list_page(show.feed_url)
    if info.get("_type") != "playlist":
        info = {
            "_type": "playlist",
            "title": show.title,
            "channel": show.author,
            "description": show.description,
            "thumbnail": show.image,
            "webpage_url": show.link or show.feed_url,
            "entries": [info],
        }
    listed, episodes, refused = show_of(info, show.feed_url, rules_for(base, show))
    return listed, episodes, notes(info, show.feed_url, refused)


def media_addresses(entry: str, deadline: float | None = None) -> list[str]:
    """Where yt-dlp would download an entry's audio from: the URLs of the format it chooses
    (`bestaudio/best`, as `url.download_page_media`), from one bounded run that downloads
    nothing. Raises FetchError (transient, as a failed download) when yt-dlp cannot say."""
    args = url_source._ydl_args(
        "--format", "bestaudio/best", "--playlist-items", "1", "--print", "urls", "--", entry
    )
    outcome = url_source._run(
        args,
        deadline=url_source.PAGE_DEADLINE if deadline is None else deadline,
        stdout_max=url_source.INFO_MAX_BYTES,
    )
    if outcome.stopped:
        raise FetchError(f"yt-dlp stopped reading {entry}: {outcome.stopped}", transient=True)
    if outcome.returncode != 0:
        raise FetchError(
            f"yt-dlp could not read {entry}: {_short(url_source._reason(outcome))}", transient=True
        )
    text = outcome.stdout.decode("utf-8", "replace")
    found = [line.strip() for line in text.splitlines() if line.strip()]
    if not found:
        raise FetchError(f"yt-dlp names no media for {entry}")
    return found


def unreachable_media(where: str, rules: net.Guard) -> str | None:
    """The address an entry's download would reach that `rules` (the playlist's content
    rules) do not let podgrep reach: the entry's own address, else a URL of the format yt-dlp
    chooses; None when all are allowed. yt-dlp's own connections are not guarded: this
    checks them before the download; a redirect during the download itself is not seen."""
    if not net.may_reach(rules, where):
        return where
    allowed = _reachable(rules)
    for address in media_addresses(where):
        if _http(address, where) is None or not allowed(address):
            return address
    return None
