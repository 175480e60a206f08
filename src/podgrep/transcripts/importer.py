"""Read a transcript file in any layout we know into episodes of timed segments and chapters.

Formats: Podcasting 2.0 JSON, podgrep's JSON, WebVTT (with `<v Speaker>`), SRT, HTML, and plain
text in the layouts of `layouts.py`, including directory pages holding several episodes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from podgrep.domain import Chapter, Segment
from podgrep.enrich.chapters import chapters_from_notes
from podgrep.errors import PodgrepError
from podgrep.formats import read_json
from podgrep.transcripts.ass import looks_like_ass, parse_ass
from podgrep.transcripts.captions import (
    looks_like_captions,
    parse_sbv,
    parse_srt,
    parse_ttml,
    parse_vtt,
)
from podgrep.transcripts.decode import decode, normalize
from podgrep.transcripts.directory import split_directory
from podgrep.transcripts.jsonfmt import parse_json_transcript
from podgrep.transcripts.labels import (
    INAUDIBLE,
    fold_lone_labels,
    is_name,
    speaker_label,
    tidy_name,
)
from podgrep.transcripts.layouts import (
    FURNITURE,
    WORDS_PER_SECOND,
    clock,
    looks_timed,
    parse_text,
)
from podgrep.transcripts.tsv import looks_like_tsv, parse_tsv

_HTML = re.compile(
    r"<\s*(html|body|p|div|span|cite|time|br|article|section|h[1-6])\b", re.IGNORECASE
)
_TTML = re.compile(r"<(?:\w+:)?tt\b[^>]*ttml", re.IGNORECASE)


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
    """podcast-json | json | vtt | srt | sbv | ttml | tsv | ass | html | text: what the text shows
    first, then the content type and file name."""
    kind = (content_type or "").split(";")[0].strip().lower()
    name = name.lower()
    stripped = text.lstrip("\ufeff \r\n\t")
    if looks_like_ass(stripped[:20000]) or name.endswith((".ass", ".ssa")):
        return "ass"
    if stripped.startswith("{") or (stripped.startswith("[") and not _is_timed_text(stripped)):
        own = '"source"' in stripped[:2000] and '"words"' in stripped
        return "json" if own else "podcast-json"
    if stripped.startswith("WEBVTT") or kind == "text/vtt" or name.endswith(".vtt"):
        return "vtt"
    if _TTML.search(stripped[:2000]) or name.endswith((".ttml", ".dfxp")):
        return "ttml"
    if looks_like_tsv(normalize(stripped)):
        return "tsv"
    found = looks_like_captions(normalize(stripped))
    if found == "sbv" or name.endswith(".sbv"):
        return "sbv"
    if found or kind in ("application/x-subrip", "application/srt") or name.endswith(".srt"):
        return "srt"
    if "json" in kind or name.endswith(".json"):
        return "podcast-json"
    if kind == "text/html" or name.endswith((".html", ".htm")) or _HTML.search(stripped[:4000]):
        return "html"
    return "text"


def _is_timed_text(text: str) -> bool:
    """`[00:00:01] text` and `[John] text` start with a bracket too, but are no JSON list."""
    return not re.match(r"\[\s*[{\]]", text)


def read_transcript(
    data: bytes | str, name: str = "", content_type: str | None = None
) -> list[ImportedEpisode]:
    """Every episode a transcript file holds (one, unless it is a directory page).

    Raises PodgrepError (one line, no traceback) for an empty file, binary data, or a file
    that holds no transcript."""
    text = decode(data) if isinstance(data, bytes) else normalize(data).replace("\x00", "\ufffd")
    if not text.strip():
        raise PodgrepError("The transcript file is empty")
    fmt = detect_format(text, name, content_type)
    if fmt == "podcast-json":
        episodes = [ImportedEpisode(parse_json_transcript(text))]
    elif fmt == "json":
        episodes = [ImportedEpisode(_own_or_other_json(text))]
    elif fmt == "vtt":
        episodes = [ImportedEpisode(parse_vtt(text))]
    elif fmt == "srt":
        episodes = [ImportedEpisode(parse_srt(text))]
    elif fmt == "sbv":
        episodes = [ImportedEpisode(parse_sbv(text))]
    elif fmt == "ttml":
        episodes = [ImportedEpisode(parse_ttml(text))]
    elif fmt == "tsv":
        episodes = [ImportedEpisode(parse_tsv(text))]
    elif fmt == "ass":
        episodes = [ImportedEpisode(parse_ass(text))]
    else:
        episodes = read_text(html_text(text) if fmt == "html" else text)
    if not any(e.segments for e in episodes):
        raise PodgrepError(f"No transcript text found in the file (read as {fmt})")
    return episodes


def _own_or_other_json(text: str) -> list[Segment]:
    """podgrep's own JSON keeps its words and flags; any other JSON is read as segments."""
    try:
        return read_json(text).segments
    except PodgrepError:
        return parse_json_transcript(text)


