"""Plain-text transcript layouts that publishers and tools write, read into timed segments.

One reader handles them all, line by line:
- `- Jon Krohn: 00:02:17 text`, continuation paragraphs `- 00:05:24 text` or `00:14:21 text`,
  and untimed lines that continue the paragraph a page break cut (edited transcripts);
- `[00:03:17] swyx: text`, `Alessio [00:00:00]: text`, `[00:03:11] text` (podcast pages), with
  chapter headings in the same `[HH:MM:SS] Title` form taken out as chapters;
- `[00:00:04.760 --> 00:00:06.400]   text` (whisper.cpp), whose `>>Name` tags Whisper invented;
- `[29.00s -> 32.96s]  text` (a faster-whisper log; other log lines are skipped).
Text run together on one line (`…Lightning RoundTranscripts[00:00:00] Hey everyone.`) is split
at each bracketed time first. Page furniture (footers, `Get full access…`) is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from podgrep.domain import Segment
from podgrep.transcripts.labels import CAPITAL, INAUDIBLE, fold_lone_labels, is_name, tidy_name

WORDS_PER_SECOND = 2.6  # to close the last segment when nothing follows it
# `00:01:05`, `1:05`, `00:01:05.5`, and with three fields any digits: `0:0:5` (no leading zeros)
_CLOCK = r"(?:\d{1,2}:\d{1,2}:\d{1,2}|(?:\d{1,2}:)?\d{1,2}:\d{2})(?:[.,]\d{1,3})?"
_PARTICLE = r"(?:van|von|de|der|den|da|di|du|del|la|le|bin|al|ten|ter)"
_NAME = rf"[^\W\d_][\w.'’-]*(?: (?:{CAPITAL}[\w.'’-]*|\d{{1,3}}|{_PARTICLE})){{0,3}}"
_RANGE = re.compile(
    rf"^\[\s*({_CLOCK})\s*-->\s*({_CLOCK})\s*\]\s*(.*)$"  # whisper.cpp
)
_SECONDS_RANGE = re.compile(r"^\[\s*(\d+(?:\.\d+)?)s\s*->\s*(\d+(?:\.\d+)?)s\s*\]\s*(.*)$")
_DASH = re.compile(rf"^[-*•]?\s*(?:({_NAME}):\s+)?({_CLOCK})\s+(\S.*)$")  # edited transcripts
# [00:03:17] swyx: text, (01:02) Jane: text, [00:01:02] Jane: (a header: text follows)
_BRACKET = re.compile(rf"^[\[(]({_CLOCK})[\])]\s*(?:({_NAME}):(?:\s+|$))?(.*)$")
# Alessio [00:00:00]: text, Speaker 1 (00:01:02):, Jane Doe: [00:01:02] text
_NAME_BRACKET = re.compile(rf"^({_NAME})\s*:?\s*[\[(]({_CLOCK})[\])]:?\s*(.*)$")
# Otter and Teams put the name and time on a line of their own: `Jane Doe  0:03`
_NAME_CLOCK = re.compile(rf"^\[?({_NAME})\]?:?\s+({_CLOCK})\s*$")
_BARE_CLOCK = re.compile(rf"^[\[(]?({_CLOCK})[\])]?:?$")  # `0:00` then the text (YouTube)
# `[00:00:01.03] - Alice` then the paragraph (Happy Scribe): a time and a name, no text
_CLOCK_DASH_NAME = re.compile(rf"^[\[(]({_CLOCK})[\])]\s*[-–—]\s*({_NAME})\s*:?$")
_TEXT_LABEL = re.compile(rf"^({_NAME}):\s+(\S.*)$")
_INVENTED_TAG = re.compile(r">>\s?([A-Z][\w'-]*)(?: ([A-Z][\w'-]*))?\s")
_STARTS_TEXT = (
    "A An And As At But For He How I If In It It's Just Let's Like My No Now Oh Okay On Right "
    "She So Sure That The There They This Thanks Thank We Well What When Why Yeah Yes You "
    "You're"
)
_SENTENCE_STARTS = set(_STARTS_TEXT.split())
_RUN_TOGETHER = re.compile(rf"(?<!^)(?=\[{_CLOCK}\])")
_TRANSCRIPT_HEAD = re.compile(r"Transcripts?(?=\[\d)")
FURNITURE = re.compile(
    r"^(?:Get full access to .*|Show Notes:\s*<[^>]+>|This is a public episode\..*"
    r"|Page \d+( of \d+)?|\*\*[^*]+\*\*\s*"
    r"|(?:Transcribed|Transcription|Exported|Generated|Powered) (?:by|with|using|on)\b.*"
    r"(?:otter|rev\.com|descript|sonix|trint|temi|happy ?scribe|riverside|https?://).*"
    r"|.*\b(?:otter\.ai|rev\.com)\b.*)$",
    re.IGNORECASE,
)
_TRAILING_FURNITURE = re.compile(r"\s*This is a public episode\. If you would like to discuss.*$")
_SILENCE_PHRASES = {"you", "thank you.", "thanks for watching!", "thank you for watching."}
_SOUND_TAG = re.compile(r"^[(\[][^)\]]{1,40}[)\]]$")


@dataclass
class Heading:
    """A chapter heading found inside a transcript."""

    start: float
    title: str


@dataclass
class ParsedText:
    """What a text layout held: segments and any chapter headings mixed into them."""

    segments: list[Segment] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)


def clock(text: str) -> float:
    """`HH:MM:SS`, `MM:SS`, `HH:MM:SS.mmm` or `,mmm`, hours past 99 too, as seconds: the one
    reader of clock times for every transcript layout and show-notes chapter list."""
    total = 0.0
    for part in text.strip().replace(",", ".").split(":"):
        total = total * 60 + float(part)
    return total


def split_run_together(text: str) -> str:
    """Put each `[HH:MM:SS]` on its own line, and `* [HH:MM:SS]` list items too."""
    text = _TRANSCRIPT_HEAD.sub("\nTranscript\n", text)
    text = re.sub(rf"\*\s*(?=\[{_CLOCK}\])", "\n* ", text)
    lines: list[str] = []
    for line in text.splitlines():
        if len(re.findall(rf"\[{_CLOCK}\]", line)) > 1:
            lines.extend(p for p in _RUN_TOGETHER.split(line) if p.strip())
        else:
            lines.append(line)
    return "\n".join(lines)


def looks_timed(text: str) -> bool:
    """Whether text holds a transcript in one of these layouts: a few timed lines at least, or
    a short clip of one or two entries that are the text's whole structure (see `_short`)."""
    text = split_run_together(text)
    return len(_timed_lines(text)) >= 3 or _short(text)


