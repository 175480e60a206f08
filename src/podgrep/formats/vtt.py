"""WebVTT captions, with speakers as `<v Name>` voice spans."""

from __future__ import annotations

import html
import re

from podgrep.domain import Segment
from podgrep.formats.cues import blocks, clock, find_timing, parse_clock, to_cues, to_segments

_VOICE = re.compile(r"<v(?:\.[^\s>]+)*\s+([^>]+)>")
_TAG = re.compile(r"<[^>]*>")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_vtt(segments: list[Segment]) -> str:
    """`WEBVTT` then cues with `HH:MM:SS.mmm` times; speakers as `<v Name>`."""
    out = ["WEBVTT"]
    for cue in to_cues(segments):
        lines = [_escape(line) for line in cue.lines]
        if cue.speaker:
            lines[0] = f"<v {_escape(cue.speaker)}>{lines[0]}"
        out.append(f"{clock(cue.start, '.')} --> {clock(cue.end, '.')}\n" + "\n".join(lines))
    return "\n\n".join(out) + "\n"


def parse_vtt(text: str) -> list[Segment]:
    """Read WebVTT: skips header, NOTE/STYLE/REGION; reads `<v Name>`; strips tags, entities."""
    cues = []
    for lines in blocks(text):
        if lines[0].split(maxsplit=1)[0] in ("WEBVTT", "NOTE", "STYLE", "REGION"):
            continue
        # a cue identifier may precede the timing line; settings may follow the times
        found = find_timing(lines)
        if found is None:
            continue
        at, m = found
        body = " ".join(line.strip() for line in lines[at + 1 :] if line.strip())
        voice = _VOICE.search(body)
        speaker = " ".join(html.unescape(voice.group(1)).split()) if voice else None
        # strip before unescaping, so an escaped "&lt;b&gt;" stays text
        body = " ".join(html.unescape(_TAG.sub("", body)).split())
        if body:
            cues.append((parse_clock(m.group(1)), parse_clock(m.group(2)), body, speaker or None))
    return to_segments(cues)
