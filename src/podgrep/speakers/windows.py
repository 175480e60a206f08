"""Voice embeddings over short windows of speech, computed as the audio streams in.

Audio is cut into chunks of about a minute and a half at the quietest moment near each cut, so no
word is split; each chunk's speech (Silero VAD) is covered by 1.6 s windows every `hop` seconds.
Only the embeddings (1 KB per window) outlive a chunk, so memory stays flat in the length of the
audio. The encoder runs on a worker thread (onnxruntime releases the GIL), so one batch is
embedded while the next chunk is decoded, VAD-scanned and turned into mel frames. (Word timings
alone were tried as the speech map instead of VAD: Whisper stretches words over pauses, and
windows of background noise then formed speakers of their own.)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from podgrep import audio
from podgrep.speakers.encoder import (
    HOP,
    PARTIAL_FRAMES,
    SAMPLE_RATE,
    mel_spectrogram,
    voice_encoder,
)

CHUNK_SECONDS = 90.0
HOP_SECONDS = 1.6
MIN_REGION = 0.4  # shorter speech regions are too little voice to say whose it is
TARGET_RMS = 10 ** (-30 / 20)  # Resemblyzer normalises speech to -30 dBFS
BATCH = 48  # windows per encoder call: each LSTM layer's outputs take 8 MB at this size
# Silero's speech probability above which a frame is speech, as for transcription. Phone-line
# audio, which Silero scores low, is read with a lower one (audio.NARROWBAND_THRESHOLD); 0.3 for
# every file was tried and only cost conversation_three 0.2 points of DER
VAD_THRESHOLD = 0.5
IN_FLIGHT = 3  # batches handed to the encoder thread and not yet collected (1.2 MB each)


@dataclass
class Windows:
    """Embedded windows of speech: times in seconds, one L2-normed vector per window."""

    starts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ends: np.ndarray = field(default_factory=lambda: np.zeros(0))
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 256), dtype=np.float32))
    speech: list[tuple[float, float]] = field(default_factory=list)  # VAD regions, seconds
    duration: float = 0.0

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def speech_seconds(self) -> float:
        """Total seconds of detected speech."""
        return float(sum(b - a for a, b in self.speech))


def _placements(a: int, b: int, n_frames: int, hop: int) -> list[int]:
    """First mel frame of each window covering frames [a, b) of a chunk of n_frames."""
    if b - a <= PARTIAL_FRAMES:
        centre = (a + b) // 2
        return [min(max(0, centre - PARTIAL_FRAMES // 2), max(0, n_frames - PARTIAL_FRAMES))]
    starts = list(range(a, b - PARTIAL_FRAMES + 1, hop))
    if starts[-1] + PARTIAL_FRAMES < b:
        starts.append(b - PARTIAL_FRAMES)
    return starts


class WindowEmbedder:
    """Feeds audio blocks in, collects embedded windows; `finish()` returns them all."""

    def __init__(self, hop_seconds: float = HOP_SECONDS, chunk_seconds: float = CHUNK_SECONDS):
        self.hop = max(1, int(round(hop_seconds * SAMPLE_RATE / HOP)))
        self.chunk = int(chunk_seconds * SAMPLE_RATE)
        self.buffer: list[np.ndarray] = []
        self.buffered = 0
        self.offset = 0  # samples of audio already processed
        self.result = Windows()
        self._pending: list[tuple[np.ndarray, float, float]] = []
        self._vectors: list[np.ndarray] = []
        self._times: list[tuple[float, float]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._running: deque[Future[np.ndarray]] = deque()

    def feed(self, block: np.ndarray) -> None:
        """Add decoded 16 kHz mono samples; chunks are embedded as soon as they are complete."""
        self.buffer.append(block)
        self.buffered += len(block)
        margin = 10 * SAMPLE_RATE
        while self.buffered >= self.chunk + margin:
            data = np.concatenate(self.buffer)
            cut = audio.quietest(data, self.chunk - margin, self.chunk, self.chunk)
            self._chunk(data[:cut])
            rest = data[cut:]
            self.buffer, self.buffered = [rest], len(rest)

    def _chunk(self, data: np.ndarray) -> None:
        base = self.offset / SAMPLE_RATE
        self.offset += len(data)
        regions = audio.speech_regions(data, max_seconds=3600.0, threshold=VAD_THRESHOLD)
        if not regions:
            return
        mel = mel_spectrogram(data)
        for a, b in regions:
            self.result.speech.append((base + a / SAMPLE_RATE, base + b / SAMPLE_RATE))
            if (b - a) / SAMPLE_RATE < MIN_REGION:
                continue
            fa, fb = a // HOP, min(len(mel), -(-b // HOP))
            for first in _placements(fa, fb, len(mel), self.hop):
                window = mel[first : first + PARTIAL_FRAMES]
                if len(window) < PARTIAL_FRAMES:
                    window = np.pad(window, ((0, PARTIAL_FRAMES - len(window)), (0, 0)))
                s0, s1 = first * HOP, min(len(data), (first + PARTIAL_FRAMES) * HOP)
                # loudness of the speech in the window only: its silence would dilute it
                lo, hi = max(s0, a), min(s1, b)
                rms = float(np.sqrt(np.mean(data[lo:hi] ** 2))) if hi > lo else 0.0
                gain = (TARGET_RMS / rms) ** 2 if rms > 1e-5 else 1.0
                # the window's time is where its speech is, not the silence around it
                self._pending.append(
                    (window * gain, base + lo / SAMPLE_RATE, base + hi / SAMPLE_RATE)
                )
        while len(self._pending) >= BATCH:
            self._embed(BATCH)

    def _embed(self, n: int) -> None:
        batch, self._pending = self._pending[:n], self._pending[n:]
        if not batch:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="podgrep-voice")
        mels = np.stack([w for w, _, _ in batch])
        self._running.append(self._pool.submit(voice_encoder().embed_mels, mels))
        self._times += [(a, b) for _, a, b in batch]
        while len(self._running) > IN_FLIGHT:
            self._vectors.append(self._running.popleft().result())

    def _collect(self) -> None:
        while self._running:
            self._vectors.append(self._running.popleft().result())
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def finish(self) -> Windows:
        """Embed what is left and return every window."""
        if self.buffered:
            self._chunk(np.concatenate(self.buffer))
            self.buffer, self.buffered = [], 0
        while self._pending:
            self._embed(BATCH)
        self._collect()
        self.result.starts = np.array([t[0] for t in self._times], dtype=np.float64)
        self.result.ends = np.array([t[1] for t in self._times], dtype=np.float64)
        if self._vectors:
            self.result.vectors = np.concatenate(self._vectors).astype(np.float32)
        self.result.duration = self.offset / SAMPLE_RATE
        return self.result


def embed_windows(blocks: Iterable[np.ndarray], hop_seconds: float = HOP_SECONDS) -> Windows:
    """Embedded speech windows of a stream of 16 kHz mono blocks (see `audio.stream`)."""
    embedder = WindowEmbedder(hop_seconds)
    for block in blocks:
        embedder.feed(block)
    return embedder.finish()
