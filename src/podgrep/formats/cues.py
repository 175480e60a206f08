"""Caption cues: segments split into short timed lines, as captions must be."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from podgrep.domain import Segment

MAX_LINE = 32  # Podcasting 2.0 captions guidance: two lines of at most 32 characters
MAX_LINES = 2
MIN_DURATION = 0.01
MIN_CUE = 0.5  # each of the cues a segment is cut into stays up this long, to be read at all
MAX_PREFIX = 20  # a longer speaker prefix would leave too little of a cue's first line


@dataclass
class Cue:
    """One caption: its time span, its lines and who speaks."""

    start: float
    end: float
    lines: list[str]
    speaker: str | None = None


@dataclass
class _Piece:
    text: str
    start: float
    end: float
    glued: bool  # no space before it: ".5" after "3", or CJK text


def _pieces(seg: Segment) -> list[_Piece]:
    """The segment's text as timed pieces: its words if they spell the text, else by length."""
    tokens = seg.text.split()
    words = [w for w in seg.words if w.word.strip()]
    # guards may have rewritten the text; word timings only count when they still match it
    if words and "".join(w.word for w in words).split() == tokens:
        pieces = []
        for i, w in enumerate(words):
            glued = i > 0 and not w.word[:1].isspace() and not words[i - 1].word[-1:].isspace()
            pieces.append(_Piece(w.word.strip(), w.start, w.end, glued))
        return pieces
    total = sum(len(t) + 1 for t in tokens) or 1
    span = max(seg.end - seg.start, MIN_DURATION)
    out, t = [], seg.start
    for tok in tokens:
        d = span * (len(tok) + 1) / total
        out.append(_Piece(tok, t, t + d, False))
        t += d
    return out


def _fit(pieces: list[_Piece], size: int = MAX_LINE) -> list[_Piece]:
    """Cut pieces longer than `size` (CJK runs, URLs) into pieces that fit, time by length."""
    out = []
    for p in pieces:
        if len(p.text) <= size:
            out.append(p)
            continue
        n = len(p.text)
        for i in range(0, n, size):
            a = p.start + (p.end - p.start) * i / n
            b = p.start + (p.end - p.start) * min(i + size, n) / n
            out.append(_Piece(p.text[i : i + size], a, b, p.glued or i > 0))
    return out


def _line_text(line: list[_Piece]) -> str:
    return "".join(("" if i == 0 or p.glued else " ") + p.text for i, p in enumerate(line))


def _wrap(pieces: list[_Piece], first: int = MAX_LINE) -> list[list[_Piece]]:
    """Greedy wrap into lines of at most MAX_LINE characters (the first line `first`, leaving
    room for a speaker prefix), breaking at spaces if possible."""
    units: list[list[_Piece]] = []
    for p in pieces:
        if units and p.glued:
            units[-1].append(p)
        else:
            units.append([p])
    lines: list[list[_Piece]] = []

    def room(index: int) -> int:
        return first if index == 0 else MAX_LINE

    for unit in units:
        width = len(_line_text(unit))
        if lines and len(_line_text(lines[-1])) + 1 + width <= room(len(lines) - 1):
            lines[-1].extend(unit)
        elif width <= room(len(lines)):
            lines.append(list(unit))
        else:
            # a space-less run longer than a line: break between its pieces
            lines.append([])
            for p in unit:
                if lines[-1] and len(_line_text([*lines[-1], p])) > room(len(lines) - 1):
                    lines.append([])
                lines[-1].append(p)
    return lines


def _greedy(pieces: list[_Piece], first: int) -> list[list[list[_Piece]]]:
    """Cues of MAX_LINES lines filled in order, each cue's first line `first` wide."""
    cues: list[list[list[_Piece]]] = []
    rest = pieces
    while rest:
        take = _wrap(rest, first)[:MAX_LINES]
        cues.append(take)
        rest = rest[sum(len(line) for line in take) :]
    return cues


def _fits(lines: list[list[_Piece]], first: int) -> bool:
    return len(lines) <= MAX_LINES and all(
        len(_line_text(line)) <= (first if i == 0 else MAX_LINE) for i, line in enumerate(lines)
    )


