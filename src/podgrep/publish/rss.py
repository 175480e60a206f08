"""A show's `feed.xml`: the original feed rebuilt from what the library stored of it, with
Podcasting 2.0 `podcast:transcript` and `podcast:chapters` pointing at the published files and
`podcast:person` for the named speakers.

The fallback of `original.republish` (which republishes the feed's own bytes, kept at each
fetch): for a show whose raw feed is not kept (not fetched since migration 0013), an Atom feed,
or one refused (an entity declaration) or not well-formed. Re-fetching the feed at publish time
would make the site depend on the network and on the feed as it is that minute; so the feed
is written from the stored metadata, which keeps, for every item, its guid, enclosure (url,
length, type), title, pubDate, description (the show notes), link, duration and image, and for
the channel its title, link, description, language, author, image and people. Not stored, so not
republished: `isPermaLink` as the feed gave it (a guid that is an http(s) URL is written
`isPermaLink="true"`, any other `"false"`), categories, iTunes flags and unknown extensions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

from podgrep.domain import Episode, Person, Show

# The namespace's first URI, which the spec keeps valid beside https://podcastindex.org/namespace/1.0
# and which every parser that knows the namespace reads; gPodder's podcastparser (0.6.x) knows
# only this one, and would skip every podcast:* tag under the newer URI.
PODCAST_NS = "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
ATOM_NS = "http://www.w3.org/2005/Atom"
# characters XML 1.0 does not allow at all (a feed's text may carry them)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass
class PublishedItem:
    """An episode with the absolute URLs of its published files (None: not published)."""

    episode: Episode
    transcript_json: str | None = None
    vtt: str | None = None
    chapters: str | None = None
    language: str | None = None
    people: tuple[Person, ...] = ()


def _t(text: str | None) -> str:
    return escape(_NOT_XML.sub("", text or ""))


def _a(text: str | None) -> str:
    return quoteattr(_NOT_XML.sub("", text or ""))


def is_web(url: str | None) -> bool:
    """Whether `url` is an absolute http(s) address (the only links published)."""
    return bool(url) and re.match(r"(?i)^https?://[^\s/]", url or "") is not None


def _person(p: Person, indent: str) -> str:
    attrs = f" role={_a(p.role or 'guest')}"
    if p.group and p.group != "cast":
        attrs += f" group={_a(p.group)}"
    if is_web(p.img):
        attrs += f" img={_a(p.img)}"
    if is_web(p.href):
        attrs += f" href={_a(p.href)}"
    return f"{indent}<podcast:person{attrs}>{_t(p.name)}</podcast:person>"


def _duration(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _item(pi: PublishedItem) -> list[str]:
    ep = pi.episode
    out = ["    <item>", f"      <title>{_t(ep.title)}</title>"]
    permalink = "true" if is_web(ep.guid) else "false"
    out.append(f"      <guid isPermaLink={_a(permalink)}>{_t(ep.guid)}</guid>")
    if ep.published is not None:
        when = datetime.fromtimestamp(ep.published, UTC)
        out.append(f"      <pubDate>{_t(format_datetime(when, usegmt=True))}</pubDate>")
    if is_web(ep.link):
        out.append(f"      <link>{_t(ep.link)}</link>")
    if ep.show_notes_html:
        out.append(f"      <description>{_t(ep.show_notes_html)}</description>")
    if is_web(ep.media_url):
        out.append(
            f"      <enclosure url={_a(ep.media_url)} length={_a(str(ep.media_length or 0))}"
            f" type={_a(ep.media_type or 'audio/mpeg')}/>"
        )
    if ep.duration:
        out.append(f"      <itunes:duration>{_duration(ep.duration)}</itunes:duration>")
    if is_web(ep.image):
        out.append(f"      <itunes:image href={_a(ep.image)}/>")
    lang = f" language={_a(pi.language)}" if pi.language else ""
    ours = {u for u in (pi.transcript_json, pi.vtt) if u}
    for ref in ep.transcripts:  # the publisher's own transcripts stay
        if is_web(ref.url) and ref.url not in ours:
            rel = f" rel={_a(ref.rel)}" if ref.rel else ""
            ref_lang = f" language={_a(ref.language)}" if ref.language else ""
            out.append(
                f"      <podcast:transcript url={_a(ref.url)} type={_a(ref.type)}{ref_lang}{rel}/>"
            )
    if pi.transcript_json:
        out.append(
            f"      <podcast:transcript url={_a(pi.transcript_json)}"
            f' type="application/json"{lang}/>'
        )
    if pi.vtt:
        out.append(
            f'      <podcast:transcript url={_a(pi.vtt)} type="text/vtt"{lang} rel="captions"/>'
        )
    if pi.chapters:
        out.append(
            f'      <podcast:chapters url={_a(pi.chapters)} type="application/json+chapters"/>'
        )
    for p in pi.people:
        out.append(_person(p, "      "))
    out.append("    </item>")
    return out


def feed_xml(show: Show, items: list[PublishedItem], self_url: str, site_url: str) -> str:
    """The RSS 2.0 document of `show`, its items newest first."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<rss version="2.0" xmlns:itunes="{ITUNES_NS}" xmlns:podcast="{PODCAST_NS}"'
        f' xmlns:atom="{ATOM_NS}">',
        "  <channel>",
        f"    <title>{_t(show.title)}</title>",
        f"    <link>{_t(show.link if is_web(show.link) else site_url)}</link>",
        f"    <description>{_t(show.description or show.title)}</description>",
        f'    <atom:link href={_a(self_url)} rel="self" type="application/rss+xml"/>',
        "    <generator>podgrep publish</generator>",
    ]
    if show.language:
        out.append(f"    <language>{_t(show.language)}</language>")
    if show.author:
        out.append(f"    <itunes:author>{_t(show.author)}</itunes:author>")
    if is_web(show.image):
        out.append(f"    <itunes:image href={_a(show.image)}/>")
        out.append(
            f"    <image><url>{_t(show.image)}</url><title>{_t(show.title)}</title>"
            f"<link>{_t(show.link if is_web(show.link) else site_url)}</link></image>"
        )
    for p in show.persons:
        out.append(_person(p, "    "))
    for pi in sorted(items, key=lambda i: (-(i.episode.published or 0), i.episode.id or 0)):
        out.extend(_item(pi))
    out += ["  </channel>", "</rss>", ""]
    return "\n".join(out)
