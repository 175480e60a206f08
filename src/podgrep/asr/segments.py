"""From timed words to transcript segments: sentences, split at long pauses, checked by guards."""

from __future__ import annotations

import zlib

from podgrep.asr import guards
from podgrep.domain import Segment, Word

SENTENCE_END = (".", "?", "!", "。", "？", "！", "…")
ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "vs.", "e.g.", "i.e.", "etc.", "jr.", "sr."}
PAUSE = 1.0  # seconds of silence between two words that always start a new segment
MAX_WORDS = 40  # a sentence longer than this is split at a comma, or at 60 words anyway


def compression_ratio(text: str) -> float:
    """How much zlib shrinks the text: loops of repeated words compress far better than speech."""
    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data)))


def _ends_sentence(word: str) -> bool:
    w = word.strip()
    return w.endswith(SENTENCE_END) and w.lower() not in ABBREVIATIONS


def group_words(words: list[Word]) -> list[list[Word]]:
    """Split a chunk's words into sentence-sized groups."""
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        if current and word.start - current[-1].end >= PAUSE:
            groups.append(current)
            current = []
        current.append(word)
        text = word.word.strip()
        if (
            _ends_sentence(text)
            or (len(current) >= MAX_WORDS and text.endswith((",", ";", ":")))
            or len(current) >= MAX_WORDS * 3 // 2
        ):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def build(
    words: list[Word], *, avg_logprob: float, no_speech_prob: float, extra_flags: list[str]
) -> list[Segment]:
    """Segments for one decoded chunk, each run through the guards.

    A loop is collapsed over the chunk's words first: Whisper's loops ("no, no, no, ...") often
    run past a segment's end, where no single segment would show them.
    """
    segments: list[Segment] = []
    keep, cut = guards.collapse_loop([w.word for w in words])
    looped = {id(words[k]) for k in cut}
    groups = group_words([words[k] for k in keep])
    for group in groups:
        text = "".join(w.word for w in group).strip()
        if not text:
            continue
        mean_prob = sum(w.probability for w in group) / len(group)
        text, flags = guards.check(
            text,
            no_speech_prob=no_speech_prob,
            avg_logprob=avg_logprob,
            compression_ratio=compression_ratio(text),
            word_probability=mean_prob,
            alone=len(groups) == 1,
        )
        if not text:
            continue
        if "repetition" not in flags and any(id(w) in looped for w in group):
            flags.append("repetition")
        flags = flags + [f for f in extra_flags if f not in flags]
        start, end = group[0].start, group[-1].end
        if "repetition" in flags:  # a collapsed loop keeps the words of the one copy left
            group = group[: max(1, len(text.split()))]
        segments.append(
            Segment(start=start, end=max(end, start), text=text, words=group, flags=flags)
        )
    guards.flag_repeated_segments(segments)
    return segments
