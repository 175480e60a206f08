"""Plain text: readable paragraphs, each opened by its time (and speaker)."""

from __future__ import annotations

from podgrep.domain import Segment

PAUSE = 2.0  # a silence this long starts a new paragraph
MAX_PARAGRAPH = 60.0  # so a monologue still gets a timestamp every minute or so


def timestamp(seconds: float | None) -> str:
    """Seconds as `HH:MM:SS` (what search hits and text exports show)."""
    total = max(0, int(seconds or 0))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def write_txt(segments: list[Segment]) -> str:
    """Paragraphs by speaker turn, pause or length: `[HH:MM:SS] text` or `Name [HH:MM:SS]: text`."""
    paragraphs: list[tuple[float, str | None, list[str]]] = []
    last_end: float | None = None
    for seg in segments:
        text = " ".join(seg.text.split())
        if not text:
            continue
        current = paragraphs[-1] if paragraphs else None
        if (
            current is None
            or seg.speaker != current[1]
            or (last_end is not None and seg.start - last_end > PAUSE)
            or seg.start - current[0] > MAX_PARAGRAPH
        ):
            paragraphs.append((seg.start, seg.speaker, [text]))
        else:
            current[2].append(text)
        last_end = seg.end
    out = []
    for start, speaker, texts in paragraphs:
        head = f"{speaker} [{timestamp(start)}]:" if speaker else f"[{timestamp(start)}]"
        out.append(f"{head} {' '.join(texts)}")
    return "\n\n".join(out) + "\n" if out else ""
