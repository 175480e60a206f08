"""Tab-separated transcripts whose headers name the columns as other tools do: a `Timestamp`
start column, a `Speaker Label` column (review round 3)."""

from __future__ import annotations

from podgrep.transcripts.importer import read_transcript


def _read(text: str) -> list[tuple[float, float, str | None, str]]:
    [ep] = read_transcript(text.encode(), "t.tsv")
    return [(round(s.start, 2), round(s.end, 2), s.speaker, s.text) for s in ep.segments]


def test_a_timestamp_column_is_the_start_and_the_speaker_stays_out_of_the_text() -> None:
    rows = _read(
        "Timestamp\tSpeaker\tText\n00:00:01\tAlice\tHello and welcome to the show.\n"
        "00:00:04\tBob\tThanks for having me here.\n"
    )
    assert [(r[0], r[2], r[3]) for r in rows] == [
        (1.0, "Alice", "Hello and welcome to the show."),
        (4.0, "Bob", "Thanks for having me here."),
    ]


def test_a_speaker_label_column_is_read() -> None:
    rows = _read(
        "Start Time\tEnd Time\tSpeaker Label\tTranscript\n"
        "1.0\t3.5\tspk_0\tHello and welcome to the show.\n3.6\t6.0\tspk_1\tThanks for having me.\n"
    )
    assert rows == [
        (1.0, 3.5, "spk_0", "Hello and welcome to the show."),
        (3.6, 6.0, "spk_1", "Thanks for having me."),
    ]


def test_comma_and_semicolon_separated_files_with_quoted_commas() -> None:
    [ep] = read_transcript(
        b'start,end,speaker,text\n0.5,2.0,Alice,"Hello, and welcome, to the show."\n'
        b'2.5,4.0,Bob,"Thanks, ""Alice""."\n',
        "t.csv",
    )
    assert [(s.start, s.end, s.speaker, s.text) for s in ep.segments] == [
        (0.5, 2.0, "Alice", "Hello, and welcome, to the show."),
        (2.5, 4.0, "Bob", 'Thanks, "Alice".'),
    ]
    [ep] = read_transcript(b"Start;End;Speaker;Text\n00:00:01;00:00:03;Ann;Bonjour, vous.\n", "x")
    assert [(s.start, s.end, s.speaker, s.text) for s in ep.segments] == [
        (1.0, 3.0, "Ann", "Bonjour, vous.")
    ]
    # prose with commas is no table
    [ep] = read_transcript(b"Hello, world, this is prose.\nAnd more, prose.\n", "p.txt")
    assert ep.segments[0].flags == ["untimed"]
