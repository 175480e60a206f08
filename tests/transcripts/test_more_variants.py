"""Transcripts written by other tools: loose WebVTT clocks, NULs, HLS timestamp maps, cues out
of order, tab-separated files and `<v Name>` voices in text layouts."""

from __future__ import annotations

import pytest

from podgrep.errors import PodgrepError
from podgrep.transcripts.importer import read_transcript


def _rows(data: bytes, name: str) -> list[tuple[float, float, str, str | None]]:
    [ep] = read_transcript(data, name)
    return [(round(s.start, 3), round(s.end, 3), s.text, s.speaker) for s in ep.segments]


def test_vtt_clocks_without_leading_zeros() -> None:
    data = b"WEBVTT\n\n0:0:0.0 --> 0:0:2.5\nHello there\n\n0:0:2.5 --> 0:0:5.25\nSecond cue\n"
    assert _rows(data, "a.vtt") == [
        (0.0, 2.5, "Hello there", None),
        (2.5, 5.25, "Second cue", None),
    ]


def test_vtt_minutes_and_seconds_with_one_digit() -> None:
    data = b"WEBVTT\n\n0:00.000 --> 0:02.500\nHello there\n\n1:2.5 --> 1:5\nSecond\n"
    assert _rows(data, "a.vtt") == [(0.0, 2.5, "Hello there", None), (62.5, 65.0, "Second", None)]


def test_nul_in_vtt_is_replaced_not_binary() -> None:
    data = (
        b"WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHel\x00lo there\n\n"
        b"00:00:02.500 --> 00:00:05.000\nSecond\x00 cue\x00\n"
    )
    rows = _rows(data, "a.vtt")
    assert [r[2] for r in rows] == ["Hel\ufffdlo there", "Second\ufffd cue\ufffd"]


def test_real_binary_with_nuls_is_still_refused() -> None:
    with pytest.raises(PodgrepError, match="binary data"):
        read_transcript(b"WEBVTT\n\n" + bytes(range(256)) * 8, "a.vtt")
    with pytest.raises(PodgrepError, match="binary data"):
        read_transcript(b"abc\x00\x00\x00def\x00\x00\x00ghi\x00\x00" * 50, "a.txt")


def test_hls_timestamp_map_shifts_cues() -> None:
    data = (
        b"WEBVTT\nX-TIMESTAMP-MAP=LOCAL:00:00:00.000,MPEGTS:900000\n\n"
        b"00:00:00.000 --> 00:00:02.500\nHello there\n\n00:00:03.000 --> 00:00:04.000\nAgain\n"
    )
    assert _rows(data, "a.vtt") == [(10.0, 12.5, "Hello there", None), (13.0, 14.0, "Again", None)]
    other_order = b"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:180000,LOCAL:00:00:01.000\n\n" + (
        b"00:00:01.000 --> 00:00:02.000\nHi\n"
    )
    assert _rows(other_order, "a.vtt") == [(2.0, 3.0, "Hi", None)]


def test_cues_out_of_order_and_overlapping() -> None:
    data = (
        b"WEBVTT\n\n00:00:05.000 --> 00:00:07.000\nSecond\n\n"
        b"00:00:00.000 --> 00:00:06.000\nFirst\n\n00:00:01.000 --> 00:00:03.000\nOverlap\n\n"
        b"00:00:01.000 --> 00:00:02.000\nSame start\n"
    )
    assert _rows(data, "a.vtt") == [
        (0.0, 6.0, "First", None),
        (1.0, 3.0, "Overlap", None),
        (1.0, 2.0, "Same start", None),
        (5.0, 7.0, "Second", None),
    ]
    srt = b"1\n00:00:04,000 --> 00:00:05,000\nLater\n\n2\n00:00:01,000 --> 00:00:02,000\nEarlier\n"
    assert [r[2] for r in _rows(srt, "a.srt")] == ["Earlier", "Later"]


