"""Writers produce well-formed files that the readers parse back to the same text and times."""

from __future__ import annotations

import json
import re

import pytest

from podgrep.domain import Segment, Transcript, Word
from podgrep.errors import PodgrepError
from podgrep.formats import render, timestamp
from podgrep.formats.native_json import read_json
from podgrep.formats.podcast_json import parse_podcast_json
from podgrep.formats.srt import parse_srt
from podgrep.formats.vtt import parse_vtt

LONG = (
    "So the idea behind reinforcement learning from human feedback is that you collect "
    "preferences from people and then train a reward model that the policy optimises against "
    "while staying close to the original model so it does not drift too far away at all"
)


def _seg(start: float, text: str, speaker: str | None = None, span: float | None = None) -> Segment:
    tokens = text.split()
    step = (span or len(tokens) * 0.35) / len(tokens)
    words = [
        Word(start + i * step, start + (i + 1) * step - 0.02, " " + t) for i, t in enumerate(tokens)
    ]
    return Segment(start, words[-1].end, text, words, speaker=speaker)


@pytest.fixture
def transcript() -> Transcript:
    segs = [
        _seg(0.5, "Welcome back to the show.", "Jon Krohn"),
        _seg(2.5, LONG, "Yannic Kilcher", span=15.0),
        _seg(18.0, "Is 3 < 4 & 5 > 2? Ça va, naïve café.", "Jon Krohn"),
        Segment(21.0, 21.5, "   "),
        _seg(3700.25, "An hour later, without a speaker."),
    ]
    for i, s in enumerate(segs):
        s.idx = i
    return Transcript(1, "whisper", "tiny.en", "en", segs, 0.99)


def _norm(text: str) -> str:
    return " ".join(text.split())


SRT_CUE = re.compile(
    r"^(\d+)\n(\d\d:\d\d:\d\d,\d\d\d) --> (\d\d:\d\d:\d\d,\d\d\d)\n((?:.+\n?){1,2})$"
)


def test_srt_is_well_formed_and_round_trips(transcript: Transcript):
    text = render("srt", transcript)
    blocks = text.strip("\n").split("\n\n")
    for n, block in enumerate(blocks, 1):
        m = SRT_CUE.match(block)
        assert m, block
        assert int(m.group(1)) == n
        lines = m.group(4).strip("\n").split("\n")
        assert 1 <= len(lines) <= 2
        for line in lines:
            body = re.sub(r"^(Jon Krohn|Yannic Kilcher): ", "", line)
            assert len(body) <= 32 or " " not in body
    cues = parse_srt(text, speaker_prefix=True)
    assert all(c.end > c.start for c in cues)
    assert all(a.start <= b.start for a, b in zip(cues, cues[1:], strict=False))
    spoken = [s for s in transcript.segments if s.text.strip()]
    assert _norm(" ".join(c.text for c in cues)) == _norm(" ".join(s.text for s in spoken))
    assert cues[0].speaker == "Jon Krohn" and abs(cues[0].start - 0.5) < 0.001
    assert abs(cues[-1].start - 3700.25) < 0.001 and cues[-1].speaker is None


def test_vtt_is_well_formed_and_round_trips(transcript: Transcript):
    text = render("vtt", transcript)
    assert text.startswith("WEBVTT\n\n")
    assert "<v Yannic Kilcher>" in text and "3 &lt; 4 &amp; 5 &gt; 2" in text
    for block in text.strip().split("\n\n")[1:]:
        timing, *lines = block.split("\n")
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d\d\d --> \d\d:\d\d:\d\d\.\d\d\d", timing)
        assert 1 <= len(lines) <= 2
    cues = parse_vtt(text)
    spoken = [s for s in transcript.segments if s.text.strip()]
    assert _norm(" ".join(c.text for c in cues)) == _norm(" ".join(s.text for s in spoken))
    assert {c.speaker for c in cues} == {"Jon Krohn", "Yannic Kilcher", None}


def test_third_party_captions():
    vtt = (
        "WEBVTT - made elsewhere\nKind: captions\n\nNOTE a comment\nspanning lines\n\n"
        "STYLE\n::cue { color: red }\n\nintro\n00:01.000 --> 00:04.500 align:start position:10%\n"
        "<v.loud Alice>Hello <b>there</b> &amp; welcome\n\n00:00:05.000 --> 00:00:06.000\nBye\n"
    )
    cues = parse_vtt(vtt)
    assert [(c.start, c.end, c.text, c.speaker) for c in cues] == [
        (1.0, 4.5, "Hello there & welcome", "Alice"),
        (5.0, 6.0, "Bye", None),
    ]
    srt = (
        "\ufeff1\r\n00:00:01.5 --> 00:00:03,000\r\nTwo\r\nlines\r\n\r\n"
        "2\r\n00:00:04,000 --> 00:00:05,000\r\n<i>Bob:</i> hi\r\n"
    )
    cues = parse_srt(srt, speaker_prefix=True)
    assert [(c.start, c.text) for c in cues] == [(1.5, "Two lines"), (4.0, "hi")]
    assert cues[1].speaker == "Bob"


def test_txt_paragraphs(transcript: Transcript):
    text = render("txt", transcript)
    paras = text.strip().split("\n\n")
    assert paras[0].startswith("Jon Krohn [00:00:00]: Welcome back")
    assert paras[1].startswith("Yannic Kilcher [00:00:02]: So the idea")
    assert paras[-1] == "[01:01:40] An hour later, without a speaker."


def test_native_json_round_trip(transcript: Transcript):
    doc = json.loads(render("json", transcript, title="Ep", show="Show"))
    assert doc["episode"] == "Ep" and doc["segments"][1]["words"][0]["word"] == " So"
    back = read_json(render("json", transcript))
    assert [s.text for s in back.segments] == [s.text for s in transcript.segments]
    assert back.segments[1].words[3].start == pytest.approx(
        transcript.segments[1].words[3].start, abs=1e-3
    )


def test_podcast_json(transcript: Transcript):
    doc = json.loads(render("podcast-json", transcript))
    assert doc["version"] == "1.0.0"
    for item in doc["segments"]:
        assert set(item) <= {"startTime", "endTime", "body", "speaker"}
        assert isinstance(item["startTime"], float) and item["endTime"] >= item["startTime"]
        assert item["body"]
    assert doc["segments"][0]["speaker"] == "Jon Krohn"
    assert "speaker" not in doc["segments"][-1]
    back = parse_podcast_json(json.dumps(doc))
    assert back[1].speaker == "Yannic Kilcher"
    with pytest.raises(PodgrepError):
        parse_podcast_json('{"segments": 3}')


def test_hallucinations_left_out_of_exports(transcript: Transcript):
    transcript.segments.append(Segment(3800, 3801, "Thanks for watching!", flags=["hallucination"]))
    assert "watching" not in render("srt", transcript)
    assert "watching" in render("json", transcript)


def test_unknown_format_and_timestamp(transcript: Transcript):
    with pytest.raises(PodgrepError, match="srt, vtt, txt, json, podcast-json"):
        render("docx", transcript)
    assert timestamp(3725.9) == "01:02:05"
