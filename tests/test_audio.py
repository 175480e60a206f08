"""Decoding and windowing of real audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from podgrep import audio
from podgrep.errors import MediaError

DATA = Path(__file__).parent / "data"


def test_decode_real_files():
    samples = audio.decode(DATA / "jfk.flac")
    assert samples.dtype == np.float32 and abs(len(samples) / 16000 - 11.0) < 0.1
    assert audio.probe(DATA / "conversation_a.mp3").duration == pytest.approx(319.9, abs=0.5)


def test_windows_are_deterministic_and_cut_in_pauses():
    samples = audio.decode(DATA / "conversation_a.mp3")
    a = audio.speech_windows(samples, 60)
    assert a == audio.speech_windows(samples, 60)
    assert a[0][0] == 0 and a[-1][1] == len(samples)
    assert all(x[1] == y[0] for x, y in zip(a, a[1:], strict=False))
    for _, end in a[:-1]:
        around = samples[end - 1600 : end + 1600]  # 100 ms either side of the cut is quiet
        assert float(np.sqrt(np.mean(around**2))) < 0.02


def test_corrupt_and_truncated(tmp_path: Path):
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"\x00\x01garbage" * 1000)
    with pytest.raises(MediaError, match="not audio or video"):
        audio.decode(bad)
    cut = tmp_path / "cut.flac"
    data = (DATA / "jfk.flac").read_bytes()
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(MediaError, match="truncated"):
        audio.decode(cut)
