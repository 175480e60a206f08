"""Speaker names and text that would break captions: every WebVTT cue stays one cue, its voice
annotation and text hold `&`, `<` and `>` only as character references, and both read back."""

from __future__ import annotations

import html
import re

import pytest

from podgrep.domain import Segment
from podgrep.formats import write_srt, write_vtt
from podgrep.formats.cues import fit_name, one_line, to_cues
from podgrep.transcripts.captions import parse_vtt
from podgrep.transcripts.importer import read_transcript

TIMING = re.compile(r"\d{2}:\d{2}:\d{2}\.\d{3} --> \d{2}:\d{2}:\d{2}\.\d{3}")
_REF = r"&(?:amp|lt|gt);"
# WebVTT cue payload as we write it: an optional <v annotation> and then plain text, where the
# annotation holds no LF, `&` or `>` and neither holds `<` or `&` but as character references
PAYLOAD = re.compile(rf"(?:<v ((?:[^&<>\n]|{_REF})+)>)?((?:[^&<>]|{_REF})+)")

HOSTILE_NAMES = [
    ("A>B", "A>B"),
    ("A<B", "A<B"),
    ("Tom & Jerry", "Tom & Jerry"),
    ("<script>alert(1)</script>", "<script>alert(1)</script>"),
    ("</v><c.red>Mallory", "</v><c.red>Mallory"),
    ("Dr. --> Who", "Dr. --> Who"),
    ("Ann&amp;Bo", "Ann&amp;Bo"),  # a literal entity stays literal
    ("Jon\nKrohn", "Jon Krohn"),
    ("Jon\n\n00:00:09.000 --> 00:00:10.000\nFake", "Jon 00:00:09.000 --> 00:00:10.000 Fake"),
    ("Jon\r\rKrohn", "Jon Krohn"),
    ("  Jon \t Krohn  ", "Jon Krohn"),
    ("Jon\u2028Krohn", "Jon Krohn"),
    ("Jon\x00\x07Krohn", "JonKrohn"),
    ("Ren\u00e9e O\u2019Neil", "Ren\u00e9e O\u2019Neil"),
]
TEXT = "Is 3 < 4 & 5 > 2? <b>bold</b> --> &amp; NOTE"


def _cues(vtt: str) -> list[tuple[str | None, str]]:
    """(voice, text) of every cue, decoded as the WebVTT grammar says; fails on anything else."""
    assert vtt.startswith("WEBVTT\n\n") and vtt.endswith("\n") and "\n\n\n" not in vtt, vtt
    out = []
    for block in vtt.rstrip("\n").split("\n\n")[1:]:
        timing, *lines = block.split("\n")
        assert TIMING.fullmatch(timing), block
        assert lines and all(line.strip() for line in lines), block  # a blank line ends a cue
        payload = "\n".join(lines)
        assert "-->" not in payload, block
        m = PAYLOAD.fullmatch(payload)
        assert m, f"not well-formed cue text: {payload!r}"
        voice = html.unescape(m.group(1)) if m.group(1) else None
        out.append((voice, html.unescape(" ".join(m.group(2).split("\n")))))
    return out


@pytest.mark.parametrize(("name", "shown"), HOSTILE_NAMES)
def test_hostile_speaker_name_stays_in_its_voice_span(name: str, shown: str):
    shown = fit_name(shown)  # a long name is cut to leave its line room
    segments = [
        Segment(0.0, 4.0, TEXT, [], speaker=name),
        Segment(4.0, 6.0, "And the next one.", [], speaker="Bob"),
    ]
    vtt = write_vtt(segments)
    cues = _cues(vtt)
    assert {voice for voice, _ in cues} == {shown, "Bob"}, vtt
    assert " ".join(text for voice, text in cues if voice == shown) == TEXT
    # and the project's own reader agrees, speakers and text
    back = parse_vtt(vtt)
    assert [(s.speaker, s.text) for s in back] == [(shown, TEXT), ("Bob", "And the next one.")]


def test_name_of_nothing_but_space_gets_no_voice_span():
    vtt = write_vtt([Segment(0.0, 2.0, "Hello there.", [], speaker=" \n\t ")])
    assert "<v" not in vtt
    assert _cues(vtt) == [(None, "Hello there.")]


def test_text_with_line_breaks_and_controls_stays_one_cue():
    text = "first\n\n00:00:09.000 --> 00:00:10.000\nsecond\x00"
    cues = _cues(write_vtt([Segment(0.0, 3.0, text, [], speaker="Ann")]))
    assert all(voice == "Ann" for voice, _ in cues)
    assert " ".join(t for _, t in cues) == "first 00:00:09.000 --> 00:00:10.000 second"


def test_markup_in_text_is_shown_as_text():
    vtt = write_vtt([Segment(0.0, 3.0, "<i>not italic</i> &lt;", [], speaker=None)])
    assert "&lt;i&gt;not italic&lt;/i&gt; &amp;lt;" in vtt
    assert [s.text for s in parse_vtt(vtt)] == ["<i>not italic</i> &lt;"]


def test_cues_hold_one_line_names_and_lines():
    [cue] = to_cues([Segment(0.0, 1.0, "a b", [], speaker="x\r\n\ny")])
    assert cue.speaker == "x y" and cue.lines == ["a b"]
    assert one_line(" a\u2029b\x85c\x1fd\x7f ") == "a b c d"


@pytest.mark.parametrize(("name", "shown"), HOSTILE_NAMES)
def test_srt_keeps_one_cue_per_block_whatever_the_name(name: str, shown: str):
    # SRT has no voice tags: the name is a plain `Name: ` prefix, and must not break the block
    shown = fit_name(shown)
    srt = write_srt([Segment(0.0, 2.0, "Hello there.", [], speaker=name)])
    number, timing, *lines = srt.rstrip("\n").split("\n")
    assert number == "1" and " --> " in timing and lines == [f"{shown}: Hello there."], srt
    [episode] = read_transcript(srt, "ep.srt")
    assert len(episode.segments) == 1
    assert episode.segments[0].text.endswith("Hello there.")
