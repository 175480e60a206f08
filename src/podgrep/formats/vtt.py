"""WebVTT captions, with speakers as `<v Name>` voice spans."""

from __future__ import annotations

from podgrep.domain import Segment
from podgrep.formats.cues import clock, to_cues


def escape(text: str) -> str:
    """`text` as WebVTT cue text or voice annotation: `&`, `<` and `>` as character references.

    Unescaped, `<` opens a tag, `&` a reference and `>` closes the voice annotation, so a name
    like `A>B` would end the `<v …>` early and spill into the cue text; `-->` cannot appear.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_vtt(segments: list[Segment]) -> str:
    """`WEBVTT` then cues with `HH:MM:SS.mmm` times; speakers as `<v Name>`."""
    out = ["WEBVTT"]
    # cues hold one-line names and lines (none ends a cue), the first line short enough for
    # its `<v Name>` to fit in 32 characters with it
    for cue in to_cues(segments):
        lines = [escape(line) for line in cue.lines]
        if cue.speaker:
            lines[0] = f"<v {escape(cue.speaker)}>{lines[0]}"
        out.append(f"{clock(cue.start, '.')} --> {clock(cue.end, '.')}\n" + "\n".join(lines))
    return "\n\n".join(out) + "\n"
