"""A show's `feed.xml` from the feed's own bytes: the RSS document as the publisher wrote it
(kept at each successful fetch, `Store.feed_xml`), every byte of it kept, with the Podcasting
2.0 tags of the published files inserted into each item podgrep published.

Nothing is parsed into a tree and written back: expat reads the document once for the byte
offsets of the root start tag and of each `</item>`, and the new tags are spliced in there,
encoded as the document is (characters it cannot hold as character references). An item
gains `podcast:transcript` (JSON, and WebVTT `rel="captions"`), `podcast:chapters` unless it
already has the publisher's own (theirs is kept, ours not added), and a `podcast:person` for
each named speaker it does not already name. The tags are always written `podcast:…`
(feedparser and apps read the name as written) under the namespace's first URI
(`rss.PODCAST_NS`, the one podcastparser knows): declared on the root when the document
declares no `podcast` prefix anywhere, else on each inserted tag (the document may bind
`podcast` to the newer URI, on the root or below it). Items are matched to episodes by guid (an item
without one by its enclosure URL); items podgrep did not publish are left as they are.

As every feed podgrep reads: a document with an entity declaration (billion laughs, external
entities) is refused, as is one expat cannot read; `republish` then returns None and the
caller rebuilds the feed from the stored metadata (`rss.feed_xml`), as it does for Atom.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from podgrep.publish.rss import PODCAST_NS, PublishedItem, _a, _person

# both URIs of the Podcasting 2.0 namespace
PODCAST_URIS = (PODCAST_NS, "https://podcastindex.org/namespace/1.0")
_SEP = "\x1f"  # expat's separator between a namespace URI and a local name
_ENCODING_RE = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class _Refused(Exception):
    """The document declares an entity: not read."""


@dataclass
class _Item:
    end: int = -1  # byte offset of `</item>`
    guid: str | None = None
    enclosure: str | None = None
    has_chapters: bool = False
    persons: set[str] = field(default_factory=set)


@dataclass
class _Doc:
    root: str | None = None  # the root's qualified name as written
    root_ns: str = ""
    root_at: int = -1
    root_prefixes: dict[str, str] = field(default_factory=dict)  # prefix → URI on the root
    prefixes: set[str] = field(default_factory=set)  # every prefix declared anywhere
    items: list[_Item] = field(default_factory=list)


def _codec(data: bytes) -> str:
    """The document's encoding, as Python names it (expat's default: UTF-8)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    m = _ENCODING_RE.match(data.lstrip())
    name = m.group(1).decode("ascii") if m else "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


def _scan(data: bytes) -> _Doc | None:
    """Where the root and the items are (None: refused or not readable XML)."""
    doc = _Doc()
    parser = expat.ParserCreate(namespace_separator=_SEP)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[str] = []  # "ns\x1flocal" of the open elements
    text: list[str] = []
    declared: list[tuple[str, str]] = []
    current: _Item | None = None

    def refuse(*_: Any) -> int:
        raise _Refused

    def ns_decl(prefix: str | None, uri: str | None) -> None:
        declared.append((prefix or "", uri or ""))
        doc.prefixes.add(prefix or "")

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal current
        ns, _, local = name.rpartition(_SEP)
        if not stack:
            doc.root_at = parser.CurrentByteIndex
            doc.root_ns = ns
            doc.root_prefixes = {p: u for p, u in declared}
            doc.root = local  # the written name is read back from the bytes (see republish)
        declared.clear()
        stack.append(name)
        depth = len(stack)
        if depth == 3 and local == "item" and ns == "" and stack[1] == "channel":
            current = _Item()
        elif current is not None and depth == 4:
            if ns == "" and local == "guid":
                text.clear()
            elif ns == "" and local == "enclosure":
                current.enclosure = current.enclosure or (attrs.get("url") or "").strip()
            elif ns in PODCAST_URIS and local == "chapters":
                current.has_chapters = True
            elif ns in PODCAST_URIS and local == "person":
                text.clear()

    def end(name: str) -> None:
        nonlocal current
        ns, _, local = name.rpartition(_SEP)
        depth = len(stack)
        stack.pop()
        if current is None:
            return
        if depth == 3:
            current.end = parser.CurrentByteIndex
            doc.items.append(current)
            current = None
        elif depth == 4 and ns == "" and local == "guid":
            current.guid = "".join(text).strip()
        elif depth == 4 and ns in PODCAST_URIS and local == "person":
            current.persons.add("".join(text).strip().casefold())

    def chars(data: str) -> None:
        text.append(data)

    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartNamespaceDeclHandler = ns_decl
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except (_Refused, expat.ExpatError, ValueError, LookupError):
        return None
    if doc.root is None or any(i.end < 0 for i in doc.items):
        return None
    return doc


