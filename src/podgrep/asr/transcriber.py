"""The `Transcriber` port: what the windowed, resumable loop (`asr.whisper`) needs of a Whisper
implementation, so that a second engine plugs in without touching planning, resume or guards.

The loop owns everything that makes a transcript good and resumable: windows and chunks
(`plan.py`), batching, retries, splitting, rereading with context, guards, segments. A
transcriber only turns audio into Whisper's three products — encoder output, decoded tokens,
word alignments — on its device. Encoder output stays with the transcriber (`Encoded` is
opaque): an engine on a GPU keeps it on the GPU from encoding through decoding to alignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


class Encoded(Protocol):
    """One chunk's encoder output, held by the transcriber that made it (opaque to the loop)."""


@dataclass
class Decoding:
    """What decoding one chunk gave: its text tokens (no special tokens) and their scores."""

    tokens: list[int]
    avg_logprob: float
    no_speech_prob: float


class Transcriber(Protocol):
    """Whisper on one device: features, encoding, decoding and alignment of chunks."""

    name: str  # the model's name
    device: str  # "cpu" or "cuda"
    compute_type: str
    workers: int  # calls that may run at once (model replicas)
    threads: int  # threads each call uses
    batch_size: int  # chunks per decode call that suit this device
    notes: list[str]  # said once when loaded (e.g. CUDA asked for and unusable)

    @property
    def multilingual(self) -> bool:
        """False for `.en` models, which can neither detect nor speak other languages."""
        ...

    def tokenizer(self, language: str | None) -> Any:
        """faster-whisper's `Tokenizer` for transcribing in `language` (English if None)."""
        ...

    def features(self, samples: np.ndarray) -> np.ndarray:
        """Log-mel frames of up to 30 s of 16 kHz audio, shape (mels, frames)."""
        ...

    def encode(self, features: list[np.ndarray]) -> list[Encoded]:
        """Encoder output of each chunk's features, in order, kept on the device."""
        ...

    def generate(
        self, encoded: list[Encoded], prompts: list[list[int]], *, beam: int, tokenizer: Any
    ) -> list[Decoding]:
        """Decode chunks (prompts of equal length: Whisper's start tokens, after any context)."""
        ...

    def prompt(self, tokenizer: Any, context: list[int]) -> list[int]:
        """The decoder prompt for a chunk, given the tokens said before it (may be empty)."""
        ...

    def align(
        self, encoded: list[Encoded], tokens: list[list[int]], frames: list[int], tokenizer: Any
    ) -> list[list[dict]]:
        """Word timings of decoded chunks (faster-whisper's `find_alignment` dicts: word,
        start, end, probability, in seconds from the chunk's start)."""
        ...

    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        """The language of a stretch of speech (its first seconds are enough) and its
        probability (English-only: en, 1.0)."""
        ...

    def languages(self, encoded: list[Encoded]) -> list[tuple[str, float]]:
        """The most likely language of each encoded chunk, with its probability."""
        ...