_VOICE_TAG = re.compile(r"<v(?:\.[^\s>]*)*\s+([^>]+)>", re.IGNORECASE)
_VOICE_END = re.compile(r"\s*</v>", re.IGNORECASE)
_VOICE_LINE = re.compile(r"<v ([^>]+)>")  # as voice_lines writes them
_VOICE_ELEMENT = re.compile(
    r"v(?:\.[^\s>]*)?", re.IGNORECASE
)  # `<v>`, `<v.loud>` as HTML reads them


def voice_lines(text: str) -> str:
    """WebVTT voice tags in a text layout (`<v Alice>Hello</v>`, several on a line too) one to
    a line as `<v Alice>Hello`, whatever came before the first one (a time) kept in front."""
    if not _VOICE_TAG.search(text):
        return text
    out = []
    for line in text.split("\n"):
        pieces = _VOICE_TAG.split(_VOICE_END.sub("", line))  # text, name, text, name…
        if len(pieces) == 1:
            out.append(line)
            continue
        head = pieces[0].strip()
        for i in range(1, len(pieces), 2):
            voice = f"<v {' '.join(pieces[i].split())}>{' '.join(pieces[i + 1].split())}"
            out.append(f"{head} {voice}" if head and i == 1 else voice)
    return "\n".join(out)


def _voices_as_labels(text: str) -> str:
    return _VOICE_LINE.sub(lambda m: f"{tidy_name(m.group(1))}: ", text)


def read_text(text: str) -> list[ImportedEpisode]:
    """Episodes from plain text: a directory page, a timed layout, or untimed paragraphs."""
    text = voice_lines(text)
    pages = split_directory(_voices_as_labels(text))
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
    if looks_timed(_voices_as_labels(text)):
        parsed = parse_text(_voices_as_labels(text))
        shift = _wall_clock_start(parsed.segments)
        if shift:
            for seg in parsed.segments:
                seg.start, seg.end = seg.start - shift, seg.end - shift
                for word in seg.words:
                    word.start, word.end = word.start - shift, word.end - shift
            for heading in parsed.headings:
                heading.start -= shift
        return [ImportedEpisode(parsed.segments, chapters=_headings(parsed.headings))]
    segments = untimed(text)
    if not segments:
        raise PodgrepError("No transcript text found in the file")
    return [ImportedEpisode(segments)]


WALL_CLOCK = 3600.0  # a plain-text transcript whose first time is this late is on a clock


def _wall_clock_start(segments: list[Segment]) -> float:
    """Where a transcript timed by the clock on the wall began (meeting tools write
    `[Jane] 10:02:33`), so its times can count from 0 as the recording's do; 0 for one timed
    from the start of the recording, whose first words come in its first hour."""
    first = min((s.start for s in segments), default=0.0)
    return first if first >= WALL_CLOCK else 0.0


def _headings(headings: list) -> list[Chapter]:
    return [Chapter(h.start, h.title, source="transcript") for h in headings]


