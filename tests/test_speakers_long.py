"""Diarizing a two-hour episode keeps memory flat: only embeddings outlive a chunk of audio."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from podgrep import audio
from tests.test_long_audio import _write_episode

SCRIPT = """
import json, sys
from pathlib import Path
from podgrep import audio
from podgrep.domain import Segment
from podgrep.speakers.diarize import diarize
path, clips = Path(sys.argv[1]), int(sys.argv[2])
# the JFK clip sits 10 s into every two minutes (see tests/test_long_audio.py)
segments = [Segment(120 * i + 10.3, 120 * i + 20.8, "ask not") for i in range(clips)]
result = diarize(audio.stream(path), segments)
print(json.dumps({"speakers": result.count, "windows": len(result.windows),
                  "labelled": len(result.segments)}))
"""


def _diarize(path: Path, clips: int) -> tuple[dict, float]:
    """Diarize in a child process; (its summary, peak resident MB)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(path), str(clips)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert os.waitstatus_to_exitcode(status) == 0, err
    return json.loads(out), usage.ru_maxrss / 1024


def test_two_hour_episode_diarizes_in_flat_memory(tmp_path: Path):
    short, long = tmp_path / "half_hour.flac", tmp_path / "two_hours.flac"
    short_clips = _write_episode(short, 30)
    long_clips = _write_episode(long, 120)
    assert audio.probe(long).duration == 7200
    summary_short, peak_short = _diarize(short, short_clips)
    summary_long, peak_long = _diarize(long, long_clips)
    print(f"peak RSS: 30 min {peak_short:.0f} MB, 2 h {peak_long:.0f} MB")
    # one voice, every segment labelled, and windows for all of it
    assert summary_long == {
        "speakers": 1,
        "windows": summary_long["windows"],
        "labelled": long_clips,
    }
    assert summary_long["windows"] >= 4 * summary_short["windows"] - 8
    # four times the audio (the decoded two hours alone would take 460 MB)
    assert peak_long < peak_short + 50, (peak_short, peak_long)
