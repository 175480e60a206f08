"""Adding sources (feed, media URL, file, folder) to the library and refreshing them."""

from __future__ import annotations

import concurrent.futures
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from podgrep import net, opml
from podgrep.backlog import Backlog
from podgrep.domain import Episode, Show
from podgrep.errors import FeedError, PodgrepError, SourceError
from podgrep.sources import feed, local, playlist, url
from podgrep.store import Store


@dataclass
class AddResult:
    """What `podgrep add` did."""

    show: Show
    kind: str  # feed | playlist | url | file | folder
    created: bool
    new_episodes: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what it left out, for `note:` lines


def http_client(
    timeout: float = 30.0, settings: object | None = None, *, guard: net.Guard | None = None
) -> httpx.Client:
    """The HTTP client podgrep uses for feeds and pages: per-read `timeout`, a total deadline
    and (with `guard`) limits on the addresses it may reach; see `podgrep.net`."""
    return net.client(settings, guard=guard, timeout=timeout)


def _local_path(target: str) -> Path | None:
    if target.startswith("file://"):
        return Path(urllib.parse.unquote(urllib.parse.urlparse(target).path))
    if "://" in target:
        return None
    return Path(target).expanduser()


def _store_show(
    store: Store, show: Show, episodes: list[Episode], backlog: Backlog | None = None
) -> tuple[int, bool, list[int]]:
    show_id, created = store.add_show(show)
    if not created and show.kind in ("feed", playlist.KIND):
        store.update_show(show_id, show)
    playable = [e for e in episodes if e.media_url]
    hold = backlog.held(playable) if backlog is not None else ()  # backlog.py: `--latest`
    return show_id, created, store.add_episodes(show_id, playable, hold)


def add_source(
    store: Store,
    target: str,
    *,
    client: httpx.Client | None = None,
    guard: net.Guard | None = None,
    local_paths: bool = True,
    backlog: Backlog | None = None,
    feeds_only: bool = False,
    within: str | None = None,
) -> AddResult:
    """Add a feed URL, media URL, page URL, media file or folder to the library.

    `local_paths=False` refuses paths on this machine; `guard` (with the client built for it) is
    how remote requests are kept off loopback and private addresses. `backlog` holds a new
    feed's or folder's older episodes back (`--latest`/`--since`); `feeds_only` refuses media
    and pages (an OPML list's outlines). `within`: the URL of the OPML list `target` is an
    outline of: it is fetched under that list's content rules, not as a typed address, and a
    show it creates is not chosen by the user (see opml.py). An OPML list raises
    `opml.OpmlDocument`."""
    path = _local_path(target)
    if path is not None and not local_paths:
        raise SourceError(f"{target!r} is not an http(s) URL")
    if path is not None:
        if path.is_dir():
            show, episodes = local.scan_folder(path)
            sid, created, new = _store_show(store, show, episodes, backlog)
            return AddResult(store.get_show(sid), "folder", created, new)
        if path.is_file():
            if not local.is_media(path):
                opml.check_file(path, net.FEED_MAX_BYTES)  # a subscription list: raised
                raise SourceError(
                    f"{path} does not look like audio or video (suffix {path.suffix or 'none'}): "
                    f"podgrep reads {', '.join(sorted(local.MEDIA_SUFFIXES))}"
                )
            show, episode = local.single_file(path)
            sid, created, new = _store_show(store, show, [episode])
            return AddResult(store.get_show(sid), "file", created, new)
        if "/" in target or target.startswith(("~", ".")) or Path(target).suffix:
            raise SourceError(f"{path} does not exist: check the path")
        raise SourceError(
            f"{target!r} is not a URL, file or folder: give a feed URL (https://…), "
            "a media URL, or a path"
        )
    parsed = urllib.parse.urlparse(target)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SourceError(f"{target!r} is not an http(s) URL, file or folder")
    own = client is None
    client = client or http_client(guard=guard)
    try:
        return _add_url(
            store, target, client, guard, backlog=backlog, feeds_only=feeds_only, within=within
        )
    finally:
        if own:
            client.close()


