"""Speaker labels in front of caption and transcript text: `JOHN: text`, `[John] text`,
`- John: text`, `>> JOHN: text`, and `>>` alone (the speaker changes, name unknown)."""

from __future__ import annotations

import re

from podgrep.domain import Segment

# a name: up to four words, each capitalised, all caps, a number (`Speaker 2`) or a particle
_PARTICLES = r"(?:van|von|de|der|den|da|di|du|del|la|le|bin|al|el|ten|ter)"
_WORD = r"(?:[A-Z][\w.'’-]*|\d{1,3}|" + _PARTICLES + r")"
NAME = rf"[A-Z][\w.'’-]*(?:[ \t]{_WORD}){{0,3}}"
_SOUNDS = {
    "applause",
    "background",
    "beep",
    "bell",
    "break",
    "chuckles",
    "cheering",
    "coughs",
    "crosstalk",
    "end",
    "foreign",
    "inaudible",
    "intro",
    "laughing",
    "laughs",
    "laughter",
    "music",
    "noise",
    "outro",
    "pause",
    "sighs",
    "silence",
    "sound",
    "unintelligible",
}
INAUDIBLE = re.compile(
    r"[\[(](?:inaudible|crosstalk|unintelligible|indiscernible)[^\])]*[\])]", re.IGNORECASE
)
_CHEVRON = re.compile(r"^>>+\s*(.*)$")
_DASH = re.compile(r"^[-–—]\s*(.*)$")
_BRACKETED = re.compile(rf"^[\[(]({NAME})[\])]\s*:?\s+(\S.*)$")
_COLON = re.compile(rf"^({NAME})\s*:\s+(\S.*)$")
_COLON_ALONE = re.compile(rf"^({NAME})\s*:$")


def is_name(text: str) -> bool:
    """Whether text could be a speaker's name rather than a sound or a sentence."""
    words = text.split()
    if not words or len(text) > 40 or words[0].lower().strip(".") in _SOUNDS:
        return False
    return re.fullmatch(NAME, " ".join(words)) is not None


def tidy_name(name: str) -> str:
    """`JOHN SMITH` as `John Smith` (all-caps words without a vowel, such as `JFK`, and short
    ones stay), spaces tidied."""
    words = name.strip().rstrip(":").split()
    if any(c.islower() for c in name):
        return " ".join(words)
    return " ".join(w.capitalize() if _spoken(w) else w for w in words)


def _spoken(word: str) -> bool:
    return len(word) >= 3 and word.isalpha() and any(c in "AEIOUY" for c in word)


def split_label(line: str) -> tuple[str | None, str, bool]:
    """(speaker or None, the text after the label, whether a label marked a change of speaker)."""
    line = line.strip()
    changed = False
    m = _CHEVRON.match(line)
    if m:
        line, changed = m.group(1), True
    else:
        m = _DASH.match(line)
        if m and m.group(1):
            line, changed = m.group(1), True
    for pattern in (_BRACKETED, _COLON):
        m = pattern.match(line)
        if m and is_name(m.group(1)):
            return tidy_name(m.group(1)), m.group(2), True
    m = _COLON_ALONE.match(line)
    if m and is_name(m.group(1)):
        return tidy_name(m.group(1)), "", True
    return None, line, changed


def speaker_label(line: str) -> tuple[str | None, str]:
    """(speaker, text) of `Name: text`, `[Name] text` or a lone `Name:`; (None, line) else."""
    line = line.strip()
    for pattern in (_COLON, _BRACKETED):
        m = pattern.match(line)
        if m and is_name(m.group(1)):
            return tidy_name(m.group(1)), m.group(2)
    m = _COLON_ALONE.match(line)
    if m and is_name(m.group(1)):
        return tidy_name(m.group(1)), ""
    return None, line


def fold_lone_labels(segments: list[Segment]) -> None:
    """A `Word: text` label used once only is text (`Aside: …`, `EDIT: …`), not a speaker."""
    counts: dict[str, int] = {}
    for seg in segments:
        if seg.speaker:
            counts[seg.speaker] = counts.get(seg.speaker, 0) + 1
    if sum(counts.values()) <= 5:
        return
    previous: str | None = None
    current: str | None = None
    for seg in segments:
        if seg.speaker != previous:
            current = seg.speaker
            if seg.speaker and counts[seg.speaker] == 1:
                seg.text = f"{seg.speaker}: {seg.text}"
                current = _last_real(segments, seg, counts)
        previous = seg.speaker
        seg.speaker = current


def _last_real(segments: list[Segment], upto: Segment, counts: dict[str, int]) -> str | None:
    found = None
    for seg in segments:
        if seg is upto:
            break
        if seg.speaker and counts.get(seg.speaker, 0) > 1:
            found = seg.speaker
    return found