def untimed(text: str) -> list[Segment]:
    """Paragraphs without times: times estimated from a steady speaking rate, flagged
    `untimed` so nobody mistakes them for measured ones. A paragraph starting `Name:` (or a
    line holding only `Name:`, or a name that comes back on lines of its own) names its
    speaker; a line starting `Name:` inside a paragraph starts a new one."""
    blocks: list[list] = []  # [speaker, text]
    speaker: str | None = None
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    alone = _names_alone(paragraphs)
    for para in paragraphs:
        current: list | None = None
        for line in (ln.strip() for ln in para.split("\n")):
            if not line or FURNITURE.match(line):
                continue
            voice = re.match(r"<v ([^>]+)>(.*)$", line)  # a WebVTT voice names its speaker
            who, body = (
                (tidy_name(voice.group(1)), voice.group(2)) if voice else speaker_label(line)
            )
            if who is None and line in alone:
                who, body = alone[line], ""
            if who is not None:
                speaker = who
                current = [who, body]
                blocks.append(current)
            elif current is None:
                current = [speaker, line]
                blocks.append(current)
            else:
                current[1] = f"{current[1]} {line}".strip()
    segments: list[Segment] = []
    clock = 0.0
    for who, body in blocks:
        body = " ".join(body.split())
        if not body:
            continue
        length = len(body.split()) / WORDS_PER_SECOND
        flags = ["untimed", *(["inaudible"] if INAUDIBLE.search(body) else [])]
        segments.append(Segment(clock, clock + length, body, speaker=who, flags=flags))
        clock += length
    fold_lone_labels(segments)
    for i, seg in enumerate(segments):
        seg.idx = i
    return segments


def _names_alone(paragraphs: list[str]) -> dict[str, str]:
    """Lines that hold only a name (`JANE DOE`) and come back at least twice: speakers."""
    counts: dict[str, int] = {}
    for para in paragraphs:
        for line in para.split("\n"):
            line = line.strip()
            if line and len(line) <= 40 and is_name(line) and not line.endswith("."):
                counts[line] = counts.get(line, 0) + 1
    return {line: tidy_name(line) for line, n in counts.items() if n >= 2}


_BLOCKS = {
    "p", "div", "br", "li", "tr", "td", "h1", "h2", "h3", "h4", "h5", "h6", "section",
    "article", "blockquote", "dt", "dd", "table", "ul", "ol", "hr", "main", "figure",
}  # fmt: skip
_SKIP = {
    "script", "style", "noscript", "head", "nav", "footer", "header", "aside", "form",
    "button", "svg", "iframe", "template", "select", "menu", "dialog",
}  # fmt: skip
_VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr", "area", "col", "embed"}
# page furniture by class or id: menus, share buttons, cookie banners, comments, ads
_FURNITURE_CLASS = re.compile(
    r"\b(?:nav|navbar|menu|footer|site-header|sidebar|cookie|consent|share|sharing|social"
    r"|subscribe|newsletter|comments?|advert|ads|promo|breadcrumbs?|related|skip-link)\b",
    re.IGNORECASE,
)
_SPEAKER_CLASS = re.compile(r"speaker|\bname\b|voice|\bwho\b|participant", re.IGNORECASE)
_TIME_ATTRS = ("data-start", "data-time", "data-timestamp", "data-begin", "data-start-time",
               "data-seconds", "data-start-ms", "data-time-ms", "data-offset")  # fmt: skip
_HTML_CLOCK = re.compile(r"^[\[(]?((?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?)[\])]?$")


def _stamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    sec, ms = divmod(rest, 1000)
    return f"[{h:02d}:{m:02d}:{sec:02d}.{ms:03d}]"


def _attr_seconds(name: str, value: str) -> float | None:
    value = value.strip()
    if _HTML_CLOCK.match(value):
        return clock(_HTML_CLOCK.match(value).group(1))  # type: ignore[union-attr]
    iso = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?", value)
    if iso and value != "PT":
        h, m, sec = (float(x) if x else 0.0 for x in iso.groups())
        return h * 3600 + m * 60 + sec
    try:
        number = float(value.rstrip("s"))
    except ValueError:
        return None
    return number / 1000 if name.endswith("ms") else number


