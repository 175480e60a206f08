"""Media disk use per audio hour under each `keep_media` setting, on real audio.

For each file: `original` is the file as a feed would serve it, `opus` the copy podgrep keeps
(podgrep.retention.opus_copy: 16 kHz mono Ogg Opus, ~16 kbps VBR, the speech tuning), `none`
nothing. Prints MB (10^6 bytes) per audio hour for each, the copy's bitrate and how fast it was
made (times real time, on this machine), then the totals over every file.

    python benchmarks/media_retention.py [FILE ...]   # default: the bundled test audio
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from podgrep import audio, retention  # noqa: E402

DEFAULT = [
    ROOT / "tests" / "data" / "conversation_a.mp3",
    ROOT / "tests" / "data" / "conversation_long.mp3",
    ROOT / "tests" / "data" / "jfk.flac",
]


def per_hour(size: int, seconds: float) -> float:
    """MB per audio hour."""
    return size / 1e6 * 3600 / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT)
    args = parser.parse_args()
    rows = []
    print(f"{'file':<24} {'audio s':>8} {'original':>10} {'opus':>8} {'none':>6}"
          f" {'opus kbps':>10} {'encode ×RT':>11}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.files:
            seconds = audio.probe(path, path.name).duration or 0.0
            began = time.perf_counter()
            copy = retention.opus_copy(Path(tmp), path, seconds)
            took = time.perf_counter() - began
            size, kept = path.stat().st_size, copy.stat().st_size
            rows.append((seconds, size, kept))
            print(
                f"{path.name:<24} {seconds:8.1f} {per_hour(size, seconds):10.1f}"
                f" {per_hour(kept, seconds):8.2f} {0:6.1f} {kept * 8 / seconds / 1000:10.1f}"
                f" {seconds / took:11.0f}"
            )
            copy.unlink()
    seconds = sum(r[0] for r in rows)
    size = sum(r[1] for r in rows)
    kept = sum(r[2] for r in rows)
    print(
        f"{'all':<24} {seconds:8.1f} {per_hour(size, seconds):10.1f}"
        f" {per_hour(kept, seconds):8.2f} {0:6.1f} {kept * 8 / seconds / 1000:10.1f}"
    )
    print("MB per audio hour (MB = 10^6 bytes); none keeps the transcript only.")


if __name__ == "__main__":
    main()
