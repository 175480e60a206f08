"""Links: every link in show notes with its title, and web addresses said in the transcript."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from html.parser import HTMLParser

from podgrep.domain import Segment

_BARE_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
# said aloud: "superdatascience.com/733", "jonkrohn.com/podcast" (a known top-level domain and,
# for the unambiguous cases, a path or a www.)
_SPOKEN = re.compile(
    r"\b((?:www\.)?[a-z0-9][a-z0-9-]{1,62}(?:\.[a-z0-9-]{2,62})*\."
    r"(?:com|org|net|io|ai|dev|co|fm|tv|app|edu|gov|me|xyz|so|sh|gg|ly)"
    r"(?:/[A-Za-z0-9_\-./]*[A-Za-z0-9_/])?)\b"
)
_TRACKING = re.compile(r"^(utm_\w+|ref|ref_src|fbclid|gclid|mc_cid|mc_eid|si)$", re.IGNORECASE)


@dataclass
class Link:
    """A link from an episode's notes or transcript, with its title when it has one."""

    url: str
    title: str | None = None
    origin: str = "notes"  # notes | spoken
    start: float | None = None


def normalise(url: str) -> str | None:
    """The http(s) URL without fragment, tracking parameters or a trailing dot; else None."""
    url = url.strip().rstrip(".,;:!?")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    query = [
        (k, v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING.match(k)
    ]
    netloc = parts.netloc.lower()
    path = parts.path if parts.path not in ("",) else "/"
    return urllib.parse.urlunsplit(
        (parts.scheme.lower(), netloc, path, urllib.parse.urlencode(query), "")
    )


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self.text: list[str] = []
        self._href: str | None = None
        self._label: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")
            self._label = []
        elif tag in ("br", "p", "li", "div"):
            self.text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href:
            self.found.append((self._href, " ".join("".join(self._label).split())))
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._label.append(data)
        else:
            self.text.append(data)


def links_from_notes(notes: str | None) -> list[Link]:
    """Every link in show notes (HTML anchors and bare URLs), titled by anchor text or by the
    text before it on its line (`* Reza on Twitter: https://…`)."""
    if not notes:
        return []
    parser = _Anchors()
    parser.feed(notes)
    parser.close()
    found: dict[str, Link] = {}
    for href, label in parser.found:
        url = normalise(href)
        if url and url not in found:
            title = label if label and normalise(label) is None else None
            found[url] = Link(url, title)
    for line in "".join(parser.text).splitlines():
        for m in _BARE_URL.finditer(line):
            url = normalise(m.group())
            if url and url not in found:
                before = line[: m.start()].strip(" *-–—:|•\t")
                found[url] = Link(url, before[:200] or None)
    return list(found.values())


def spoken_links(segments: list[Segment]) -> list[Link]:
    """Web addresses said in the transcript when unambiguous: a domain with a path or www."""
    found: dict[str, Link] = {}
    for seg in segments:
        if "hallucination" in seg.flags:
            continue
        for m in _SPOKEN.finditer(seg.text):
            raw = m.group(1)
            if "/" not in raw and not raw.lower().startswith("www."):
                continue  # "Node.js" or "Character.ai" alone is a name more often than a link
            url = normalise("https://" + raw.lower() if "/" not in raw else "https://" + raw)
            if url and url not in found:
                found[url] = Link(url, None, "spoken", seg.start)
    return list(found.values())
