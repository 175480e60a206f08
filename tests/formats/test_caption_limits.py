"""Captions checked by parsers podgrep did not write (PyPI `srt` and `webvtt-py`): every line,
the speaker prefix included, at most 32 characters; at most two lines a cue."""

from __future__ import annotations

import io

import pytest
import srt
import webvtt

from podgrep.domain import Segment, Word
from podgrep.formats import write_srt, write_vtt
from podgrep.formats.cues import MAX_LINE, MAX_LINES

NAMES = ["Ann", "Yannic Kilcher", "Dr. Elizabeth Montgomery-Smythe", "A<B & C>D", None]
TEXT = (
    "So the thing about reinforcement learning from human feedback is that you collect "
    "preferences, train a reward model, and then optimise the policy against it, which is "
    "expensive. Supercalifragilisticexpialidocious words and https://example.org/a/very/long/url "
    "still have to fit."
)


def _segments(name: str | None) -> list[Segment]:
    words, t = [], 0.0
    for w in TEXT.split():
        words.append(Word(t, t + 0.3, " " + w))
        t += 0.35
    return [
        Segment(0.0, t, TEXT, words, speaker=name),
        Segment(t + 1, t + 4, "A short one.", [], speaker=name),
    ]


@pytest.mark.parametrize("name", NAMES)
def test_srt_lines_with_the_prefix_fit_32(name: str | None):
    cues = list(srt.parse(write_srt(_segments(name))))
    assert cues
    for cue in cues:
        lines = cue.content.split("\n")
        assert len(lines) <= MAX_LINES, cue.content
        assert all(len(line) <= MAX_LINE for line in lines), cue.content
        if name:
            assert ": " in lines[0]  # every cue says who speaks


@pytest.mark.parametrize("name", NAMES)
def test_vtt_lines_with_the_voice_fit_32(name: str | None):
    captions = webvtt.from_buffer(io.StringIO(write_vtt(_segments(name)))).captions
    assert captions
    for caption in captions:
        assert len(caption.lines) <= MAX_LINES, caption.raw_text
        assert all(len(line) <= MAX_LINE for line in caption.lines), caption.raw_text
        if name:
            assert caption.voice  # every cue says who speaks


def test_names_cut_alike_stay_two_voices():
    names = ["Dr. Alexandra Konstantinopoulou", "Dr. Alexandra Kowalski"]
    segments = [
        Segment(5.0 * i, 5.0 * i + 4, f"Line {i} of the talk.", [], speaker=names[i % 2])
        for i in range(4)
    ]
    vtt = webvtt.from_buffer(io.StringIO(write_vtt(segments)))
    voices = [c.voice for c in vtt]
    assert len(set(voices)) == 2 and voices[0] != voices[1], voices
    for cue in vtt:
        assert all(len(line) <= MAX_LINE for line in cue.text.splitlines())
    prefixes = {c.content.split(":")[0] for c in srt.parse(write_srt(segments))}
    assert len(prefixes) == 2, prefixes