def _chunks(pieces: list[_Piece], first: int = MAX_LINE) -> list[list[list[_Piece]]]:
    """Group wrapped lines into cues of MAX_LINES, spreading text evenly over as few cues;
    every cue's first line is `first` wide (room for the speaker prefix it will carry)."""
    greedy = _greedy(pieces, first)
    n = len(greedy)
    if n < 2:
        return greedy
    # greedy packing leaves a stub ("at all") as the last cue; cut at spaces by length instead
    total = len(_line_text(pieces))
    groups: list[list[_Piece]] = [[]]
    done = 0
    for p in pieces:
        if groups[-1] and not p.glued and done >= total * len(groups) / n:
            groups.append([])
        groups[-1].append(p)
        done += len(p.text) + (0 if p.glued else 1)
    balanced = [_wrap(g, first) for g in groups]
    if len(balanced) == n and all(_fits(c, first) for c in balanced):
        return balanced
    return greedy


def one_line(text: str) -> str:
    """`text` fit for one caption line: whitespace runs (line breaks too) as one space, no
    control characters, so a name or a word cannot end a cue or start another."""
    return " ".join(
        "".join(c for c in text if unicodedata.category(c) != "Cc" or c.isspace()).split()
    )


def prefix_width(name: str) -> int:
    """Characters a speaker takes before a cue's first line: WebVTT's `<v Name>` as written
    (escaped), which is also room for SRT's shorter `Name: `; both formats share one layout."""
    escaped = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return len(escaped) + 4


def fit_name(name: str) -> str:
    """`name`, cut with an ellipsis until its prefix is at most MAX_PREFIX long."""
    if prefix_width(name) <= MAX_PREFIX:
        return name
    n = len(name)
    while n > 1 and prefix_width(name[: n - 1].rstrip() + "…") > MAX_PREFIX:
        n -= 1
    return name[: n - 1].rstrip() + "…"


def fit_names(names: list[str]) -> dict[str, str]:
    """Each name fitted (`fit_name`), kept apart from every other: two names that would be cut
    to the same prefix ("Dr. Alexandra Konstantinopoulou", "Dr. Alexandra Kowalski" ->
    "Dr. Alexandra K…") are written with initials for all but their last word ("D. A.
    Kowalski"), then, if still alike, numbered, so a reader or parser sees two voices."""
    fitted = {n: fit_name(n) for n in dict.fromkeys(names)}
    taken: dict[str, str] = {}
    for name, short in fitted.items():
        taken.setdefault(short, name)
    for name, short in list(fitted.items()):
        if taken[short] == name:
            continue
        words = name.split()
        candidates = [fit_name(" ".join([*(w[0] + "." for w in words[:-1]), words[-1]]))]
        candidates += [fit_name(short.rstrip("…")[: MAX_PREFIX - 8].rstrip() + "…") + f" {k}"
                       for k in range(2, 100)]  # fmt: skip
        for candidate in candidates:
            if candidate not in taken and prefix_width(candidate) <= MAX_PREFIX:
                fitted[name] = candidate
                taken[candidate] = name
                break
    return fitted


def to_cues(segments: list[Segment]) -> list[Cue]:
    """Split segments into cues of at most two 32-character lines, timed by their words.

    A cue with a speaker has its first line shortened by the speaker's prefix (`<v Name>`,
    `Name: `), so no line, prefix included, passes 32 characters; a name whose prefix would
    pass MAX_PREFIX is cut with an ellipsis, and names cut alike are kept apart."""
    cues: list[Cue] = []
    last_end = 0.0
    # a speaker name comes from feeds, show notes and users: one line, or none at all
    names = fit_names([one_line(seg.speaker or "") for seg in segments if seg.speaker])
    for seg in segments:
        if not seg.text.strip():
            continue
        speaker = names.get(one_line(seg.speaker or "")) or None
        first = MAX_LINE - (prefix_width(speaker) if speaker else 0)
        chunks = _chunks(_fit(_pieces(seg), first), first)
        # a segment cut into several cues (long words, a short span) gives each at least
        # MIN_CUE, the cues after it starting later rather than overlapping; a one-cue
        # segment keeps its own time however short
        shortest = MIN_CUE if len(chunks) > 1 else MIN_DURATION
        for chunk in chunks:
            # players need non-overlapping, non-empty cues even when word timings overlap
            start = max(chunk[0][0].start, last_end, 0.0)
            end = max(chunk[-1][-1].end, start + shortest)
            lines = [line for line in (one_line(_line_text(x)) for x in chunk) if line]
            if not lines:
                continue
            cues.append(Cue(round(start, 3), round(end, 3), lines, speaker))
            last_end = end
    return cues


def clock(seconds: float, sep: str) -> str:
    """`HH:MM:SS<sep>mmm` as SRT (`,`) and WebVTT (`.`) write times."""
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"
