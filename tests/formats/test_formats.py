"""Writers produce well-formed files that the importer reads back to the same text, times and
speakers."""

from __future__ import annotations

import html
import json
import re

import pytest

from podgrep.domain import Segment, Transcript, Word
from podgrep.errors import PodgrepError
from podgrep.formats import EXTENSIONS, FORMATS, render, timestamp
from podgrep.formats.native_json import read_json
from podgrep.transcripts.captions import clock, parse_srt, parse_vtt
from podgrep.transcripts.importer import read_transcript
from podgrep.transcripts.jsonfmt import parse_json_transcript

LONG = (
    "So the idea behind reinforcement learning from human feedback is that you collect "
    "preferences from people and then train a reward model that the policy optimises against "
    "while staying close to the original model so it does not drift too far away at all"
)
SPEAKERS = ("Jon Krohn", "Yannic Kilcher")


def _seg(start: float, text: str, speaker: str | None = None, span: float | None = None) -> Segment:
    """A segment with evenly spaced word timings, words carrying Whisper's leading space."""
    tokens = text.split()
    step = (span or len(tokens) * 0.35) / len(tokens)
    words = [
        Word(start + i * step, start + (i + 1) * step - 0.02, " " + t, 0.9)
        for i, t in enumerate(tokens)
    ]
    return Segment(start, words[-1].end, text, words, speaker=speaker)


@pytest.fixture
def transcript() -> Transcript:
    segs = [
        _seg(0.5, "Welcome back to the show.", "Jon Krohn"),
        _seg(2.5, LONG, "Yannic Kilcher", span=15.0),
        _seg(18.0, "Is 3 < 4 & 5 > 2? Ça va, naïve café — 東京.", "Jon Krohn"),
        Segment(21.0, 21.5, "   "),
        Segment(24.0, 28.0, "A publisher segment without any word timings at all, spread evenly."),
        _seg(3700.25, "An hour later, without a speaker."),
    ]
    for i, s in enumerate(segs):
        s.idx = i
    return Transcript(1, "whisper", "tiny.en", "en", segs, 0.99)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _spoken(transcript: Transcript) -> list[Segment]:
    return [s for s in transcript.segments if s.text.strip()]


def _all_text(transcript: Transcript) -> str:
    return _norm(" ".join(s.text for s in _spoken(transcript)))


_SRT_TIME = r"\d\d:\d\d:\d\d,\d\d\d"
_VTT_TIME = r"\d\d:\d\d:\d\d\.\d\d\d"
_LINE = r"[^\n]*\S[^\n]*"  # a line of text, never blank
SRT_CUE = rf"(\d+)\n({_SRT_TIME}) --> ({_SRT_TIME})\n({_LINE}(?:\n{_LINE})?)"
SRT_FILE = re.compile(rf"{SRT_CUE}(?:\n\n{SRT_CUE})*\n")
VTT_CUE = rf"({_VTT_TIME}) --> ({_VTT_TIME})\n({_LINE}(?:\n{_LINE})?)"
VTT_FILE = re.compile(rf"WEBVTT\n\n{VTT_CUE}(?:\n\n{VTT_CUE})*\n")


def _read(text: str, name: str) -> list[Segment]:
    """What the importer reads back from one of our exports."""
    [episode] = read_transcript(text, name)
    return episode.segments


def _check_speakers(cues: list[Segment], transcript: Transcript) -> None:
    """Every cue has its segment's speaker; SRT and WebVTT cannot say "nobody", so a cue of a
    segment without one goes on with the speaker before it, as the importer reads captions."""
    for i, cue in enumerate(cues):
        seg = next(s for s in _spoken(transcript) if s.start - 1e-3 <= cue.start <= s.end)
        expected = seg.speaker or (cues[i - 1].speaker if i else None)
        assert cue.speaker == expected, cue


def _check_lines(lines: list[str], strip_prefix) -> None:
    assert 1 <= len(lines) <= 2
    for i, line in enumerate(lines):
        body = strip_prefix(line) if i == 0 else line
        assert 0 < len(body) <= 32, line
        assert body == body.strip()


