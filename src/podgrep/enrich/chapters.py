"""Chapters: Podcasting 2.0 chapters JSON, or the timestamps publishers write in show notes."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import httpx

from podgrep import net
from podgrep.domain import Chapter
from podgrep.transcripts.layouts import clock

MAX_CHAPTERS_BYTES = 1024 * 1024
_STAMP = re.compile(
    r"^\W{0,3}[\[(]?((?:\d{1,2}:)?\d{1,2}:\d{2})[\])]?\s*(?:[-–—:|.]\s*)?(\S.{0,200})$"
)


def parse_chapters_json(data: bytes | str, *, hidden: bool = False) -> list[Chapter]:
    """Chapters from a Podcasting 2.0 chapters JSON document (entries with toc=false left out
    unless `hidden`)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return []
    items = doc.get("chapters") if isinstance(doc, dict) else None
    chapters = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or (item.get("toc") is False and not hidden):
            continue
        start, title = item.get("startTime"), item.get("title")
        if not isinstance(start, int | float) or not isinstance(title, str) or not title.strip():
            continue
        end = item.get("endTime")
        url = item.get("url")
        img = item.get("img")
        chapters.append(
            Chapter(
                float(start),
                title.strip(),
                float(end) if isinstance(end, int | float) else None,
                url if isinstance(url, str) else None,
                img if isinstance(img, str) else None,
                item.get("toc") is not False,
            )
        )
    return sorted(chapters, key=lambda c: c.start)


class _Lines(HTMLParser):
    """The text of an HTML fragment, a new line at every block element and <br>."""

    BLOCKS = {"br", "p", "li", "div", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def chapters_from_notes(notes_html: str | None) -> list[Chapter]:
    """Chapters from lines such as `00:12:34 Topic` or `(12:34) Topic` in show notes.

    At least two such lines in rising order are needed, so a lone time in the prose is not
    taken for a chapter list.
    """
    if not notes_html:
        return []
    parser = _Lines()
    parser.feed(notes_html)
    parser.close()
    found: list[Chapter] = []
    for line in "".join(parser.parts).splitlines():
        m = _STAMP.match(line.strip())
        if not m:
            continue
        start = clock(m.group(1))
        if found and start <= found[-1].start:
            continue
        found.append(Chapter(start, m.group(2).strip(), source="notes"))
    return found if len(found) >= 2 else []


def fetch_chapters(client: httpx.Client, url: str, *, hidden: bool = False) -> list[Chapter]:
    """Download and read a chapters JSON file; an unreachable or broken one gives no chapters."""
    if not url.startswith(("http://", "https://")):
        return []
    try:
        with client.stream("GET", url) as resp:
            if resp.status_code != 200:
                return []
            data = net.read_capped(resp, MAX_CHAPTERS_BYTES, f"Chapters {url}")
    except net.FETCH_ERRORS:  # unreachable, too big, badly spelt, not ours to fetch
        return []
    return parse_chapters_json(data, hidden=hidden)
