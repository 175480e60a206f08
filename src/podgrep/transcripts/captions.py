"""Caption files as transcript segments: SRT, WebVTT and YouTube's SBV, as tools write them.

Tolerated: BOM and CRLF, missing or extra blank lines, missing cue numbers, `,` or `.` before
the milliseconds, times without hours or with more than 99, cue identifiers and settings,
NOTE/STYLE/REGION blocks, `<i>`/`<b>`/`<font>`/`<c>`/`{\\an8}` markup and inline `<00:00:01.500>`
times. Speakers come from `<v Name>` (closed or not, with classes, several in one cue) and from
labels (`JOHN: text`, `[John] text`, `- John: text`, `>> JOHN:`). Roll-up captions (YouTube's
automatic ones repeat the previous line in every cue) are read once.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from podgrep.asr.guards import is_sound_tag
from podgrep.domain import Segment
from podgrep.transcripts.labels import (
    INAUDIBLE,
    SOUNDS,
    fold_lone_labels,
    label_shaped,
    split_label,
    tidy_name,
)
from podgrep.transcripts.layouts import clock

# `0:0:0.0` as well as `00:00:00.000`: tools drop leading zeros, so any digits per field
_CLOCK = r"(?:\d+:)?\d+:\d+(?:[.,]\d+)?"
_TIMESTAMP_MAP = re.compile(r"^X-TIMESTAMP-MAP=(.*)$", re.MULTILINE)
MPEGTS_RATE = 90_000  # HLS: MPEG-TS clock ticks per second
MPEGTS_WRAP = 2**33  # the MPEG-TS clock is 33 bits: it rolls over after about 26.5 hours
# a time may be negative (`-00:00:00,500` in shifted files): clamped to 0, see `_cue_times`
_TIMING = re.compile(rf"^\s*(-?{_CLOCK})\s*[-–—]{{1,2}}>\s*(-?{_CLOCK})(?:\s+(.*))?$")
_SBV_TIMING = re.compile(rf"^\s*({_CLOCK})\s*,\s*({_CLOCK})\s*$")
_BLOCK_KEYWORD = re.compile(r"^(NOTE|STYLE|REGION)(?:\s|$)")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)*(?:\s+([^>]*))?>", re.IGNORECASE)
_SOUND = re.compile(r"^[\[(♪][^\])]{0,40}[\])♪]$")
_SAID = {"inaudible", "unintelligible", "crosstalk"}  # words were said there: they stay text
# `[Music]`, `(laughs)`, `♪ la la ♪` inside a cue's text: sounds, not words anyone said
_INLINE_SOUND = re.compile(
    r"[\[(]\s*(?:[\w-]+\s+){0,2}(?:"
    + "|".join(sorted(SOUNDS - _SAID))
    + r")\s*[\])]|♪[^♪]{0,60}♪|♪",
    re.IGNORECASE,
)
SOUND_FLAGS = ["hallucination", "sound_tag"]  # as Whisper's are flagged: kept, never searched
_MARKUP = re.compile(
    # only tags with annotations take text after a space, so "a<b and c>d" stays text
    r"</?(?:i|b|u|s|c|ruby|rt|em|strong)(?:\.[^\s>]*)?>|</?(?:v|lang|font|span)(?:[.\s][^>]*)?>"
    r"|<\d+:\d+(?::\d+)?(?:[.,]\d+)?>|\{\\[^}]*\}|</?br\s*/?>",
    re.IGNORECASE,
)


@dataclass
class _Cue:
    start: float
    end: float
    lines: list[str]


def looks_like_captions(text: str) -> str | None:
    """`srt` or `sbv` when the text's first cue says so (numbered or not), else None."""
    lines = [ln for ln in text.split("\n")[:12] if ln.strip()]
    for ln in lines[:3]:
        if _TIMING.match(ln):
            return "srt"
    if lines and _SBV_TIMING.match(lines[0]) and len(lines) > 1 and not _SBV_TIMING.match(lines[1]):
        return "sbv"
    return None


