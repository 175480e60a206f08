"""A transcript laid out for reading: paragraphs by speaker turn, pause or length."""

from __future__ import annotations

from dataclasses import dataclass, field

from podgrep.domain import Segment
from podgrep.formats.text import MAX_PARAGRAPH, PAUSE


@dataclass
class Paragraph:
    """Consecutive segments of one speaker, opened by the time of the first."""

    start: float
    speaker: str | None
    segments: list[Segment] = field(default_factory=list)


def paragraphs(segments: list[Segment]) -> list[Paragraph]:
    """Group segments as the text export does; segments flagged as invented are left out."""
    out: list[Paragraph] = []
    last_end: float | None = None
    for seg in segments:
        if "hallucination" in seg.flags or not seg.text.strip():
            continue
        current = out[-1] if out else None
        if (
            current is None
            or seg.speaker != current.speaker
            or (last_end is not None and seg.start - last_end > PAUSE)
            or seg.start - current.start > MAX_PARAGRAPH
        ):
            out.append(Paragraph(seg.start, seg.speaker, [seg]))
        else:
            current.segments.append(seg)
        last_end = seg.end
    return out
