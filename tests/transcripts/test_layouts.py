"""Every transcript layout in tests/data/transcripts read into timed segments and chapters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podgrep.transcripts.importer import detect_format, read_transcript

DATA = Path(__file__).parent.parent / "data" / "transcripts"


def _read(name: str):
    return read_transcript((DATA / name).read_bytes(), name)


def _at(segments, seconds: float):
    return next(s for s in segments if abs(s.start - seconds) < 0.01)


def test_edited_transcript_speakers_continuations_footers_and_inaudible() -> None:
    [ep] = _read("sds-733-edited-transcript.txt")
    segs = ep.segments
    assert {s.speaker for s in segs} == {"Jon Krohn", "Yannic Kilcher"}
    assert segs[0].start == 0 and segs[0].speaker == "Jon Krohn"
    answer = _at(segs, 2 * 60 + 14)
    assert (answer.speaker, answer.text) == ("Yannic Kilcher", "In Zurich. Thanks for having me.")
    # `- 00:00:18 text` continues the speaker before it
    assert _at(segs, 18).speaker == "Jon Krohn"
    assert _at(segs, 4 * 60 + 2).speaker == "Yannic Kilcher"
    # the paragraph a page break cut goes on in the segment before the break
    assert _at(segs, 3 * 60 + 30).text.endswith(
        "and what does democracy and alignment have to do with LLMs?"
    )
    text = " ".join(s.text for s in segs)
    assert "Show Notes: <http" not in text and "**" not in text and "SDS PODCAST" not in text
    inaudible = [s for s in segs if "inaudible" in s.flags]
    # four timed lines say [inaudible], and one continuation line a page break cut off
    assert len(inaudible) == 5
    assert "[inaudible 00:52:09]" in _at(segs, 51 * 60 + 45).text
    assert all(a.start <= b.start for a, b in zip(segs, segs[1:], strict=False))
    assert all(s.end >= s.start for s in segs)


def test_whisper_cpp_log_has_no_invented_speakers_and_flags_the_trailing_you() -> None:
    [ep] = _read("gradient-dissent-whisper-cpp.txt")
    segs = ep.segments
    assert all(s.speaker is None for s in segs)
    assert not any(">>" in s.text for s in segs)
    assert segs[0].text == "These models have seen the internet and so"
    assert (segs[0].start, segs[0].end) == (0.0, 4.76)
    assert _at(segs, 23.36).text.startswith("You're listening to Gradient Dissent")
    assert _at(segs, 77.4).text == "Yeah, for sure."
    assert segs[-1].text == "you" and "hallucination" in segs[-1].flags
    assert "hallucination" in segs[-2].flags  # (upbeat music)
    assert "hallucination" not in segs[-3].flags


def test_faster_whisper_log_skips_log_lines() -> None:
    [ep] = _read("openassistant-faster-whisper-log.txt")
    segs = ep.segments
    assert (segs[0].start, segs[0].end, segs[0].text) == (
        0.0,
        2.0,
        "Let's talk about Open Assistant.",
    )
    text = " ".join(s.text for s in segs)
    assert "Detected language" not in text and "run time" not in text and "sys.argv" not in text
    assert segs[-1].text == "Thanks for having me."
    assert segs[-1].end == pytest.approx(3591.55)


def test_directory_page_2024_splits_episodes_with_notes_chapters_and_headings() -> None:
    episodes = _read("latent-space-directory-page-2024.txt")
    assert len(episodes) == 10
    first = episodes[0]
    assert first.title.startswith("Efficiency is Coming: 3000x Faster")
    assert first.duration == 3918.0
    assert [c.start for c in first.notes_chapters][:3] == [0.0, 197.0, 345.0]
    assert first.notes_chapters[1].title == "Nyla's path from Astrophysics to LLMs"
    # chapter headings mixed into the transcript are chapters, not speech
    assert first.chapters[0].title == "Nyla's path from Astrophysics to LLMs"
    assert first.chapters[0].source == "transcript"
    assert not any(s.text == "Nyla's path from Astrophysics to LLMs" for s in first.segments)
    assert _at(first.segments, 197).speaker == "swyx"
    # `[00:03:11] text` with no name continues the speaker before it
    assert _at(first.segments, 191).speaker == "Alessio"
    # `Alessio [00:00:00]: text` is the other placement of speaker and time
    second = episodes[1]
    assert second.segments[0].speaker == "Alessio" and second.segments[0].start == 0
    all_text = " ".join(s.text for e in episodes for s in e.segments)
    assert "Get full access" not in all_text
    assert sum(1 for e in episodes if e.segments) == 7  # three episodes carry no transcript


def test_directory_page_2023_run_together_text_is_split() -> None:
    episodes = _read("latent-space-directory-page-2023.txt")
    assert [e.title.split(" ")[0] for e in episodes] == [
        "Training",
        "Mapping",
        "AI-powered",
        "Segment",
        "AI",
    ]
    replit = episodes[0]
    assert replit.segments[0].text.startswith("Hey everyone. Welcome to the Latent Space")
    assert replit.segments[0].speaker == "Alessio Fanelli"
    assert {"Alessio Fanelli", "swyx", "Reza Shabani"} <= {s.speaker for s in replit.segments}
    assert replit.chapters[0].title == "Introducing Reza"
    assert not any("This is a public episode" in s.text for s in replit.segments)
    # "…Lightning RoundTranscripts[00:00:00] Hey everyone." comes apart
    segment_anything = episodes[3]
    assert segment_anything.notes_chapters[-1].title == "How to keep up in AI"
    assert segment_anything.segments[0].text.startswith("Hello everyone. It is me swyx")
    # the episode whose notes have no `Transcript` heading still has its transcript
    assert len(episodes[2].segments) > 100
    assert not any(s.text.startswith("Transcript") for e in episodes for s in e.segments)


def test_vtt_srt_json_html_and_untimed_text() -> None:
    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.500\n<v Jane Doe>Hello there.\n\n"
        "00:00:04.000 --> 00:00:05.000\n<v John>Hi.\n"
    )
    [ep] = read_transcript(vtt, "t.vtt")
    assert [(s.start, s.speaker, s.text) for s in ep.segments] == [
        (1.0, "Jane Doe", "Hello there."),
        (4.0, "John", "Hi."),
    ]
    srt = (
        "1\n00:00:01,000 --> 00:00:02,000\nJane: Hello.\n\n2\n00:00:02,500 --> 00:00:03,000\nHi.\n"
    )
    assert detect_format(srt) == "srt"
    assert read_transcript(srt)[0].segments[0].text.endswith("Hello.")
    doc = {
        "version": "1.0.0",
        "segments": [{"speaker": "Jane", "startTime": 0.5, "endTime": 0.9, "body": "Hi"}],
    }
    [ep] = read_transcript(json.dumps(doc).encode(), "t.json", "application/json")
    assert (ep.segments[0].speaker, ep.segments[0].text) == ("Jane", "Hi")
    html = (
        "<html><body><script>alert(1)</script><p>[00:00:05] Jane: Hello there.</p>"
        "<p>[00:00:09] John: Thanks.</p><p>[00:00:12] Jane: Sure thing.</p></body></html>"
    )
    [ep] = read_transcript(html, "t.html")
    assert [(s.start, s.speaker) for s in ep.segments] == [(5, "Jane"), (9, "John"), (12, "Jane")]
    assert "alert" not in " ".join(s.text for s in ep.segments)
    [ep] = read_transcript("Jane: Hello there, welcome.\n\nJohn: Thanks for having me.\n")
    assert [s.speaker for s in ep.segments] == ["Jane", "John"]
    assert all("untimed" in s.flags for s in ep.segments)
    assert ep.segments[1].start > 0