def _cues(text: str, vtt: bool, sbv: bool = False) -> list[_Cue]:
    """Cue times and raw text lines; numbers, identifiers and NOTE blocks left out."""
    lines = text.split("\n")
    cues: list[_Cue] = []
    pending: list[str] = []  # lines since the last timing line
    skipping = vtt  # the WEBVTT header runs to the first blank line
    after_blank = True
    for line in lines:
        stripped = line.strip()
        m = (_SBV_TIMING if sbv else _TIMING).match(line)
        if m:
            _flush(cues, pending)
            skipping = False
            cues.append(_Cue(*_cue_times(m.group(1), m.group(2)), []))
            pending = []
            after_blank = False
            continue
        if skipping:
            if not line:
                skipping = False
                after_blank = True
            continue
        if vtt and after_blank and _BLOCK_KEYWORD.match(stripped):
            skipping = True  # a NOTE, STYLE or REGION block, to the next blank line
            continue
        if not stripped:
            if not vtt or not line:  # WebVTT ends a block at an empty line only
                pending.append("")
                after_blank = True
            continue
        pending.append(stripped)
        after_blank = False
    _flush(cues, pending, last=True)
    return cues


def _signed(text: str) -> float:
    text = text.strip()
    return -clock(text[1:]) if text.startswith("-") else clock(text)


def _cue_times(start: str, end: str) -> tuple[float, float]:
    """A cue's (start, end): a negative start clamped to 0, an end before the start moved
    to it (the cue's text is kept either way)."""
    begin = max(_signed(start), 0.0)
    return begin, max(_signed(end), begin)


def _flush(cues: list[_Cue], pending: list[str], last: bool = False) -> None:
    """Hand the lines since the previous timing line to its cue, less the next cue's number or
    identifier: the line right before the timing line, when it stands alone after a blank
    line or is a number (a number with a blank line after it is the cue's text: `1999`)."""
    lines = list(pending)
    direct = bool(lines) and lines[-1] != ""  # the last line is right before the timing line
    while lines and not lines[-1]:
        lines.pop()
    if not last and lines and direct:
        alone = len(lines) == 1 or lines[-2] == ""
        if lines[-1].isdigit() or (alone and len(lines) > 1):
            lines.pop()
    if cues:
        cues[-1].lines.extend(ln for ln in lines if ln)


def _clean(text: str) -> str:
    return " ".join(html.unescape(_MARKUP.sub("", text)).split())


@dataclass
class _Part:
    text: str
    speaker: str | None
    changed: bool  # a label or voice says who speaks (or that the speaker changed)


def _parts(cue: _Cue, voiced: bool = False) -> list[_Part]:
    """The cue's text by speaker: `<v>` voices, then labels at the start of its lines (in a
    file that names speakers by voices, `Name: ` at the start of a line is text)."""
    raw = "\n".join(cue.lines)
    if _VOICE.search(raw):
        parts = []
        pieces = _VOICE.split(raw)  # text, name, text, name, text…
        if _clean(pieces[0]):
            parts.append(_Part(pieces[0], None, False))
        for i in range(1, len(pieces), 2):
            name = " ".join(html.unescape(pieces[i] or "").split()) or None
            parts.append(_Part(pieces[i + 1], tidy_name(name) if name else None, True))
        return [_Part(_clean(p.text), p.speaker, p.changed) for p in parts if _clean(p.text)]
    return _label_parts(raw, names=not voiced)


def _label_parts(raw: str, names: bool = True) -> list[_Part]:
    parts: list[_Part] = []
    for line in raw.split("\n"):
        line = _clean(line)
        speaker, text, changed = split_label(line)
        if speaker and not names:  # the label stays text; a `- ` or `>>` before it still counts
            head = line[: len(line) - len(text)]
            lead = head[: len(head) - len(head.lstrip(">-–— "))]
            speaker, text, changed = None, line[len(lead) :], bool(lead)
        elif names and speaker is None and label_shaped(text):
            # a label whose name we cannot read (`日本語の話者: …`): someone speaks, and it is
            # not the speaker before, so the cue is nobody's rather than theirs
            changed = True
        if changed or not parts:
            parts.append(_Part(text, speaker, changed))
        else:
            parts[-1].text = f"{parts[-1].text} {text}".strip()
    return [p for p in parts if p.text or p.speaker]


