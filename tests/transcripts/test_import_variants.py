"""More of what other tools write (issue #13): tab-separated rows without a header, in seconds
or milliseconds; HLS timestamp maps whose 33-bit MPEG-TS clock rolled over; WebVTT `<v Name>`
voices inside HTML pages."""

from __future__ import annotations

from podgrep.transcripts.importer import detect_format, read_transcript


def _rows(data: bytes, name: str = "") -> list[tuple[float, float, str, str | None]]:
    [ep] = read_transcript(data, name)
    return [(round(s.start, 3), round(s.end, 3), s.text, s.speaker) for s in ep.segments]


def test_tsv_without_a_header_in_milliseconds() -> None:
    data = b"0\t2500\tHello there\n2500\t5000\tGeneral Kenobi\n5000\t7000\tYou are a bold one\n"
    assert detect_format(data.decode(), "") == "tsv"
    assert _rows(data) == [
        (0.0, 2.5, "Hello there", None),
        (2.5, 5.0, "General Kenobi", None),
        (5.0, 7.0, "You are a bold one", None),
    ]


def test_tsv_without_a_header_in_seconds() -> None:
    decimals = b"0.0\t2.5\tHello there\n2.5\t5.25\tGeneral Kenobi\n"
    assert _rows(decimals, "a.tsv") == [
        (0.0, 2.5, "Hello there", None),
        (2.5, 5.25, "General Kenobi", None),
    ]
    # whole seconds, short cues: a few words a second, not a few thousand
    whole = b"0\t3\tHello there my friend\n3\t7\tGeneral Kenobi\twith a tab inside\n"
    assert _rows(whole) == [
        (0.0, 3.0, "Hello there my friend", None),
        (3.0, 7.0, "General Kenobi with a tab inside", None),
    ]
    # whole seconds, long paragraphs (over 100 s each): still seconds, by the speaking rate
    para = " ".join(["word"] * 300)
    long = f"0\t125\t{para}\n125\t260\t{para}\n".encode()
    assert [(r[0], r[1]) for r in _rows(long)] == [(0.0, 125.0), (125.0, 260.0)]
    # and clocks
    clocks = b"00:00:01.000\t00:00:03.000\tHello there\n0:03\t0:05\tGeneral Kenobi\n"
    assert [(r[0], r[1]) for r in _rows(clocks)] == [(1.0, 3.0), (3.0, 5.0)]


def test_text_with_a_tab_is_not_taken_for_rows() -> None:
    prose = b"Hello\tthere, this is prose.\nAnd more of it with no times at all.\n"
    assert detect_format(prose.decode(), "") == "text"
    one_time = b"0:01\tJust a time\nand then prose\nand more prose\n"
    assert detect_format(one_time.decode(), "") != "tsv"


VTT_CUES = b"00:00:00.000 --> 00:00:02.500\nHello there\n\n00:00:03.000 --> 00:00:04.000\nAgain\n"


def test_hls_timestamp_map_across_the_33_bit_rollover() -> None:
    wrap = 2**33
    # the clock stood 2 s short of rolling over where LOCAL 0 is: 2 s early, not 26.5 h late
    before = f"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{wrap - 2 * 90_000},LOCAL:00:00:00.000\n\n"
    assert _rows(before.encode() + VTT_CUES, "a.vtt") == [
        (0.0, 0.5, "Hello there", None),
        (1.0, 2.0, "Again", None),
    ]
    # a value past 33 bits wraps: the same as MPEGTS:900000
    past = f"WEBVTT\nX-TIMESTAMP-MAP=LOCAL:00:00:00.000,MPEGTS:{wrap + 900_000}\n\n"
    assert _rows(past.encode() + VTT_CUES, "a.vtt") == [
        (10.0, 12.5, "Hello there", None),
        (13.0, 14.0, "Again", None),
    ]
    # cue times counting on from the hour LOCAL names, MPEGTS just past the rollover: the
    # cue at LOCAL is 2 s into the stream
    after = b"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:180000,LOCAL:26:30:00.000\n\n"
    cues = b"26:30:00.000 --> 26:30:02.000\nHi\n\n26:30:05.000 --> 26:30:06.000\nThere\n"
    assert _rows(after + cues, "a.vtt") == [(2.0, 4.0, "Hi", None), (7.0, 8.0, "There", None)]


def test_voice_tags_inside_an_html_transcript() -> None:
    page = (
        b"<html><body><nav>Home | Episodes</nav><article>"
        b"<p><v Alice Smith>Hello there</v></p><p><v Bob>General Kenobi</v></p>"
        b"<p><v.loud Alice Smith>You are a bold one</v></p></article></body></html>"
    )
    assert detect_format(page.decode(), "page.html") == "html"
    assert [(r[2], r[3]) for r in _rows(page, "page.html")] == [
        ("Hello there", "Alice Smith"),  # the name as written, not as HTML lowercases it
        ("General Kenobi", "Bob"),
        ("You are a bold one", "Alice Smith"),
    ]
    timed = (
        b"<html><body><p><span data-start='1.5'><v Alice>Hello there</v></span></p>"
        b"<p><span data-start='3'><v Bob>Yo there</v></span></p>"
        b"<p><span data-start='5'><v Alice>Ok then</v></span></p></body></html>"
    )
    assert [(r[0], r[2], r[3]) for r in _rows(timed, "page.html")] == [
        (1.5, "Hello there", "Alice"),
        (3.0, "Yo there", "Bob"),
        (5.0, "Ok then", "Alice"),
    ]
