"""Cue splitting edge cases: glued word tokens, space-less scripts, bad word timings."""

from __future__ import annotations

import pytest

from podgrep.domain import Segment, Word
from podgrep.formats.cues import MAX_LINE, clock, to_cues
from podgrep.formats.srt import write_srt
from podgrep.formats.vtt import write_vtt
from podgrep.transcripts import captions
from podgrep.transcripts.importer import read_transcript


def _read(text: str, name: str) -> list[Segment]:
    """What the importer reads back from one of our caption exports."""
    [episode] = read_transcript(text, name)
    return episode.segments


def test_glued_word_tokens_are_not_spaced_apart():
    words = [
        Word(0.0, 0.5, " It"),
        Word(0.5, 1.0, " costs"),
        Word(1.0, 1.2, " 3"),
        Word(1.2, 1.4, ".5"),
        Word(1.4, 2.0, " dollars"),
    ]
    cues = to_cues([Segment(0, 2, " It costs 3.5 dollars", words)])
    assert [c.lines for c in cues] == [["It costs 3.5 dollars"]]
    assert (cues[0].start, cues[0].end) == (0.0, 2.0)


def test_words_that_no_longer_match_the_text_fall_back_to_the_text():
    # the guards may rewrite a segment's text; the words then must not be shown
    seg = Segment(10, 12, "Cleaned text.", [Word(10, 11, " Raw"), Word(11, 12, " junk")])
    cues = to_cues([seg])
    assert [c.lines for c in cues] == [["Cleaned text."]]
    assert (cues[0].start, cues[0].end) == (10.0, 12.0)


def test_blank_text_is_skipped_even_with_words():
    assert to_cues([Segment(0, 1, "  ", [Word(0, 1, " hm")])]) == []


def test_space_less_text_is_cut_to_line_length():
    text = "東京" * 40  # 80 characters, no spaces, no word timings
    cues = to_cues([Segment(0, 8, text)])
    assert all(len(line) <= MAX_LINE for c in cues for line in c.lines)
    assert all(len(c.lines) <= 2 for c in cues)
    assert "".join("".join(c.lines) for c in cues) == text
    assert cues[0].start == 0.0 and cues[-1].end == 8.0
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:], strict=False))


def test_long_word_gets_lines_of_its_own_size():
    url = "https://example.com/a/very/long/path/to/somewhere/else"
    cues = to_cues([Segment(0, 3, f"see {url} ok")])
    lines = [line for c in cues for line in c.lines]
    assert all(len(line) <= MAX_LINE for line in lines)
    assert lines[0] == "see" and "".join(lines[1:]).removesuffix(" ok") == url


def test_overlapping_and_zero_length_word_times_still_give_valid_cues():
    a = Segment(5.0, 5.0, "first", [Word(5.0, 5.0, " first")])
    b = Segment(4.0, 6.0, "second", [Word(4.0, 6.0, " second")])  # starts before a ends
    cues = to_cues([a, b])
    assert cues[0].end > cues[0].start == 5.0
    assert cues[1].start >= cues[0].end and cues[1].end > cues[1].start
    for text, name in ((write_srt([a, b]), "x.srt"), (write_vtt([a, b]), "x.vtt")):
        back = _read(text, name)
        assert [s.text for s in back] == ["first", "second"]
        assert back[0].end - back[0].start == pytest.approx(0.01)


def test_speaker_on_every_cue_of_a_long_segment():
    text = " ".join(f"word{i}" for i in range(40))
    srt = write_srt([Segment(0, 20, text, speaker="Ann")])
    cues = _read(srt, "x.srt")
    assert len(cues) > 1 and {c.speaker for c in cues} == {"Ann"}
    assert " ".join(c.text for c in cues) == text
    # cues share the text evenly rather than ending on a stub of a word or two
    sizes = [len(c.text) for c in cues]
    assert min(sizes) >= max(sizes) / 2
    vtt = write_vtt([Segment(0, 20, text, speaker="A<B")])
    assert vtt.count("<v A&lt;B>") == vtt.count(" --> ")
    back = _read(vtt, "x.vtt")
    assert {c.speaker for c in back} == {"A<B"} and " ".join(c.text for c in back) == text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("00:00:01,500", 1.5),
        ("00:00:01.500", 1.5),
        ("01:02:03.004", 3723.004),
        ("02:03.004", 123.004),
        ("00:00:01,5", 1.5),
        ("100:00:00.000", 360000.0),
    ],
)
def test_read_clock(text: str, seconds: float):
    assert captions.clock(text) == pytest.approx(seconds)


def test_clock():
    assert clock(3723.0045, ",") == "01:02:03,004" or clock(3723.0045, ",") == "01:02:03,005"
    assert clock(0.9999, ".") == "00:00:01.000"
    assert clock(-1, ".") == "00:00:00.000"
    assert captions.clock(clock(3723.004, ",")) == pytest.approx(3723.004)  # read back


def test_label_like_text_stays_text_where_voices_name_the_speakers():
    vtt = write_vtt([Segment(0, 2, "Hi.", speaker="Ann"), Segment(2, 4, "Answer: it works.")])
    back = _read(vtt, "x.vtt")
    # no `<v>` on the second cue: Ann goes on, and "Answer:" is no speaker but her text
    assert [(s.text, s.speaker) for s in back] == [("Hi.", "Ann"), ("Answer: it works.", "Ann")]
