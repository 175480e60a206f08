"""Tab-separated transcripts as other tools write them: a header naming the columns, then one
row a segment. Whisper's `.tsv` is `start<TAB>end<TAB>text` in integer milliseconds; others
carry a `speaker` column, or times in seconds (`1.25`) or as clocks (`00:00:01.250`). Without a
header, rows of `start<TAB>end<TAB>text` (two times, then the text) are read the same way."""

from __future__ import annotations

import csv
import io
import re
import statistics

from podgrep.domain import Segment
from podgrep.transcripts.labels import INAUDIBLE, tidy_name
from podgrep.transcripts.layouts import WORDS_PER_SECOND, clock

_START = {
    "start", "begin", "from", "start_time", "starttime", "start time", "in", "offset",
    "timestamp", "time", "timecode", "start timecode", "start_timecode", "begin time",
}  # fmt: skip
_END = {"end", "stop", "to", "end_time", "endtime", "end time", "out", "end timecode"}
_TEXT = {"text", "transcript", "content", "sentence", "utterance", "words", "caption", "line"}
_SPEAKER = {
    "speaker", "speaker_name", "speaker name", "name", "voice", "who", "spk", "talker",
    "speaker label", "speaker_label", "speakerlabel", "speaker_id", "speaker id", "channel",
}  # fmt: skip
_MS_HINT = re.compile(r"(?:\bms\b|_ms$|\(ms\)|\[ms\]|millis)", re.IGNORECASE)
_S_HINT = re.compile(r"(?:_s$|_sec$|\(s\)|\[s\]|\bsec(?:onds?)?\b)", re.IGNORECASE)
_UNIT = re.compile(
    r"\s*(?:[_ ]?(?:ms|s|sec|secs|seconds|millis|milliseconds)|\((?:ms|s)\)|\[(?:ms|s)\])$"
)
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
MS_RATE = 0.05  # words per time unit below which the unit is the millisecond (1 word / 20 s)
_CLOCKLIKE = re.compile(r"^(?:\d+:)?\d+:\d+(?:[.,]\d+)?$")


def _column(name: str) -> str | None:
    key = _UNIT.sub("", name.strip().strip('"').lower()).strip()
    for role, names in (("start", _START), ("end", _END), ("text", _TEXT), ("speaker", _SPEAKER)):
        if key in names:
            return role
    return None


def _header(line: str) -> dict[str, int] | None:
    """Column roles by index when the line is a header with a start and a text column."""
    roles: dict[str, int] = {}
    for i, cell in enumerate(line.split("\t")):
        role = _column(cell)
        if role and role not in roles:
            roles[role] = i
    return roles if "start" in roles and "text" in roles else None


def from_csv(text: str) -> str:
    """A comma- or semicolon-separated transcript with a header naming a start and a text
    column (spreadsheets, `start,end,speaker,text` with quoted commas), as tab-separated
    text; any other text unchanged."""
    first = next((ln for ln in text.split("\n") if ln.strip()), "")
    if "\t" in first:
        return text
    for delimiter in (",", ";"):
        if delimiter not in first:
            continue
        header = next(csv.reader([first], delimiter=delimiter))
        if _header("\t".join(header)) is None:
            continue
        rows = csv.reader(io.StringIO(text.lstrip("\n")), delimiter=delimiter)
        return "\n".join("\t".join(" ".join(c.split()) for c in row) for row in rows if row)
    return text


def looks_like_tsv(text: str) -> bool:
    """Whether the text's first line is a tab-separated (or comma-separated, see `from_csv`)
    header with start and text columns, or its rows are `start<TAB>end<TAB>text` without one."""
    text = from_csv(text)
    first = next((ln for ln in text.split("\n") if ln.strip()), "")
    return "\t" in first and (_header(first) is not None or _headerless(text))


HEADERLESS = {"start": 0, "end": 1, "text": 2}
HEADERLESS_SHARE = 0.9  # rows that must be two times and a text for a file without a header


def _time_cell(value: str) -> bool:
    value = value.strip().strip('"')
    return bool(_NUMBER.match(value) or _CLOCKLIKE.match(value))


def _timed_row(line: str) -> bool:
    cells = line.split("\t")
    return (
        len(cells) >= 3
        and _time_cell(cells[0])
        and _time_cell(cells[1])
        and bool("".join(cells[2:]).strip())
    )