SHORT_FOLLOWERS = 3  # untimed lines a short transcript may have after each of its entries


def _short(text: str) -> bool:
    """One or two entries fully in one layout (`[00:00:03] Jane Doe: text`, podgrep's own
    `Jane Doe [00:00:03]: text`, whisper.cpp's `[00:00:00.000 --> 00:00:04.000] text`, Otter's
    `Jane Doe  0:02` above its text) that open the text and carry it: a stray time in prose
    (`[10:30] we met`, far down a paragraph) or a lone `0:05` line does not make a layout."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not FURNITURE.match(ln)]
    kinds = [_kind(ln) for ln in lines]
    entries = [k for k in kinds if k is not None]
    if not 1 <= len(entries) <= 2 or kinds[0] is None or len(set(entries)) != 1:
        return False
    untimed = len(lines) - len(entries)
    if untimed > SHORT_FOLLOWERS * len(entries):
        return False
    if entries[0] == "header":  # `Jane Doe  0:02`: its text is on the line after it
        return all(
            i + 1 < len(lines) and kinds[i + 1] is None for i, k in enumerate(kinds) if k
        ) and all(is_name(m.group(1)) for ln in lines if (m := _NAME_CLOCK.match(ln)))
    matched = [_match(ln) for ln, k in zip(lines, kinds, strict=True) if k]
    return all(m is not None and m[3].strip() for m in matched)


def _kind(line: str) -> str | None:
    """Which layout a line is a whole entry of, for `_short`: range, seconds, bracket (with
    the name before or after the time), header (a name and a time alone); else None."""
    if _RANGE.match(line):
        return "range"
    if _SECONDS_RANGE.match(line):
        return "seconds"
    if _BARE_CLOCK.match(line):
        return None
    if _BRACKET.match(line) or _NAME_BRACKET.match(line):
        return "bracket"
    if _NAME_CLOCK.match(line):
        return "header"
    return None


def _timed_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if _match(ln.strip()) is not None]


def _match(line: str) -> tuple[float, float | None, str | None, str] | None:
    """(start, end or None, speaker or None, text) of a timed line, else None."""
    for pattern in (_RANGE, _SECONDS_RANGE):
        m = pattern.match(line)
        if m:
            start = clock(m.group(1)) if pattern is _RANGE else float(m.group(1))
            end = clock(m.group(2)) if pattern is _RANGE else float(m.group(2))
            return start, end, None, m.group(3)
    m = _BARE_CLOCK.match(line)
    if m:
        return clock(m.group(1)), None, None, ""
    m = _CLOCK_DASH_NAME.match(line)
    if m:
        return clock(m.group(1)), None, m.group(2), ""
    m = _BRACKET.match(line)
    if m:
        return _labelled(clock(m.group(1)), m.group(2), m.group(3))
    m = _NAME_BRACKET.match(line)
    if m:
        return clock(m.group(2)), None, m.group(1), m.group(3)
    m = _NAME_CLOCK.match(line)
    if m:
        return clock(m.group(2)), None, m.group(1), ""
    m = _DASH.match(line)
    if m:
        return _labelled(clock(m.group(2)), m.group(1), m.group(3))
    return None


def _labelled(start: float, who: str | None, body: str) -> tuple[float, None, str | None, str]:
    """`00:00:03 Jane: text` names its speaker after the time."""
    if who is None and (m := _TEXT_LABEL.match(body)) and not m.group(1)[0].islower():
        who, body = m.group(1), m.group(2)
    return start, None, who, body


def _is_heading(title: str, start: float, nxt: tuple | None, known: dict[float, str]) -> bool:
    """A `[time] Title` line that names a chapter rather than saying something."""
    if not title or len(title) > 120:
        return False
    if known:  # the page lists its chapters: a heading is one of them
        named = known.get(start)
        if named is not None and _norm(title).startswith(_norm(named)[:40]):
            return True
        return _norm(title) in {_norm(t) for t in known.values()}
    # the next line starts at the same second with a speaker: this line is only a heading
    return (
        nxt is not None
        and nxt[0] == start
        and nxt[2] is not None
        and not title.rstrip().endswith((".", "?", "!", ",", ":"))
        and len(title.split()) <= 14
    )


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def parse_text(text: str, known_chapters: dict[float, str] | None = None) -> ParsedText:
    """Read a transcript in any layout above; `known_chapters` (start -> title) helps tell
    chapter headings from speech."""
    known = known_chapters or {}
    lines = [ln.strip() for ln in split_run_together(text).splitlines()]
    parsed = ParsedText()
    timed = [(i, _match(ln)) for i, ln in enumerate(lines)]
    names = _name_lines(lines, timed)
    speaker: str | None = None
    named: str | None = None  # a name on its own line: who speaks from the next time on
    unnamed_header = False  # the last segment is a header with no name and no text yet
    started = False
    console = False  # console logs: lines without a time are log noise, not text
    last_timed = -1  # the index of the last timed line
    voiced: set[int] = set()  # untimed lines read as a further voice on the timed line above
    shared: dict[int, list[Segment]] = {}  # segments sharing one timed line's span, by id
    for n, (i, m) in enumerate(timed):
        line = lines[i]
        if m is None:
            if i in names:
                named = names[i]
                continue
            if not started or not line or FURNITURE.match(line):
                continue
            if (
                parsed.segments
                and not console
                and i > 0
                and lines[i - 1]
                and (i - 1 == last_timed or i - 1 in voiced)
                and (lm := _TEXT_LABEL.match(line))
                and is_name(lm.group(1))
                and tidy_name(lm.group(1)) != speaker
                and parsed.segments[-1].text
            ):
                # a second voice on a timed line (`00:00:01 <v Alice>Hi.</v> <v Bob>Hello.</v>`,
                # read as `Bob: Hello.` on the line after it): a segment of its own, sharing
                # the line's time span
                last = parsed.segments[-1]
                speaker = tidy_name(lm.group(1))
                seg = Segment(start=last.start, end=-1.0, text=_clean(lm.group(2)), speaker=speaker)
                parsed.segments.append(seg)
                shared.setdefault(id(last), [last]).append(seg)
                shared[id(seg)] = shared[id(last)]
                voiced.add(i)
                continue
            if parsed.segments and not console and not _looks_like_heading_block(line):
                last = parsed.segments[-1]  # a paragraph a page break cut in two
                if unnamed_header and not last.text and (lm := _TEXT_LABEL.match(line)):
                    speaker = last.speaker = lm.group(1)
                    line = lm.group(2)
                unnamed_header = False
                last.text = f"{last.text} {_clean(line)}".strip()
            continue
        started = True
        last_timed = i
        start, end, who, body = m
        console = end is not None
        if who is None and named is not None and end is None:
            who = named
        named = None
        nxt = next((t for _, t in timed[n + 1 :] if t is not None), None)
        whole = f"{who}: {body}" if who else body
        if end is None and _is_heading(whole.strip(), start, nxt, known):
            parsed.headings.append(Heading(start, whole.strip()))
            continue
        if who is None and end is None and _is_heading(body.strip(), start, nxt, known):
            parsed.headings.append(Heading(start, body.strip()))
            continue
        if who is not None:
            speaker = " ".join(who.split())
        elif end is not None:
            speaker = None  # console logs carry no speakers (`>>Name` tags are invented)
        body = _clean(body)
        if not body and console:
            continue
        # a header line (`Jane Doe  0:03`, `0:00`): its text is on the lines after it
        unnamed_header = not body and who is None
        flags = ["inaudible"] if INAUDIBLE.search(body) else []
        parsed.segments.append(
            Segment(
                start=start,
                end=end if end is not None else -1.0,
                text=body,
                speaker=speaker,
                flags=flags,
            )
        )
    parsed.segments = [s for s in parsed.segments if s.text]
    for seg in parsed.segments:
        if "inaudible" not in seg.flags and INAUDIBLE.search(seg.text):
            seg.flags.append("inaudible")
    fold_lone_labels(parsed.segments)
    _close(parsed.segments)
    _share(parsed.segments, list({id(g): g for g in shared.values()}.values()))
    _flag_invented(parsed.segments)
    return parsed


def _name_lines(lines: list[str], timed: list) -> dict[int, str]:
    """Lines holding only a speaker's name (`Jane Doe`, `JANE:`) before a timed line without
    one; names without a colon count when one of them comes back."""
    found: dict[int, str] = {}
    for n, (i, m) in enumerate(timed):
        if m is not None or not lines[i] or len(lines[i]) > 40:
            continue
        follow = next(((j, t) for j, t in timed[n + 1 :] if lines[j]), None)
        if follow is None or follow[1] is None or follow[1][2] is not None or follow[1][1]:
            continue
        name = lines[i].rstrip(":").strip()
        if is_name(name):
            found[i] = tidy_name(name)
    counts: dict[str, int] = {}
    for name in found.values():
        counts[name] = counts.get(name, 0) + 1
    layout = len(found) >= 2 and max(counts.values(), default=0) >= 2
    return {i: name for i, name in found.items() if lines[i].endswith(":") or layout}


def _looks_like_heading_block(line: str) -> bool:
    return bool(re.match(r"^(Transcripts?|Timestamps|Chapters|Show Notes)\b", line))


def _drop_tag(m: re.Match[str]) -> str:
    """`>>Name Surname` goes; a second capitalised word that opens the sentence stays."""
    second = m.group(2)
    return f" {second} " if second and second in _SENTENCE_STARTS else " "


def _clean(body: str) -> str:
    body = _INVENTED_TAG.sub(_drop_tag, " " + body + " ")
    body = _TRAILING_FURNITURE.sub("", body)
    return " ".join(body.split())


def _close(segments: list[Segment]) -> None:
    """Give untimed ends the next segment's start; number the segments."""
    for i, seg in enumerate(segments):
        seg.idx = i
        if seg.end < seg.start:
            nxt = segments[i + 1].start if i + 1 < len(segments) else None
            guess = seg.start + len(seg.text.split()) / WORDS_PER_SECOND
            seg.end = max(
                seg.start, min(nxt, guess) if nxt is not None and nxt > seg.start else guess
            )


