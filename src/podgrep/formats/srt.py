"""SubRip (SRT) captions."""

from __future__ import annotations

from podgrep.domain import Segment
from podgrep.formats.cues import clock, to_cues


def write_srt(segments: list[Segment]) -> str:
    """Numbered cues with `HH:MM:SS,mmm` times; the speaker as a `Name: ` prefix."""
    out = []
    for n, cue in enumerate(to_cues(segments), 1):
        lines = list(cue.lines)
        if cue.speaker:
            lines[0] = f"{cue.speaker}: {lines[0]}"
        out.append(f"{n}\n{clock(cue.start, ',')} --> {clock(cue.end, ',')}\n" + "\n".join(lines))
    return "\n\n".join(out) + "\n" if out else ""
