"""Deepgram's pre-recorded response without utterances: its paragraphs, else its words."""

from __future__ import annotations

import json

from podgrep.transcripts.importer import read_transcript

WORDS = [
    {"word": "hello", "punctuated_word": "Hello", "start": 0.08, "end": 0.4, "speaker": 0},
    {"word": "there", "punctuated_word": "there.", "start": 0.4, "end": 0.8, "speaker": 0},
    {"word": "hi", "punctuated_word": "Hi", "start": 1.6, "end": 1.9, "speaker": 1},
    {"word": "alice", "punctuated_word": "Alice.", "start": 1.9, "end": 2.4, "speaker": 1},
]


def _doc(alternative: dict) -> bytes:
    body = {
        "metadata": {"duration": 2.5},
        "results": {"channels": [{"alternatives": [alternative]}]},
    }
    return json.dumps(body).encode()


def test_deepgram_paragraphs_give_sentences_with_speakers() -> None:
    paragraphs = {
        "transcript": "Hello there. Hi Alice.",
        "paragraphs": [
            {"speaker": 0, "start": 0.08, "end": 0.8,
             "sentences": [{"text": "Hello there.", "start": 0.08, "end": 0.8}]},
            {"speaker": 1, "start": 1.6, "end": 2.4,
             "sentences": [{"text": "Hi Alice.", "start": 1.6, "end": 2.4}]},
        ],
    }  # fmt: skip
    [ep] = read_transcript(_doc({"transcript": "Hello there. Hi Alice.", "words": WORDS,
                                 "paragraphs": paragraphs}), "dg.json")  # fmt: skip
    got = [(s.start, s.end, s.speaker, s.text) for s in ep.segments]
    assert got == [(0.08, 0.8, "Speaker 0", "Hello there."), (1.6, 2.4, "Speaker 1", "Hi Alice.")]


def test_deepgram_words_alone_are_merged_into_segments() -> None:
    [ep] = read_transcript(_doc({"transcript": "Hello there. Hi Alice.", "words": WORDS}), "d.json")
    got = [(round(s.start, 2), s.speaker, s.text) for s in ep.segments]
    assert got == [(0.08, "Speaker 0", "Hello there."), (1.6, "Speaker 1", "Hi Alice.")]