def _tags(pi: PublishedItem, item: _Item, prefix: str, declare: str = "") -> list[str]:
    """The tags an item gains, as `prefix:name`; `declare` (an `xmlns:` attribute) goes on
    each of them when the root does not bind the prefix to PODCAST_NS."""
    lang = f" language={_a(pi.language)}" if pi.language else ""
    p_ = f"{prefix}:"
    out = []
    if pi.transcript_json:
        out.append(
            f'<{p_}transcript{declare} url={_a(pi.transcript_json)} type="application/json"'
            f"{lang}/>"
        )
    if pi.vtt:
        out.append(
            f'<{p_}transcript{declare} url={_a(pi.vtt)} type="text/vtt"{lang} rel="captions"/>'
        )
    if pi.chapters and not item.has_chapters:  # the publisher's own chapters win
        out.append(
            f'<{p_}chapters{declare} url={_a(pi.chapters)} type="application/json+chapters"/>'
        )
    for p in pi.people:
        if p.name.strip().casefold() not in item.persons:
            tag = _person(p, "").replace("<podcast:person", f"<{p_}person{declare}", 1)
            out.append(tag.replace("<podcast:", f"<{p_}").replace("</podcast:", f"</{p_}"))
    return out


def _indent(data: bytes, at: int, codec: str) -> str:
    """The spaces and tabs before `at` on its line (byte-wise encodings only)."""
    if codec.startswith("utf-16") or codec.startswith("utf-32"):
        return ""
    start = at
    while start > 0 and data[start - 1 : start] in (b" ", b"\t"):
        start -= 1
    return data[start:at].decode("ascii")


def republish(data: bytes, items: list[PublishedItem]) -> bytes | None:
    """The feed `data` with the tags of the published `items` added (None: not an RSS
    document podgrep will republish, so rebuild it instead)."""
    doc = _scan(data)
    if doc is None or doc.root != "rss" or doc.root_ns:
        return None  # Atom (or anything else): rebuilt from the metadata
    codec = _codec(data)
    by_guid = {pi.episode.guid: pi for pi in items if pi.episode.guid and pi.transcript_json}
    by_url = {
        pi.episode.media_url: pi for pi in items if pi.episode.media_url and pi.transcript_json
    }
    # the tags go in under the namespace's first URI, the one podcastparser reads (see
    # rss.PODCAST_NS), always as `podcast:…` (feedparser and apps read the name as written):
    # where the document binds `podcast` to another URI (the newer one), each inserted tag
    # declares it for itself
    prefix, declare = "podcast", ""
    inserts: list[tuple[int, str]] = []
    if prefix in doc.prefixes:  # bound somewhere, perhaps to another URI: each tag says which
        declare = f' xmlns:podcast="{PODCAST_NS}"'
    else:  # right after `<rss`: the name is ASCII in any encoding expat reads byte-wise
        at = doc.root_at + len("<rss".encode(codec))
        inserts.append((at, f' xmlns:podcast="{PODCAST_NS}"'))
    for item in doc.items:
        pi = by_guid.get(item.guid or "") or by_url.get(item.enclosure or "")
        tags = _tags(pi, item, prefix, declare) if pi is not None else []
        if tags:
            ws = _indent(data, item.end, codec)
            inserts.append((item.end, "  " + f"\n{ws}  ".join(tags) + f"\n{ws}"))
    out = bytearray()
    last = 0
    for at, text in sorted(inserts):
        out += data[last:at]
        out += text.encode(codec, errors="xmlcharrefreplace")
        last = at
    out += data[last:]
    return bytes(out)
