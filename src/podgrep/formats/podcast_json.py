"""The Podcasting 2.0 JSON transcript format (`version` 1.0.0)."""

from __future__ import annotations

import json

from podgrep.domain import Segment
from podgrep.errors import PodgrepError


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


def parse_podcast_json(text: str) -> list[Segment]:
    """Read a Podcasting 2.0 JSON transcript (speaker and endTime optional)."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise PodgrepError(f"Not a Podcasting 2.0 JSON transcript: invalid JSON ({exc})") from exc
    items = doc.get("segments") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise PodgrepError(
            'Not a Podcasting 2.0 JSON transcript: expected an object with a "segments" list'
        )
    segments = []
    for i, item in enumerate(items):
        try:
            start = float(item["startTime"])
            end = item.get("endTime")
            end = start if end is None else float(end)
            body = item.get("body")
            speaker = item.get("speaker")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PodgrepError(
                f"Not a Podcasting 2.0 JSON transcript: segment {i} has no valid startTime"
            ) from exc
        body = " ".join(str(body).split()) if body is not None else ""
        if not body:
            continue
        speaker = " ".join(str(speaker).split()) if speaker is not None else ""
        segments.append(
            Segment(
                start=start,
                end=max(end, start),
                text=body,
                speaker=speaker or None,
                idx=len(segments),
            )
        )
    return segments
