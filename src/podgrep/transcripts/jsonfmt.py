"""JSON transcripts as publishers and tools write them.

The Podcasting 2.0 format (`{"version", "segments": [{"speaker", "startTime", "endTime",
"body"}]}`) and its variants in the wild: no `version`, numbers as strings or clock times, a
top-level list of segments, `start`/`end`/`text` keys (Whisper's JSON, podgrep's own), and one
word per segment, as the spec's own example does: words are merged into readable segments
(a sentence, a change of speaker or a pause ends one) and kept as the segment's word timings.

Tools' own shapes too: Rev (`monologues[].elements[]`), Amazon Transcribe (`results.items[]`,
with `speaker_labels` or `audio_segments`), AssemblyAI (`utterances[]` or `words[]`, times in
milliseconds). Whole-number times are told apart as milliseconds or seconds by the speaking
rate they give, as for tab-separated files (`tsv.unit_by_rate`).
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
from podgrep.transcripts.tsv import unit_by_rate

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
    tool = _tool_rows(doc)
    if tool is not None:
        return _segments(_in_seconds(tool, doc))
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
        words = _words(item.get("words"))
        if body:
            rows.append((start, end, body, _speaker(_first(item, _SPEAKER)), words))
    return _segments(_in_seconds(rows, items))


def _speaker(value: Any) -> str | None:
    """A speaker as written; a bare number or letter (AssemblyAI's `A`, Rev's `0`) as
    `Speaker A`: a diarizer's label, not a name."""
    if isinstance(value, dict):
        value = value.get("name")
    if value in (None, "") or isinstance(value, bool):
        return None
    text = " ".join(str(value).split())
    if re.fullmatch(r"\d{1,3}|[A-Z]", text):
        return f"Speaker {text}"
    return text or None


def _whole_times(raw: Any) -> bool:
    """Whether every time in the raw JSON (segments and words) is a whole number."""
    found = False
    stack = [raw]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            for key, inner in value.items():
                if key in _START or key in _END or key in ("ts", "end_ts"):
                    if isinstance(inner, bool) or not isinstance(inner, int | str):
                        if inner is not None:
                            return False
                        continue
                    if isinstance(inner, str) and not inner.strip().isdigit():
                        return False
                    found = True
                elif isinstance(inner, list | dict):
                    stack.append(inner)
    return found


def _in_seconds(rows: list, raw: Any) -> list:
    """Rows with times in milliseconds (AssemblyAI, some exporters) turned into seconds."""
    if not rows or not _whole_times(raw):
        return rows
    if unit_by_rate([(r[0], r[1], len(r[2].split())) for r in rows]) == 1.0:
        return rows
    scaled = []
    for start, end, body, speaker, words in rows:
        ws = [Word(w.start / 1000, w.end / 1000, w.word) for w in words]
        scaled.append((start / 1000, None if end is None else end / 1000, body, speaker, ws))
    return scaled


def _segments(rows: list) -> list[Segment]:
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


def _tool_rows(doc: Any) -> list | None:
    """Rows (start, end, text, speaker, words) of Rev's, Amazon Transcribe's and AssemblyAI's
    JSON; None for any other JSON."""
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("monologues"), list):
        return _rev(doc["monologues"])
    results = doc.get("results")
    if isinstance(results, dict) and isinstance(results.get("items"), list):
        return _amazon(results)
    channels = results.get("channels") if isinstance(results, dict) else None
    if isinstance(channels, list) and not isinstance(doc["results"].get("utterances"), list):
        return _deepgram(channels)  # with utterances, those are read as the list of segments
    rows: list[tuple[float, float | None, str, str | None, list[Word]]]
    if isinstance(doc.get("words"), list) and not any(
        isinstance(doc.get(k), list) and doc.get(k) for k in _LISTS
    ):  # AssemblyAI without utterances: its words only
        rows = []
        for w in doc["words"]:
            if isinstance(w, dict) and (start := _seconds(w.get("start"))) is not None:
                text = str(w.get("text") or "").strip()
                if text:
                    rows.append(
                        (start, _seconds(w.get("end")), text, _speaker(w.get("speaker")), [])
                    )
        return rows
    return None


