"""Transcription engines side by side, in one process, on the same audio and model.

    python benchmarks/asr.py [AUDIO ...] [--model tiny.en] [--compute-type int8]

For each audio file (default: tests/data/conversation_long.mp3, conversation_a.mp3 and the
three-speaker benchmarks/data/conversation_three.mp3, each with its `.truth.json`) runs
  (a) faster-whisper `WhisperModel.transcribe` with its defaults,
  (b) faster-whisper `BatchedInferencePipeline` with batch_size=8,
  (c) podgrep's engine (streamed windows, batched VAD chunks, greedy + beam/split retries,
      a second greedy pass over unsure chunks prompted with the text before them, word
      timestamps, guards),
  (d) the same with `reread = false` (no second pass),
and prints the real-time factor (audio seconds per wall second), the peak resident memory above
the baseline while it ran, and the word error rate against the truth's `reference_text`, plus
the speed ratio of (c) to (b).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_AUDIO = [
    ROOT / "tests" / "data" / "conversation_long.mp3",
    ROOT / "tests" / "data" / "conversation_a.mp3",
    ROOT / "benchmarks" / "data" / "conversation_three.mp3",
]


def normalise(text: str) -> list[str]:
    """Words for WER: lower case, no punctuation, hyphens split, apostrophes kept."""
    text = text.lower().replace("-", " ")
    return re.findall(r"[a-z0-9']+", text)


def wer(reference: list[str], hypothesis: list[str]) -> float:
    """Word error rate: (substitutions + deletions + insertions) / reference words."""
    prev = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        cur = [i] + [0] * len(hypothesis)
        for j, h in enumerate(hypothesis, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / max(1, len(reference))


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


class PeakMemory:
    """Samples resident memory every 20 ms while a block runs; `peak` is above the start."""

    def __enter__(self) -> PeakMemory:
        self.base = self.peak_abs = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_abs = max(self.peak_abs, _rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = self.peak_abs - self.base


def run(name: str, fn: Callable[[], Iterable[str]], duration: float, ref: list[str]) -> dict:
    """Time one engine and score it."""
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        text = " ".join(fn())
        wall = time.perf_counter() - t0
    return {
        "engine": name,
        "wall": wall,
        "rtf": duration / wall,
        "mem_mb": mem.peak / 2**20,
        "wer": wer(ref, normalise(text)),
    }


def main() -> None:
    """Run the three engines on each file and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("audio", nargs="*", type=Path, default=DEFAULT_AUDIO)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from podgrep import audio as pg_audio
    from podgrep.asr.engine import resolve
    from podgrep.asr.whisper import WhisperEngine

    info = resolve(args.model)
    source = str(info.path) if info.path else info.name
    model = WhisperModel(source, device=args.device, compute_type=args.compute_type)
    batched = BatchedInferencePipeline(model=model)
    ours = WhisperEngine(args.model, device=args.device, compute_type=args.compute_type)

    def podgrep_engine(path: Path, reread: bool = True) -> Iterable[str]:
        ours.reread = reread
        for _, segments in ours.transcribe_stream(pg_audio.stream(path), language="en"):
            yield from (s.text for s in segments if "hallucination" not in s.flags)

    print(
        f"model {args.model}, {args.compute_type} on {args.device}, {os.cpu_count()} cores;"
        f" podgrep: {ours.workers} replicas x {ours.threads} thread(s), batch {ours.batch_size}"
    )
    for path in args.audio:
        truth = json.loads(path.with_name(path.stem + ".truth.json").read_text())
        ref = normalise(truth["reference_text"])
        duration = float(truth["duration"])
        rows = [
            run(
                "(a) faster-whisper transcribe",
                lambda p=path: (s.text for s in model.transcribe(str(p))[0]),
                duration,
                ref,
            ),
            run(
                "(b) faster-whisper batched bs=8",
                lambda p=path: (s.text for s in batched.transcribe(str(p), batch_size=8)[0]),
                duration,
                ref,
            ),
            run("(c) podgrep engine", lambda p=path: podgrep_engine(p), duration, ref),
            run(
                "(d) podgrep, reread=false",
                lambda p=path: podgrep_engine(p, reread=False),
                duration,
                ref,
            ),
        ]
        print(f"\n{path.name} ({duration / 60:.1f} min)")
        print(f"{'engine':34}{'wall s':>8}{'RTF':>9}{'peak MB':>9}{'WER %':>8}")
        for r in rows:
            print(
                f"{r['engine']:34}{r['wall']:8.1f}{r['rtf']:8.1f}x{r['mem_mb']:9.0f}"
                f"{100 * r['wer']:8.1f}"
            )
        print(
            f"podgrep / batched speed: {rows[2]['rtf'] / rows[1]['rtf']:.2f}x; "
            f"podgrep WER - sequential WER: {100 * (rows[2]['wer'] - rows[0]['wer']):+.2f} points"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
