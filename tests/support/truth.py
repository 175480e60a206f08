"""The test conversations' truth turns as a publisher's transcript would give them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from podgrep.domain import Segment

DATA = Path(__file__).resolve().parents[1] / "data"


def truth_sentences(name: str) -> list[Segment]:
    """`name`'s truth turns cut into sentences, each turn's time shared out by length."""
    turns = json.loads((DATA / f"{name}.truth.json").read_text())["turns"]
    out = []
    for turn in turns:
        sentences = [s for s in re.split(r"(?<=[.?!])\s+", turn["text"]) if s.strip()]
        total = sum(len(s) for s in sentences)
        at = turn["start"]
        for s in sentences:
            length = (turn["end"] - turn["start"]) * len(s) / total
            out.append(Segment(at, at + length, s, speaker=turn["speaker"]))
            at += length
    return out
