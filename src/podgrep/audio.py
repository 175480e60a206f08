"""Decoding (PyAV) to 16 kHz mono float32, duration probing, and speech-aware windowing."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from podgrep.errors import MediaError

SAMPLE_RATE = 16000


@dataclass
class AudioInfo:
    """What the container says about a media file."""

    duration: float | None
    codec: str
    channels: int
    sample_rate: int


def _open(path: Path, label: str) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise MediaError(
            f"{label} is not audio or video podgrep can read ({_reason(exc)}): "
            "check that it is a complete media file"
        ) from exc


def _reason(exc: BaseException) -> str:
    text = str(exc).split(":")[-1].strip() or type(exc).__name__
    return text[:120]


def probe(path: Path, label: str | None = None) -> AudioInfo:
    """Open a media file and describe its first audio stream, or raise MediaError.

    `label` names the file in messages (a URL says more to the user than a cache path).
    """
    label = label or path.name
    with _open(path, label) as container:
        if not container.streams.audio:
            raise MediaError(f"{label} has no audio stream: give podgrep an audio or video file")
        stream = container.streams.audio[0]
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        return AudioInfo(
            duration=duration,
            codec=stream.codec_context.name,
            channels=stream.codec_context.channels,
            sample_rate=stream.codec_context.sample_rate,
        )


def check(path: Path, label: str | None = None, seconds: float = 30.0) -> AudioInfo:
    """Probe a file and decode its first seconds: cheap proof that it really is audio."""
    label = label or path.name
    info = probe(path, label)
    decoded = 0.0
    with _open(path, label) as container, contextlib.suppress(av.error.FFmpegError):
        for frame in container.decode(audio=0):
            decoded += frame.samples / (frame.sample_rate or SAMPLE_RATE)
            if decoded >= seconds:
                break
    if decoded <= 0:
        raise MediaError(f"{label} holds no decodable audio: it is empty, corrupt or not audio")
    return info


def decode(path: Path, label: str | None = None) -> np.ndarray:
    """Decode a file's first audio stream to 16 kHz mono float32, or raise MediaError."""
    label = label or path.name
    info = probe(path, label)
    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    with _open(path, label) as container:
        try:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
        except av.error.InvalidDataError:
            pass  # a damaged tail: keep what decoded, judged against the declared length below
        except av.error.FFmpegError as exc:
            raise MediaError(f"{label} could not be decoded ({_reason(exc)})") from exc
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    if not chunks:
        raise MediaError(f"{label} holds no decodable audio: it is empty, corrupt or not audio")
    audio = np.concatenate(chunks).astype(np.float32) / 32768.0
    decoded = len(audio) / SAMPLE_RATE
    if info.duration and info.duration > 5 and decoded < 0.9 * info.duration:
        raise MediaError(
            f"{label} is truncated or corrupt: decoded {decoded:.0f} s of the "
            f"{info.duration:.0f} s it declares; download or copy it again"
        )
    return audio


def speech_windows(
    audio: np.ndarray, target_seconds: float, *, speech: list[tuple[int, int]] | None = None
) -> list[tuple[int, int]]:
    """Split audio into windows of about `target_seconds`, cut in the middle of pauses.

    The windows depend only on the audio, so a resumed run cuts exactly where an
    uninterrupted one would and both end with the same transcript.
    """
    total = len(audio)
    if total == 0:
        return []
    target = int(target_seconds * SAMPLE_RATE)
    if total <= target * 1.25:
        return [(0, total)]
    if speech is None:
        speech = _speech_regions(audio)
    # candidate cut points: the middle of every pause between speech regions
    cuts = [
        (a_end + b_start) // 2 for (_, a_end), (b_start, _) in zip(speech, speech[1:], strict=False)
    ]
    windows: list[tuple[int, int]] = []
    start = 0
    while total - start > target * 1.25:
        ideal = start + target
        lo, hi = start + target // 2, start + int(target * 1.25)
        inside = [c for c in cuts if lo <= c <= hi]
        cut = min(inside, key=lambda c: abs(c - ideal)) if inside else _quietest(audio, lo, hi)
        windows.append((start, cut))
        start = cut
    windows.append((start, total))
    return windows


def _quietest(audio: np.ndarray, lo: int, hi: int) -> int:
    """The centre of the quietest 200 ms between lo and hi (no pause found by VAD)."""
    step = SAMPLE_RATE // 5
    best, best_energy = (lo + hi) // 2, float("inf")
    for pos in range(lo, max(lo + 1, hi - step), step):
        energy = float(np.mean(audio[pos : pos + step] ** 2))
        if energy < best_energy:
            best, best_energy = pos + step // 2, energy
    return best


def _speech_regions(audio: np.ndarray) -> list[tuple[int, int]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    stamps = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=300))
    return [(int(s["start"]), int(s["end"])) for s in stamps]