def _roll_up(cues: list[_Cue]) -> list[_Cue]:
    """Cues that repeat the lines before them (roll-up captions) reduced to their new text."""
    cleaned = [[_clean(ln) for ln in c.lines if _clean(ln)] for c in cues]
    repeats = 0
    for prev, cur in zip(cleaned, cleaned[1:], strict=False):
        if prev and cur and (cur[0] == prev[-1] or " ".join(cur).startswith(" ".join(prev))):
            repeats += 1
    if repeats < max(2, 0.3 * (len(cues) - 1)):
        return cues
    out: list[_Cue] = []
    shown: list[str] = []  # the lines on screen before this cue
    for cue, lines in zip(cues, cleaned, strict=True):
        k = min(len(lines), len(shown))
        while k and lines[:k] != shown[-k:]:
            k -= 1
        new = lines[k:]
        if out and new and shown and " ".join(new).startswith(" ".join(shown[-1:]) + " "):
            # painted on word by word: the line grows; keep its longest form
            grown = " ".join(new)[len(shown[-1]) :].strip()
            out[-1].lines = [*out[-1].lines, grown] if grown else out[-1].lines
            out[-1].end = max(out[-1].end, cue.end)
        elif new:
            out.append(_Cue(cue.start, cue.end, new))
        elif out:
            out[-1].end = max(out[-1].end, cue.end)
        shown = lines or shown
    return out


def _sound_split(parts: list[_Part]) -> list[_Part]:
    """Sound tags inside a part's text (`[Music] the playoffs start`) as parts of their own,
    so the tag becomes a flagged segment and the words stay searchable without it."""
    out: list[_Part] = []
    for p in parts:
        if is_sound_tag(p.text) or not _INLINE_SOUND.search(p.text):
            out.append(p)
            continue
        changed = p.changed
        last = 0
        for m in _INLINE_SOUND.finditer(p.text):
            for piece in (p.text[last : m.start()].strip(), m.group(0).strip()):
                if piece:
                    out.append(_Part(piece, p.speaker, changed))
                    changed = False
            last = m.end()
        if tail := p.text[last:].strip():
            out.append(_Part(tail, p.speaker, changed))
    return out


def _sound(text: str) -> bool:
    """A cue's text that is only a sound (`[Music]`, `(laughter)`, `♪`), not `[inaudible]`."""
    return (is_sound_tag(text) or bool(_SOUND.match(text))) and not INAUDIBLE.search(text)


def to_segments(cues: list[_Cue]) -> list[Segment]:
    """Segments from cues; unlabelled cues go on with the speaker before them, a cue with
    several speakers becomes several segments sharing its time by length; sound tags
    (`[Music]`) are segments of their own, nobody's, flagged so search leaves them out."""
    segments: list[Segment] = []
    speaker: str | None = None
    voiced = any(_VOICE.search(ln) for c in cues for ln in c.lines)
    cues = sorted(cues, key=lambda c: c.start)  # out of order in the file: by time (stable)
    for cue in _roll_up(cues):
        parts = _sound_split(_parts(cue, voiced))
        total = sum(len(p.text) + 1 for p in parts) or 1
        t = cue.start
        span = max(cue.end - cue.start, 0.0)
        for p in parts:
            if p.changed:
                speaker = p.speaker
            if not p.text:
                continue
            end = t + span * (len(p.text) + 1) / total if len(parts) > 1 else cue.end
            sound = _sound(p.text)
            who = None if sound else speaker  # `[Music]` is nobody's line
            flags = list(SOUND_FLAGS) if sound else []
            segments.append(
                Segment(round(t, 3), round(max(end, t), 3), p.text, speaker=who, flags=flags)
            )
            t = end
    if not voiced:
        fold_lone_labels(segments)  # `<v>` voices are speakers however rarely they speak
    for i, seg in enumerate(segments):
        seg.idx = i
        if INAUDIBLE.search(seg.text):
            seg.flags.append("inaudible")
    return segments


def parse_srt(text: str) -> list[Segment]:
    """SubRip captions (numbering, blank lines and decimal marks as tools write them)."""
    return to_segments(_cues(text, vtt=False))