def _check_timing(cues: list[Segment], transcript: Transcript) -> None:
    """Cues are ordered, non-empty, and start/end on word boundaries of their segment."""
    assert all(c.end > c.start for c in cues)
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:], strict=False))
    starts = [w.start for s in transcript.segments for w in s.words]
    ends = [w.end for s in transcript.segments for w in s.words]
    timed = [s for s in _spoken(transcript) if s.words]
    for cue in cues:
        seg = next((s for s in timed if s.start - 1e-3 <= cue.start <= s.end), None)
        if seg is None:
            continue  # a segment without words: timed by length, checked below
        assert min(abs(cue.start - t) for t in starts) < 1e-3
        assert min(abs(cue.end - t) for t in ends) < 1e-3
    for seg in timed:
        mine = [c for c in cues if seg.start - 1e-3 <= c.start <= seg.end]
        assert abs(mine[0].start - seg.words[0].start) < 1e-3
        assert abs(mine[-1].end - seg.words[-1].end) < 1e-3


def test_srt_is_well_formed_and_round_trips(transcript: Transcript):
    text = render("srt", transcript)
    assert SRT_FILE.fullmatch(text), text
    prefix = re.compile(rf"^(?:{'|'.join(SPEAKERS)}): ")
    for n, block in enumerate(text.rstrip("\n").split("\n\n"), 1):
        number, timing, *lines = block.split("\n")
        assert int(number) == n
        a, b = timing.split(" --> ")
        assert clock(b) > clock(a)
        _check_lines(lines, lambda line: prefix.sub("", line))

    cues = _read(text, "ep.srt")
    _check_timing(cues, transcript)
    _check_speakers(cues, transcript)
    assert _norm(" ".join(c.text for c in cues)) == _norm(
        " ".join(s.text for s in _spoken(transcript))
    )
    long_cues = [c for c in cues if c.speaker == "Yannic Kilcher"]
    assert len(long_cues) >= 4  # 44 words over 15 s do not fit in one cue
    assert _norm(" ".join(c.text for c in long_cues)) == LONG
    assert all(2.5 - 1e-3 <= c.start < c.end <= 17.5 for c in long_cues)
    assert cues[0].speaker == "Jon Krohn" and cues[0].text == "Welcome back to the show."
    assert abs(cues[0].start - 0.5) < 1e-3 and abs(cues[-1].start - 3700.25) < 1e-3
    # the words-less segment is spread over its own span
    plain = [c for c in cues if 24.0 - 1e-3 <= c.start < 28.0]
    assert abs(plain[0].start - 24.0) < 1e-3 and abs(plain[-1].end - 28.0) < 1e-3
    assert _norm(" ".join(c.text for c in plain)) == _norm(transcript.segments[4].text)


def test_vtt_is_well_formed_and_round_trips(transcript: Transcript):
    text = render("vtt", transcript)
    assert VTT_FILE.fullmatch(text), text
    assert "<v Yannic Kilcher>" in text and "3 &lt; 4 &amp; 5 &gt; 2" in text
    assert "-->" not in text.replace(" --> ", "")
    voice = re.compile(r"^<v [^>]+>")
    for block in text.rstrip("\n").split("\n\n")[1:]:
        _timing, *lines = block.split("\n")
        assert not re.search(r"[<>]", voice.sub("", lines[0]) + "".join(lines[1:]))
        # the limit is on what is shown, so count `&lt;` as one character
        _check_lines([html.unescape(x) for x in lines], lambda line: voice.sub("", line))
    cues = _read(text, "ep.vtt")
    _check_timing(cues, transcript)
    _check_speakers(cues, transcript)
    assert _norm(" ".join(c.text for c in cues)) == _norm(
        " ".join(s.text for s in _spoken(transcript))
    )
    assert {c.speaker for c in cues} == set(SPEAKERS)
    assert any("3 < 4 & 5 > 2?" in c.text for c in cues)  # entities read back as text
    srt_cues = _read(render("srt", transcript), "ep.srt")
    assert [(c.start, c.end, c.text, c.speaker) for c in cues] == [
        (c.start, c.end, c.text, c.speaker) for c in srt_cues
    ]