def _add_url(
    store: Store,
    target: str,
    client: httpx.Client,
    guard: net.Guard | None,
    *,
    backlog: Backlog | None = None,
    feeds_only: bool = False,
    within: str | None = None,
) -> AddResult:
    base = net.guard_of(client)
    if within is None:
        rules = net.source_rules(base, target)
    else:  # an outline of a list fetched from `within`: content of that address
        rules = net.content_rules(base, within, remote=base.restricted)
    try:
        with client.stream("GET", target, extensions=net.with_guard(rules)) as resp:
            moved = feed.permanent_redirect(resp, target)
            if resp.status_code >= 400:
                raise SourceError(feed.status_message(target, resp, what=""))
            ctype = (resp.headers.get("content-type") or "").split(";")[0].strip().lower()
            length = resp.headers.get("content-length")
            suffix = Path(urllib.parse.urlparse(str(resp.url)).path).suffix.lower()
            if ctype.startswith(("audio/", "video/")) or (
                suffix in local.MEDIA_SUFFIXES and ctype in ("", "application/octet-stream")
            ):
                if feeds_only:
                    raise SourceError(f"{target} is a media file, not a feed")
                ep = url.direct_episode(target, ctype or None, int(length) if length else None)
                sid, created, new = _store_show(store, url.urls_show(), [ep])
                return AddResult(store.get_show(sid), "url", created, new)
            try:
                data = net.read_capped(resp, net.FEED_MAX_BYTES, target)
            except net.TooLarge as exc:
                raise SourceError(f"{exc}: too large for a feed, and it is not media") from exc
            etag, modified = resp.headers.get("etag"), resp.headers.get("last-modified")
    except net.REQUEST_ERRORS as exc:
        raise SourceError(f"Could not reach {target}: {net.reason(exc)}") from exc
    if opml.is_opml(bytes(data)):
        raise opml.OpmlDocument(target, bytes(data), url=target)
    if feed.looks_like_feed(bytes(data), ctype):
        show, episodes = feed.parse_feed(data, target)
        show.etag, show.last_modified = etag, modified
        # a feed already followed under its old or new address is the same show, not a new one;
        # not for a remote caller, whose feed could claim to be a show of the user's and take
        # it over (its address, episodes and the trust of a typed address); nor for an outline
        # of a list fetched from a URL, which is no more the user's choice
        remote_add = (guard is not None and guard.restricted) or within is not None
        if within is not None:
            # a show it creates is fetched under the content rules from now on, unless it is
            # on the non-public machine the user named the list by (by address): it is theirs
            own = net.literal_host(target)
            show.typed = own is not None and own in rules.trusted
        for address in (moved, show.new_feed_url) if not remote_add else ():
            known = store.show_by_url(address) if address else None
            if known is not None:
                show.feed_url = known.feed_url
                break
        else:
            known = (
                None
                if remote_add
                else store.show_by_url(target)
                or store.show_holding(show.title, [e.guid for e in episodes if e.guid])
            )
            if known is not None and known.feed_url != target:
                # the same podcast followed under an old address: it lives here now
                assert known.id is not None
                store.move_show(known.id, target)
        sid, created, new = _store_show(store, show, episodes, backlog)
        store.set_feed_xml(sid, bytes(data))  # republished by `podgrep publish`
        return AddResult(store.get_show(sid), "feed", created, new)
    if feeds_only:
        feed.parse_feed(data, target)  # its reason, e.g. "a web page, not a podcast feed"
        raise FeedError(f"{target} is not a podcast feed")
    if guard is not None and guard.restricted:
        # yt-dlp makes its own connections, which the guard cannot watch
        raise SourceError(f"{target} is not a feed or a media file podgrep can add from here")
    try:  # one flat yt-dlp listing: a channel or playlist to follow, or a single page
        listed: dict | None = playlist.list_page(target)
    except PodgrepError:
        listed = None
    if listed is not None and playlist.is_playlist(listed):
        show, episodes, refused = playlist.show_of(
            listed, target, net.content_rules(base, target)
        )
        sid, created, new = _store_show(store, show, episodes, backlog)
        notes = playlist.notes(listed, target, refused)
        return AddResult(store.get_show(sid), playlist.KIND, created, new, notes)
    page = url.page_from_info(listed, target) if listed is not None else None
    if page is not None:
        sid, created, new = _store_show(store, url.urls_show(), [page])
        return AddResult(store.get_show(sid), "url", created, new)
    # not a feed and nothing yt-dlp knows: let the feed reader explain (e.g. "a web page,
    # not a feed; it links to a feed at …")
    feed.parse_feed(data, target)
    raise FeedError(f"{target} is neither a podcast feed nor media podgrep can use")


@dataclass
class RefreshResult:
    """What checking one source found."""

    show: Show
    new_episodes: list[int] = field(default_factory=list)
    not_modified: bool = False
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # what it left out, for `note:` lines


FEED_CHECKS_AT_ONCE = 8  # feeds fetched in parallel during a sync: one slow server holds no other


