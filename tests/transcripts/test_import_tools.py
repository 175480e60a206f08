"""Transcripts written by other tools, in shapes the first readers missed (issue #13 review):
short text layouts, clocks without leading zeros, Rev / Amazon Transcribe / AssemblyAI JSON,
non-ASCII and diarizer speaker labels, sound tags, and captions cut from very long words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podgrep.domain import Segment
from podgrep.formats.cues import MAX_LINE, to_cues
from podgrep.formats.text import write_txt
from podgrep.runtime import open_store
from podgrep.transcripts.importer import read_transcript
from podgrep.transcripts.labels import tidy_name
from tests.conftest import DATA, invoke


def _segs(text: str, name: str = "t.txt") -> list[Segment]:
    [episode] = read_transcript(text.encode(), name)
    return episode.segments


def _rows(segments: list[Segment]) -> list[tuple[float, str | None, str]]:
    return [(round(s.start, 3), s.speaker, s.text) for s in segments]


# -- 7: text layouts with one or two entries ---------------------------------------------------

SHORT_LAYOUTS = {
    "bracket": (
        "[00:00:00] Jane Doe: Sourdough starters need feeding twice a day.\n\n"
        "[00:00:06] Raj: I keep mine in the fridge over the weekend.\n"
    ),
    "podgrep txt": (
        "Jane Doe [00:00:00]: Sourdough starters need feeding twice a day.\n\n"
        "Raj [00:00:06]: I keep mine in the fridge over the weekend.\n"
    ),
    "otter": (
        "Jane Doe  0:00\nSourdough starters need feeding twice a day.\n\n"
        "Raj  0:06\nI keep mine in the fridge over the weekend.\n"
    ),
}


@pytest.mark.parametrize("layout", sorted(SHORT_LAYOUTS))
def test_two_entries_keep_their_times_and_speakers(layout: str) -> None:
    segs = _segs(SHORT_LAYOUTS[layout])
    assert _rows(segs) == [
        (0.0, "Jane Doe", "Sourdough starters need feeding twice a day."),
        (6.0, "Raj", "I keep mine in the fridge over the weekend."),
    ]
    assert not any("untimed" in s.flags for s in segs)


def test_whisper_cpp_two_lines_and_a_one_line_clip() -> None:
    segs = _segs(
        "[00:00:00.000 --> 00:00:04.000]   Sourdough starters need feeding.\n"
        "[00:00:04.000 --> 00:00:06.500]   Twice a day.\n"
    )
    assert [(s.start, s.end, s.text) for s in segs] == [
        (0.0, 4.0, "Sourdough starters need feeding."),
        (4.0, 6.5, "Twice a day."),
    ]
    [clip] = _segs("[00:00:03] Jane Doe: Sourdough starters need feeding twice a day.\n")
    assert (clip.start, clip.speaker, clip.text) == (
        3.0,
        "Jane Doe",
        "Sourdough starters need feeding twice a day.",
    )
    assert "untimed" not in clip.flags


def test_podgrep_txt_export_round_trips() -> None:
    segments = [
        Segment(0.0, 4.0, "Sourdough starters need feeding.", speaker="Zoë Ñúñez-Çelik"),
        Segment(6.0, 9.0, "I keep mine in the fridge.", speaker="Raj"),
    ]
    back = _segs(write_txt(segments))
    assert [(s.start, s.speaker, s.text) for s in back] == [
        (s.start, s.speaker, s.text) for s in segments
    ]
    [alone] = _segs(write_txt([Segment(12.0, 15.0, "Nobody named says this.")]))
    assert (alone.start, alone.speaker, alone.text) == (12.0, None, "Nobody named says this.")


def test_a_stray_time_in_prose_is_not_a_layout() -> None:
    for prose in (
        "We met at the cafe.\nAt [10:30] we left for the station.\n",
        "Notes from the meeting\n[00:05] Intro\n",
        "[10:30] we met.\nThen prose.\nMore prose.\nAnd more.\nAnd more prose again.\n",
        "[00:00:01] Jane: Hello.\n[00:00:04.000 --> 00:00:05.000]   two layouts mixed.\n",
    ):
        segs = _segs(prose)
        assert all("untimed" in s.flags for s in segs), prose


# -- 8: clock times without leading zeros -----------------------------------------------------


def test_bracketed_clocks_without_leading_zeros() -> None:
    segs = _segs(
        "[0:0:0] Ingrid: Knitting a sweater.\n[0:0:5] Ola: Merino wool is softer.\n"
        "[0:1:9] Ingrid: Cable stitches.\n"
    )
    assert _rows(segs) == [
        (0.0, "Ingrid", "Knitting a sweater."),
        (5.0, "Ola", "Merino wool is softer."),
        (69.0, "Ingrid", "Cable stitches."),
    ]


def test_vtt_like_text_with_short_clocks_and_voices() -> None:
    segs = _segs(
        "0:0:0.5\n<v Ingrid Bergström>Knitting a sweater takes forty hours.\n\n"
        "0:0:5.2\n<v Ola>Merino wool is softer than acrylic yarn.\n\n"
        "0:0:9.8\n<v Ingrid Bergström>Cable stitches are easy to learn.\n"
    )
    assert _rows(segs) == [
        (0.5, "Ingrid Bergström", "Knitting a sweater takes forty hours."),
        (5.2, "Ola", "Merino wool is softer than acrylic yarn."),
        (9.8, "Ingrid Bergström", "Cable stitches are easy to learn."),
    ]


# -- 10: speaker labels -----------------------------------------------------------------------

UNICODE_SRT = """1
00:00:01,000 --> 00:00:02,000
Zoë Ñúñez-Çelik: Hola a todos.

