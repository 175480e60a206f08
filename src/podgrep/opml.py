"""OPML subscription lists: read one (`podgrep add list.opml`, a file or a URL) and write
the library's feeds as OPML 2.0 (`podgrep opml`).

A list is recognised by its content (an `<opml>` root), whatever its name. It is read with
expat directly, refusing any entity declaration (the billion-laughs and external-entity
tricks need one), and every outline's `xmlUrl` is taken, nested outlines included, the
podcast-app schemes (`feed://`, `itpc://`, `pcast://`, `podcast://`) read as http(s). Each feed
goes through `library.add_source`: the network guard, moved feeds and duplicates apply as they
do there.

Whose choice an outline is depends on where the list came from. A list read from a file on
this machine is the user's own: its feeds are added as if typed. A list fetched from a URL is
content of that address, like a feed's enclosures: each outline is fetched under the list's
content rules (`net.content_rules`: public addresses, the user's allow_networks, and the
non-public machine the user named the list by, by address), and the shows it adds are not
chosen by the user (`Show.typed` False), so every later fetch of them keeps to those rules. A
hostile list at https://evil/list.opml cannot make podgrep reach 169.254.169.254 or this
machine's services, nor subscribe them with the trust of a typed address.
"""

from __future__ import annotations

import re
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING
from xml.parsers import expat

from podgrep.domain import Show
from podgrep.errors import PodgrepError, SourceError

if TYPE_CHECKING:
    import httpx

    from podgrep import net
    from podgrep.backlog import Backlog
    from podgrep.library import AddResult
    from podgrep.store import Store

# characters XML 1.0 cannot carry at all, not even escaped
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# the schemes podcast apps export feeds under: the feed's own address follows, or its host
_APP_SCHEMES = ("feed", "itpc", "pcast", "podcast")


def feed_address(url: str) -> str:
    """An outline's address as podgrep fetches it: `feed://https://x` → `https://x`,
    `feed://x`, `itpc://x`, `pcast://x`, `podcast://x` → `http://x`; others as they are."""
    scheme, sep, rest = url.partition(":")
    if not sep or scheme.lower() not in _APP_SCHEMES:
        return url
    rest = rest.removeprefix("//")
    if rest.lower().startswith(("http://", "https://")):
        return rest
    return "http://" + rest


@dataclass(frozen=True)
class Outline:
    """One feed of a list: its address and the name the list gives it."""

    url: str
    title: str | None = None


class OpmlDocument(SourceError):
    """What `add_source` raises for an OPML list: its bytes, for the caller to import, and
    `url`, the address it was fetched from (None: a file on this machine)."""

    def __init__(self, target: str, data: bytes, *, url: str | None = None) -> None:
        super().__init__(
            f"{target} is an OPML subscription list, not a feed: add it with"
            " `podgrep add` on the command line"
        )
        self.target = target
        self.data = data
        self.url = url


class _Stop(Exception):
    """The root element was seen and is not `opml`: stop reading."""


class _Entity(Exception):
    """The document declares an entity."""


def _parser() -> expat.XMLParserType:
    parser = expat.ParserCreate()

    def refuse(*_: object) -> None:
        raise _Entity

    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    return parser


def is_opml(data: bytes) -> bool:
    """Whether these bytes are XML whose root element is `opml` (read up to the root only)."""
    parser = _parser()
    seen: list[str] = []

    def start(name: str, _attrs: dict[str, str]) -> None:
        seen.append(name)
        raise _Stop

    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except _Entity:  # declared in a DOCTYPE before the root: read_opml says it is refused
        return b"<opml" in data[:4096].lower()
    except (_Stop, expat.ExpatError, ValueError, LookupError):
        pass
    return bool(seen) and seen[0].rsplit(":", 1)[-1].lower() == "opml"


def read_opml(data: bytes, source: str) -> list[Outline]:
    """Every outline with an `xmlUrl`, in document order, nested ones included, each address
    once (podcast-app schemes read as http(s): `feed_address`). SourceError when the bytes
    are not OPML, not well-formed, declare entities or hold no feed."""
    if not is_opml(data):
        raise SourceError(
            f"{source} is not an OPML subscription list (no <opml> root element): give an"
            " .opml file exported from a podcast app, or a feed URL"
        )
    parser = _parser()
    found: dict[str, Outline] = {}

    def start(name: str, attrs: dict[str, str]) -> None:
        if name.rsplit(":", 1)[-1].lower() != "outline":
            return
        named = {k.lower(): v for k, v in attrs.items()}
        url = feed_address((named.get("xmlurl") or "").strip())
        if url and url not in found:
            title = (named.get("title") or named.get("text") or "").strip() or None
            found[url] = Outline(url, title)

    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except _Entity:
        raise SourceError(
            f"{source} declares XML entities, which podgrep refuses to expand: export the"
            " list again from your podcast app"
        ) from None
    except (expat.ExpatError, ValueError, LookupError) as exc:
        raise SourceError(f"{source} is not well-formed OPML: {exc}") from None
    if not found:
        raise SourceError(f"{source} holds no feeds (no outline has an xmlUrl): nothing to add")
    return list(found.values())