def _share(segments: list[Segment], groups: list[list[Segment]]) -> None:
    """Segments read from one timed line share its span (its start to the next line's, or
    as long as their words take to say) by the length of their text."""
    for group in groups:
        group = [seg for seg in group if seg.text]
        if len(group) < 2:
            continue
        start = group[0].start
        after = group[-1].idx + 1
        nxt = segments[after].start if after < len(segments) else None
        guess = start + sum(len(seg.text.split()) for seg in group) / WORDS_PER_SECOND
        end = min(nxt, guess) if nxt is not None and nxt > start else guess
        total = sum(len(seg.text) + 1 for seg in group)
        t = start
        for seg in group:
            seg.start = round(t, 3)
            t += (end - start) * (len(seg.text) + 1) / total
            seg.end = round(t, 3)
        group[-1].end = end


def _flag_invented(segments: list[Segment]) -> None:
    """Flag what Whisper invents on silence: sound tags anywhere, and a lone `you` or `Thank
    you.` trailing after the talk has ended."""
    trailing = True
    for seg in reversed(segments):
        text = seg.text.strip()
        sound = bool(_SOUND_TAG.match(text))
        invented = sound or (trailing and text.lower() in _SILENCE_PHRASES)
        if invented and "hallucination" not in seg.flags:
            seg.flags.append("hallucination")
        if sound and "sound_tag" not in seg.flags:
            seg.flags.append("sound_tag")
        trailing = trailing and (sound or text.lower() in _SILENCE_PHRASES)