def test_whisper_tsv_in_milliseconds() -> None:
    data = (
        b"start\tend\ttext\n0\t2500\tHello there\n2500\t5000\tGeneral Kenobi\n"
        b"5000\t7000\tYou are a bold one\n"
    )
    assert _rows(data, "a.tsv") == [
        (0.0, 2.5, "Hello there", None),
        (2.5, 5.0, "General Kenobi", None),
        (5.0, 7.0, "You are a bold one", None),
    ]
    # no file name to go by
    assert _rows(data, "")[1] == (2.5, 5.0, "General Kenobi", None)


def test_tsv_with_speakers_in_seconds() -> None:
    data = (
        b"start\tend\tspeaker\ttext\n0.0\t2.5\tAlice\tHello there\n2.5\t5.0\tBob\tGeneral Kenobi\n"
    )
    assert _rows(data, "a.tsv") == [
        (0.0, 2.5, "Hello there", "Alice"),
        (2.5, 5.0, "General Kenobi", "Bob"),
    ]


def test_tsv_header_says_milliseconds_and_clock_cells() -> None:
    data = b"Speaker\tStart (ms)\tEnd (ms)\tText\nAlice\t0\t50\tHi\nBob\t50\t90\tYo\n"
    assert _rows(data, "a.txt") == [(0.0, 0.05, "Hi", "Alice"), (0.05, 0.09, "Yo", "Bob")]
    clocks = b"start\tend\ttext\n00:00:01.500\t00:00:03.000\tHello\n0:03\t0:04\tThere\n"
    assert _rows(clocks, "a.tsv") == [(1.5, 3.0, "Hello", None), (3.0, 4.0, "There", None)]


def test_voice_tags_in_a_text_layout() -> None:
    data = b"<v Alice>Hello there</v>\n<v Bob>General Kenobi</v>\n<v Alice>You are bold</v>\n"
    rows = _rows(data, "a.txt")
    assert [(r[2], r[3]) for r in rows] == [
        ("Hello there", "Alice"),
        ("General Kenobi", "Bob"),
        ("You are bold", "Alice"),
    ]
    many = b"<v.loud Alice>Hi</v> <v bob>Yo there\n"
    assert [(r[2], r[3]) for r in _rows(many, "a.txt")] == [("Hi", "Alice"), ("Yo there", "bob")]


def test_voice_tags_in_a_timed_text_layout() -> None:
    data = (
        b"[00:00:01] <v Alice>Hi</v>\n[00:00:03] <v Bob>Yo</v>\n[00:00:05] <v Alice>Ok then</v>\n"
    )
    rows = _rows(data, "a.txt")
    assert [(r[0], r[2], r[3]) for r in rows] == [
        (1.0, "Hi", "Alice"),
        (3.0, "Yo", "Bob"),
        (5.0, "Ok then", "Alice"),
    ]


def test_a_transcript_far_longer_than_its_episode_is_refused_in_one_line(tmp_path):
    import pytest

    from podgrep.domain import Episode, Segment, Show
    from podgrep.errors import PodgrepError
    from podgrep.runtime import open_store
    from podgrep.transcripts.importer import ImportedEpisode
    from podgrep.transcripts.publisher import store_imported

    with open_store(tmp_path / "p.db") as store:
        sid, _ = store.add_show(Show(None, "http://127.0.0.1:1/f.xml", "S"))
        [eid] = store.add_episodes(
            sid, [Episode(None, sid, "g", "E", media_url="http://127.0.0.1:1/a.mp3", duration=60.0)]
        )
        late = ImportedEpisode(segments=[Segment(0.0, 2.0, "hi"), Segment(3990.0, 4000.0, "bye")])
        with pytest.raises(PodgrepError, match="far beyond the episode's 0:01:00"):
            store_imported(store, eid, late)
        assert store.transcript_for(eid) is None
        fits = ImportedEpisode(segments=[Segment(0.0, 2.0, "hi"), Segment(50.0, 61.0, "bye")])
        assert store_imported(store, eid, fits)
