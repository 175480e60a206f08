"""Advanced SubStation Alpha (`.ass`) and SubStation Alpha (`.ssa`) subtitles, as Aegisub and
Subtitle Edit write them: the `[Events]` section's `Format:` line names the fields of each
`Dialogue:` line, whose last field (Text) may hold commas; `Name` (or `Actor`) is the speaker.
Override tags (`{\\i1}`) are dropped and `\\N` line breaks become spaces."""

from __future__ import annotations

import re

from podgrep.domain import Segment

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_TIME = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
_TAGS = re.compile(r"\{[^}]*\}")
DEFAULT_FORMAT = ["layer", "start", "end", "style", "name", "marginl", "marginr", "marginv",
                  "effect", "text"]  # fmt: skip


def looks_like_ass(text: str) -> bool:
    """Whether the text is a SubStation file: an `[Events]` section with `Dialogue:` lines."""
    return bool(re.search(r"^\s*\[Events\]\s*$", text, re.M | re.I)) and "Dialogue:" in text


def _seconds(value: str) -> float | None:
    m = _TIME.match(value.strip())
    if m is None:
        return None
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def parse_ass(text: str) -> list[Segment]:
    """The dialogue lines of the `[Events]` section as segments, in time order."""
    fields = DEFAULT_FORMAT
    section = ""
    out: list[Segment] = []
    for line in text.splitlines():
        if m := _SECTION.match(line):
            section = m.group(1).strip().lower()
            continue
        if section != "events" or ":" not in line:
            continue
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "format":
            fields = [f.strip().lower() for f in value.split(",")]
            continue
        if key != "dialogue" or "text" not in fields:
            continue
        parts = value.lstrip().split(",", len(fields) - 1)
        if len(parts) < len(fields):
            continue
        row = dict(zip(fields, parts, strict=True))
        start, end = _seconds(row.get("start", "")), _seconds(row.get("end", ""))
        words = (
            _TAGS.sub("", row["text"]).replace("\\N", " ").replace("\\n", " ").replace("\\h", " ")
        )
        words = " ".join(words.split())
        if start is None or not words:
            continue
        speaker = (row.get("name") or row.get("actor") or "").strip() or None
        out.append(
            Segment(start, max(end if end is not None else start, start), words, speaker=speaker)
        )
    out.sort(key=lambda s: (s.start, s.end))
    return out
