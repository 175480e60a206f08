"""Podcast feeds: conditional GET, then RSS 2.0 / Atom parsing with iTunes and Podcasting 2.0."""

from __future__ import annotations

import calendar
import codecs
import contextlib
import hashlib
import html.entities
import io
import mimetypes
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXParseException

import feedparser
import httpx

from podgrep import net
from podgrep.domain import Episode, Person, Show, TranscriptRef
from podgrep.errors import FeedError
from podgrep.sources.url import YTDLP_TYPE

USER_AGENT = "podgrep/0.1"
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
_FEED_TYPES = {"application/rss+xml", "application/atom+xml"}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_FEED_ROOTS = {"rss", "feed", "rdf"}  # `rdf` is RSS 1.0's <rdf:RDF>
_HTML_ROOTS = {"html", "head", "body"}

_RSS_NS = {"", "http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"}
_ATOM_NS = {"http://www.w3.org/2005/Atom", "http://purl.org/atom/ns#"}
# Prefixes feeds use without declaring them; declared on a retry so ElementTree can still read them.
_KNOWN_PREFIXES = {
    "podcast": "https://podcastindex.org/namespace/1.0",
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "atom": "http://www.w3.org/2005/Atom",
    "media": "http://search.yahoo.com/mrss/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
_TRANSCRIPT_TYPES = {
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".json": "application/json",
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
}

_PROLOG_RE = re.compile(
    r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE\s+([^\s>\[]+)[^>\[]*(?:\[.*?\])?\s*>)",
    re.S | re.I,
)
_TAG_RE = re.compile(r"\s*<([A-Za-z_][\w.:-]*)")
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_ENTITY_RE = re.compile(r"&(#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)?")
_DURATION_PART_RE = re.compile(r"\d+")
_DURATION_LAST_RE = re.compile(r"\d+(?:\.\d+)?")


@dataclass
class FeedResult:
    """What one fetch of a feed gave: the show and its episodes, or `not_modified`."""

    show: Show | None  # None when not_modified
    episodes: list[Episode]  # newest first as in the feed; id/show_id None
    etag: str | None
    last_modified: str | None
    not_modified: bool = False  # True on HTTP 304: show is then None and episodes empty
    final_url: str | None = None  # where redirects ended, so a caller can notice a moved feed
    moved_to: str | None = None  # the feed's new address: a permanent redirect or new-feed-url
    raw: bytes | None = None  # the feed's bytes as fetched (a 200), kept for `podgrep publish`


@contextlib.contextmanager
def feed_errors(url: str) -> Iterator[None]:
    """Turn what reading a feed over HTTP can raise into one FeedError line each."""
    try:
        yield
    except net.TooLarge as exc:
        raise FeedError(f"{exc}: a feed is never that big") from exc
    except net.BadEncoding as exc:
        raise FeedError(str(exc)) from exc
    except httpx.TooManyRedirects as exc:
        raise FeedError(f"Could not reach {url}: too many redirects") from exc
    except httpx.HTTPError as exc:
        raise FeedError(f"Could not reach {url}: {net.reason(exc)}") from exc
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise FeedError(f"{url} is not a valid web address: {exc}") from exc


def fetch_feed(
    client: httpx.Client,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    remote: bool = False,
) -> FeedResult:
    """GET a feed with a conditional request; parse it unless the server answers 304.

    The feed's own host is reached wherever it is (the user chose it; not when `remote`: a
    remote API caller did), its redirects only under the content rules (see net.source_rules).
    """
    headers = {"User-Agent": USER_AGENT, "Accept": _ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    with feed_errors(url):
        # Streamed so a media file given by mistake is refused without downloading it.
        rules = net.source_rules(net.guard_of(client), url, remote=remote)
        with client.stream(
            "GET", url, headers=headers, follow_redirects=True, extensions=net.with_guard(rules)
        ) as resp:
            final_url = str(resp.url)
            moved = permanent_redirect(resp, url)
            new_etag = resp.headers.get("ETag")
            new_modified = resp.headers.get("Last-Modified")
            if resp.status_code == 304:
                # A 304 need not repeat the validators; the ones we sent are still current.
                return FeedResult(
                    show=None,
                    episodes=[],
                    etag=new_etag or etag,
                    last_modified=new_modified or last_modified,
                    not_modified=True,
                    final_url=final_url,
                    moved_to=moved,
                )
            if not resp.is_success:
                raise FeedError(status_message(url, resp))
            content_type = resp.headers.get("Content-Type")
            mime = _mime(content_type)
            if mime.startswith(("audio/", "video/", "image/")):
                raise FeedError(
                    f"{url} is not a valid RSS or Atom feed (the server sent {mime}, a media file)"
                )
            data = net.read_capped(resp, net.FEED_MAX_BYTES, f"The feed at {url}")

    show, episodes = _parse(data, url, final_url, content_type)
    if show.link is None:
        show.link = final_url
    show.etag, show.last_modified = new_etag, new_modified
    return FeedResult(
        show=show,
        episodes=episodes,
        etag=new_etag,
        last_modified=new_modified,
        final_url=final_url,
        moved_to=moved or show.new_feed_url,
        raw=bytes(data),
    )


def permanent_redirect(resp: httpx.Response, url: str) -> str | None:
    """Where a feed now lives when every redirect on the way said so for good (301/308);
    None for temporary redirects (302/303/307), which publishers' trackers use on every fetch."""
    if not resp.history or any(r.status_code not in (301, 308) for r in resp.history):
        return None
    return _moved_to(str(resp.url), url)


def _moved_to(value: Any, url: str) -> str | None:
    """An http(s) address other than `url`, else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    parsed = urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or value == url:
        return None
    return value


def parse_feed(data: bytes, url: str) -> tuple[Show, list[Episode]]:
    """Parse feed bytes with feedparser into a Show and its Episodes."""
    return _parse(data, url, url, None)


def looks_like_feed(data: bytes, content_type: str | None) -> bool:
    """Cheap sniff: is this RSS/Atom XML (not HTML, not media)?"""
    if not data.strip():
        return False
    doctype, root = _root_name(data)
    if root is not None:
        # The bytes win over the header: plenty of servers send feeds as text/html or text/plain.
        return root in _FEED_ROOTS
    if doctype is not None:
        return False
    return _mime(content_type) in _FEED_TYPES


# --- parsing -----------------------------------------------------------------------------------


def _parse(
    data: bytes, feed_url: str, base: str, content_type: str | None
) -> tuple[Show, list[Episode]]:
    """Validate and parse feed bytes; `base` resolves relative URLs, `feed_url` names the show."""
    if not looks_like_feed(data, content_type) and _looks_like_html(data, content_type):
        alt = _alternate_feed(data, base)
        tail = f"the page links to a feed at {alt}" if alt else "look for its RSS link"
        raise FeedError(f"{feed_url} is a web page, not a podcast feed: {tail}")
    parsed = feedparser.parse(
        io.BytesIO(data),  # a bare bytes/str that looks like a URL or path would be fetched/opened
        # application/xml makes feedparser trust the document's own encoding declaration (RFC 3023
        # would otherwise read text/* without charset as us-ascii); no Content-Location, so ids
        # and HTML stay exactly as written and we resolve URLs ourselves.
        response_headers={"content-type": "application/xml"},
        resolve_relative_uris=False,
        sanitize_html=False,  # show notes are kept as given; whoever renders them must sanitize
    )
    _check_valid(parsed, data, feed_url, content_type)
    return _build(parsed, data, feed_url, base)


def _check_valid(parsed: Any, data: bytes, feed_url: str, content_type: str | None) -> None:
    """Raise FeedError unless feedparser got a usable feed out of the bytes."""
    exc = parsed.get("bozo_exception")
    # Encoding and media-type complaints leave a well-formed document; anything else is broken XML.
    broken = bool(parsed.get("bozo")) and not isinstance(
        exc, feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType
    )
    version = parsed.get("version")
    if broken:
        usable = any(_usable(e) for e in parsed.entries)
        ok = usable and bool(version or parsed.feed.get("title"))
    else:
        ok = bool(version)
    if ok:
        return
    raise FeedError(
        f"{feed_url} is not a valid RSS or Atom feed "
        f"({_invalid_reason(parsed, data, content_type, broken)})"
    )


def _invalid_reason(parsed: Any, data: bytes, content_type: str | None, broken: bool) -> str:
    """A short why for an unusable document."""
    if not data.strip():
        return "the document is empty"
    head = _head_text(data).lstrip()
    if not head.startswith("<"):
        mime = _mime(content_type)
        return f"not XML; the server sent {mime}" if mime else "not XML"
    exc = parsed.get("bozo_exception")
    if broken and isinstance(exc, SAXParseException):
        return f"{exc.getMessage()} at line {exc.getLineNumber()}"
    if broken and exc is not None:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if not parsed.get("version"):
        _, root = _root_name(data)
        return f"found <{root}>, not <rss> or <feed>" if root else "no <rss> or <feed> element"
    return "no episodes could be read"


def _usable(entry: Any) -> bool:
    """Whether a feedparser entry holds anything; broken XML leaves empty husks."""
    return any(entry.get(k) for k in ("title", "id", "link", "enclosures", "summary", "content"))


def _build(parsed: Any, data: bytes, feed_url: str, base: str) -> tuple[Show, list[Episode]]:
    """Turn feedparser's result plus the ElementTree extras into domain objects."""
    extras = _read_extras(data, parsed.get("encoding"), base)
    feed = parsed.feed
    language = _clean(feed.get("language"))
    image = feed.get("image") if isinstance(feed.get("image"), dict) else {}
    show = Show(
        id=None,
        feed_url=feed_url,
        title=_clean(feed.get("title")) or feed_url,
        # feedparser lets <itunes:owner><itunes:name> overwrite itunes:author, hence extras first.
        author=extras.author or _feed_author(feed),
        # feedparser lets itunes:subtitle overwrite <description> in `subtitle`.
        description=extras.description
        or _clean(feed.get("summary"))
        or _clean(feed.get("subtitle")),
        image=extras.image
        or _abs(base, image.get("href") or image.get("url"))
        or _abs(base, feed.get("logo") or feed.get("icon")),
        language=language,
        link=_abs(base, feed.get("link")),
        persons=extras.persons,
        new_feed_url=_moved_to(feed.get("itunes_new-feed-url"), feed_url),
        check_every=check_every(extras.ttl, extras.update_frequency),
    )

    entries = parsed.entries
    by_guid = {it.guid: it for it in extras.items if it.guid}
    by_position = len(extras.items) == len(entries)
    episodes = []
    for i, entry in enumerate(entries):
        if not _usable(entry):
            continue
        raw_id = _clean(entry.get("id"))
        item = extras.items[i] if by_position else None
        if item is None or (item.guid and raw_id and item.guid != raw_id):
            item = by_guid.get(raw_id) if raw_id else None
        episodes.append(_episode(entry, item, base, language))
    return show, episodes


def _episode(entry: Any, item: _ItemExtras | None, base: str, language: str | None) -> Episode:
    """One feedparser entry (plus its ElementTree extras, if matched) as an Episode."""
    enclosures = [e for e in entry.get("enclosures") or [] if _clean(e.get("href"))]
    media = next(
        (e for e in enclosures if str(e.get("type", "")).lower().startswith(("audio/", "video/"))),
        enclosures[0] if enclosures else None,
    )
    raw_media = _clean(media.get("href")) if media else None
    media_url = _abs(base, raw_media)
    media_type = _clean(media.get("type")) if media else None
    if media_type and media_type.lower() == YTDLP_TYPE:
        media_type = None  # podgrep's own mark for pages it hands to yt-dlp: never a feed's
    if media_url and not media_type:
        media_type = mimetypes.guess_type(urlsplit(media_url).path)[0]

    raw_id = _clean(entry.get("id"))
    raw_link = _clean(entry.get("link"))
    if entry.get("guidislink") and raw_link == raw_id and raw_link and "://" not in raw_link:
        # feedparser copies a permalink-by-default guid such as "1234" into `link`; not a link.
        raw_link = None
    # Raw (unresolved) values keep the guid stable even if the feed's address changes.
    guid = raw_id or raw_media or raw_link or _hash_guid(entry)

    content = entry.get("content") or []
    notes = next((c.get("value") for c in content if _clean(c.get("value"))), None)
    notes = notes or _clean(entry.get("summary"))
    image = entry.get("image") if isinstance(entry.get("image"), dict) else {}

    if item is not None:
        transcripts = item.transcripts
        chapters_url = item.chapters_url
        persons = item.persons
    else:
        # ElementTree could not read this item; feedparser keeps only the last transcript's attrs.
        transcripts = []
        fp_transcript = entry.get("podcast_transcript")
        if isinstance(fp_transcript, dict) and _clean(fp_transcript.get("url")):
            transcripts.append(_transcript_ref(base, fp_transcript))
        fp_chapters = entry.get("podcast_chapters")
        chapters_url = _abs(base, fp_chapters.get("url")) if isinstance(fp_chapters, dict) else None
        persons = []
    transcripts = [
        # The namespace spec: a transcript without `language` is in the channel's language.
        TranscriptRef(t.url, t.type, t.language or language, t.rel)
        for t in transcripts
    ]

    return Episode(
        id=None,
        show_id=None,
        guid=guid,
        title=_clean(entry.get("title")) or "Untitled episode",
        media_url=media_url,
        media_type=media_type,
        media_length=_length(media.get("length")) if media else None,
        published=_timestamp(entry.get("published_parsed") or entry.get("updated_parsed")),
        duration=_parse_duration(entry.get("itunes_duration")),
        link=_abs(base, raw_link),
        show_notes_html=notes,
        image=_abs(base, image.get("href") or image.get("url")),
        transcripts=transcripts,
        chapters_url=chapters_url,
        persons=persons,
    )


def _hash_guid(entry: Any) -> str:
    """A stable stand-in guid for an entry with no id, enclosure or link."""
    title = _clean(entry.get("title")) or ""
    when = _clean(entry.get("published") or entry.get("updated")) or ""
    return "podgrep:" + hashlib.sha1(f"{title}\n{when}".encode()).hexdigest()[:24]


def _feed_author(feed: Any) -> str | None:
    """The feed-level author feedparser found (RSS managingEditor, Atom author)."""
    detail = feed.get("author_detail")
    if isinstance(detail, dict) and _clean(detail.get("name")):
        return _clean(detail.get("name"))
    return _clean(feed.get("author"))


def _parse_duration(value: Any) -> float | None:
    """itunes:duration ("3723", "62:03", "1:02:03", "1:02:03.5") in seconds; None if garbage."""
    if not isinstance(value, str):
        return None
    parts = value.strip().split(":")
    if not 1 <= len(parts) <= 3:
        return None
    if not all(_DURATION_PART_RE.fullmatch(p) for p in parts[:-1]):
        return None
    if not _DURATION_LAST_RE.fullmatch(parts[-1]):
        return None
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + float(p)
    return seconds if seconds > 0 else None  # "0" / "00:00:00" means the publisher didn't know


def _timestamp(parsed: Any) -> float | None:
    """feedparser's UTC struct_time as unix seconds."""
    if not parsed:
        return None
    try:
        return float(calendar.timegm(parsed))
    except (TypeError, ValueError, OverflowError):
        return None


def _length(value: Any) -> int | None:
    """An enclosure length in bytes; feeds write "", "0" or junk when they don't know."""
    try:
        n = int(str(value).strip())
    except ValueError:
        return None
    return n if n > 0 else None


def _clean(value: Any) -> str | None:
    """A stripped string, or None for empty or non-string values."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _abs(base: str, url: Any) -> str | None:
    """Resolve a possibly relative URL against the feed's address."""
    url = _clean(url)
    if url is None:
        return None
    try:
        joined = urljoin(base, url) if base else url
        urlsplit(joined).hostname  # noqa: B018 - parses the authority: `http://[::1/` raises
    except ValueError:  # a URL no request could be made to: as if the feed had none
        return None
    return joined


def _mime(content_type: str | None) -> str:
    """The bare, lowercased media type of a Content-Type header."""
    return (content_type or "").split(";", 1)[0].strip().lower()


# --- ElementTree for what feedparser drops -----------------------------------------------------


@dataclass
class _ItemExtras:
    """Podcasting 2.0 tags of one item, which feedparser flattens to the last attribute set."""

    guid: str | None = None
    transcripts: list[TranscriptRef] = field(default_factory=list)
    chapters_url: str | None = None
    persons: list[Person] = field(default_factory=list)


@dataclass
class _Extras:
    """Channel fields feedparser conflates or loses, and per-item extras in document order."""

    author: str | None = None
    description: str | None = None
    image: str | None = None
    persons: list[Person] = field(default_factory=list)
    items: list[_ItemExtras] = field(default_factory=list)
    ttl: float | None = None  # seconds: RSS <ttl> (given in minutes)
    update_frequency: float | None = None  # seconds: podcast:updateFrequency


def _read_extras(data: bytes, encoding: str | None, base: str) -> _Extras:
    """Read podcast:* and itunes:* tags with ElementTree; empty extras if it cannot parse."""
    root = _et_root(data, encoding)
    if root is None:
        return _Extras()
    extras = _Extras()
    channel = root
    if _split(root.tag)[1] in ("rss", "RDF"):
        channel = next((c for c in root if _split(c.tag)[1] == "channel"), root)
    for child in channel:
        ns, local = _split(child.tag)
        if _is_itunes(ns) and local == "author":
            extras.author = extras.author or _el_text(child)
        elif _is_itunes(ns) and local == "image":
            extras.image = extras.image or _abs(base, child.get("href"))
        elif ns in _RSS_NS and local == "description":
            extras.description = extras.description or _el_text(child)
        elif _is_podcast(ns) and local == "person":
            person = _person(child, base)
            if person is not None:
                extras.persons.append(person)
        elif ns in _RSS_NS and local == "ttl":
            extras.ttl = ttl_seconds(_el_text(child))
        elif _is_podcast(ns) and local == "updateFrequency":
            extras.update_frequency = update_frequency_seconds(child.get("rrule"), _el_text(child))
    for el in root.iter():
        ns, local = _split(el.tag)
        if (local == "item" and ns in _RSS_NS) or (local == "entry" and ns in _ATOM_NS):
            extras.items.append(_item_extras(el, base))
    return extras


def _item_extras(el: ET.Element, base: str) -> _ItemExtras:
    """The guid and podcast:* children of one <item> or <entry>."""
    item = _ItemExtras()
    for child in el:
        ns, local = _split(child.tag)
        if item.guid is None and (
            (local == "guid" and ns in _RSS_NS) or (local == "id" and ns in _ATOM_NS)
        ):
            item.guid = _el_text(child)
        elif not _is_podcast(ns):
            continue
        elif local == "transcript" and _clean(child.get("url")):
            item.transcripts.append(_transcript_ref(base, child.attrib))
        elif local == "chapters" and item.chapters_url is None:
            item.chapters_url = _abs(base, child.get("url"))
        elif local == "person":
            person = _person(child, base)
            if person is not None:
                item.persons.append(person)
    return item


def _transcript_ref(base: str, attrs: Any) -> TranscriptRef:
    """A TranscriptRef from podcast:transcript attributes; type guessed from the URL if missing."""
    url = _abs(base, attrs.get("url")) or ""
    kind = (_clean(attrs.get("type")) or "").lower()
    if not kind:
        ext = "." + urlsplit(url).path.rsplit(".", 1)[-1].lower() if "." in url else ""
        kind = _TRANSCRIPT_TYPES.get(ext, "application/octet-stream")
    return TranscriptRef(
        url=url, type=kind, language=_clean(attrs.get("language")), rel=_clean(attrs.get("rel"))
    )


def _person(el: ET.Element, base: str) -> Person | None:
    """A podcast:person; role and group default per the spec and compare lowercased."""
    name = _el_text(el)
    if name is None:
        return None
    return Person(
        name=name,
        role=(_clean(el.get("role")) or "host").lower(),
        group=(_clean(el.get("group")) or "cast").lower(),
        img=_abs(base, el.get("img")),
        href=_abs(base, el.get("href")),
    )


def _et_root(data: bytes, encoding: str | None) -> ET.Element | None:
    """Parse with ElementTree; on failure retry with the usual feed breakage repaired."""
    try:
        return ET.fromstring(data)
    except (ET.ParseError, ValueError, LookupError):
        pass
    try:
        text = data.decode(encoding or "utf-8", errors="replace")
    except LookupError:
        text = data.decode("utf-8", errors="replace")
    # The declaration may name the wrong encoding; text is already decoded.
    text = _XML_DECL_RE.sub("", text.lstrip("\ufeff"), count=1)
    text = _ENTITY_RE.sub(_fix_entity, text)
    text = _declare_prefixes(text)
    try:
        return ET.fromstring(text)
    except (ET.ParseError, ValueError):
        return None


def _fix_entity(m: re.Match[str]) -> str:
    """Turn HTML entities (&nbsp;) into character references and stray & into &amp;."""
    ref = m.group(1)
    if ref is None:
        return "&amp;"
    if ref.startswith("#") or ref[:-1] in ("amp", "lt", "gt", "quot", "apos"):
        return m.group(0)
    chars = html.entities.html5.get(ref)
    if chars is None:
        return "&amp;" + ref
    return "".join(f"&#{ord(c)};" for c in chars)


def _declare_prefixes(text: str) -> str:
    """Declare well-known namespace prefixes a feed uses but forgot to declare."""
    missing = [
        f' xmlns:{p}="{uri}"'
        for p, uri in _KNOWN_PREFIXES.items()
        if f"<{p}:" in text and f"xmlns:{p}=" not in text
    ]
    if not missing:
        return text
    m = re.search(r"<[A-Za-z_][\w.:-]*", text)
    if m is None:
        return text
    return text[: m.end()] + "".join(missing) + text[m.end() :]


def _split(tag: Any) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _is_podcast(ns: str) -> bool:
    """Whether a namespace URI is the Podcasting 2.0 one (feeds spell it several ways)."""
    ns = ns.lower()
    return "podcastindex.org/namespace" in ns or "podcastindex-org/podcast-namespace" in ns


def _is_itunes(ns: str) -> bool:
    """Whether a namespace URI is Apple's iTunes podcast namespace, in any of its spellings."""
    return "itunes.com/dtds/podcast-1.0.dtd" in ns.lower()


def _el_text(el: ET.Element) -> str | None:
    """All text inside an element, stripped."""
    return _clean("".join(el.itertext()))


# --- how often the feed asks to be checked --------------------------------------------------

# What a feed asks is a hint that can lengthen the wait between checks (never shorten it below
# the schedule's interval), never past a day: a feed saying it releases weekly is still checked
# daily, so a new episode is seen within a day of its release, whatever the feed claims.
MAX_CHECK_EVERY = 86400.0
RELEASE_SHARE = 0.25  # of the release period a feed states: the longest wait it may ask
# rrule lists that add releases within a FREQ period (FREQ=WEEKLY;BYDAY=MO,TH: two a week),
# by the FREQs they do that for
_RRULE_LISTS = {
    "BYDAY": ("WEEKLY", "MONTHLY", "YEARLY"),
    "BYMONTHDAY": ("MONTHLY", "YEARLY"),
    "BYMONTH": ("YEARLY",),
    "BYHOUR": ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"),
}
_FREQ_SECONDS = {"HOURLY": 3600.0, "DAILY": 86400.0, "WEEKLY": 7 * 86400.0,
                 "MONTHLY": 30 * 86400.0, "YEARLY": 365 * 86400.0}  # fmt: skip
_FREQ_WORDS = {"hourly": 3600.0, "daily": 86400.0, "weekly": 7 * 86400.0,
               "fortnightly": 14 * 86400.0, "biweekly": 14 * 86400.0,
               "monthly": 30 * 86400.0, "yearly": 365 * 86400.0}  # fmt: skip


def ttl_seconds(text: str | None) -> float | None:
    """RSS `<ttl>` (minutes a feed may be cached) in seconds; None unless a positive number.
    A cache lifetime: respected as it is (check_every caps it at a day)."""
    try:
        minutes = float((text or "").strip())
    except ValueError:
        return None
    return minutes * 60.0 if 0 < minutes < 1e9 else None


def update_frequency_seconds(rrule: str | None, text: str | None) -> float | None:
    """Seconds between releases that a `podcast:updateFrequency` states: its `rrule`
    (FREQ=HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY, with INTERVAL=n; lists that add releases within
    the period divide it: FREQ=WEEKLY;BYDAY=MO,TH is 3.5 days), else its text when it is one
    word such as "daily" or "weekly"; None for anything less clear."""
    if rrule:
        parts = dict(
            p.split("=", 1) for p in rrule.upper().replace(" ", "").split(";") if "=" in p
        )
        freq = parts.get("FREQ", "")
        unit = _FREQ_SECONDS.get(freq)
        interval = parts.get("INTERVAL", "1")
        if unit is not None and interval.isdigit() and int(interval) > 0:
            releases = 1
            for name, freqs in _RRULE_LISTS.items():
                if freq in freqs and parts.get(name):
                    releases *= len([v for v in parts[name].split(",") if v])
            return unit * int(interval) / max(1, releases)
    return _FREQ_WORDS.get((text or "").strip().lower())


def check_every(ttl: float | None, frequency: float | None) -> float | None:
    """The seconds a feed asks between checks, a hint that may lengthen the schedule's wait:
    its ttl (a cache lifetime, respected as it is) and a quarter of its release period
    (`RELEASE_SHARE`, so a new episode is not seen a period late), the longer of the two, at
    most MAX_CHECK_EVERY (a day: a weekly show is still checked daily); None when it says
    neither."""
    asked = [s for s in (ttl, frequency * RELEASE_SHARE if frequency else None) if s]
    return min(max(asked), MAX_CHECK_EVERY) if asked else None


# --- sniffing ----------------------------------------------------------------------------------


def _head_text(data: bytes) -> str:
    """The first few KB decoded well enough to look at markup."""
    head = data[:4096]
    for bom, enc in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM starts it
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(enc, "ignore")
    if head.startswith(b"<\x00\x00\x00"):
        return head.decode("utf-32-le", "ignore")
    if head.startswith(b"\x00\x00\x00<"):
        return head.decode("utf-32-be", "ignore")
    if head.startswith(b"<\x00"):
        return head.decode("utf-16-le", "ignore")
    if head.startswith(b"\x00<"):
        return head.decode("utf-16-be", "ignore")
    return head.decode("latin-1")  # markup is ASCII; this never fails


def _root_name(data: bytes) -> tuple[str | None, str | None]:
    """(DOCTYPE name, root element local name), both lowercased, skipping the prolog."""
    text = _head_text(data)
    pos, doctype = 0, None
    while m := _PROLOG_RE.match(text, pos):
        if m.group(1):
            doctype = m.group(1).lower()
        pos = m.end()
    m = _TAG_RE.match(text, pos)
    root = m.group(1).rsplit(":", 1)[-1].lower() if m else None
    return doctype, root


def _looks_like_html(data: bytes, content_type: str | None) -> bool:
    """Whether the server sent a web page."""
    if _mime(content_type) in _HTML_TYPES:
        return True
    doctype, root = _root_name(data)
    return doctype == "html" or root in _HTML_ROOTS


class _AlternateFinder(HTMLParser):
    """Finds the first <link rel="alternate" type="application/rss+xml" href=...>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Remember the first feed link."""
        if self.href is not None or tag != "link":
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        if (
            "alternate" in a.get("rel", "").lower().split()
            and _mime(a.get("type")) in _FEED_TYPES
            and a.get("href", "").strip()
        ):
            self.href = a["href"].strip()


def _alternate_feed(data: bytes, base: str) -> str | None:
    """The feed a web page advertises in its <head>, as an absolute URL."""
    finder = _AlternateFinder()
    try:
        finder.feed(data[:512_000].decode("utf-8", errors="replace"))
        finder.close()
    except (AssertionError, ValueError):  # HTMLParser on hostile markup
        pass
    return _abs(base, finder.href)


# --- HTTP --------------------------------------------------------------------------------------


def status_message(url: str, resp: httpx.Response, *, what: str = "Feed") -> str:
    """One line for an HTTP error status, with what to do about it."""
    code = resp.status_code
    try:
        phrase = resp.reason_phrase or HTTPStatus(code).phrase
    except ValueError:
        phrase = ""
    if code in (401, 403):
        hint = "the feed is private or refuses podgrep; check the address or your access"
    elif code == 429:
        hint = "the server is rate limiting; try again later"
    elif code >= 500:
        hint = "the server failed; try again later"
    else:
        hint = "check the address"
    return f"{what} {url} answered HTTP {code} {phrase}".strip() + f": {hint}"