2
00:00:02,000 --> 00:00:03,000
José: Bienvenidos.

3
00:00:03,000 --> 00:00:04,000
李雷: 你好。

4
00:00:04,000 --> 00:00:05,000
DR. JANE O'NEIL: Thanks.

5
00:00:05,000 --> 00:00:06,000
Zoë Ñúñez-Çelik 🎙️: Gracias.

6
00:00:06,000 --> 00:00:07,000
日本語の話者: これは長い文章です。
"""


def test_non_ascii_labels_and_all_caps_names() -> None:
    assert _rows(_segs(UNICODE_SRT, "u.srt")) == [
        (1.0, "Zoë Ñúñez-Çelik", "Hola a todos."),
        (2.0, "José", "Bienvenidos."),
        (3.0, "李雷", "你好。"),
        (4.0, "Dr. Jane O'Neil", "Thanks."),
        (5.0, "Zoë Ñúñez-Çelik", "Gracias."),
        # a label we cannot read as a name is nobody's, not José's or Dr. O'Neil's
        (6.0, None, "日本語の話者: これは長い文章です。"),
    ]


def test_label_precision_is_kept() -> None:
    srt = (
        "1\n00:00:01,000 --> 00:00:02,000\nAnn: Welcome.\n\n"
        "2\n00:00:02,000 --> 00:00:03,000\nSo here's the thing: it works.\n\n"
        "3\n00:00:03,000 --> 00:00:04,000\n我认为这个问题非常重要: 是的。\n"
    )
    assert [s.speaker for s in _segs(srt, "p.srt")] == ["Ann", "Ann", None]
    assert tidy_name("JOHN SMITH") == "John Smith" and tidy_name("JFK") == "JFK"
    assert tidy_name("JEAN-PAUL D'ARCY") == "Jean-Paul D'Arcy"
    assert tidy_name("McKenzie") == "McKenzie"


def test_diarizer_labels_are_labels() -> None:
    from podgrep.transcripts.labels import is_raw_label

    for raw in ("SPEAKER_00", "SPEAKER_1", "Speaker 1", "spk_0", "Speaker A"):
        assert is_raw_label(raw), raw
    for name in ("Speaker Pelosi", "Jane", "Spike 2"):
        assert not is_raw_label(name), name


def test_imported_diarizer_labels_are_stored_as_labels_not_names(tmp_path: Path) -> None:
    assert invoke(["add", str(DATA / "jfk.flac")], tmp_path)[0] == 0
    doc = {
        "segments": [
            {
                "start": 0.3,
                "end": 4.0,
                "text": "And so my fellow Americans,",
                "speaker": "SPEAKER_00",
            },
            {
                "start": 4.0,
                "end": 8.0,
                "text": "ask not what your country.",
                "speaker": "SPEAKER_01",
            },
            {"start": 8.0, "end": 10.5, "text": "Ask what you can do.", "speaker": "SPEAKER_00"},
        ]
    }
    path = tmp_path / "whisperx.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    code, _, err = invoke(["import", "1", str(path)], tmp_path)
    assert code == 0, err
    with open_store(tmp_path / "podgrep.db") as store:
        speakers = {s.label: s.name for s in store.list_speakers(1)}
        assert speakers == {"SPEAKER_00": None, "SPEAKER_01": None}
        segs = store.transcript_for(1).segments
        assert [s.speaker for s in segs] == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_00"]
    code, _, err = invoke(["speakers", "1", "--rename", "SPEAKER_00=John F. Kennedy"], tmp_path)
    assert code == 0, err
    with open_store(tmp_path / "podgrep.db") as store:
        assert store.transcript_for(1).segments[0].speaker == "John F. Kennedy"


# -- 9: JSON transcripts of transcription services --------------------------------------------


def _rev_element(word: str, ts: float) -> list[dict]:
    return [
        {"type": "text", "value": word, "ts": ts, "end_ts": ts + 0.35, "confidence": 0.98},
        {"type": "punct", "value": " "},
    ]


def test_rev_json() -> None:
    first = [e for i, w in enumerate(["Boil", "the", "pasta"]) for e in _rev_element(w, i * 0.4)]
    first[-1] = {"type": "punct", "value": "."}
    second = [e for i, w in enumerate(["Do", "you", "rinse"]) for e in _rev_element(w, 2 + i * 0.4)]
    second[-1] = {"type": "punct", "value": "?"}
    doc = {
        "monologues": [
            {"speaker": 0, "speaker_name": "Chef Ana", "elements": first},
            {"speaker": 1, "elements": second},
        ]
    }
    segs = _segs(json.dumps(doc), "rev.json")
    assert _rows(segs) == [
        (0.0, "Chef Ana", "Boil the pasta."),
        (2.0, "Speaker 1", "Do you rinse?"),
    ]
    assert segs[0].end == pytest.approx(1.15) and len(segs[0].words) == 4


def _aws_item(word: str, start: float, end: float, speaker: str | None = None) -> dict:
    item = {
        "start_time": f"{start}",
        "end_time": f"{end}",
        "alternatives": [{"confidence": "0.99", "content": word}],
        "type": "pronunciation",
    }
    if speaker:
        item["speaker_label"] = speaker
    return item


PUNCT = {"alternatives": [{"confidence": "0.0", "content": "."}], "type": "punctuation"}


def test_amazon_transcribe_json_with_speaker_labels() -> None:
    items = [
        _aws_item("Glaciers", 0.5, 1.2),
        _aws_item("carve", 1.2, 2.0),
        _aws_item("valleys", 2.0, 2.3),
        PUNCT,
        _aws_item("Moraines", 2.5, 3.2),
        _aws_item("mark", 3.2, 3.6),
        _aws_item("edges", 3.6, 4.0),
        PUNCT,
    ]
    labels = {
        "speakers": 2,
        "segments": [
            {"speaker_label": "spk_0", "items": [
                {"start_time": "0.5", "speaker_label": "spk_0"},
                {"start_time": "1.2", "speaker_label": "spk_0"},
                {"start_time": "2.0", "speaker_label": "spk_0"},
            ]},
            {"speaker_label": "spk_1", "items": [
                {"start_time": "2.5", "speaker_label": "spk_1"},
                {"start_time": "3.2", "speaker_label": "spk_1"},
                {"start_time": "3.6", "speaker_label": "spk_1"},
            ]},
        ],
    }  # fmt: skip
    doc = {"jobName": "j", "results": {"items": items, "speaker_labels": labels}}
    segs = _segs(json.dumps(doc), "aws.json")
    assert _rows(segs) == [
        (0.5, "spk_0", "Glaciers carve valleys."),
        (2.5, "spk_1", "Moraines mark edges."),
    ]
    assert segs[1].end == 4.0
    # items that carry their speaker, no speaker_labels
    doc = {"results": {"items": [_aws_item("Hi", 0.5, 0.9, "spk_0"), PUNCT,
                                 _aws_item("Hello", 1.5, 2.0, "spk_1"), PUNCT]}}  # fmt: skip
    assert _rows(_segs(json.dumps(doc), "aws.json")) == [
        (0.5, "spk_0", "Hi."),
        (1.5, "spk_1", "Hello."),
    ]


def test_amazon_transcribe_audio_segments() -> None:
    doc = {
        "results": {
            "items": [_aws_item("Glaciers", 0.5, 1.2), _aws_item("carve", 1.2, 2.0)],
            "audio_segments": [
                {"id": 0, "transcript": "Glaciers carve.", "start_time": "0.5",
                 "end_time": "2.0", "speaker_label": "spk_0", "items": [0, 1]},
            ],
        }
    }  # fmt: skip
    assert [(s.start, s.end, s.speaker, s.text) for s in _segs(json.dumps(doc), "a.json")] == [
        (0.5, 2.0, "spk_0", "Glaciers carve.")
    ]


def test_assemblyai_utterances_and_words_in_milliseconds() -> None:
    doc = {
        "id": "x",
        "status": "completed",
        "text": "...",
        "utterances": [
            {"speaker": "A", "start": 1000, "end": 4500, "confidence": 0.9,
             "text": "Honeybees communicate through a waggle dance.",
             "words": [{"text": "Honeybees", "start": 1000, "end": 1800, "speaker": "A"}]},
            {"speaker": "B", "start": 4800, "end": 9000, "confidence": 0.9,
             "text": "The queen lays up to two thousand eggs a day.", "words": []},
        ],
    }  # fmt: skip
    segs = _segs(json.dumps(doc), "aai.json")
    assert [(s.start, s.end, s.speaker) for s in segs] == [
        (1.0, 4.5, "Speaker A"),
        (4.8, 9.0, "Speaker B"),
    ]
    assert (segs[0].words[0].start, segs[0].words[0].end) == (1.0, 1.8)
    words = ["Honeybees", "communicate", "through", "a", "waggle"]
    words += ["dance.", "The", "queen", "lays", "eggs."]
    doc = {
        "text": " ".join(words),
        "utterances": None,
        "words": [
            {"text": w, "start": 1000 + 400 * i, "end": 1350 + 400 * i, "speaker": None}
            for i, w in enumerate(words)
        ],
    }
    [seg, *rest] = _segs(json.dumps(doc), "aai.json")
    assert seg.start == 1.0 and seg.text.startswith("Honeybees communicate")
    assert max(s.end for s in [seg, *rest]) == pytest.approx(1.0 + 0.4 * 9 + 0.35)


def test_whole_seconds_in_json_stay_seconds() -> None:
    doc = {
        "segments": [
            {"start": 5, "end": 9, "text": "Five seconds in, and we talk."},
            {"start": 9, "end": 14, "text": "Then more talk for a while."},
        ]
    }
    assert [(s.start, s.end) for s in _segs(json.dumps(doc), "s.json")] == [(5, 9), (9, 14)]


FAR_SRT = """1
01:59:00,000 --> 01:59:04,000
Kennedy: And so my fellow Americans.

