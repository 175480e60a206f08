"""Guards against Whisper's invented text and repetition loops."""

from __future__ import annotations

from podgrep.asr.guards import check, collapse_repeats, flag_repeated_segments, is_sound_tag


def test_sound_tags_are_flagged():
    for text in ("(upbeat music)", "[Music]", "♪", "[BLANK_AUDIO]"):
        assert is_sound_tag(text)
        assert (
            "hallucination"
            in check(
                text,
                no_speech_prob=0.0,
                avg_logprob=-0.2,
                compression_ratio=1.0,
                word_probability=0.9,
            )[1]
        )
    assert not is_sound_tag("We played (some) music")


def test_lone_you_on_silence_is_flagged_but_real_thanks_kept():
    _, flags = check(
        "you", no_speech_prob=0.5, avg_logprob=-0.9, compression_ratio=0.5, word_probability=0.3
    )
    assert flags == ["hallucination"]
    _, flags = check(
        "Thank you.",
        no_speech_prob=0.01,
        avg_logprob=-0.1,
        compression_ratio=0.8,
        word_probability=0.95,
    )
    assert flags == []


def test_repetition_loop_collapsed():
    text, changed = collapse_repeats("and then " + "we went home " * 7 + "early")
    assert changed and text == "and then we went home early"
    text, flags = check(
        "I think " + "the the " * 8,
        no_speech_prob=0,
        avg_logprob=-0.3,
        compression_ratio=3.1,
        word_probability=0.8,
    )
    assert "repetition" in flags and text.count("the") == 1


def test_ordinary_text_untouched():
    text = "Yeah, yeah, I think so, so we did it."
    assert collapse_repeats(text) == (text, False)


def test_loops_across_sentences_are_flagged_after_the_first_copy():
    from podgrep.domain import Segment

    segs = [Segment(0, 1, "We went home.")] + [
        Segment(i, i + 1, "I'm going to go.") for i in range(1, 5)
    ]
    segs.append(Segment(6, 7, "Yeah."))
    segs.append(Segment(7, 8, "Yeah."))
    flag_repeated_segments(segs)
    assert [bool(s.flags) for s in segs] == [False, False, True, True, True, False, False]
    assert segs[2].flags == ["repetition", "hallucination"]


def test_short_reply_among_speech_is_kept_unless_very_unsure():
    kw = dict(no_speech_prob=0.3, avg_logprob=-0.5, compression_ratio=0.6)
    assert check("Okay.", **kw, word_probability=0.5)[1] == ["hallucination"]
    assert check("Okay.", **kw, word_probability=0.5, alone=False)[1] == []
    assert check("Okay.", **kw, word_probability=0.1, alone=False)[1] == ["hallucination"]