def check_file(path: Path, limit: int) -> None:
    """Raise OpmlDocument for a file holding an OPML list (its first `limit` bytes), and a
    SourceError for an `.opml` file that is not one; nothing for any other file."""
    try:
        with path.open("rb") as fh:
            data = fh.read(limit)
    except OSError as exc:
        raise SourceError(f"Could not read {path}: {exc.strerror or exc}") from None
    if is_opml(data):
        raise OpmlDocument(str(path), data)
    if path.suffix.lower() == ".opml":
        read_opml(data, str(path))  # raises: says what is wrong with it


# -- importing --------------------------------------------------------------------------------


@dataclass
class Imported:
    """One outline of a list and what adding it did: a result, or the reason it failed."""

    outline: Outline
    result: AddResult | None = None
    error: str | None = None


def import_outlines(
    store: Store,
    outlines: Iterable[Outline],
    *,
    client: httpx.Client,
    guard: net.Guard | None = None,
    backlog: Backlog | None = None,
    within: str | None = None,
) -> Iterator[Imported]:
    """Add each outline's feed through `add_source`, yielding what happened to it; a broken
    outline (not http(s), unreachable, not a feed, another list, refused by the guard) is
    reported, not raised. `within`: the URL the list was fetched from, whose content rules
    each outline is held to (see the module's docstring); None for a list from a file."""
    from podgrep.library import add_source  # library reads lists through this module

    for outline in outlines:
        parsed = urllib.parse.urlparse(outline.url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            yield Imported(outline, error=f"{outline.url!r} is not an http(s) URL")
            continue
        try:
            result = add_source(
                store, outline.url, client=client, guard=guard, local_paths=False,
                backlog=backlog, feeds_only=True, within=within,
            )  # fmt: skip
        except OpmlDocument:
            yield Imported(outline, error=f"{outline.url} is another OPML list, not a feed")
            continue
        except PodgrepError as exc:
            yield Imported(outline, error=str(exc))
            continue
        yield Imported(outline, result)


# -- exporting --------------------------------------------------------------------------------


def _text(value: str | None) -> str:
    return _NOT_XML.sub("", value or "")


def write_opml(shows: Iterable[Show], *, now: datetime | None = None) -> str:
    """OPML 2.0 of the feed subscriptions among `shows` (paused ones too: still subscribed)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = "podgrep subscriptions"
    ET.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(UTC), True)
    body = ET.SubElement(root, "body")
    for show in shows:
        if show.kind != "feed":
            continue
        title = _text(show.title) or show.feed_url
        attrs = {"type": "rss", "text": title, "title": title, "xmlUrl": _text(show.feed_url)}
        if show.link:
            attrs["htmlUrl"] = _text(show.link)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def add_targets(
    store: Store,
    targets: Iterable[str],
    *,
    client: httpx.Client,
    backlog: Backlog | None = None,
) -> Iterator[AddResult | PodgrepError]:
    """What `podgrep add` does with each target, an OPML list's feeds one by one: each
    source added, or the error to list (a broken outline: `outline TITLE (URL): reason`)."""
    from podgrep.library import add_source

    for target in targets:
        try:
            yield add_source(store, target, client=client, backlog=backlog)
            continue
        except OpmlDocument as doc:
            data, where, within = doc.data, doc.target, doc.url
        except PodgrepError as exc:
            yield exc
            continue
        try:
            outlines = read_opml(data, where)
        except PodgrepError as exc:
            yield exc
            continue
        for got in import_outlines(store, outlines, client=client, backlog=backlog, within=within):
            if got.error is None and got.result is not None:
                yield got.result
                continue
            name = f"{got.outline.title!r} ({got.outline.url})" if got.outline.title else ""
            yield SourceError(f"outline {name or got.outline.url} of {where}: {got.error}")