2
01:59:04,000 --> 01:59:08,000
Kennedy: Ask not what your country can do for you.
"""


def test_times_beyond_a_local_episode_not_yet_fetched_are_refused(tmp_path: Path) -> None:
    assert invoke(["add", str(DATA / "jfk.flac")], tmp_path)[0] == 0
    with open_store(tmp_path / "podgrep.db") as store:
        assert not store.get_episode(1).duration  # added, never synced
    srt = tmp_path / "far.srt"
    srt.write_text(FAR_SRT, encoding="utf-8")
    code, _, err = invoke(["import", "1", str(srt)], tmp_path)
    assert code != 0 and "far beyond" in err, err
    with open_store(tmp_path / "podgrep.db") as store:
        assert store.get_episode(1).duration == pytest.approx(11.0, abs=0.5)
        assert not store.db.execute("SELECT COUNT(*) FROM segments").fetchone()[0]


# -- 12: sound tags and captions of long words ------------------------------------------------


def test_youtube_sound_tags_are_flagged_and_kept_out_of_the_text() -> None:
    vtt = (
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n[Music]\n\n"
        "00:00:02.000 --> 00:00:06.000\n[Music] the playoffs start next Tuesday\n\n"
        "00:00:06.000 --> 00:00:08.000\n♪ la la la ♪\n\n"
        "00:00:08.000 --> 00:00:10.000\nGreat game [Applause] really great [inaudible] yes\n"
    )
    segs = _segs(vtt, "yt.vtt")
    hidden = [s.text for s in segs if {"hallucination", "sound_tag"} <= set(s.flags)]
    assert hidden == ["[Music]", "[Music]", "♪ la la la ♪", "[Applause]"]
    said = [s.text for s in segs if "sound_tag" not in s.flags]
    assert said == ["the playoffs start next Tuesday", "Great game", "really great [inaudible] yes"]
    assert all(a.end <= b.start + 1e-6 for a, b in zip(segs, segs[1:], strict=False))


def test_very_long_words_give_cues_long_enough_to_read() -> None:
    segments = [
        Segment(
            9.0,
            9.4,
            "Supercalifragilisticexpialidocious antidisestablishmentarianism "
            "pneumonoultramicroscopicsilicovolcanoconiosis!",
            speaker="Zoë Ñúñez-Çelik",
        ),
        Segment(9.4, 30.0, "And then the talk goes on for a good while longer.", speaker="Bob"),
    ]
    cues = to_cues(segments)
    assert len(cues) > 2
    assert all(c.end - c.start >= 0.5 - 1e-6 for c in cues), [(c.start, c.end) for c in cues]
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:], strict=False))
    prefix = {c.speaker: len(c.speaker or "") + 2 for c in cues}
    for c in cues:
        assert len(c.lines[0]) + (prefix[c.speaker] if c.speaker else 0) <= MAX_LINE
        assert all(len(line) <= MAX_LINE for line in c.lines)
    assert cues[-1].end == 30.0
