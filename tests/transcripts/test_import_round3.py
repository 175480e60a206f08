"""Import review, round 3: legacy code pages, digit-only cue lines, negative and backwards cue
times, and several voices on one timed text line."""

from __future__ import annotations

import pytest

from podgrep.transcripts.decode import decode
from podgrep.transcripts.importer import read_transcript


def _segs(data: bytes, name: str) -> list[tuple[float, float, str | None, str]]:
    return [(s.start, s.end, s.speaker, s.text) for s in read_transcript(data, name)[0].segments]


SRT_CJK = (
    "1\r\n00:00:01,000 --> 00:00:03,000\r\n{a}：{x}\r\n\r\n"
    "2\r\n00:00:03,500 --> 00:00:05,000\r\n{b}：{y}\r\n\r\n"
    "3\r\n00:00:05,500 --> 00:00:07,000\r\n{a}：{x}\r\n\r\n"
    "4\r\n00:00:07,500 --> 00:00:09,000\r\n{b}：{y}\r\n"
)


@pytest.mark.parametrize(
    ("encoding", "a", "b", "x", "y"),
    [
        (
            "shift_jis",
            "田中",
            "佐藤",
            "こんにちは、ポッドキャストへようこそ。",
            "ありがとうございます、よろしくお願いします。",
        ),
        ("gb18030", "主持人", "嘉宾", "大家好，欢迎收听本期节目。", "谢谢邀请，很高兴来到这里。"),
        ("big5", "主持人", "嘉賓", "大家好，歡迎收聽本期節目。", "謝謝邀請，很高興來到這裡。"),
    ],
)
def test_cjk_code_pages_decode_and_name_speakers(encoding, a, b, x, y):
    data = SRT_CJK.format(a=a, b=b, x=x, y=y).encode(encoding)
    segs = _segs(data, "t.srt")
    assert [(s[2], s[3]) for s in segs] == [(a, x), (b, y), (a, x), (b, y)]


def test_euc_kr_decodes():
    text = (
        "1\n00:00:01,000 --> 00:00:03,000\n진행자: 안녕하세요, 팟캐스트에 오신 것을 환영합니다.\n\n"
        "2\n00:00:03,500 --> 00:00:05,000\n손님: 초대해 주셔서 감사합니다. 정말 기쁩니다.\n"
    )
    assert decode(text.encode("euc_kr")) == text


def test_windows_1251_decodes():
    text = (
        "1\n00:00:01,000 --> 00:00:03,000\nИван: Привет, добро пожаловать на подкаст.\n\n"
        "2\n00:00:03,500 --> 00:00:05,000\nМария: Спасибо, очень рада быть здесь сегодня.\n"
    )
    assert decode(text.encode("cp1251")) == text


def test_mac_roman_with_cr_line_ends_decodes():
    text = "1\r00:00:01,000 --> 00:00:03,000\rAlice: “Café” isn’t naïve — it’s fine.\r"
    assert "“Café” isn’t naïve — it’s fine." in decode(text.encode("mac_roman"))


def test_windows_1252_stays_windows_1252():
    data = (
        b"1\r\n00:00:01,000 --> 00:00:03,000\r\n"
        b"Alice: \x93Caf\xe9\x94 isn\x92t na\xefve \x97 it\x92s fine.\r\n"
    )
    assert "“Café” isn’t naïve — it’s fine." in decode(data)


DIGITS_VTT = b"""WEBVTT

00:00:01.000 --> 00:00:03.000
The year was
1999

00:00:03.500 --> 00:00:05.000
42

00:00:05.500 --> 00:00:07.000
And that is the end.
"""


def test_digit_lines_in_unnumbered_cues_are_text():
    want = ["The year was 1999", "42", "And that is the end."]
    assert [s[3] for s in _segs(DIGITS_VTT, "t.vtt")] == want
    srt = (
        DIGITS_VTT.removeprefix(b"WEBVTT\n\n")
        .replace(b".000 ", b",000 ")
        .replace(b".000\n", b",000\n")
    )
    assert [s[3] for s in _segs(srt, "t.srt")] == want


def test_numbered_srt_still_drops_its_numbers():
    data = (
        b"1\n00:00:01,000 --> 00:00:03,000\nThe year was\n1999\n\n"
        b"2\n00:00:03,500 --> 00:00:05,000\n42\n\n3\n00:00:05,500 --> 00:00:07,000\nEnd.\n"
    )
    assert [s[3] for s in _segs(data, "t.srt")] == ["The year was 1999", "42", "End."]


def test_negative_start_is_clamped_and_backwards_end_kept():
    data = (
        b"1\n-00:00:00,500 --> 00:00:02,000\nnegative start.\n\n"
        b"2\n00:00:03,000 --> 00:00:02,500\nends before it starts.\n\n"
        b"3\n00:00:04,000 --> 00:00:05,000\nnormal cue.\n"
    )
    segs = _segs(data, "t.srt")
    assert [(s[0], s[1], s[3]) for s in segs] == [
        (0.0, 2.0, "negative start."),
        (3.0, 3.0, "ends before it starts."),
        (4.0, 5.0, "normal cue."),
    ]


VOICES = (
    "00:00:01 <v Alice>Hello there, it is lovely to have you on.</v> "
    "<v Bob>Hi Alice, it is great to see you here today.</v>\n"
    "00:00:09 <v Alice>How are you?</v>\n"
    "00:00:12 <v Bob>Great!</v>\n"
)


def _check_two_voices(segs):
    assert [(s[2], s[3]) for s in segs[:2]] == [
        ("Alice", "Hello there, it is lovely to have you on."),
        ("Bob", "Hi Alice, it is great to see you here today."),
    ]
    assert segs[0][0] == 1.0 and segs[0][1] == segs[1][0] and segs[1][1] <= 9.0
    # shared by text length: Bob's longer line gets the longer share
    assert segs[1][1] - segs[1][0] > segs[0][1] - segs[0][0] > 0
    assert [s[2] for s in segs[2:]] == ["Alice", "Bob"]


def test_two_voices_on_a_timed_text_line():
    _check_two_voices(_segs(VOICES.encode(), "t.txt"))


def test_two_voices_on_a_timed_html_paragraph():
    body = "".join(f"<p>{line}</p>" for line in VOICES.splitlines())
    _check_two_voices(_segs(f"<html><body>{body}</body></html>".encode(), "t.html"))


def test_two_voices_in_one_webvtt_cue():
    data = (
        b"WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n"
        b"<v Alice>Hello Bob.</v> <v Bob>Hi Alice, how are you?</v>\n"
    )
    segs = _segs(data, "t.vtt")
    assert [(s[2], s[3]) for s in segs] == [
        ("Alice", "Hello Bob."),
        ("Bob", "Hi Alice, how are you?"),
    ]
    assert segs[0][0] == 1.0 and segs[0][1] == segs[1][0] and segs[1][1] == 5.0
