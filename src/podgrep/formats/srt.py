"""SubRip (SRT) captions."""

from __future__ import annotations

import re

from podgrep.domain import Segment
from podgrep.formats.cues import blocks, clock, find_timing, parse_clock, to_cues, to_segments

# only the markup SRT players know, so text such as "a<b and c>d" survives
_TAGS = re.compile(r"</?[ibus]>|</?font(?:\s[^>]*)?>|\{\\[^}]*\}", re.IGNORECASE)
_SPEAKER = re.compile(r"^([^:\s][^:]{0,39}):\s+(.*)$")


def write_srt(segments: list[Segment]) -> str:
    """Numbered cues with `HH:MM:SS,mmm` times; the speaker as a `Name: ` prefix."""
    out = []
    for n, cue in enumerate(to_cues(segments), 1):
        lines = list(cue.lines)
        if cue.speaker:
            lines[0] = f"{cue.speaker}: {lines[0]}"
        out.append(f"{n}\n{clock(cue.start, ',')} --> {clock(cue.end, ',')}\n" + "\n".join(lines))
    return "\n\n".join(out) + "\n" if out else ""


def parse_srt(text: str, *, speaker_prefix: bool = False) -> list[Segment]:
    """Read SRT (BOM, CRLF, `.` decimals tolerated); multi-line cue text joined with spaces."""
    cues = []
    for lines in blocks(text):
        # the cue number is optional in practice; the timing line is what marks a cue
        found = find_timing(lines)
        if found is None:
            continue
        at, m = found
        body = " ".join(line.strip() for line in lines[at + 1 :] if line.strip())
        body = " ".join(_TAGS.sub("", body).split())
        speaker = None
        if speaker_prefix and (sm := _SPEAKER.match(body)):
            speaker, body = sm.group(1).strip(), sm.group(2)
        if body:
            cues.append((parse_clock(m.group(1)), parse_clock(m.group(2)), body, speaker))
    return to_segments(cues)
