"""End-to-end: local feed → `podgrep sync`, against plain faster-whisper on the same audio.

    python benchmarks/sync.py [--window 240]

Prints wall time and real-time factor (audio seconds per wall second) of podgrep's whole sync
(fetch + decode + windowed transcription with word timestamps + SQLite/FTS5 writes) and of
faster-whisper's `WhisperModel.transcribe` (tiny.en, int8, VAD, word timestamps) alone.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from faster_whisper import WhisperModel  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from podgrep.asr.engine import resolve  # noqa: E402
from podgrep.audio import probe  # noqa: E402
from podgrep.cli import app  # noqa: E402
from tests.conftest import feed_xml  # noqa: E402
from tests.support.server import LocalServer  # noqa: E402

FILES = [("conversation_a.mp3", "audio/mpeg"), ("jfk.flac", "audio/flac")]


def main() -> None:
    """Run both and print the comparison."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", default="240")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podgrep-bench-"))
    www = work / "www"
    www.mkdir()
    for name, _ in FILES:
        shutil.copy(ROOT / "tests" / "data" / name, www / name)
    audio_seconds = sum(probe(www / n).duration or 0 for n, _ in FILES)
    with LocalServer(www) as srv:
        (www / "feed.xml").write_text(
            feed_xml(srv.url("").rstrip("/"), "Bench", [(n, n, n, t) for n, t in FILES])
        )
        runner = CliRunner()
        env = {"PODGREP_WINDOW_SECONDS": args.window}
        home = str(work / "home")
        runner.invoke(app, ["add", srv.url("feed.xml"), "--home", home], env=env)
        t0 = time.perf_counter()
        result = runner.invoke(app, ["sync", "--home", home], env=env)
        sync_s = time.perf_counter() - t0
        assert result.exit_code == 0, result.output
    model = WhisperModel(str(resolve("tiny.en").path), device="cpu", compute_type="int8")
    t0 = time.perf_counter()
    for name, _ in FILES:
        segments, _ = model.transcribe(str(www / name), vad_filter=True, word_timestamps=True)
        list(segments)
    fw_s = time.perf_counter() - t0
    print(f"audio: {audio_seconds:.1f} s in {len(FILES)} episodes (tiny.en, int8, CPU)")
    print(f"{'':34}{'wall s':>8}{'RTF':>8}")
    print(f"{'faster-whisper transcribe only':34}{fw_s:8.1f}{audio_seconds / fw_s:8.1f}x")
    print(f"{'podgrep sync (fetch→index)':34}{sync_s:8.1f}{audio_seconds / sync_s:8.1f}x")
    print(f"podgrep / faster-whisper speed: {fw_s / sync_s:.2f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
