"""Decoding (PyAV) to 16 kHz mono float32, duration probing, and speech-aware windowing."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
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
    """What went wrong, without the file name PyAV appends (a server path, in the web app)."""
    text = getattr(exc, "strerror", None)
    if not isinstance(text, str) or not text.strip():
        text = re.sub(r":\s*'[^']*'\s*$", "", str(exc)).split(":")[-1]
    return text.strip()[:120] or type(exc).__name__


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


def stream(path: Path, label: str | None = None, *, skip_samples: int = 0) -> Iterator[np.ndarray]:
    """Decode a file's first audio stream to 16 kHz mono float32, block by block.

    Memory stays flat however long the file is. The first `skip_samples` samples are decoded and
    dropped, so a resumed run sees exactly the samples an uninterrupted one did. A file that ends
    well short of the length it declares raises MediaError when the end is reached.
    """
    label = label or path.name
    info = probe(path, label)
    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    seen = 0

    def emit(frames: list[av.AudioFrame]) -> Iterator[np.ndarray]:
        nonlocal seen
        for out in frames:
            block = out.to_ndarray().reshape(-1)
            first = seen
            seen += len(block)
            if seen <= skip_samples:
                continue
            if first < skip_samples:
                block = block[skip_samples - first :]
            yield block.astype(np.float32) / 32768.0

    with _open(path, label) as container:
        try:
            for frame in container.decode(audio=0):
                yield from emit(resampler.resample(frame))
        except av.error.InvalidDataError:
            pass  # a damaged tail: keep what decoded, judged against the declared length below
        except av.error.FFmpegError as exc:
            raise MediaError(f"{label} could not be decoded ({_reason(exc)})") from exc
        yield from emit(resampler.resample(None))
    if seen == 0:
        raise MediaError(f"{label} holds no decodable audio: it is empty, corrupt or not audio")
    decoded = seen / SAMPLE_RATE
    if info.duration and info.duration > 5 and decoded < 0.9 * info.duration:
        raise MediaError(
            f"{label} is truncated or corrupt: decoded {decoded:.0f} s of the "
            f"{info.duration:.0f} s it declares; download or copy it again"
        )


def decode(path: Path, label: str | None = None) -> np.ndarray:
    """Decode a whole (short) file to 16 kHz mono float32, or raise MediaError.

    Long media goes through `stream` instead; this is for clips and tests.
    """
    return np.concatenate(list(stream(path, label)))


VAD_PIECE = 120 * SAMPLE_RATE  # audio given to the VAD at once (about 40 MB of working memory)
# Phone-line audio (8 kHz, nothing above 4 kHz) gets low speech probabilities from Silero: at
# its default threshold of 0.5 it dropped two thirds of a phone call's words (tiny.en WER 82%
# on conversation_a through a simulated phone line, 30% at 0.05, 24% without VAD). Such audio
# is recognised by its empty top band and read with a low threshold.
NARROWBAND_SHARE = 2e-5  # share of the power above 4 kHz under which audio is narrowband
NARROWBAND_THRESHOLD = 0.1


def speech_regions(
    audio: np.ndarray, *, max_seconds: float = 30.0, threshold: float = 0.5
) -> list[tuple[int, int]]:
    """Sample ranges of speech (Silero VAD, speech above `threshold`), none over `max_seconds`."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if len(audio) == 0:
        return []
    regions: list[tuple[int, int]] = []
    start = 0
    while start < len(audio):  # in pieces cut in pauses: the VAD's memory grows with its input
        end = len(audio)
        if end - start > VAD_PIECE * 5 // 4:
            end = quietest(audio, start + VAD_PIECE * 3 // 4, start + VAD_PIECE, start + VAD_PIECE)
        piece = audio[start:end]
        level = min(threshold, NARROWBAND_THRESHOLD) if narrowband(piece) else threshold
        options = VadOptions(
            threshold=level, max_speech_duration_s=max_seconds, min_silence_duration_ms=160
        )
        found = get_speech_timestamps(piece, options)
        regions.extend((start + int(s["start"]), start + int(s["end"])) for s in found)
        start = end
    return regions


def narrowband(audio: np.ndarray) -> bool:
    """Whether 16 kHz audio came through a phone line (or any 8 kHz path): almost none of its
    power lies above 4 kHz. Near-silence is not narrowband, whatever its spectrum."""
    n = len(audio) // 512 * 512
    if n == 0:
        return False
    frames = audio[:n].reshape(-1, 512)
    if float(np.sqrt(np.mean(frames.astype(np.float64) ** 2))) < 1e-4:
        return False
    power = np.zeros(257)
    for start in range(0, len(frames), 1024):  # bounded working memory on long pieces
        spec = np.fft.rfft(frames[start : start + 1024] * _HANN_512, axis=1)
        power += (np.abs(spec) ** 2).sum(axis=0)
    top = power[np.fft.rfftfreq(512, 1 / SAMPLE_RATE) > 4000].sum()
    return bool(top < NARROWBAND_SHARE * max(power.sum(), 1e-20))


_HANN_512 = np.hanning(512).astype(np.float32)


def quietest(audio: np.ndarray, lo: int, hi: int, ideal: int) -> int:
    """A cut point between lo and hi in the middle of the quietest half second.

    Energy is measured in 100 ms frames and smoothed over 500 ms; among near-equal minima the one
    closest to `ideal` wins, so windows stay close to their target length.
    """
    frame = SAMPLE_RATE // 10
    lo, hi = max(0, lo), min(len(audio), hi)
    n = (hi - lo) // frame
    if n < 5:
        return (lo + hi) // 2
    frames = audio[lo : lo + n * frame].reshape(n, frame)
    energy = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-10)
    smooth = np.convolve(energy, np.ones(5) / 5, mode="valid")  # centred on frame i + 2
    centres = lo + (np.arange(len(smooth)) + 2) * frame + frame // 2
    # 1 dB of energy is worth 10 s of distance from the ideal cut
    cost = smooth + np.abs(centres - ideal) / (10 * SAMPLE_RATE)
    return int(centres[int(np.argmin(cost))])
