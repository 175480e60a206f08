"""Transcript layouts as tools and publishers write them, beyond the shared real samples:
caption markup and speaker labels, roll-up captions, JSON variants, plain-text exports of
Otter, Rev, Descript, Zoom, Teams and YouTube, HTML pages, encodings, and files that are no
transcript at all (tests/data/transcripts/variants)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podgrep.errors import PodgrepError
from podgrep.transcripts.importer import detect_format, read_transcript

DATA = Path(__file__).parent.parent / "data" / "transcripts" / "variants"


def _one(name: str):
    [ep] = read_transcript((DATA / name).read_bytes(), name)
    return ep.segments


def _rows(segments):
    return [(s.start, s.speaker, s.text) for s in segments]


def _ordered(segments) -> None:
    assert all(s.end >= s.start for s in segments)
    assert all(a.start <= b.start for a, b in zip(segments, segments[1:], strict=False))
    assert [s.idx for s in segments] == list(range(len(segments)))


# --- SRT ---------------------------------------------------------------------------------


def test_srt_markup_speaker_labels_crlf_and_sloppy_numbering() -> None:
    segs = _one("tricky.srt")
    assert _rows(segs) == [
        (1.0, "John Smith", "Welcome back to the show."),  # <i>JOHN SMITH:</i>
        (3.6, "Mary Jones", "Thanks, John."),  # <font>[Mary Jones] …</font>
        (6.1, "John Smith", "So tell us everything."),  # `- John Smith:`, `.` decimals
        (9.1, "Mary Jones", "Where do I start? It was a long year."),  # `>> MARY JONES:`
        (12.1, None, "[Music]"),  # {\an8}, no cue number, a sound belongs to nobody
        (14.1, "John Smith", "Right."),
        (360001.0, "Mary Jones", "Still going."),  # hours past 99
    ]
    text = " ".join(s.text for s in segs)
    assert "<" not in text and "{" not in text and "\r" not in text
    assert segs[3].end == 12.0  # the cue number of the next cue is not text
    _ordered(segs)


def test_srt_without_hours_with_bom() -> None:
    segs = _one("no-hours-bom.srt")
    assert [(s.start, s.end, s.text) for s in segs] == [
        (1.0, 3.0, "No hours here."),
        (3.5, 5.0, "Nor here."),
    ]


def test_srt_without_numbers_or_blank_lines_is_detected_and_split() -> None:
    srt = (
        "00:00:01,000 --> 00:00:02,000\nFirst line.\n2\n00:00:02,500 --> 00:00:04,000\n"
        "Second line,\ncontinued.\n3\n00:00:04,500 --> 00:00:05,000\nThird.\n"
    )
    assert detect_format(srt) == "srt"
    [ep] = read_transcript(srt.encode(), "upload.txt")
    assert [(s.start, s.text) for s in ep.segments] == [
        (1.0, "First line."),
        (2.5, "Second line, continued."),
        (4.5, "Third."),
    ]


def test_srt_extra_blank_lines_inside_and_between_cues() -> None:
    srt = (
        "\n\n1\n00:00:01,000 --> 00:00:02,000\nHello\n\nthere.\n\n\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\nBye.\n\n\n"
    )
    [ep] = read_transcript(srt, "x.srt")
    assert [s.text for s in ep.segments] == ["Hello there.", "Bye."]


def test_srt_colon_in_speech_is_no_speaker() -> None:
    srt = (
        "1\n00:00:01,000 --> 00:00:03,000\nSo here's the thing: it works.\n\n"
        "2\n00:00:03,000 --> 00:00:05,000\nthe ratio was 3:1 at best\n"
    )
    segs = read_transcript(srt, "x.srt")[0].segments
    assert [s.speaker for s in segs] == [None, None]
    assert segs[0].text == "So here's the thing: it works."


# --- WebVTT ------------------------------------------------------------------------------


def test_vtt_blocks_identifiers_settings_voices_and_entities() -> None:
    segs = _one("styled.vtt")
    assert [(s.speaker, s.text) for s in segs] == [
        ("Jane Doe", "Hello and welcome!"),  # <v.loud Jane Doe>…</v>, settings after times
        ("Bob Lee", "Thanks for having me."),  # <v Bob Lee> without </v>
        ("Jane Doe", "So, tell us about it."),  # no hours, <c.yellow>, <i>
        ("Bob Lee", "Sure & happy to."),  # a second voice in the same cue
        ("Bob Lee", "This cue has no voice <still Bob>."),  # no voice: the speaker goes on
    ]
    assert segs[0].start == 0.5 and segs[2].start == 6.1 and segs[3].end == 9.0
    assert segs[2].end == segs[3].start  # the cue's time shared by length
    text = " ".join(s.text for s in segs)
    for furniture in ("NOTE", "STYLE", "REGION", "::cue", "intro-", "Kind:", "align:"):
        assert furniture not in text
    _ordered(segs)


def test_vtt_youtube_roll_up_captions_are_read_once() -> None:
    segs = _one("youtube-auto.vtt")
    assert [s.text for s in segs] == [
        "hello everyone and",
        "welcome to the show",
        "today we talk about gardens",
        "[Music]",
    ]
    assert (segs[0].start, segs[1].start, segs[-1].end) == (0.0, 2.879, 11.0)
    text = " ".join(s.text for s in segs)
    assert text.count("welcome") == 1 and "<" not in text


def test_vtt_paint_on_captions_keep_the_longest_line() -> None:
    vtt = "WEBVTT\n\n" + "\n".join(
        f"00:00:0{i}.000 --> 00:00:0{i + 1}.000\n{' '.join(words[: i + 1])}\n"
        for i, words in enumerate([["we", "grow", "beans", "here"]] * 4)
    )
    [ep] = read_transcript(vtt, "x.vtt")
    assert [(s.start, s.end, s.text) for s in ep.segments] == [(0.0, 4.0, "we grow beans here")]


def test_vtt_several_voices_and_dialogue_dashes() -> None:
    segs = _one("voices.vtt")
    assert [(s.speaker, s.text) for s in segs] == [
        ("Alice", "Have you heard?"),
        ("Bob", "Heard what?"),
        ("Alice", "It's out."),
        (None, "Who says?"),  # `- ` dialogue lines: someone else speaks, name unknown
        (None, "The radio."),
    ]
    assert segs[1].end == 4.0 and segs[3].start == 6.0 and segs[4].end == 9.0


def test_vtt_zoom_style_name_prefix_and_repeated_lines_kept() -> None:
    vtt = (
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nJane Doe: Hello everyone.\n\n"
        "2\n00:00:04.500 --> 00:00:06.000\nBob Lee: Yeah.\n\n"
        "3\n00:00:06.500 --> 00:00:07.000\nBob Lee: Yeah.\n"
    )
    segs = read_transcript(vtt, "meeting.vtt")[0].segments
    assert [(s.speaker, s.text) for s in segs] == [
        ("Jane Doe", "Hello everyone."),
        ("Bob Lee", "Yeah."),
        ("Bob Lee", "Yeah."),  # not roll-up captions: a repeated line is said twice
    ]


# --- other caption formats ---------------------------------------------------------------


def test_sbv_and_ttml() -> None:
    segs = _one("captions.sbv")
    assert _rows(segs) == [
        (0.599, "Alice", "Hi everyone, welcome back."),
        (4.16, "Bob", "Glad to be here."),
        (6.77, "Bob", "Let's dig in."),
    ]
    segs = _one("captions.ttml")
    assert [(s.start, s.end, s.text) for s in segs] == [
        (1.0, 3.0, "Hello from the other side."),
        (3.5, 5.5, "Tom & Jerry say hi."),
        (6.5, 8.0, "Frames too."),
    ]


# --- JSON --------------------------------------------------------------------------------


def test_podcast_json_word_by_word_is_merged_into_sentences_with_word_timings() -> None:
    segs = _one("word-by-word.json")
    assert [(s.start, s.end, s.speaker, s.text) for s in segs] == [
        (0.8, 4.0, "Alice", "Welcome to the show. Today we talk about compost."),
        (4.6, 5.5, "Bob", "Thanks, Alice!"),
        (9.0, 9.8, "Bob", "Anyway compost"),  # a 3.5 s pause starts a new segment
    ]
    assert [w.word for w in segs[1].words] == [" Thanks", ",", " Alice", "!"]
    assert segs[0].words[0].start == 0.8 and segs[0].words[-1].end == 4.0


def test_podcast_json_strings_no_version_clock_times_and_missing_end() -> None:
    segs = _one("strings-no-version.json")
    assert [(s.start, s.end, s.speaker, s.text) for s in segs] == [
        (0.0, 4.25, "Host", "Hello there, welcome in."),
        (4.5, 9.0, None, "Glad to be here."),
        (9.5, pytest.approx(10.27, abs=0.01), "Host", "Let's begin."),
    ]


def test_json_top_level_list_with_whisper_keys() -> None:
    assert detect_format((DATA / "top-level-list.json").read_text()) == "podcast-json"
    segs = _one("top-level-list.json")
    assert _rows(segs) == [
        (0.0, "SPEAKER_00", "First sentence of the episode."),
        (3.2, "SPEAKER_01", "And a second one."),
    ]


def test_json_served_as_text_plain_and_nested_transcript_key() -> None:
    doc = {"transcript": {"segments": [{"startTime": 1, "endTime": 2, "body": "Hi."}]}}
    [ep] = read_transcript(json.dumps(doc).encode(), "t.txt", "text/plain")
    assert _rows(ep.segments) == [(1.0, None, "Hi.")]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ('{"segments": [{"body": "no time"}]}', "no valid start time"),
        ('{"version": "1.0.0"}', "segments"),
        ('{"segments": [', "not valid JSON"),
        ('{"segments": []}', "No transcript text"),
    ],
)
def test_bad_json_is_a_clear_error(doc: str, message: str) -> None:
    with pytest.raises(PodgrepError, match=message):
        read_transcript(doc.encode(), "t.json", "application/json")


# --- plain-text exports ------------------------------------------------------------------


def test_otter_export_name_and_time_lines_header_and_footer() -> None:
    segs = _one("otter.txt")
    assert _rows(segs) == [
        (3.0, "Jane Doe", "Welcome to Gardening Hour. Today we talk compost."),
        (15.0, "Speaker 2", "Thanks for having me, Jane. It's great to be here."),
        (3765.0, "Jane Doe", "Let's wrap up."),
    ]
    text = " ".join(s.text for s in segs)
    assert "otter.ai" not in text and "KEYWORDS" not in text and "9:12AM" not in text


def test_rev_export_name_with_time_in_parentheses() -> None:
    segs = _one("rev.txt")
    assert _rows(segs) == [
        (1.0, "Speaker 1", "Hello everybody and welcome."),
        (12.0, "Speaker 2", "Hi, thanks. [inaudible 00:00:14] good to be here."),
        (3930.0, "Speaker 1", "That's the show."),
    ]
    assert segs[1].flags == ["inaudible"]


@pytest.mark.parametrize(
    "name", ["descript.txt", "name-colon-bracket.txt", "zoom.txt", "teams.txt", "parens-times.txt"]
)
def test_time_and_speaker_placements(name: str) -> None:
    segs = _one(name)
    assert 3 <= len(segs) <= 4
    assert all(s.speaker in {"Jane Doe", "Bob Lee", "Jane", "Bob"} for s in segs)
    assert segs[0].speaker in {"Jane Doe", "Jane"} and segs[1].speaker in {"Bob Lee", "Bob"}
    assert not any(":" in s.text[:12] or s.text[:1] in "[(0123456789" for s in segs)
    assert all("untimed" not in s.flags for s in segs)
    _ordered(segs)


def test_parenthesised_times_and_unnamed_continuation() -> None:
    segs = _one("parens-times.txt")
    assert _rows(segs)[2:] == [
        (70.0, "Jane", "Let's talk about soil."),
        (75.0, "Jane", "And water, too."),
    ]


def test_youtube_transcript_copy_time_line_then_text() -> None:
    segs = _one("youtube-copy.txt")
    assert [(s.start, s.text) for s in segs] == [
        (0.0, "hey everyone welcome back to the channel"),
        (4.0, "today we're going to look at tomatoes"),
        (9.0, "and why they split"),
        (3723.0, "thanks for watching"),
    ]
    assert segs[0].end <= 4.0 and all(s.speaker is None for s in segs)


def test_speaker_on_its_own_line_before_the_time() -> None:
    segs = _one("speaker-own-line.txt")
    assert _rows(segs) == [
        (1.0, "Jane Doe", "Welcome to the program."),
        (5.0, "Bob Lee", "Thanks for having me."),
        (9.0, "Jane Doe", "Let's begin."),
    ]


def test_untimed_paragraphs_with_speaker_lines() -> None:
    segs = _one("untimed-speakers.txt")
    assert [s.speaker for s in segs] == [None, "Jane", "Bob", "Jane"]
    assert segs[2].text.endswith("It started in my grandmother's garden.")
    assert all("untimed" in s.flags for s in segs)
    assert all(b.start == pytest.approx(a.end) for a, b in zip(segs, segs[1:], strict=False))


def test_untimed_one_speaker_per_line_without_blank_lines() -> None:
    text = "Jane: Hello there.\nBob: Hi Jane.\nGood to see you.\nJane: Likewise.\n"
    [ep] = read_transcript(text.encode(), "notes.txt")
    assert [(s.speaker, s.text) for s in ep.segments] == [
        ("Jane", "Hello there."),
        ("Bob", "Hi Jane. Good to see you."),
        ("Jane", "Likewise."),
    ]


# --- HTML --------------------------------------------------------------------------------


def test_html_page_with_times_speakers_and_furniture() -> None:
    segs = _one("page.html")
    assert _rows(segs) == [
        (0.5, "Jane Doe", "Welcome to the show about bees."),  # data-start, <strong>Name</strong>
        (4.0, "Bob Lee", "Thanks for having me & my bees."),  # <strong>Name:</strong>
        (12.0, "Jane Doe", "How many hives do you keep?"),  # <time datetime>, span.speaker
        (20.0, "Bob Lee", "About forty."),  # <time>00:00:20</time>
    ]
    text = " ".join(s.text for s in segs)
    for furniture in ("Home", "Subscribe", "Share", "©", "tracking", "color:red", "Episode 7"):
        assert furniture not in text


def test_html_untimed_bold_speakers() -> None:
    segs = _one("page-untimed.html")
    assert [(s.speaker, s.text) for s in segs] == [
        ("Jane", "Welcome to the show."),
        ("Bob", "Thanks. It is good to be here."),
        ("Jane", "Let's begin."),
    ]
    assert all("untimed" in s.flags for s in segs)


# --- encodings and files that are no transcript ------------------------------------------


def test_windows_1252_curly_quotes() -> None:
    segs = _one("cp1252.txt")
    assert segs[0].text == "“Hello” – it’s café time."
    assert (segs[1].speaker, segs[1].text) == ("Bob", "Indeed…")


def test_utf16_with_and_without_bom() -> None:
    segs = _one("utf16.srt")
    assert _rows(segs) == [(1.0, "Jane", "“Héllo” — it’s time."), (3.0, "Bob", "Indeed…")]
    segs = _one("utf16-be-nobom.txt")
    assert [(s.start, s.speaker) for s in segs] == [(1, "Jane"), (3, "Bob"), (5, "Jane")]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("garbage.bin", "binary data"),
        ("empty.txt", "empty"),
        ("fake.pdf.txt", "PDF"),
    ],
)
def test_files_that_are_no_transcript_are_a_clear_error(name: str, message: str) -> None:
    with pytest.raises(PodgrepError, match=message):
        read_transcript((DATA / name).read_bytes(), name)


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n\n", b"\xef\xbb\xbf", b"WEBVTT\n\n", b"1\n00:00:01,000 --> 00:00:02,000\n\n"],
)
def test_empty_transcripts_are_a_clear_error(data: bytes) -> None:
    with pytest.raises(PodgrepError):
        read_transcript(data, "t.vtt" if data.startswith(b"WEBVTT") else "t.srt")


def test_audio_bytes_are_a_clear_error() -> None:
    with pytest.raises(PodgrepError, match="audio"):
        read_transcript(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 4, "ep.txt")


def test_wall_clock_times_count_from_the_start() -> None:
    # meeting tools time a transcript by the clock: 10:02:33 is the recording's first second
    [ep] = read_transcript((DATA / "zoom-wall-clock.txt").read_bytes(), "zoom-wall-clock.txt")
    assert [round(s.start) for s in ep.segments] == [0, 8, 32]
    assert [s.speaker for s in ep.segments] == ["Jane Doe", "Bob Lee", "Jane Doe"]
    # a transcript timed from the recording keeps its times, late first words and all
    late = (
        "[00:12:05] Jane: Sorry, we lost the first minutes.\n"
        "[00:12:09] Bob: No problem.\n"
        "[00:12:15] Jane: So, where were we?\n"
    )
    starts = [s.start for s in read_transcript(late, "late.txt")[0].segments]
    assert starts == [725.0, 729.0, 735.0]
