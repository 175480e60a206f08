"""WebVTT captions, with speakers as `<v Name>` voice spans."""

from __future__ import annotations

from podgrep.domain import Segment
from podgrep.formats.cues import clock, to_cues


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