def _deepgram(channels: list) -> list:
    """Deepgram's first channel's best alternative: its paragraphs' sentences (with the
    paragraph's speaker), else its words (`punctuated_word` when there is one)."""
    alt = (
        channels[0].get("alternatives", [{}])[0]
        if channels and isinstance(channels[0], dict)
        else {}
    )
    if not isinstance(alt, dict):
        return []
    rows: list[tuple[float, float | None, str, str | None, list[Word]]] = []
    paragraphs = (alt.get("paragraphs") or {}).get("paragraphs")
    if isinstance(paragraphs, list) and paragraphs:
        for para in paragraphs:
            speaker = _speaker(para.get("speaker")) if isinstance(para, dict) else None
            for sentence in para.get("sentences", []) if isinstance(para, dict) else []:
                start = _seconds(sentence.get("start"))
                text = str(sentence.get("text") or "").strip()
                if start is not None and text:
                    rows.append((start, _seconds(sentence.get("end")), text, speaker, []))
        return rows
    for w in alt.get("words") or []:
        if isinstance(w, dict) and (start := _seconds(w.get("start"))) is not None:
            text = str(w.get("punctuated_word") or w.get("word") or "").strip()
            if text:
                rows.append((start, _seconds(w.get("end")), text, _speaker(w.get("speaker")), []))
    return rows


def _rev(monologues: list) -> list:
    """Rev: each monologue's `elements`, `text` words with `ts`/`end_ts` and `punct` marks,
    one row a word (merged into sentences later), its speaker `speaker_name` or its number."""
    rows: list = []
    for mono in monologues:
        if not isinstance(mono, dict):
            continue
        who = _speaker(mono.get("speaker_name") or mono.get("speaker"))
        for el in mono.get("elements") or []:
            if not isinstance(el, dict):
                continue
            value = str(el.get("value") or "").strip()
            if not value:
                continue
            start = _seconds(el.get("ts"))
            end = _seconds(el.get("end_ts"))
            if el.get("type") == "punct" or start is None:
                if rows:  # a mark goes onto the word before it
                    prev = rows[-1]
                    start = prev[1] if prev[1] is not None else prev[0]
                    end = start
                else:
                    continue
            rows.append((start, end, value, who, []))
    return rows


def _amazon(results: dict) -> list:
    """Amazon Transcribe: `audio_segments` as they are when the job wrote them; else the
    `items`, words with `start_time`/`end_time` and punctuation, whose speaker comes from the
    item or from `speaker_labels.segments[].items`."""
    rows: list[tuple[float, float | None, str, str | None, list[Word]]] = []
    segments = results.get("audio_segments")
    if isinstance(segments, list) and segments:
        for seg in segments:
            if not isinstance(seg, dict):
                continue
            start, text = _seconds(seg.get("start_time")), str(seg.get("transcript") or "")
            if start is not None and text.strip():
                who = _speaker(seg.get("speaker_label"))
                rows.append((start, _seconds(seg.get("end_time")), text.strip(), who, []))
        if rows:
            return rows
    by_start: dict[float, str] = {}
    labels = results.get("speaker_labels")
    if isinstance(labels, dict):
        for seg in labels.get("segments") or []:
            for item in (seg.get("items") or []) if isinstance(seg, dict) else []:
                start = _seconds(item.get("start_time")) if isinstance(item, dict) else None
                if start is not None and item.get("speaker_label"):
                    by_start[start] = str(item["speaker_label"])
    rows = []
    for item in results["items"]:
        if not isinstance(item, dict):
            continue
        alternatives = item.get("alternatives")
        best = alternatives[0] if isinstance(alternatives, list) and alternatives else None
        content = str(best.get("content") or "").strip() if isinstance(best, dict) else ""
        if not content:
            continue
        start = _seconds(item.get("start_time"))
        if item.get("type") == "punctuation" or start is None:
            if rows:
                prev = rows[-1]
                at = prev[1] if prev[1] is not None else prev[0]
                rows.append((at, at, content, prev[3], []))
            continue
        who = item.get("speaker_label") or by_start.get(start)
        rows.append((start, _seconds(item.get("end_time")), content, _speaker(who), []))
    return rows


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
