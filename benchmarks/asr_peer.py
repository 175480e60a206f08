"""One faster-whisper transcription as a whole process: the peer that benchmarks/asr.py times.

    python benchmarks/asr_peer.py FILE --mode batched|sequential --batch-size N --beam N \
        --threads N [--vad | --no-vad] [--model tiny.en] [--compute-type int8] [--device cpu] \
        [--language en] -o OUT.json

`--mode batched` is faster-whisper's `BatchedInferencePipeline(model).transcribe(FILE,
batch_size=N, beam_size=N)` (VAD on unless `--no-vad`); `--mode sequential` is
`WhisperModel.transcribe(FILE, beam_size=N)` (VAD off unless `--vad`). The model is
`WhisperModel(path, device, compute_type, cpu_threads=--threads)`, its path found the way podgrep
finds it (`podgrep.asr.engine.resolve`: a bundled model's folder, else the name), so both read
the same files. An English-only model (`*.en`) is always told `language="en"`; a multilingual one
gets `--language` (default: detect).

Writes `{"text": ..., "segments": [{"start", "end", "text"}, ...], "language": ...}` to OUT.json
and one line on stderr:

    timings: {"startup": s, "resolve": s, "import": s, "model_load": s, "transcribe": s,
              "first_segment": s}

`startup` is from process start (its age in /proc, 10 ms ticks) to the first line
of this script (the interpreter starting), `resolve` finding the model (importing only
`podgrep.asr.engine`), `import` importing faster_whisper, `model_load` building the model (and the
batched pipeline), `transcribe` decoding the file and running every segment out of the
generator, and `first_segment` is from process start to the first segment yielded.

`load()` and `transcribe()` are also what `asr.py --warm` calls in its own process, so warm and
whole-process peers run exactly the same code.
"""

from __future__ import annotations

import time

_T0 = time.time()  # first line: everything before it is the interpreter starting

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


def process_start() -> float:
    """Wall-clock time this process started (its age from /proc, as podgrep's --timings
    reads it), else _T0."""
    from podgrep.asr.timings import process_age  # a module of the standard library only

    age = process_age()
    now = time.time()
    return now - age if 0 < age < now - _T0 + 60 else _T0


def model_source(name: str) -> tuple[str, bool]:
    """(what WhisperModel loads, English-only) the way podgrep resolves a model name."""
    from podgrep.asr.engine import resolve  # only this: podgrep's import time stays small

    info = resolve(name)
    return (str(info.path) if info.path else info.name), info.english_only


def load(
    source: str,
    *,
    mode: str,
    threads: int,
    device: str = "cpu",
    compute_type: str = "int8",
    model: Any = None,
) -> Any:
    """The engine for `mode`: a WhisperModel, or a BatchedInferencePipeline around one.

    `model` reuses an already loaded WhisperModel (asr.py --warm shares one per thread count).
    """
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    if model is None:
        model = WhisperModel(source, device=device, compute_type=compute_type, cpu_threads=threads)
    if mode == "batched":
        return BatchedInferencePipeline(model=model)
    if mode == "sequential":
        return model
    raise ValueError(f"unknown mode {mode!r}: batched or sequential")


def transcribe(
    engine: Any,
    path: Path | str,
    *,
    mode: str,
    beam: int,
    batch_size: int,
    vad: bool | None,
    language: str | None,
    on_first: Any = None,
    words: bool = False,
) -> dict:
    """Run `engine` over the file; every segment, as asr_peer writes them. `on_first()` is called
    when the first segment comes out of the generator."""
    kwargs: dict[str, Any] = {"beam_size": beam, "language": language, "word_timestamps": words}
    if mode == "batched":
        kwargs["batch_size"] = batch_size
        kwargs["vad_filter"] = True if vad is None else vad
    else:
        kwargs["vad_filter"] = False if vad is None else vad
    segments_iter, info = engine.transcribe(str(path), **kwargs)
    segments = []
    for seg in segments_iter:
        if not segments and on_first is not None:
            on_first()
        segments.append({"start": round(seg.start, 3), "end": round(seg.end, 3), "text": seg.text})
    return {
        "text": " ".join(s["text"].strip() for s in segments),
        "language": info.language,
        "segments": segments,
    }


def main() -> None:
    """Parse the arguments, transcribe, write OUT.json and the timings line."""
    start = process_start()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--mode", choices=["batched", "sequential"], required=True)
    parser.add_argument("--batch-size", type=int, default=8, help="batched only (default 8)")
    parser.add_argument("--beam", type=int, default=5, help="beam size (default 5)")
    parser.add_argument(
        "--threads", type=int, default=4, help="cpu_threads (default 4, faster-whisper's)"
    )
    parser.add_argument(
        "--vad",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="VAD filter (default: on for batched, off for sequential, as faster-whisper)",
    )
    parser.add_argument(
        "--word-timestamps",
        action="store_true",
        help="word timings too (podgrep always aligns words; this is the peer doing the same)",
    )
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--language", default=None, help="multilingual models only (*.en: always en)"
    )
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()

    timings: dict[str, float] = {"startup": max(0.0, _T0 - start)}
    t = time.time()
    source, english_only = model_source(args.model)
    timings["resolve"] = time.time() - t

    t = time.time()
    import faster_whisper  # noqa: F401  (timed on its own: load() then finds it imported)

    timings["import"] = time.time() - t

    t = time.time()
    engine = load(
        source,
        mode=args.mode,
        threads=args.threads,
        device=args.device,
        compute_type=args.compute_type,
    )
    timings["model_load"] = time.time() - t

    first: list[float] = []
    t = time.time()
    result = transcribe(
        engine,
        args.file,
        mode=args.mode,
        beam=args.beam,
        batch_size=args.batch_size,
        vad=args.vad,
        language="en" if english_only else args.language,
        words=args.word_timestamps,
        on_first=lambda: first.append(time.time()),
    )
    timings["transcribe"] = time.time() - t
    if first:
        timings["first_segment"] = first[0] - start

    result["settings"] = {
        "mode": args.mode,
        "batch_size": args.batch_size if args.mode == "batched" else None,
        "beam": args.beam,
        "threads": args.threads,
        "vad": args.vad,
        "model": args.model,
        "compute_type": args.compute_type,
        "device": args.device,
    }
    args.output.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    rounded = {k: round(v, 4) for k, v in timings.items()}
    print("timings: " + json.dumps(rounded), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
