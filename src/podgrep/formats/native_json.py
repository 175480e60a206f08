"""podgrep's own JSON: every segment with its words, timings, speaker and flags."""

from __future__ import annotations

import json
from typing import Any

from podgrep.domain import Segment, Transcript, Word
from podgrep.errors import PodgrepError


def _t(seconds: float) -> float:
    return float(round(seconds, 3))


def write_json(transcript: Transcript, *, title: str | None = None, show: str | None = None) -> str:
    """The full transcript as JSON (times in seconds, 3 decimals), flagged segments included."""
    segs = transcript.segments
    doc = {
        "version": 1,
        "show": show,
        "episode": title,
        "source": transcript.source,
        "model": transcript.model,
        "language": transcript.language,
        "language_probability": transcript.language_prob,
        "duration": _t(segs[-1].end) if segs else 0.0,
        "segments": [
            {
                "id": s.idx,
                "start": _t(s.start),
                "end": _t(s.end),
                "speaker": s.speaker,
                "language": s.language or transcript.language,
                "text": s.text,
                "flags": list(s.flags),
                "words": [
                    {
                        "start": _t(w.start),
                        "end": _t(w.end),
                        "word": w.word,
                        "probability": round(w.probability, 4),
                    }
                    for w in s.words
                ],
            }
            for s in segs
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _segment(i: int, s: dict[str, Any]) -> Segment:
    return Segment(
        start=float(s["start"]),
        end=float(s["end"]),
        text=str(s["text"]),
        speaker=s.get("speaker") or None,
        flags=[str(f) for f in s.get("flags") or []],
        idx=int(s.get("id", i)),
        language=str(s["language"]) if s.get("language") else None,
        words=[
            Word(
                float(w["start"]),
                float(w["end"]),
                str(w["word"]),
                float(w.get("probability", 1.0)),
            )
            for w in s.get("words") or []
        ],
    )


def read_json(text: str) -> Transcript:
    """Read podgrep's JSON back into a Transcript."""
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or not isinstance(doc.get("segments"), list):
            raise TypeError('expected an object with a "segments" list')
        segments = [_segment(i, s) for i, s in enumerate(doc["segments"])]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PodgrepError(f"Not a podgrep transcript JSON: {exc}") from exc
    prob = doc.get("language_probability")
    return Transcript(
        episode_id=None,
        source=doc.get("source") or "whisper",
        model=doc.get("model"),
        language=doc.get("language"),
        segments=segments,
        language_prob=float(prob) if isinstance(prob, int | float) else None,
        complete=True,
    )
