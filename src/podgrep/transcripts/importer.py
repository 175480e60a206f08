"""Read a transcript file in any layout we know into episodes of timed segments and chapters.

Formats: Podcasting 2.0 JSON, podgrep's JSON, WebVTT (with `<v Speaker>`), SRT, HTML, and plain
text in the layouts of `layouts.py`, including directory pages holding several episodes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from podgrep.domain import Segment
from podgrep.enrich.chapters import Chapter, chapters_from_notes
from podgrep.errors import PodgrepError
from podgrep.formats import parse_podcast_json, parse_srt, parse_vtt, read_json
from podgrep.transcripts.directory import split_directory
from podgrep.transcripts.layouts import WORDS_PER_SECOND, looks_timed, parse_text

_SRT = re.compile(r"^\s*\d+\s*\r?\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->", re.MULTILINE)
_HTML = re.compile(r"<\s*(html|body|p|div|span|cite|time|br)\b", re.IGNORECASE)


@dataclass
class ImportedEpisode:
    """One episode's transcript as read from a file, with what came along with it."""

    segments: list[Segment]
    title: str | None = None
    chapters: list[Chapter] = field(default_factory=list)  # headings inside the transcript
    notes: str | None = None  # show notes that came with it (directory pages)
    notes_chapters: list[Chapter] = field(default_factory=list)
    duration: float | None = None


def detect_format(text: str, name: str = "", content_type: str | None = None) -> str:
    """podcast-json | json | vtt | srt | html | text."""
    kind = (content_type or "").split(";")[0].strip().lower()
    stripped = text.lstrip("\ufeff \r\n\t")
    if stripped.startswith("{") or kind in ("application/json", "application/json+transcript"):
        return "podcast-json" if '"startTime"' in stripped or '"body"' in stripped else "json"
    if stripped.startswith("WEBVTT") or kind == "text/vtt" or name.endswith(".vtt"):
        return "vtt"
    if kind == "application/x-subrip" or name.endswith(".srt") or _SRT.match(stripped):
        return "srt"
    if kind == "text/html" or name.endswith((".html", ".htm")) or _HTML.search(stripped[:4000]):
        return "html"
    return "text"


def read_transcript(
    data: bytes | str, name: str = "", content_type: str | None = None
) -> list[ImportedEpisode]:
    """Every episode a transcript file holds (one, unless it is a directory page)."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    fmt = detect_format(text, name.lower(), content_type)
    if fmt == "podcast-json":
        return [ImportedEpisode(parse_podcast_json(text))]
    if fmt == "json":
        return [ImportedEpisode(read_json(text).segments)]
    if fmt == "vtt":
        return [ImportedEpisode(parse_vtt(text))]
    if fmt == "srt":
        return [ImportedEpisode(parse_srt(text, speaker_prefix=True))]
    if fmt == "html":
        text = html_text(text)
    return read_text(text)


def read_text(text: str) -> list[ImportedEpisode]:
    """Episodes from plain text: a directory page, a timed layout, or untimed paragraphs."""
    pages = split_directory(text)
    if pages:
        found = []
        for page in pages:
            notes_chapters = chapters_from_notes(page.notes)
            parsed = parse_text(page.transcript, {c.start: c.title for c in notes_chapters})
            found.append(
                ImportedEpisode(
                    parsed.segments,
                    title=page.title,
                    chapters=_headings(parsed.headings),
                    notes=page.notes,
                    notes_chapters=notes_chapters,
                    duration=page.duration,
                )
            )
        return found
    if looks_timed(text):
        parsed = parse_text(text)
        return [ImportedEpisode(parsed.segments, chapters=_headings(parsed.headings))]
    segments = untimed(text)
    if not segments:
        raise PodgrepError("No transcript text found in the file")
    return [ImportedEpisode(segments)]


def _headings(headings: list) -> list[Chapter]:
    return [Chapter(h.start, h.title, source="transcript") for h in headings]


_SPEAKER_LINE = re.compile(r"^([A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}):\s+(\S.*)$")


def untimed(text: str) -> list[Segment]:
    """Paragraphs without times: times estimated from a steady speaking rate, flagged
    `untimed` so nobody mistakes them for measured ones."""
    segments: list[Segment] = []
    clock = 0.0
    speaker: str | None = None
    for para in re.split(r"\n\s*\n", text):
        body = " ".join(para.split())
        if not body:
            continue
        m = _SPEAKER_LINE.match(body)
        if m:
            speaker, body = m.group(1), m.group(2)
        length = len(body.split()) / WORDS_PER_SECOND
        segments.append(
            Segment(
                clock, clock + length, body, speaker=speaker, flags=["untimed"], idx=len(segments)
            )
        )
        clock += length
    return segments


class _HtmlLines(HTMLParser):
    """The text of an HTML page, one line per block, scripts and styles left out."""

    BLOCKS = {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "article",
        "blockquote",
        "dt",
        "dd",
    }
    SKIP = {"script", "style", "noscript", "head", "nav", "footer"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    """An HTML transcript page as text lines (paragraphs kept apart by blank lines)."""
    parser = _HtmlLines()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return "\n\n".join(line for line in lines if line)
