"""podgrep's own JSON: every segment with its words, timings, speaker and flags."""

from __future__ import annotations

import json

from podgrep.domain import Segment, Transcript, Word
from podgrep.errors import PodgrepError


def write_json(transcript: Transcript, *, title: str | None = None, show: str | None = None) -> str:
    """The full transcript as JSON (times in seconds, 3 decimals)."""
    segs = transcript.segments
    doc = {
        "version": 1,
        "show": show,
        "episode": title,
        "source": transcript.source,
        "model": transcript.model,
        "language": transcript.language,
        "language_probability": transcript.language_prob,
        "duration": round(segs[-1].end, 3) if segs else 0.0,
        "segments": [
            {
                "id": s.idx,
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "speaker": s.speaker,
                "text": s.text,
                "flags": list(s.flags),
                "words": [
                    {
                        "start": round(w.start, 3),
                        "end": round(w.end, 3),
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


def read_json(text: str) -> Transcript:
    """Read podgrep's JSON back into a Transcript."""
    try:
        doc = json.loads(text)
        segments = [
            Segment(
                start=float(s["start"]),
                end=float(s["end"]),
                text=s["text"],
                speaker=s.get("speaker"),
                flags=list(s.get("flags") or []),
                idx=int(s.get("id", i)),
                words=[
                    Word(
                        float(w["start"]),
                        float(w["end"]),
                        w["word"],
                        float(w.get("probability", 1.0)),
                    )
                    for w in s.get("words") or []
                ],
            )
            for i, s in enumerate(doc["segments"])
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise PodgrepError(f"Not a podgrep transcript JSON: {exc}") from exc
    return Transcript(
        episode_id=None,
        source=doc.get("source") or "whisper",
        model=doc.get("model"),
        language=doc.get("language"),
        segments=segments,
        language_prob=doc.get("language_probability"),
        complete=True,
    )