def _headerless(text: str) -> bool:
    """Rows of `start<TAB>end<TAB>text` with no header: the first row is one, and nearly all
    the others are (a stray line of text is allowed)."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines or not _timed_row(lines[0]):
        return False
    return sum(map(_timed_row, lines)) >= HEADERLESS_SHARE * len(lines)


def _cell(cells: list[str], i: int | None) -> str:
    if i is None or i >= len(cells):
        return ""
    value = cells[i].strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('""', '"')
    return value


def _seconds(value: str, scale: float) -> float | None:
    if _CLOCKLIKE.match(value):
        return clock(value)
    if _NUMBER.match(value):
        return float(value.replace(",", ".")) * scale
    return None


def _scale(header: list[str], roles: dict[str, int], rows: list[list[str]]) -> float:
    """0.001 for milliseconds (the header says so, or the times are whole numbers that give a
    human speaking rate only as milliseconds), 1 for seconds."""
    names = [header[roles[r]] for r in ("start", "end") if r in roles and roles[r] < len(header)]
    if any(_MS_HINT.search(n) for n in names):
        return 0.001
    if any(_S_HINT.search(n) for n in names):
        return 1.0
    values = [_cell(r, roles[k]) for r in rows for k in ("start", "end") if k in roles]
    values = [v for v in values if v]
    if not values or not all(v.isdigit() for v in values):
        return 1.0
    spans: list[tuple[float | None, float | None, int]] = []
    for r in rows:
        start = _cell(r, roles["start"])
        end = _cell(r, roles["end"]) if "end" in roles else ""
        spans.append(
            (
                int(start) if start.isdigit() else None,
                int(end) if end.isdigit() else None,
                len(_cell(r, roles["text"]).split()),
            )
        )
    return unit_by_rate(spans)


def unit_by_rate(spans: list[tuple[float | None, float | None, int]]) -> float:
    """0.001 when times written as whole numbers (start, end or None, words said) are
    milliseconds, 1.0 when they are seconds: which unit makes people speak at a human rate? In
    seconds a row says a few words a second; read as milliseconds the same row would be 1000
    times faster. Without an end, a row ends where the next one starts. The one judge of the
    unit for tab-separated and JSON transcripts."""
    rates = []
    for i, (start, end, words) in enumerate(spans):
        if start is None:
            continue
        if end is None:  # no end: the next row's start
            end = spans[i + 1][0] if i + 1 < len(spans) else None
        if end is not None and end > start and words:
            rates.append(words / (end - start))
    if rates:
        return 0.001 if statistics.median(rates) < MS_RATE else 1.0
    times = [t for s, e, _ in spans for t in (s, e) if t is not None]
    largest = max(times, default=0)
    return 0.001 if largest >= 100 * max(len(spans), 1) else 1.0  # 100 s a row is no cue


def parse_tsv(text: str) -> list[Segment]:
    """Segments from a tab-separated transcript, with a header or without (see the module
    docstring)."""
    lines = [ln for ln in from_csv(text).split("\n") if ln.strip()]
    if not lines:
        return []
    header = lines[0].split("\t")
    roles = _header(lines[0])
    if roles is None:
        if not _headerless(text):
            return []
        header, roles = [], dict(HEADERLESS)
        lines = ["", *lines]  # no header line to skip
    width = len(header) or len(HEADERLESS)
    rows = []
    for line in lines[1:]:
        cells = line.split("\t")
        if len(cells) > width and roles["text"] == width - 1:  # tabs inside the text
            cells = [*cells[: width - 1], " ".join(cells[width - 1 :])]
        rows.append(cells)
    scale = _scale(header, roles, rows)
    segments: list[Segment] = []
    for cells in rows:
        start = _seconds(_cell(cells, roles["start"]), scale)
        body = " ".join(_cell(cells, roles["text"]).split())
        if start is None or not body:
            continue
        end = _seconds(_cell(cells, roles.get("end")), scale) if "end" in roles else None
        who = _cell(cells, roles.get("speaker")) or None
        segments.append(
            Segment(
                round(start, 3),
                round(end if end is not None else start, 3),
                body,
                speaker=tidy_name(who) if who else None,
            )
        )
    segments.sort(key=lambda s: s.start)
    for i, seg in enumerate(segments):
        if "end" not in roles or seg.end < seg.start:
            following = segments[i + 1].start if i + 1 < len(segments) else None
            seg.end = (
                following
                if following is not None and following > seg.start
                else (seg.start + len(seg.text.split()) / WORDS_PER_SECOND)
            )
        seg.idx = i
        if INAUDIBLE.search(seg.text):
            seg.flags.append("inaudible")
    return segments
