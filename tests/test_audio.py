"""Decoding and windowing of real audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from podgrep import audio
from podgrep.asr import plan
from podgrep.errors import MediaError

DATA = Path(__file__).parent / "data"


def test_decode_real_files():
    samples = audio.decode(DATA / "jfk.flac")
    assert samples.dtype == np.float32 and abs(len(samples) / 16000 - 11.0) < 0.1
    assert audio.probe(DATA / "conversation_a.mp3").duration == pytest.approx(319.9, abs=0.5)


def test_stream_is_decode_in_blocks_and_skips_exactly():
    whole = audio.decode(DATA / "conversation_a.mp3")
    blocks = list(audio.stream(DATA / "conversation_a.mp3"))
    assert len(blocks) > 100 and max(len(b) for b in blocks) < 16000 * 5  # never the whole file
    assert np.array_equal(np.concatenate(blocks), whole)
    skipped = np.concatenate(list(audio.stream(DATA / "conversation_a.mp3", skip_samples=123457)))
    assert np.array_equal(skipped, whole[123457:])


def _plan(samples: np.ndarray, target: float, **kw) -> list[plan.Window]:
    step = 16000 * 7  # odd block size: the planner must not care where blocks end
    skip = kw.pop("skip", 0)
    blocks = (samples[i : i + step] for i in range(skip, len(samples), step))
    return list(plan.plan_windows(blocks, target, **kw))


def test_windows_are_deterministic_cut_in_pauses_and_resumable():
    samples = audio.decode(DATA / "conversation_a.mp3")
    windows = _plan(samples, 60)
    cuts = [(w.start, w.end) for w in windows]
    assert cuts == [(w.start, w.end) for w in _plan(samples, 60)]
    assert cuts[0][0] == 0 and cuts[-1][1] == len(samples)
    assert all(x[1] == y[0] for x, y in zip(cuts, cuts[1:], strict=False))
    assert all(30 <= w.seconds <= 75 for w in windows[:-1])
    for _, end in cuts[:-1]:
        around = samples[end - 1600 : end + 1600]  # 100 ms either side of the cut is quiet
        assert float(np.sqrt(np.mean(around**2))) < 0.02
    for w in windows:  # chunks: VAD speech inside the window, at most 30 s each, in order
        regions = [r for c in w.chunks for r in c.regions]
        assert all(w.start <= a < b <= w.end for a, b in regions)
        assert all(x[1] <= y[0] for x, y in zip(regions, regions[1:], strict=False))
        assert all(c.seconds <= 30.0 for c in w.chunks)
        for c in w.chunks:
            assert np.array_equal(c.audio, np.concatenate([samples[a:b] for a, b in c.regions]))
    speech = sum(c.seconds for w in windows for c in w.chunks)
    assert 0.6 * len(samples) / 16000 < speech <= len(samples) / 16000
    # resuming at window 2 with the first three cuts known plans exactly the same windows,
    # even with another target: known cuts and the stored target win
    again = _plan(samples, 60, skip=cuts[2][0], known=cuts[:3], first=2)
    assert [(w.index, w.start, w.end) for w in again] == [
        (w.index, w.start, w.end) for w in windows[2:]
    ]
    assert [c.regions for w in again for c in w.chunks] == [
        c.regions for w in windows[2:] for c in w.chunks
    ]


def test_chunk_times_map_back_to_the_episode():
    chunk = plan.Chunk([(16000, 32000), (48000, 64000)], np.zeros(32000, np.float32))
    assert chunk.to_absolute(0.5, 0.7) == (1.5, 1.7)
    assert chunk.to_absolute(1.2, 1.4) == (3.2, 3.4)  # second region starts at 3 s
    # a word stretched over the seam goes to the region holding most of it
    assert chunk.to_absolute(0.9, 1.5) == (3.0, 3.5)
    assert chunk.to_absolute(0.5, 1.1) == (1.5, 2.0)


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


def test_phone_line_audio_is_narrowband_and_keeps_its_speech():
    from benchmarks.speakers import telephone

    wav = np.concatenate(list(audio.stream(DATA / "conversation_a.mp3")))[: 60 * audio.SAMPLE_RATE]
    phone = telephone(wav)
    assert not audio.narrowband(wav) and audio.narrowband(phone)
    assert not audio.narrowband(np.zeros(audio.SAMPLE_RATE, dtype=np.float32))

    def speech(x: np.ndarray) -> int:
        return sum(b - a for a, b in audio.speech_regions(x))

    # Silero at its default threshold found under half of it; the narrowband path finds it all
    assert speech(phone) > 0.85 * speech(wav)
