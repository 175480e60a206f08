"""Speaker labels in front of caption and transcript text: `JOHN: text`, `[John] text`,
`- John: text`, `>> JOHN: text`, and `>>` alone (the speaker changes, name unknown)."""

from __future__ import annotations

import re
import unicodedata

from podgrep.domain import Segment


def _capitals() -> str:
    """A character class of the letters a name may start with: capitals of any script
    (`Z`, `Ñ`, `Ç`) and letters of scripts without case (`李`, `ج`)."""
    spans: list[tuple[int, int]] = []
    for code in range(0x30000):
        ch = chr(code)
        if ch.isalpha() and not ch.islower():
            if spans and spans[-1][1] == code - 1:
                spans[-1] = (spans[-1][0], code)
            else:
                spans.append((code, code))
    return (
        "["
        + "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in spans)
        + "]"
    )


CAPITAL = _capitals()
# a name: up to four words, each capitalised, all caps, a number (`Speaker 2`) or a particle
_PARTICLES = r"(?:van|von|de|der|den|da|di|du|del|la|le|bin|al|el|ten|ter)"
_WORD = rf"(?:{CAPITAL}[\w.'’-]*|\d{{1,3}}|{_PARTICLES})"
NAME = rf"{CAPITAL}[\w.'’-]*(?:[ \t]{_WORD}){{0,3}}"
CJK_NAME = 4  # characters at most in a name written in Han, kana or Hangul (`李雷`)
# WhisperX, pyannote, whisper.cpp, AWS and AssemblyAI name speakers by number, not by name
RAW_LABEL = re.compile(r"^(?:speaker|spk)[ _-]?(?:\d{1,3}|[A-Z])$", re.IGNORECASE)
_TITLES = {"DR", "MR", "MRS", "MS", "MX", "PROF", "REV", "ST", "JR", "SR", "SGT", "CAPT", "GEN"}
SOUNDS = {
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
_BRACKETED = re.compile(rf"^[\[(]({NAME})[\])]\s*[:：]?\s+(\S.*)$")
_COLON = re.compile(rf"^({NAME})\s*(?::\s+|：\s*)(\S.*)$")
_COLON_ALONE = re.compile(rf"^({NAME})\s*[:：]$")
# what a label looks like whether or not its name is read: a few words, then a colon
LABEL_SHAPE = re.compile(r"^([^\W\d_][^:：.?!,;\[\]()]{0,39}?)\s*(?::\s+|：\s*)(\S.*)$")
# an emoji or symbol between a name and its colon (`Zoë 🎙️:`)
_DECOR = re.compile(
    r"^([^:：]{1,40}?)\s*[\u2190-\u2bff\U0001F000-\U0001FAFF\uFE0F\u200d]+\s*(?=[:：])"
)


def _cjk(ch: str) -> bool:
    name = unicodedata.name(ch, "")
    return name.startswith(("CJK ", "HIRAGANA", "KATAKANA", "HANGUL"))


def is_name(text: str) -> bool:
    """Whether text could be a speaker's name rather than a sound or a sentence."""
    words = text.split()
    if not words or len(text) > 40 or words[0].lower().strip(".") in SOUNDS:
        return False
    cjk = sum(1 for c in text if _cjk(c))
    if cjk and (cjk > CJK_NAME or len(words) > 1 and cjk > 1):
        return False  # a CJK name is a few characters; more is a sentence
    return re.fullmatch(NAME, " ".join(words)) is not None


def is_raw_label(name: str | None) -> bool:
    """Whether a speaker is a diarizer's number (`SPEAKER_00`, `Speaker 1`, `spk_0`) rather
    than a person's name: such speakers are told apart but left for the user to name."""
    return name is not None and RAW_LABEL.match(name.strip()) is not None


def tidy_name(name: str) -> str:
    """`JOHN SMITH` as `John Smith` and `DR. JANE O'NEIL` as `Dr. Jane O'Neil`: an all-caps
    name is title-cased as a whole (all-caps words without a vowel, such as `JFK`, and short
    ones stay), spaces tidied; a name written in mixed case is kept as written."""
    words = name.strip().rstrip(":：").split()
    if any(c.islower() for c in name) or is_raw_label(" ".join(words)):
        return " ".join(words)
    return " ".join(_title(w) for w in words)


def _title(word: str) -> str:
    """One all-caps word title-cased piece by piece: `O'NEIL` → `O'Neil`, `DR.` → `Dr.`,
    `JEAN-PAUL` → `Jean-Paul`."""
    pieces = re.split(r"([.'’-])", word)
    out = []
    for i, piece in enumerate(pieces):
        after_apostrophe = i >= 2 and pieces[i - 1] in "'’" and len(pieces[i - 2]) == 1
        if piece.upper() in _TITLES or _spoken(piece) or (after_apostrophe and len(piece) >= 2):
            piece = piece.capitalize()
        out.append(piece)
    return "".join(out)


def _spoken(word: str) -> bool:
    bare = unicodedata.normalize("NFD", word)
    return len(word) >= 3 and word.isalpha() and any(c in "AEIOUY" for c in bare)


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
    labelled = _DECOR.sub(r"\1", line)
    for pattern in (_BRACKETED, _COLON):
        m = pattern.match(labelled)
        if m and is_name(m.group(1)):
            return tidy_name(m.group(1)), m.group(2), True
    m = _COLON_ALONE.match(labelled)
    if m and is_name(m.group(1)):
        return tidy_name(m.group(1)), "", True
    return None, line, changed


def label_shaped(line: str) -> bool:
    """Whether a line opens with what looks like a speaker's label (`日本語の話者: …`) even
    though its name was not read as one: up to six words before a colon, none of them
    starting with a small letter (`So here's the thing: …` is a sentence)."""
    m = LABEL_SHAPE.match(_DECOR.sub(r"\1", line.strip()))
    if not m:
        return False
    words = m.group(1).split()
    return len(words) <= 6 and not any(w[0].islower() for w in words)


def speaker_label(line: str) -> tuple[str | None, str]:
    """(speaker, text) of `Name: text`, `[Name] text` or a lone `Name:`; (None, line) else."""
    line = line.strip()
    labelled = _DECOR.sub(r"\1", line)
    for pattern in (_COLON, _BRACKETED):
        m = pattern.match(labelled)
        if m and is_name(m.group(1)):
            return tidy_name(m.group(1)), m.group(2)
    m = _COLON_ALONE.match(labelled)
    if m and is_name(m.group(1)):
        return tidy_name(m.group(1)), ""
    return None, line


# words of a label that make it an aside rather than a person ("Editor's Note:", "Quick Update:")
_ASIDE_WORDS = frozenset(
    {
        "note",
        "notes",
        "aside",
        "edit",
        "edited",
        "update",
        "updates",
        "correction",
        "corrections",
        "disclaimer",
        "spoiler",
        "warning",
        "ps",
        "p.s",
        "transcript",
        "summary",
        "chapter",
        "intro",
        "outro",
        "ad",
        "ads",
        "sponsor",
        "sponsored",
        "music",
        "timestamp",
        "timestamps",
        "question",
        "answer",
        "q",
        "a",
        "links",
        "link",
    }
)


def _a_person(label: str) -> bool:
    """Whether a label reads as a person's name: two or more capitalised words, none of them
    an aside's ("Jane Smith", "Dr. Ada Lovelace"; not "Editor's Note")."""
    words = label.split()
    if len(words) < 2 or not all(w[:1].isupper() for w in words):
        return False
    return not any(w.lower().removesuffix("'s").strip(".") in _ASIDE_WORDS for w in words)


def fold_lone_labels(segments: list[Segment]) -> None:
    """A `Word: text` label used once only is text (`Aside: …`, `EDIT: …`), not a speaker;
    a person's full name used once (a caller, a guest with one line) stays a speaker."""
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
            if seg.speaker and counts[seg.speaker] == 1 and not _a_person(seg.speaker):
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
