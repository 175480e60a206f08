"""JSON transcripts as publishers and tools write them.

The Podcasting 2.0 format (`{"version", "segments": [{"speaker", "startTime", "endTime",
"body"}]}`) and its variants in the wild: no `version`, numbers as strings or clock times, a
top-level list of segments, `start`/`end`/`text` keys (Whisper's JSON, podgrep's own), and one
word per segment, as the spec's own example does: words are merged into readable segments
(a sentence, a change of speaker or a pause ends one) and kept as the segment's word timings.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from podgrep.domain import Segment, Word
from podgrep.errors import PodgrepError
from podgrep.transcripts.labels import INAUDIBLE
from podgrep.transcripts.layouts import clock

_START = ("startTime", "start", "start_time", "begin", "startTimeSeconds", "from")
_END = ("endTime", "end", "end_time", "stop", "endTimeSeconds", "to")
_TEXT = ("body", "text", "content", "transcript", "word", "sentence")
_SPEAKER = ("speaker", "speakerName", "speaker_name", "name", "voice")
_LISTS = ("segments", "transcript", "results", "utterances", "items", "cues", "captions")
_CLOCK = re.compile(r"^(?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d+)?$")
MAX_WORDS = 40  # a merged segment ends at the sentence end after this many words at most
PAUSE = 1.5  # a silence this long (seconds) between words ends a merged segment


def parse_json_transcript(text: str) -> list[Segment]:
    """Segments of a JSON transcript; PodgrepError when it holds none we can read."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise PodgrepError(f"The transcript is not valid JSON ({exc})") from exc
    items = _items(doc)
    if items is None:
        raise PodgrepError(
            'Not a JSON transcript: expected a "segments" list (Podcasting 2.0) or a list of '
            "segments with start times"
        )
    rows = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise PodgrepError(f"Not a JSON transcript: segment {i} is not an object")
        start = _seconds(_first(item, _START))
        if start is None:
            raise PodgrepError(f"Not a JSON transcript: segment {i} has no valid start time")
        end = _seconds(_first(item, _END))
        body = _first(item, _TEXT)
        body = " ".join(str(body).split()) if body is not None else ""
        speaker = _first(item, _SPEAKER)
        if isinstance(speaker, dict):
            speaker = speaker.get("name")
        speaker = " ".join(str(speaker).split()) if speaker not in (None, "") else None
        words = _words(item.get("words"))
        if body:
            rows.append((start, end, body, speaker, words))
    rows.sort(key=lambda r: r[0])
    if _word_by_word(rows):
        return _merge(rows)
    segments = []
    for i, (start, end, body, speaker, words) in enumerate(rows):
        nxt = rows[i + 1][0] if i + 1 < len(rows) else None
        if end is None:  # endTime is optional: close at the next start
            end = nxt if nxt is not None and nxt > start else start + len(body.split()) / 2.6
        seg = Segment(start, max(end, start), body, words=words, speaker=speaker, idx=i)
        if INAUDIBLE.search(body):
            seg.flags.append("inaudible")
        segments.append(seg)
    return segments


def _items(doc: Any) -> list | None:
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        return None
    for key in _LISTS:
        value = doc.get(key)
        if isinstance(value, list):
            return value
        if isinstance(value, dict):  # {"transcript": {"segments": [...]}}
            inner = _items(value)
            if inner is not None:
                return inner
    return None


def _first(item: dict, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in item and item[key] is not None:
            return item[key]
    return None


def _seconds(value: Any) -> float | None:
    """A time as seconds: a number, a numeric string, or `HH:MM:SS.mmm`."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if 0 <= value < math.inf else None
    text = str(value).strip().rstrip("s")
    try:
        number = float(text)
        return number if 0 <= number < math.inf else None
    except ValueError:
        pass
    return clock(text) if _CLOCK.match(text) else None


def _words(value: Any) -> list[Word]:
    if not isinstance(value, list):
        return []
    words = []
    for w in value:
        if not isinstance(w, dict):
            return []
        start, end = _seconds(_first(w, _START)), _seconds(_first(w, _END))
        text = _first(w, ("word", "text", "body"))
        if start is None or text is None:
            return []
        words.append(Word(start, end if end is not None else start, str(text)))
    return words


def _word_by_word(rows: list) -> bool:
    """Whether segments are single words (the spec's own example) rather than sentences."""
    if len(rows) < 4:
        return False
    short = sum(1 for r in rows if len(r[2].split()) <= 1)
    return short >= 0.8 * len(rows)


def _merge(rows: list) -> list[Segment]:
    """Words merged into segments: a change of speaker, a pause, or a sentence end once the
    segment is long enough ends one."""
    segments: list[Segment] = []
    group: list = []
    speaker: str | None = None

    def close() -> None:
        if not group:
            return
        words = [
            Word(r[0], r[1] if r[1] is not None else r[0], ("" if _glued(r[2]) else " ") + r[2])
            for r in group
        ]
        text = "".join(w.word for w in words).strip()
        end = max(w.end for w in words)
        seg = Segment(group[0][0], max(end, group[0][0]), text, words=words, speaker=speaker)
        if INAUDIBLE.search(text):
            seg.flags.append("inaudible")
        segments.append(seg)
        group.clear()

    for i, row in enumerate(rows):
        start, end, body, who, _ = row
        if end is None:
            nxt = rows[i + 1][0] if i + 1 < len(rows) else start + 0.4
            row = (start, max(start, nxt), body, who, [])
        if group:
            last = group[-1]
            gap = start - (last[1] if last[1] is not None else last[0])
            sentence_end = last[2].endswith((".", "?", "!")) and len(group) >= 8
            if (who and who != speaker) or gap > PAUSE or sentence_end or len(group) >= MAX_WORDS:
                close()
        if who:
            speaker = who
        group.append(row)
    close()
    for i, seg in enumerate(segments):
        seg.idx = i
    return segments


def _glued(token: str) -> bool:
    """Punctuation written as its own segment goes onto the word before it."""
    return bool(re.fullmatch(r"[.,!?;:%)\]}…'’\"-]+|'s|n't|'re|'ll|'ve|'m|'d", token))
