"""Guards against Whisper's known failures: text invented on silence and repetition loops."""

from __future__ import annotations

import re

# What Whisper says over silence, music or noise (from its subtitle-heavy training data).
SILENCE_PHRASES = {
    "you",
    "thank you",
    "thanks",
    "thank you very much",
    "thanks for watching",
    "thank you for watching",
    "thank you so much for watching",
    "please subscribe",
    "subscribe",
    "like and subscribe",
    "bye",
    "bye bye",
    "okay",
    "so",
    "the end",
    "subtitles by the amara org community",
    "transcribed by",
    "music",
    "applause",
}
_TAG_ONLY = re.compile(r"^\s*([\[(♪*#][^\])]*[\])♪*#]?\s*)+$")
_WORD = re.compile(r"[a-z0-9']+")


def normalise(text: str) -> str:
    """Lower-case words only, for comparing against known phrases."""
    return " ".join(_WORD.findall(text.lower()))


def is_sound_tag(text: str) -> bool:
    """True for text that is only a bracketed description: `(upbeat music)`, `[Music]`, `♪`."""
    stripped = text.strip()
    return bool(stripped) and bool(_TAG_ONLY.match(stripped))


def collapse_loop(
    tokens: list[str], *, min_repeats: int = 4, max_n: int = 6
) -> tuple[list[int], set[int]]:
    """Which tokens to keep when an n-gram repeats back to back `min_repeats`+ times
    (`min_repeats` + 2 for a single word): one copy stays. Also returns the kept positions
    where a loop was cut, to flag what holds them."""
    keys = [t.lower().strip(".,!?;:") for t in tokens]
    keep = list(range(len(tokens)))
    cut: set[int] = set()
    for n in range(1, max_n + 1):
        out: list[int] = []
        i = 0
        while i < len(keep):
            gram = [keys[k] for k in keep[i : i + n]]
            reps = 1
            while len(gram) == n and [keys[k] for k in keep[i + reps * n : i + (reps + 1) * n]] == (
                gram
            ):
                reps += 1
            if reps >= (min_repeats if n > 1 else min_repeats + 2):
                out.extend(keep[i : i + n])
                cut.add(keep[i + n - 1])
                i += reps * n
            else:
                out.append(keep[i])
                i += 1
        keep = out
    return keep, {k for k in cut if k in set(keep)}


def collapse_repeats(text: str, *, min_repeats: int = 4, max_n: int = 6) -> tuple[str, bool]:
    """Collapse an n-gram repeated back to back `min_repeats`+ times to one copy."""
    tokens = text.split()
    keep, cut = collapse_loop(tokens, min_repeats=min_repeats, max_n=max_n)
    return " ".join(tokens[k] for k in keep), bool(cut)


def flag_repeated_segments(segments: list, *, min_repeats: int = 3) -> None:
    """Flag the copies when the same sentence of 2+ words comes back to back `min_repeats`+ times.

    Whisper's loops often span sentences ("I'm going to go. I'm going to go. ..."), which the
    n-gram collapse inside one segment cannot see. The first copy stays; the rest are flagged.
    """
    i = 0
    while i < len(segments):
        key = normalise(segments[i].text)
        j = i + 1
        while j < len(segments) and normalise(segments[j].text) == key:
            j += 1
        if j - i >= min_repeats and len(key.split()) >= 2:
            for seg in segments[i + 1 : j]:
                for flag in ("repetition", "hallucination"):
                    if flag not in seg.flags:
                        seg.flags.append(flag)
        i = j


def check(
    text: str,
    *,
    no_speech_prob: float,
    avg_logprob: float,
    compression_ratio: float,
    word_probability: float | None,
    alone: bool = True,
) -> tuple[str, list[str]]:
    """Return the text to keep and the flags for one decoded segment.

    `alone` is False when the segment shares its stretch of speech with other text: a short
    "Okay." between two turns is then most likely said, and only very unsure words flag it.
    """
    flags: list[str] = []
    if is_sound_tag(text):
        return text, ["hallucination", "sound_tag"]
    text, looped = collapse_repeats(text)
    if looped or compression_ratio > 2.4:
        flags.append("repetition")
    if normalise(text) in SILENCE_PHRASES:
        if alone:
            unsure = (
                no_speech_prob > 0.2
                or avg_logprob < -0.7
                or (word_probability is not None and word_probability < 0.6)
            )
        else:
            unsure = word_probability is not None and word_probability < 0.3
        if unsure:
            flags.append("hallucination")
    elif no_speech_prob > 0.6 and avg_logprob < -1.0:
        flags.append("hallucination")
    return text, flags
