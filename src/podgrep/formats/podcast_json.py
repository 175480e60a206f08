"""The Podcasting 2.0 JSON transcript format (`version` 1.0.0)."""

from __future__ import annotations

import json

from podgrep.domain import Segment


def write_podcast_json(segments: list[Segment]) -> str:
    """`{"version": "1.0.0", "segments": [{"speaker", "startTime", "endTime", "body"}]}`."""
    out = []
    for s in segments:
        body = " ".join(s.text.split())
        if not body:
            continue
        item: dict[str, object] = {}
        if s.speaker:
            item["speaker"] = s.speaker  # the spec's examples put it first
        start = float(round(s.start, 3))
        item.update(startTime=start, endTime=max(start, float(round(s.end, 3))), body=body)
        out.append(item)
    return json.dumps({"version": "1.0.0", "segments": out}, ensure_ascii=False, indent=2) + "\n"
