"""Podcast directory pages saved as text: several episodes, each with notes and a transcript.

Two shapes are known. One puts each episode's title on a line followed by
`<weekday> <day> <month> <year> • Duration HH:MM:SS`, its notes, a `Transcript(s)` heading and
the transcript, and ends it with `Get full access to …`. The other indents each title by two
spaces and puts the episode's notes and transcript on one very long line after it, then its
date and duration on short lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from podgrep.transcripts.layouts import clock, split_run_together

_DATED = re.compile(r"^\w+\.? \d{1,2}\.? \w+\.? \d{4} • Duration ((?:\d{1,2}:)?\d{1,2}:\d{2})\s*$")
_TRANSCRIPT_HEADING = re.compile(r"^Transcripts?\s*:?\s*$", re.IGNORECASE)
_END = re.compile(r"^Get full access to .*$")
_SHORT_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")
_SHORT_DURATION = re.compile(r"^(?:\d{1,2}:)?\d{1,2}:\d{2}$")
_LIST_ITEM = re.compile(r"^[*•-]\s*\[?(?:\d{1,2}:)?\d{1,2}:\d{2}")
_TIMED_START = re.compile(r"^\[(?:\d{1,2}:)?\d{1,2}:\d{2}\]")
LONG_LINE = 2000


@dataclass
class PageEpisode:
    """One episode cut out of a directory page."""

    title: str
    notes: str
    transcript: str
    published: str | None = None
    duration: float | None = None


def split_directory(text: str) -> list[PageEpisode]:
    """The episodes of a directory page (empty when the text is not one)."""
    lines = text.splitlines()
    dated = [i for i, ln in enumerate(lines) if _DATED.match(ln.strip())]
    if len(dated) >= 2:
        return _dated(lines, dated)
    return _indented(lines)


def _dated(lines: list[str], dated: list[int]) -> list[PageEpisode]:
    episodes = []
    for n, at in enumerate(dated):
        title_at = at - 1
        while title_at > 0 and not lines[title_at].strip():
            title_at -= 1
        stop = dated[n + 1] - 1 if n + 1 < len(dated) else len(lines)
        body = []
        for ln in lines[at + 1 : stop]:
            if _END.match(ln.strip()):
                break
            body.append(ln)
        notes, transcript = _cut(body)
        m = _DATED.match(lines[at].strip())
        episodes.append(
            PageEpisode(
                title=lines[title_at].strip(),
                notes=notes,
                transcript=transcript,
                published=lines[at].split("•")[0].strip(),
                duration=clock(m.group(1)) if m else None,
            )
        )
    return episodes


def _cut(body: list[str]) -> tuple[str, str]:
    """Split an episode's lines at its `Transcript` heading: (notes, transcript)."""
    for i, ln in enumerate(body):
        if _TRANSCRIPT_HEADING.match(ln.strip()):
            return "\n".join(body[:i]), "\n".join(body[i + 1 :])
    # no heading: the transcript starts at the first timed line after the last list item
    items = [i for i, ln in enumerate(body) if _LIST_ITEM.match(ln.strip())]
    after = items[-1] + 1 if items else 0
    for i in range(after, len(body)):
        if _TIMED_START.match(body[i].strip()):
            return "\n".join(body[:i]), "\n".join(body[i:])
    return "\n".join(body), ""


def _indented(lines: list[str]) -> list[PageEpisode]:
    episodes: list[PageEpisode] = []
    for i, ln in enumerate(lines[:-1]):
        body = lines[i + 1]
        if not (ln.startswith("  ") and not ln.startswith("    ") and ln.strip()):
            continue
        if not (body.startswith("    ") and len(body) > LONG_LINE):
            continue
        notes, transcript = _cut(split_run_together(body.strip()).splitlines())
        after = [x.strip() for x in lines[i + 2 : i + 4]]
        date = next((x for x in after if _SHORT_DATE.match(x)), None)
        length = next((x for x in after if _SHORT_DURATION.match(x)), None)
        episodes.append(
            PageEpisode(
                title=ln.strip().lstrip("•").strip(),
                notes=notes,
                transcript=transcript,
                published=date,
                duration=clock(length) if length else None,
            )
        )
    return episodes if len(episodes) >= 2 else []
