"""Passages: overlapping runs of a few segments, the unit that semantic search embeds and finds."""

from __future__ import annotations

from dataclasses import dataclass

from podgrep.domain import Segment

TARGET_WORDS = 45  # about 15-20 s of speech: long enough to carry a topic, short to point at it
MAX_SECONDS = 40.0
HIDDEN = {"hallucination"}


@dataclass
class Passage:
    """Segments `first_idx`..`last_idx` of a transcript, their span and joined text."""

    first_idx: int
    last_idx: int
    start: float
    end: float
    text: str


def build_passages(segments: list[Segment]) -> list[Passage]:
    """Cut a transcript into passages of about TARGET_WORDS words, each overlapping the next by
    about half, so an answer that straddles a cut is whole in one of them."""
    shown = [s for s in segments if s.text.strip() and not HIDDEN & set(s.flags)]
    passages: list[Passage] = []
    i = 0
    while i < len(shown):
        j, words = i, 0
        while j < len(shown):
            words += len(shown[j].text.split())
            j += 1
            if words >= TARGET_WORDS or shown[j - 1].end - shown[i].start >= MAX_SECONDS:
                break
        run = shown[i:j]
        passages.append(
            Passage(
                run[0].idx,
                run[-1].idx,
                run[0].start,
                max(s.end for s in run),
                " ".join(" ".join(s.text.split()) for s in run),
            )
        )
        if j >= len(shown):
            break
        # the next passage starts halfway through this one (by words), never before i + 1
        half, k = 0, i
        while k < j - 1 and half + len(shown[k].text.split()) <= words / 2:
            half += len(shown[k].text.split())
            k += 1
        i = max(k, i + 1)
    return passages
