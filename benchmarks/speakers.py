"""Speaker turns and names against the truth: DER, words given the right speaker, speed.

    python benchmarks/speakers.py [--model tiny.en] [--hard] [FILE.mp3 ...]

For each conversation (default: tests/data/conversation_a, tests/data/conversation_long,
benchmarks/data/conversation_three, each with its `.truth.json`) and for
tests/data/stereo_diarization.wav (one speaker per channel: mixed to mono for podgrep, truth from
channel energy), the file is transcribed with podgrep's engine, then diarized, and scored:

- DER: missed speech + false alarm + speaker confusion over reference speech, with a 0.25 s
  collar either side of every reference turn boundary (NIST md-eval's convention), from
  `podgrep.speakers.metrics` (tested in tests/test_speaker_metrics.py). Hypothesis turns are
  runs of segments of one speaker, bridging pauses shorter than 1.5 s, as the text export
  writes paragraphs.
- words right: share of transcribed words whose speaker (mapped onto the truth's speakers as
  DER maps them) says them in the truth.
- speakers: the truth's count and the count found.
- names: the speakers named as the truth names them, when the episode offers names the way a
  feed would (host "Jon Krohn" as channel `podcast:person`, the guest in the episode title
  "Yannic Kilcher on Open Assistant"), and what the talk itself says.
- time: diarization (decode, VAD, embeddings, clustering, words) against transcription time.

`--hard` adds conversations the clustering was not tuned on (written to a temporary folder with
their truth, then scored the same way):

- real_voices_4: four real voices (JFK, the hotwords clip, the left channel of the stereo file,
  the first speaker of multilingual.mp3), their pauses-cut pieces interleaved as turns with
  0.3-1.0 s gaps; the short clips recur so every voice has 10 s or more.
- real_voices_4_phone: the same through `telephone`.
- phone_*: each default conversation through `telephone`: 8 kHz, 300-3400 Hz, G.711 mu-law,
  background noise at 25 dB SNR, back to 16 kHz, the way a recorded call sounds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import wave
from pathlib import Path

import av
import numpy as np

from podgrep import audio
from podgrep.asr.whisper import Engines
from podgrep.config import load_settings
from podgrep.domain import Person, Segment
from podgrep.speakers.diarize import diarize
from podgrep.speakers.metrics import Turn, der, word_accuracy
from podgrep.speakers.names import candidates, name_speakers

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = [
    ROOT / "tests" / "data" / "conversation_a.mp3",
    ROOT / "tests" / "data" / "conversation_long.mp3",
    ROOT / "benchmarks" / "data" / "conversation_three.mp3",
    ROOT / "tests" / "data" / "stereo_diarization.wav",
]
HOSTS = [Person("Jon Krohn", "host")]
SR = audio.SAMPLE_RATE
TITLE = "Yannic Kilcher on Open Assistant"
BRIDGE = 1.5


def channel_truth(path: Path, floor_db: float = -45.0) -> list[Turn]:
    """Turns of a two-channel file: a channel speaks where its 10 ms energy is within 30 dB of
    its loudest and above `floor_db` dBFS, smoothed over 200 ms."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray() for f in container.decode(audio=0)]
        rate = container.streams.audio[0].codec_context.sample_rate
    data = np.concatenate(frames, axis=1)
    if data.shape[0] == 1:  # packed samples
        data = data.reshape(-1, 2).T
    data = data.astype(np.float64) / 32768.0
    hop = rate // 100
    n = data.shape[1] // hop
    energy = 10 * np.log10((data[:, : n * hop].reshape(2, n, hop) ** 2).mean(axis=2) + 1e-12)
    turns: list[Turn] = []
    for ch, name in enumerate(("left", "right")):
        active = (energy[ch] > energy[ch].max() - 30) & (energy[ch] > floor_db)
        smooth = np.convolve(active.astype(float), np.ones(20) / 20, mode="same") > 0.25
        edges = np.flatnonzero(np.diff(np.concatenate([[0], smooth.astype(int), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            turns.append((name, a / 100, b / 100))
    return sorted(turns, key=lambda t: t[1])


def telephone(wav: np.ndarray, seed: int = 0, snr_db: float = 25.0) -> np.ndarray:
    """A 16 kHz signal as a phone line passes it: 8 kHz, 300-3400 Hz, mu-law, noise, 16 kHz."""
    rng = np.random.default_rng(seed)
    n = len(wav) - len(wav) % 2
    spec = np.fft.rfft(wav[:n].astype(np.float64))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    spec *= (freqs >= 300) & (freqs <= 3400)
    narrow = np.fft.irfft(spec, n)[::2]  # nothing left above 4 kHz: decimating is clean
    peak = max(float(np.abs(narrow).max()), 1e-9)
    x = narrow / peak
    mu = 255.0  # G.711: 8 bits per sample, logarithmic
    code = np.round(np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) * 127) / 127
    x = np.sign(code) * np.expm1(np.abs(code) * np.log1p(mu)) / mu * peak
    speech_power = float(np.mean(x[np.abs(x) > 0.01 * peak] ** 2)) if np.any(x) else 0.0
    x += rng.normal(0, np.sqrt(speech_power / 10 ** (snr_db / 10)), len(x))
    up = np.fft.rfft(x)
    wide = np.zeros(n // 2 + 1, dtype=complex)
    wide[: len(up)] = up
    return (np.fft.irfft(wide, n) * 2).astype(np.float32)


def stereo_channels(path: Path) -> np.ndarray:
    """The two channels of a 16-bit stereo WAV as float32 (2, samples)."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray() for f in container.decode(audio=0)]
    data = np.concatenate(frames, axis=1)
    if data.shape[0] == 1:  # packed samples
        data = data.reshape(-1, 2).T
    return data.astype(np.float32) / 32768.0


def real_voices() -> dict[str, np.ndarray]:
    """Real recorded voices in tests/data, one clip each, 16 kHz mono."""
    data = ROOT / "tests" / "data"
    multilingual = audio.decode(data / "multilingual.mp3")
    return {
        "JFK": audio.decode(data / "jfk.flac"),
        "Hotwords": audio.decode(data / "hotwords.mp3"),
        "Left": stereo_channels(data / "stereo_diarization.wav")[0],
        "Multilingual": multilingual[: int(29.5 * SR)],  # its first speaker
    }


def assemble(
    voices: dict[str, np.ndarray], seed: int = 0, min_seconds: float = 10.0
) -> tuple[np.ndarray, list[Turn]]:
    """A conversation of the voices' pieces (cut at their pauses), round robin, with the truth.

    Short voices recur until each has `min_seconds`; turns are 0.3-1.0 s apart, and a turn's
    truth is where its piece is louder than 40 dB below the piece's peak."""
    rng = np.random.default_rng(seed)
    queues: dict[str, list[np.ndarray]] = {}
    for name, wav in voices.items():
        pieces = []
        for a, b in audio.speech_regions(wav, max_seconds=6.0):
            if pieces and (b - a) < 1.5 * SR:  # too short for a turn: part of the one before
                pieces[-1] = (pieces[-1][0], b)
            else:
                pieces.append((a, b))
        clips = [wav[a:b] for a, b in pieces]
        total = sum(len(c) for c in clips) / SR
        queues[name] = clips * int(np.ceil(min_seconds / max(total, 1e-9)))
    out: list[np.ndarray] = [np.zeros(SR // 2, dtype=np.float32)]
    at = len(out[0])
    turns: list[Turn] = []
    last = None
    while any(queues.values()):
        names = [n for n, q in queues.items() if q and n != last] or [last]
        name = names[int(rng.integers(len(names)))]
        clip = queues[name].pop(0)
        clip = clip / max(float(np.sqrt(np.mean(clip**2))), 1e-6) * 0.05
        loud = np.flatnonzero(np.abs(clip) > np.abs(clip).max() * 0.01)
        turns.append((name, (at + loud[0]) / SR, (at + loud[-1] + 1) / SR))
        gap = np.zeros(int(rng.uniform(0.3, 1.0) * SR), dtype=np.float32)
        out += [clip.astype(np.float32), gap]
        at += len(clip) + len(gap)
        last = name
    return np.concatenate(out), turns


def write_case(folder: Path, name: str, wav: np.ndarray, turns: list[Turn]) -> Path:
    """A 16 kHz WAV and its `.truth.json`, as `run` reads them."""
    path = folder / f"{name}.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SR)
        out.writeframes((np.clip(wav, -1, 1) * 32767).astype("<i2").tobytes())
    truth = {"turns": [{"speaker": s, "start": a, "end": b} for s, a, b in turns]}
    path.with_suffix(".truth.json").write_text(json.dumps(truth))
    return path


def hard_cases(folder: Path, conversations: list[Path]) -> list[Path]:
    """The --hard files: real voices, then every conversation as a phone call."""
    wav, turns = assemble(real_voices())
    paths = [write_case(folder, "real_voices_4", wav, turns)]
    paths.append(write_case(folder, "real_voices_4_phone", telephone(wav), turns))
    for path in conversations:
        truth_file = path.with_suffix(".truth.json")
        if truth_file.exists():
            truth = json.loads(truth_file.read_text())
            turns = [(t["speaker"], t["start"], t["end"]) for t in truth["turns"]]
            call = telephone(audio.decode(path))
            paths.append(write_case(folder, f"phone_{path.stem}", call, turns))
    return paths


def hypothesis(segments: list[tuple[Segment, str]]) -> list[Turn]:
    """Runs of one speaker's segments, pauses under BRIDGE seconds bridged."""
    turns: list[Turn] = []
    for seg, spk in segments:
        if turns and turns[-1][0] == spk and seg.start - turns[-1][2] < BRIDGE:
            turns[-1] = (spk, turns[-1][1], max(turns[-1][2], seg.end))
        else:
            turns.append((spk, seg.start, seg.end))
    return turns


def run(path: Path, engines: Engines, model: str) -> dict:
    """Transcribe, diarize and score one file."""
    truth_file = path.with_suffix(".truth.json")
    if truth_file.exists():
        truth = json.loads(truth_file.read_text())
        reference = [(t["speaker"], t["start"], t["end"]) for t in truth["turns"]]
    else:
        reference = channel_truth(path)
    engine = engines(model)
    t0 = time.perf_counter()
    segments: list[Segment] = []
    for _, window_segments in engine.transcribe_stream(audio.stream(path), language="en"):
        segments.extend(window_segments)
    asr_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = diarize(audio.stream(path), segments)
    known = candidates(HOSTS, [], None, TITLE)
    namings = name_speakers(result.segments, result.count, known, result.centroids)
    diar_s = time.perf_counter() - t0
    labels = [f"S{k + 1}" for k in range(result.count)]
    labelled = [(seg, labels[k]) for seg, k in result.segments]
    score = der(reference, hypothesis(labelled), collar=0.25)
    words = [(w.start, w.end, spk) for seg, spk in labelled for w in seg.words]
    share, n_words = word_accuracy(reference, words, score.mapping)
    truth_names = {t[0] for t in reference} if truth_file.exists() else set()
    stated = [
        (naming.name, score.mapping.get(labels[k]))
        for k, naming in enumerate(namings)
        if naming.name and naming.name in truth_names | {p.name for p in HOSTS}
    ]
    named_right = sum(1 for name, who in stated if name == who)
    return {
        "file": path.name,
        "minutes": result.windows.duration / 60,
        "speakers": len({t[0] for t in reference}),
        "found": result.count,
        "der": score.der,
        "missed": score.missed / max(score.speech, 1e-9),
        "false_alarm": score.false_alarm / max(score.speech, 1e-9),
        "confusion": score.confusion / max(score.speech, 1e-9),
        "words": share,
        "n_words": n_words,
        "names": f"{named_right}/{len(stated)}" if truth_names else "-",
        "named": {labels[k]: n.name for k, n in enumerate(namings)},
        "asr_s": asr_s,
        "diar_s": diar_s,
    }


def main() -> None:
    """Run every file and print the table."""
    parser = argparse.ArgumentParser(description="Speaker turns and names against the truth.")
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULTS)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--json", action="store_true", help="Also print each row as JSON.")
    parser.add_argument(
        "--hard", action="store_true", help="Add real voices and phone-line versions."
    )
    parser.add_argument("--only-hard", action="store_true", help="Run the --hard files only.")
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory()
    if args.hard or args.only_hard:
        extra = hard_cases(Path(scratch.name), args.files)
        args.files = extra if args.only_hard else [*args.files, *extra]
    settings = load_settings(None, model=args.model)
    engines = Engines(settings, notify=lambda m: print(f"note: {m}", file=sys.stderr))
    rows = []
    for path in args.files:
        print(f"{path.name} …", file=sys.stderr)
        rows.append(run(path, engines, args.model))
        if args.json:
            print(json.dumps(rows[-1]), file=sys.stderr)
    head = (
        f"{'file':26} {'min':>5} {'spk':>7} {'DER':>6} {'miss':>5} {'FA':>5} {'conf':>5}"
        f" {'words right':>12} {'names':>5} {'diarize':>8} {'asr':>7} {'ratio':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['file']:26} {r['minutes']:5.1f} {r['found']:>3}/{r['speakers']:<3}"
            f" {r['der']:6.2%} {r['missed']:5.1%} {r['false_alarm']:5.1%} {r['confusion']:5.1%}"
            f" {r['words']:7.2%} {r['n_words']:>4} {r['names']:>5} {r['diar_s']:7.1f}s"
            f" {r['asr_s']:6.1f}s {r['diar_s'] / max(r['asr_s'], 1e-9):6.0%}"
        )
    print("spk: speakers found / in the truth; DER collar 0.25 s; ratio: diarize / transcribe")


if __name__ == "__main__":
    main()
