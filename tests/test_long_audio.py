"""A two-hour episode streams through in flat memory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np

from podgrep import audio
from tests.conftest import DATA

SR = audio.SAMPLE_RATE


def _write_episode(path: Path, minutes: int) -> int:
    """FLAC of `minutes`: the JFK clip every two minutes, quiet room noise between. Returns the
    number of clips."""
    speech = (audio.decode(DATA / "jfk.flac") * 32767).astype(np.int16)
    rng = np.random.default_rng(1)
    clips = 0
    with av.open(str(path), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=SR)
        stream.layout = "mono"
        for _ in range(minutes // 2):
            block = (rng.standard_normal(120 * SR) * 30).astype(np.int16)
            block[10 * SR : 10 * SR + len(speech)] += speech
            clips += 1
            for i in range(0, len(block), SR * 10):
                frame = av.AudioFrame.from_ndarray(block[None, i : i + SR * 10], "s16", "mono")
                frame.sample_rate = SR
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return clips


def _transcribe(path: Path, tmp_path: Path) -> tuple[str, float]:
    """Run `podgrep transcribe` in a child process; (text, peak resident MB)."""
    out = path.with_suffix(".txt")
    env = {**os.environ, "PODGREP_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "podgrep", "transcribe", str(path), "--language", "en"]
        + ["--format", "txt", "-o", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, proc.stderr.read().decode()
    return out.read_text(), usage.ru_maxrss / 1024


def test_two_hour_episode_in_flat_memory(tmp_path: Path):
    short, long = tmp_path / "half_hour.flac", tmp_path / "two_hours.flac"
    _write_episode(short, 30)
    clips = _write_episode(long, 120)
    assert audio.probe(long).duration == 7200
    text_short, peak_short = _transcribe(short, tmp_path)
    text_long, peak_long = _transcribe(long, tmp_path)
    said = "ask not what your country can do for you"
    assert text_short.lower().count(said) == 15
    assert text_long.lower().count(said) >= clips - 1
    # four times the audio, and memory stays within the noise of the half-hour run (decoding
    # the whole file, as before, would alone add 440 MB)
    print(f"peak RSS: 30 min {peak_short:.0f} MB, 2 h {peak_long:.0f} MB")
    assert peak_long < peak_short + 100, (peak_short, peak_long)
