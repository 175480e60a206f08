"""More layouts the third review tried (issue #13): a caller who speaks once keeps their name,
SubStation Alpha subtitles, Happy Scribe's `[time] - Name` headers."""

from __future__ import annotations

from podgrep.transcripts.importer import read_transcript


def _read(text: str, name: str = "t.txt") -> list[tuple[float, str | None, str]]:
    [ep] = read_transcript(text.encode(), name)
    return [(round(s.start, 2), s.speaker, s.text) for s in ep.segments]


def _srt(cues: list[str]) -> str:
    return "".join(
        f"{i + 1}\n00:00:{3 * i + 1:02d},000 --> 00:00:{3 * i + 3:02d},000\n{c}\n\n"
        for i, c in enumerate(cues)
    )


def test_a_full_name_that_speaks_once_stays_a_speaker() -> None:
    cues = ["Alice: Welcome to the show.", "Bob: Thanks for having me.", "Alice: A call.",
            "Jane Smith: Hi, I've been listening for years.", "Alice: Great to hear, Jane.",
            "Bob: Yes, thank you.", "Alice: Back to the topic."]  # fmt: skip
    rows = _read(_srt(cues), "a.srt")
    assert (10.0, "Jane Smith", "Hi, I've been listening for years.") in rows
    # an aside used once is still text, spoken by whoever was speaking
    cues[3] = "Editor's Note: this part was recorded later."
    rows = _read(_srt(cues), "a.srt")
    assert (10.0, "Alice", "Editor's Note: this part was recorded later.") in rows


ASS = """[Script Info]
Title: Episode 12
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, Bold, Italic, Alignment, MarginL, MarginR
Style: Default,Arial,48,&H00FFFFFF,0,0,2,10,10

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:04.00,0:00:06.20,Default,Bob,0,0,0,,{\\i1}Thanks{\\i0} for having me,\\Nit's great.
Dialogue: 0,0:00:01.00,0:00:03.50,Default,Alice,0,0,0,,Hello, and welcome to the show.
Comment: 0,0:00:06.00,0:00:07.00,Default,,0,0,0,,a comment nobody says
Dialogue: 0,1:01:02.25,1:01:05.00,Default,,0,0,0,,Let's get started.
"""


def test_substation_alpha_dialogue_lines_import_with_times_and_names() -> None:
    assert _read(ASS, "ep.ass") == [
        (1.0, "Alice", "Hello, and welcome to the show."),
        (4.0, "Bob", "Thanks for having me, it's great."),
        (3662.25, None, "Let's get started."),
    ]
    ssa = ASS.replace("ScriptType: v4.00+", "ScriptType: v4.00").replace("Layer,", "Marked,")
    assert _read(ssa.replace("Dialogue: 0,", "Dialogue: Marked=0,"), "ep.ssa")[0] == (
        1.0, "Alice", "Hello, and welcome to the show.",
    )  # fmt: skip


def test_happy_scribe_time_dash_name_headers() -> None:
    text = (
        "[00:00:01.03] - Alice\n\nHello and welcome to the show.\n\n"
        "[00:00:04.12] - Bob\n\nThanks for having me.\n\n[00:01:02.00] - Alice\n\nLet's start.\n"
    )
    assert _read(text) == [
        (1.03, "Alice", "Hello and welcome to the show."),
        (4.12, "Bob", "Thanks for having me."),
        (62.0, "Alice", "Let's start."),
    ]