def test_third_party_vtt():
    vtt = (
        "\ufeffWEBVTT - made elsewhere\nKind: captions\nLanguage: en\n\n"
        "NOTE a comment\nspanning lines\n\n"
        "STYLE\n::cue { color: red }\n\n"
        "intro\n00:01.000 --> 00:04.500 align:start position:10%\n"
        "<v.loud Alice>Hello <b>there</b> &amp; <i>welcome</i></v>\n\n\n"
        "NOTE another\n\n"
        "2\n00:00:05.000 --> 00:00:06.000 line:0\nBye &lt;3\n<c.yellow>for</c> now\n\n"
        "01:00:00.250 --> 01:00:01.000\n<v Bob Smith>Late <00:00:00.500>karaoke\n"
    )
    cues = parse_vtt(vtt)
    assert [(c.start, c.end, c.text, c.speaker) for c in cues] == [
        (1.0, 4.5, "Hello there & welcome", "Alice"),
        (5.0, 6.0, "Bye <3 for now", "Alice"),  # a cue without a voice: Alice goes on
        (3600.25, 3601.0, "Late karaoke", "Bob Smith"),
    ]
    assert [c.idx for c in cues] == [0, 1, 2]


def test_third_party_srt():
    srt = (
        "\ufeff1\r\n00:00:01.5 --> 00:00:03,000\r\nTwo\r\nlines\r\n\r\n"
        '2\r\n00:00:04,000 --> 00:00:05,000\r\n<i>Bob:</i> hi <font color="red">there</font>\r\n'
        "\r\n\r\n3\r\n00:00:06,000 --> 00:00:07,000\r\n{\\an8}Note 10:30 a<b and c>d\r\n"
    )
    cues = parse_srt(srt)
    assert [(c.start, c.end, c.text, c.speaker) for c in cues] == [
        (1.5, 3.0, "Two lines", None),
        (4.0, 5.0, "hi there", "Bob"),
        (6.0, 7.0, "Note 10:30 a<b and c>d", "Bob"),  # no label: Bob goes on
    ]
    assert parse_srt("") == [] and parse_srt("just words\n") == []


def test_txt_paragraphs(transcript: Transcript):
    text = render("txt", transcript)
    assert text.endswith(".\n") and not text.endswith("\n\n")
    paras = text.rstrip("\n").split("\n\n")
    assert paras[0] == "Jon Krohn [00:00:00]: Welcome back to the show."
    assert paras[1] == f"Yannic Kilcher [00:00:02]: {LONG}"
    assert paras[2].startswith("Jon Krohn [00:00:18]: Is 3 < 4 & 5 > 2?")
    assert paras[3].startswith("[00:00:24] A publisher segment")
    assert paras[-1] == "[01:01:40] An hour later, without a speaker."
    assert len(paras) == 5


def test_txt_groups_by_pause_and_length():
    from podgrep.formats.text import write_txt

    segs = [Segment(float(t), t + 1.5, f"s{t}.") for t in range(0, 70, 2)]  # 0.5 s gaps
    segs.append(Segment(75.0, 76.0, "after a pause."))
    paras = write_txt(segs).rstrip("\n").split("\n\n")
    assert paras[0].startswith("[00:00:00] s0. s2. s4.")
    assert paras[1].startswith("[00:01:02] s62.")  # the first paragraph ran past 60 s
    assert paras[2] == "[00:01:15] after a pause."
    assert write_txt([]) == ""


def test_native_json_round_trip(transcript: Transcript):
    text = render("json", transcript, title="Ep", show="Show")
    assert "Ça va" in text and "東京" in text  # ensure_ascii=False
    doc = json.loads(text)
    assert doc["version"] == 1 and doc["episode"] == "Ep" and doc["show"] == "Show"
    assert doc["source"] == "whisper" and doc["model"] == "tiny.en" and doc["language"] == "en"
    assert doc["duration"] == round(transcript.segments[-1].end, 3)
    seg = doc["segments"][1]
    assert set(seg) == {"id", "start", "end", "speaker", "language", "text", "flags", "words"}
    assert seg["language"] == "en"  # the transcript's, where a segment names none
    assert set(seg["words"][0]) == {"start", "end", "word", "probability"}
    assert seg["words"][0]["word"] == " So" and seg["id"] == 1
    assert all(round(w["start"], 3) == w["start"] for s in doc["segments"] for w in s["words"])

    back = read_json(text)
    assert back.language_prob == 0.99 and back.model == "tiny.en"
    for a, b in zip(back.segments, transcript.segments, strict=True):
        assert (a.text, a.speaker, a.idx, a.flags) == (b.text, b.speaker, b.idx, b.flags)
        assert a.start == pytest.approx(b.start, abs=1e-3)
        assert len(a.words) == len(b.words)
        for wa, wb in zip(a.words, b.words, strict=True):
            assert wa.word == wb.word and wa.end == pytest.approx(wb.end, abs=1e-3)
    with pytest.raises(PodgrepError):
        read_json("[]")
    with pytest.raises(PodgrepError):
        read_json('{"segments": [{"start": 1}]}')