class _HtmlLines(HTMLParser):
    """The text of an HTML page, one line per block; scripts, styles, menus and footers left
    out; `<time>` and `data-start` times as `[HH:MM:SS]`, speaker elements as `Name:`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_tag: str | None = None
        self.skip_depth = 0
        self.capture: list | None = None  # [tag, kind, depth, texts]: a time or speaker
        self.line_empty = True  # nothing written on the current line yet
        self.stamped = False  # the current line starts with a time from an attribute

    def _newline(self) -> None:
        self.parts.append("\n")
        self.line_empty = True
        self.stamped = False

    def _write(self, text: str) -> None:
        if text.strip():
            self.line_empty = False
        self.parts.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth += 1
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        marks = f"{values.get('class', '')} {values.get('id', '')} {values.get('role', '')}"
        if tag not in _VOID and (
            tag in _SKIP
            or _FURNITURE_CLASS.search(marks)
            or values.get("aria-hidden") == "true"
            or "hidden" in values
        ):
            self.skip_tag, self.skip_depth = tag, 1
            return
        if tag in _BLOCKS:
            self._newline()
        if _VOICE_ELEMENT.fullmatch(tag) and self.capture is None:
            # a WebVTT voice (`<v Alice Smith>`) in the page: the parser reads the name as
            # attributes, lowercased, so it is taken from the tag as written
            voice = _VOICE_TAG.match(self.get_starttag_text() or "")
            if voice:
                self._write(f" <v {' '.join(voice.group(1).split())}>")
            return
        for name in _TIME_ATTRS:
            if name in values and (t := _attr_seconds(name, values[name])) is not None:
                if self.line_empty and not self.stamped:
                    self._write(_stamp(t) + " ")
                    self.stamped = True
                break
        if self.capture is not None:
            if tag == self.capture[0]:
                self.capture[2] += 1
            return
        if tag == "time":
            dt = _attr_seconds("datetime", values.get("datetime", ""))
            self.capture = [tag, "time", 1, [], dt]
        elif _SPEAKER_CLASS.search(values.get("class", "")) or tag == "cite":
            self.capture = [tag, "speaker", 1, [], None]
        elif (
            tag in ("strong", "b")
            and self.line_empty
            or (tag in ("strong", "b") and self.stamped and self._line_is_stamp_only())
        ):
            self.capture = [tag, "bold", 1, [], None]

    def _line_is_stamp_only(self) -> bool:
        tail = "".join(self.parts).rsplit("\n", 1)[-1]
        return bool(re.fullmatch(r"\s*\[[\d:.]+\]\s*", tail))

    def handle_endtag(self, tag: str) -> None:
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth <= 0:
                    self.skip_tag = None
            return
        if self.capture is not None and tag == self.capture[0]:
            self.capture[2] -= 1
            if self.capture[2] <= 0:
                self._release()
        if tag in _BLOCKS:
            self._newline()

    def _release(self) -> None:
        assert self.capture is not None
        _, kind, _, texts, dt = self.capture
        self.capture = None
        text = " ".join("".join(texts).split())
        if kind == "time":
            m = _HTML_CLOCK.match(text)
            seconds = dt if dt is not None else (clock(m.group(1)) if m else None)
            if seconds is not None and not self.stamped:
                self._write(_stamp(seconds) + " ")
            elif seconds is None:
                self._write(text)
            return
        name = text.rstrip(":").strip()
        if name and is_name(name):
            self._write(f" {tidy_name(name)}: ")
        else:
            self._write(f" {text} ")

    def handle_data(self, data: str) -> None:
        if self.skip_tag is not None:
            return
        if self.capture is not None:
            self.capture[3].append(data)
            return
        if self.line_empty and data.strip() and (m := _HTML_CLOCK.match(data.strip())):
            if not self.stamped:  # a time written as text at the start of a line
                self._write(_stamp(clock(m.group(1))) + " ")
                self.stamped = True
            return
        self._write(data)

    def close(self) -> None:
        super().close()
        if self.capture is not None:
            self._release()


def html_text(html: str) -> str:
    """An HTML transcript page as text lines (paragraphs kept apart by blank lines)."""
    parser = _HtmlLines()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    lines = [re.sub(r"^(\[[\d:.]+\]) (\S[^:]{0,40}) :", r"\1 \2:", ln) for ln in lines]
    return "\n\n".join(line for line in lines if line)