def _fetch(show: Show, client: httpx.Client) -> feed.FeedResult | PodgrepError:
    """Fetch one feed (network only, safe in a worker thread); a failure is returned."""
    try:
        return feed.fetch_feed(
            client,
            show.feed_url,
            etag=show.etag,
            last_modified=show.last_modified,
            remote=not show.chosen_by_user,
        )
    except PodgrepError as exc:
        return exc
    except Exception as exc:  # a feed must never end a sync: record what went wrong
        return FeedError(f"{show.feed_url} could not be read: {type(exc).__name__}: {exc}")


def _apply(
    store: Store, show: Show, got: feed.FeedResult | PodgrepError, guard: net.Guard
) -> RefreshResult:
    """Store what one feed check found, or record its failure on the show. A move the feed
    announces is followed only to where its content may go (`guard`'s content rules): a feed
    must not move itself onto this machine and inherit the trust of a feed added by address."""
    assert show.id is not None
    try:
        if isinstance(got, PodgrepError):
            raise got
        if got.not_modified:
            store.mark_show_checked(show.id)
            return RefreshResult(show, not_modified=True)
        assert got.show is not None
        got.show.etag, got.show.last_modified = got.etag, got.last_modified
        store.update_show(show.id, got.show)
        if got.raw is not None:
            store.set_feed_xml(show.id, got.raw)  # republished by `podgrep publish`
        new = store.add_episodes(show.id, [e for e in got.episodes if e.media_url])
        if got.moved_to:  # the feed moved for good: follow it, episodes and all
            rules = net.content_rules(guard, show.feed_url, remote=not show.chosen_by_user)
            if not net.may_reach(rules, got.moved_to):
                raise FeedError(
                    f"The feed says it moved to {got.moved_to}, which is not a public address: "
                    "not followed (add the new address yourself if it is right)"
                )
            store.move_show(show.id, got.moved_to, typed=False)
        return RefreshResult(store.get_show(show.id), new)
    except PodgrepError as exc:
        store.mark_show_checked(show.id, str(exc))
        return RefreshResult(show, error=str(exc))


def refresh(store: Store, show: Show, client: httpx.Client) -> RefreshResult:
    """Check one source for new episodes; a failure is recorded on the show, not raised."""
    assert show.id is not None
    if show.kind == "feed":
        return _apply(store, show, _fetch(show, client), net.guard_of(client))
    try:
        if show.kind == playlist.KIND:  # a channel or playlist: listed again (playlist.py)
            listed, entries, notes = playlist.check(show, net.guard_of(client))
            store.update_show(show.id, listed)
            new = store.add_episodes(show.id, entries)
            return RefreshResult(store.get_show(show.id), new, notes=notes)
        if show.kind == "local" and show.feed_url != local.FILES_SHOW_URL:
            folder = _local_path(show.feed_url)
            assert folder is not None
            _, episodes = local.scan_folder(folder)
            new = store.add_episodes(show.id, episodes)
            store.mark_show_checked(show.id)
            return RefreshResult(show, new)
    except PodgrepError as exc:
        store.mark_show_checked(show.id, str(exc))
        return RefreshResult(show, error=str(exc))
    # single files ("Local files"), added URLs: nothing to look at, but checked all the same,
    # so a schedule (sync --watch) waits its interval for them as for any show
    store.mark_show_checked(show.id)
    return RefreshResult(show)


def refresh_all(
    store: Store,
    client: httpx.Client,
    *,
    at_once: int = FEED_CHECKS_AT_ONCE,
    only: Callable[[Show], bool] | None = None,
) -> Iterator[RefreshResult]:
    """Check every source (`only`: those it accepts), feeds `at_once` in parallel, yielding
    each result as it is stored: a feed that stalls until its deadline delays no other (the
    store is written from the calling thread only)."""
    # a paused show (`podgrep pause`) is not checked at all
    shows = [s for s in store.list_shows() if not s.paused and (only is None or only(s))]
    feeds = [s for s in shows if s.kind == "feed"]
    for show in shows:
        if show.kind != "feed":
            yield refresh(store, show, client)
    if not feeds:
        return
    with concurrent.futures.ThreadPoolExecutor(
        max(1, min(at_once, len(feeds))), thread_name_prefix="podgrep-feed"
    ) as pool:
        pending = {pool.submit(_fetch, s, client): s for s in feeds}
        for done in concurrent.futures.as_completed(pending):
            yield _apply(store, pending[done], done.result(), net.guard_of(client))