def parse_vtt(text: str) -> list[Segment]:
    """WebVTT captions (header, NOTE/STYLE/REGION blocks, identifiers, settings, voices), with
    an HLS `X-TIMESTAMP-MAP` in the header applied to every cue."""
    cues = _cues(text, vtt=True)
    shift = _timestamp_map(text)
    if shift:
        for cue in cues:
            cue.start, cue.end = max(cue.start + shift, 0.0), max(cue.end + shift, 0.0)
    return to_segments(cues)


def _timestamp_map(text: str) -> float:
    """Seconds to add to cue times for HLS `X-TIMESTAMP-MAP=LOCAL:00:00:00.000,MPEGTS:900000`
    (in either order) in the header: MPEGTS/90000 less LOCAL; 0 without one.

    The MPEG-TS clock counts modulo 2^33 (about 26.5 hours), so MPEGTS is taken, as players
    take it, as the time nearest the stream's start (here 0) it can stand for: a clock that
    stood just short of rolling over (MPEGTS:8589000000) is a little before 0, not 26 hours
    later, and a value past 33 bits wraps."""
    header = text.split("\n\n", 1)[0]
    m = _TIMESTAMP_MAP.search(header)
    if not m:
        return 0.0
    local, mpegts = 0.0, 0.0
    for item in m.group(1).split(","):
        key, _, value = item.strip().partition(":")
        try:
            if key.strip().upper() == "LOCAL":
                local = clock(value)
            elif key.strip().upper() == "MPEGTS":
                ticks = int(value.strip()) % MPEGTS_WRAP
                if ticks > MPEGTS_WRAP // 2:  # rolled over: before the start, not a day after
                    ticks -= MPEGTS_WRAP
                mpegts = ticks / MPEGTS_RATE
        except ValueError:
            continue
    return mpegts - local


def parse_sbv(text: str) -> list[Segment]:
    """YouTube's SBV captions: `0:00:01.000,0:00:03.000` then the text."""
    return to_segments(_cues(text, vtt=False, sbv=True))


_TT_P = re.compile(r"<(?:\w+:)?p\b([^>]*)>(.*?)</(?:\w+:)?p>", re.DOTALL | re.IGNORECASE)
_TT_ATTR = re.compile(r"([\w:]+)\s*=\s*\"([^\"]*)\"")
_TT_TICKS = re.compile(r"tickRate\s*=\s*\"(\d+)\"")


def _tt_time(value: str | None, ticks: int) -> float | None:
    """TTML times: `00:00:01.500`, `00:00:01:12` (frames at 30/s), `1.5s`, `1500ms`, `15t`."""
    if not value:
        return None
    value = value.strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(h|m|s|ms|f|t)", value)
    if m:
        n = float(m.group(1))
        scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "f": 1 / 30, "t": 1 / ticks}
        return n * scale[m.group(2)]
    parts = value.split(":")
    if len(parts) == 4:  # hours:minutes:seconds:frames
        return clock(":".join(parts[:3])) + float(parts[3]) / 30
    try:
        return clock(value)
    except ValueError:
        return None


def parse_ttml(text: str) -> list[Segment]:
    """TTML/DFXP captions: each `<p begin end>` a cue, `<br/>` a line break."""
    tick = _TT_TICKS.search(text)
    ticks = int(tick.group(1)) if tick else 10_000_000
    cues = []
    for m in _TT_P.finditer(text):
        attrs = {k.split(":")[-1]: v for k, v in _TT_ATTR.findall(m.group(1))}
        start = _tt_time(attrs.get("begin"), ticks)
        if start is None:
            continue
        end = _tt_time(attrs.get("end"), ticks)
        if end is None:
            dur = _tt_time(attrs.get("dur"), ticks)
            end = start + dur if dur is not None else start
        body = re.sub(r"<(?:\w+:)?br\s*/?>", "\n", m.group(2), flags=re.IGNORECASE)
        body = re.sub(r"<[^>]+>", "", body)
        cues.append(_Cue(start, end, [ln.strip() for ln in body.split("\n") if ln.strip()]))
    return to_segments(cues)