def test_podcast_json(transcript: Transcript):
    doc = json.loads(render("podcast-json", transcript))
    assert set(doc) == {"version", "segments"} and doc["version"] == "1.0.0"
    assert len(doc["segments"]) == len(_spoken(transcript))  # one per segment, empty skipped
    for item, seg in zip(doc["segments"], _spoken(transcript), strict=True):
        assert set(item) <= {"startTime", "endTime", "body", "speaker"}
        assert {"startTime", "endTime", "body"} <= set(item)
        assert isinstance(item["startTime"], float) and isinstance(item["endTime"], float)
        assert item["endTime"] >= item["startTime"] == round(seg.start, 3)
        assert isinstance(item["body"], str) and item["body"] == _norm(seg.text)
        assert item.get("speaker") == seg.speaker
    back = _read(json.dumps(doc), "ep.json")
    assert [(s.start, s.end, s.text, s.speaker) for s in back] == [
        (round(s.start, 3), round(s.end, 3), _norm(s.text), s.speaker) for s in _spoken(transcript)
    ]
    # integer times (as the spec's own examples use) come out as floats too
    assert isinstance(
        json.loads(
            render(
                "podcast-json",
                Transcript(None, "whisper", None, None, [Segment(3, 4, "int times")]),
            )
        )["segments"][0]["startTime"],
        float,
    )


def test_podcast_json_reader_is_tolerant_but_rejects_garbage():
    segs = parse_json_transcript(
        '{"version": "1.0.0", "segments": ['
        '{"startTime": 0, "body": "no end"},'
        '{"speaker": "Ann", "startTime": "1.5", "endTime": 2.5, "body": " Hi  there "},'
        '{"startTime": 3, "endTime": 4, "body": ""}]}'
    )
    assert [(s.start, s.end, s.text, s.speaker, s.idx) for s in segs] == [
        (0.0, 1.5, "no end", None, 0),  # endTime is optional: it ends where the next starts
        (1.5, 2.5, "Hi there", "Ann", 1),
    ]
    for bad in ("not json", '{"segments": 3}', '{"segments": [{"body": "x"}]}', '{"x": 1}'):
        with pytest.raises(PodgrepError, match="JSON"):
            parse_json_transcript(bad)
    assert parse_json_transcript("[]") == []
    with pytest.raises(PodgrepError, match="No transcript text"):
        read_transcript("[]", "ep.json")


def test_hallucinations_left_out_of_exports(transcript: Transcript):
    transcript.segments.append(Segment(3800, 3801, "Thanks for watching!", flags=["hallucination"]))
    for fmt in ("srt", "vtt", "txt", "podcast-json"):
        assert "watching" not in render(fmt, transcript)
    assert "watching" in render("json", transcript)


def test_empty_transcript():
    empty = Transcript(None, "whisper", None, None, [])
    assert render("srt", empty) == ""
    assert render("vtt", empty) == "WEBVTT\n"
    assert parse_vtt(render("vtt", empty)) == []
    assert json.loads(render("podcast-json", empty))["segments"] == []
    assert read_json(render("json", empty)).segments == []


def test_registry_unknown_format_and_timestamp(transcript: Transcript):
    assert set(EXTENSIONS) == set(FORMATS)
    with pytest.raises(PodgrepError, match="srt, vtt, txt, json, podcast-json") as info:
        render("docx", transcript)
    assert "\n" not in str(info.value)
    assert timestamp(3725.9) == "01:02:05"
    assert timestamp(0) == "00:00:00" and timestamp(None) == "00:00:00"
    assert timestamp(-3) == "00:00:00" and timestamp(360000) == "100:00:00"
