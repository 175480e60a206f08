"""Chapters: Podcasting 2.0 chapters JSON, or the timestamps publishers write in show notes."""

from __future__ import annotations

import json
import math
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
    """Chapters from a Podcasting 2.0 chapters JSON document (1.2: only `startTime` is
    required; a chapter without a title is kept with title ""). Entries with toc=false are
    left out unless `hidden`; `location` (name, geo, osm) is kept."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return []
    items = doc.get("chapters") if isinstance(doc, dict) else None
    chapters = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or (item.get("toc") is False and not hidden):
            continue
        start, end = _seconds(item.get("startTime")), _seconds(item.get("endTime"))
        if start is None:
            continue
        title = item.get("title")
        url = item.get("url")
        img = item.get("img")
        chapters.append(
            Chapter(
                start,
                title.strip() if isinstance(title, str) else "",
                end,
                url if isinstance(url, str) else None,
                img if isinstance(img, str) else None,
                item.get("toc") is not False,
                location=location(item.get("location")),
            )
        )
    return sorted(chapters, key=lambda c: c.start)


def _seconds(value: object) -> float | None:
    """A time of chapters JSON: a number of seconds, not negative (a boolean is none)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return float(value)


LOCATION_KEYS = ("name", "geo", "osm")


def location(value: object) -> dict[str, str] | None:
    """A chapters JSON `location` ({"name", "geo", "osm"}, name and geo required by the spec)
    as its string fields; None when it holds none."""
    if not isinstance(value, dict):
        return None
    kept = {k: v.strip() for k in LOCATION_KEYS if isinstance(v := value.get(k), str) and v.strip()}
    return kept or None


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
