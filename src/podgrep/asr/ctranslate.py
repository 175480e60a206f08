"""Whisper on CTranslate2 (through faster-whisper's model class): the default `Transcriber`.

On CPU, chunks are encoded and aligned one at a time (CTranslate2 is fastest per chunk that
way) by several single-threaded model replicas. On CUDA a batch is encoded in one call and its
encoder output stays on the GPU: decoding and alignment of the same batch use that storage as it
is; only a call over another selection of chunks (a retry, a reread) gathers a copy.

Each chunk is padded to the smallest of ENCODE_FRAMES that holds it and ENCODE_MARGIN_FRAMES
more, not always to Whisper's 30 s: CTranslate2's encoder takes a shorter input and costs about
in proportion to it (tiny.en, one thread: 0.44 s at 3000 frames, 0.10 s at 1500), which halves,
rests read on and short chunks gain most from. The length depends on the chunk alone, never on
the chunks it is encoded with, so a chunk reads the same in any batch (a Ray actor with one
replica batches a window otherwise than a local run with two, and must write the same text).
Few lengths keep a batch's chunks mostly one shape; decoding and language detection group
chunks by shape (padding each chunk to its own length cost more in decoding, split into
batches of one, than it saved in encoding).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from podgrep.asr import device as devices
from podgrep.asr import engine
from podgrep.asr.plan import MARGIN_SECONDS
from podgrep.asr.transcriber import Decoding, Encoded
from podgrep.errors import ModelError

T = TypeVar("T")

DETECT_SECONDS = 10.0  # of speech a language is detected from
FULL_FRAMES = 3000  # Whisper's window: 30 s of 10 ms feature frames
# The lengths a chunk's features are padded to (10, 20 and 30 s) and the silence a chunk gets
# after its end at least (1 s). Errors summed over the four tuning files, padding to 30 s / to
# an encode call's longest + 1 s / to each chunk's own + 2 s / to these lengths: 371 / 374 /
# 372 / 365.
ENCODE_FRAMES = (1000, 2000, FULL_FRAMES)
ENCODE_MARGIN_FRAMES = int(MARGIN_SECONDS * 100)  # plan's margin in 10 ms frames: one figure


@dataclass(eq=False)
class _Batch:
    """Encoder output of chunks encoded in one call, on the model's device."""

    storage: Any  # ctranslate2.StorageView, shape (chunks, frames, width)
    host: np.ndarray | None = None  # a copy on the CPU, made when first needed

    @property
    def size(self) -> int:
        """How many chunks were encoded in the call."""
        return int(self.storage.shape[0])

    def on_host(self) -> np.ndarray:
        if self.host is None:
            import ctranslate2

            storage = self.storage
            if storage.device != "cpu":
                storage = storage.to_device(ctranslate2.Device.cpu)
            if storage.dtype == ctranslate2.DataType.bfloat16:  # NumPy has no bfloat16
                storage = storage.to(ctranslate2.DataType.float32)
            self.host = np.asarray(storage)  # a view of CPU storage, no copy
        return self.host


@dataclass(eq=False)
class _Encoded:
    """One chunk of a `_Batch`."""

    batch: _Batch
    index: int


def _gather(encoded: list[Encoded]) -> Any:
    """One StorageView holding these chunks' encoder output, in order.

    A whole batch in its order is passed as it is (on the GPU it never leaves it); any other
    selection is stacked from the host copies and handed to CTranslate2, which moves it to the
    model's device.
    """
    import ctranslate2

    items = [e for e in encoded if isinstance(e, _Encoded)]
    assert len(items) == len(encoded), "encoded by another transcriber"
    first = items[0].batch
    if first.size == len(items) and all(
        e.batch is first and e.index == i for i, e in enumerate(items)
    ):
        return first.storage
    return ctranslate2.StorageView.from_array(
        np.ascontiguousarray(np.stack([e.batch.on_host()[e.index] for e in items]))
    )


def encode_frames(features: np.ndarray) -> int:
    """The length (in frames) a chunk's features are padded to: its own, never its batch's."""
    need = int(features.shape[-1]) + ENCODE_MARGIN_FRAMES
    return next((n for n in ENCODE_FRAMES if n >= need), FULL_FRAMES)


def _groups(keys: list[int]) -> list[list[int]]:
    """Indices of `keys` grouped by value, in order of first appearance."""
    groups: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def _by_shape(encoded: list[Encoded]) -> list[list[int]]:
    """Indices of `encoded` grouped by encoder output length: chunks decoded in one call must
    have one shape."""
    assert all(isinstance(e, _Encoded) for e in encoded), "encoded by another transcriber"
    return _groups([int(e.batch.storage.shape[1]) for e in encoded])  # type: ignore[attr-defined]


def _per_group(groups: list[list[int]], call: Callable[[list[int]], list[T]]) -> list[T]:
    """`call` on each group of indices, its results put back in the indices' order."""
    found: dict[int, T] = {}
    for at in groups:
        found.update(zip(at, call(at), strict=True))
    return [found[i] for i in range(len(found))]


def _likeliest(scores: list[tuple[str, float]]) -> tuple[str, float]:
    """The first of CTranslate2's language scores (most likely first), as ("de", 0.97)."""
    token, prob = scores[0]
    return token[2:-2], float(prob)  # "<|de|>"


class CTranslate2Transcriber:
    """A Whisper model loaded in CTranslate2 on CPU or CUDA (`Transcriber`)."""

    def __init__(
        self,
        model: str = "tiny.en",
        *,
        device: str = "auto",
        compute_type: str = "auto",
        cpu_threads: int = 0,
        workers: int = 0,
        batch_size: int = 0,
    ) -> None:
        self.info = engine.resolve(model)
        self.name = self.info.name
        choice = devices.choose(device, compute_type)
        self.notes: list[str] = [choice.note] if choice.note else []
        try:
            self._load(choice, cpu_threads, workers, batch_size)
        except ModelError:
            raise
        except Exception as exc:  # CUDA present but unusable: say why, then run on CPU
            if choice.device != "cuda":
                raise self._load_error(model, exc) from exc
            self.notes.append(
                f"CUDA failed ({type(exc).__name__}: {str(exc)[:160]}); running on CPU"
            )
            self._load(devices.DeviceChoice("cpu", "int8"), cpu_threads, workers, batch_size)

    def _load_error(self, model: str, exc: Exception) -> ModelError:
        hint = (
            "no network to download it: install it locally and pass its directory"
            if self.info.path is None
            else "the model files may be damaged"
        )
        return ModelError(
            f"Could not load model {model!r} ({type(exc).__name__}: {str(exc)[:160]}); {hint}"
        )

    def _load(
        self, choice: devices.DeviceChoice, cpu_threads: int, workers: int, batch_size: int
    ) -> None:
        from faster_whisper import WhisperModel

        cores = os.cpu_count() or 1
        if choice.device == "cuda":
            self.workers = workers or 1
            self.threads = cpu_threads or min(4, cores)
            self.batch_size = batch_size or 16
        else:
            self.workers = workers or min(4, cores)
            self.threads = cpu_threads or max(1, cores // self.workers)
            self.batch_size = batch_size or 8
        self.device, self.compute_type = choice.device, choice.compute_type
        source = str(self.info.path) if self.info.path else self.info.name
        try:
            self.model = WhisperModel(
                source,
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=self.threads,
                num_workers=self.workers,
            )
        except Exception as exc:
            if self.device == "cuda":
                raise
            raise self._load_error(source, exc) from exc
        if self.device == "cuda":  # cuBLAS/cuDNN load lazily: fail here, not mid-episode
            self.model.encode(np.zeros((1, self.model.model.n_mels, FULL_FRAMES), np.float32))

    @property
    def multilingual(self) -> bool:
        """False for `.en` models."""
        return bool(self.model.model.is_multilingual)

    def tokenizer(self, language: str | None) -> Any:
        from faster_whisper.tokenizer import Tokenizer

        return Tokenizer(
            self.model.hf_tokenizer,
            self.multilingual,
            task="transcribe",
            language=(language or "en") if self.multilingual else "en",
        )

    def features(self, samples: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.feature_extractor(samples)[..., :-1])

    def encode(self, features: list[np.ndarray]) -> list[Encoded]:
        from faster_whisper.audio import pad_or_trim

        if not features:
            return []
        if self.device == "cuda":  # one call per length; the output stays on the GPU
            frames = [encode_frames(f) for f in features]

            def encode(at: list[int]) -> list[Encoded]:
                n = frames[at[0]]
                batch = _Batch(
                    self.model.encode(np.stack([pad_or_trim(features[i], n) for i in at]))
                )
                return [_Encoded(batch, k) for k in range(len(at))]

            return _per_group(_groups(frames), encode)
        return [  # on CPU one at a time is the fastest per chunk
            _Encoded(_Batch(self.model.encode(pad_or_trim(f, encode_frames(f))[None])), 0)
            for f in features
        ]

    def prompt(self, tokenizer: Any, context: list[int]) -> list[int]:
        return list(self.model.get_prompt(tokenizer, context, without_timestamps=True))

    def generate(
        self, encoded: list[Encoded], prompts: list[list[int]], *, beam: int, tokenizer: Any
    ) -> list[Decoding]:
        from faster_whisper.transcribe import get_suppressed_tokens

        groups = _by_shape(encoded)
        if len(groups) > 1:  # chunks of several lengths: one decode per shape
            return _per_group(
                groups,
                lambda at: self.generate(
                    [encoded[i] for i in at],
                    [prompts[i] for i in at],
                    beam=beam,
                    tokenizer=tokenizer,
                ),
            )
        results = self.model.model.generate(
            _gather(encoded),
            prompts,
            beam_size=beam,
            max_length=self.model.max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
        )
        decoded = []
        for r in results:
            tokens = [t for t in r.sequences_ids[0] if t < tokenizer.eot]
            decoded.append(
                Decoding(
                    tokens,
                    float(r.scores[0]) * len(tokens) / (len(tokens) + 1),
                    float(r.no_speech_prob),
                )
            )
        return decoded

    def align(
        self, encoded: list[Encoded], tokens: list[list[int]], frames: list[int], tokenizer: Any
    ) -> list[list[dict]]:
        if not encoded:
            return []
        if self.device == "cuda" and len(_by_shape(encoded)) == 1:  # one call, on the storage
            return list(self.model.find_alignment(tokenizer, tokens, _gather(encoded), frames))
        return [  # on CPU one chunk at a time, as encoding (on CUDA: chunks of several shapes)
            self.model.find_alignment(tokenizer, [t], _gather([e]), [n])[0]
            for e, t, n in zip(encoded, tokens, frames, strict=True)
        ]

    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        """The language of the first DETECT_SECONDS of `samples`, encoded at that length (not
        padded to 30 s: as sure on the benchmark conversations and multilingual.mp3, at a
        seventh of the cost: base, one thread, 0.18 s instead of 1.3 s)."""
        from faster_whisper.audio import pad_or_trim

        if not self.multilingual:
            return "en", 1.0
        features = self.features(samples[: int(DETECT_SECONDS * 16_000)])
        frames = int(DETECT_SECONDS * 100)
        encoded = self.model.encode(pad_or_trim(features, frames)[None])
        return _likeliest(self.model.model.detect_language(encoded)[0])

    def languages(self, encoded: list[Encoded]) -> list[tuple[str, float]]:
        if not self.multilingual:
            return [("en", 1.0) for _ in encoded]
        if not encoded:
            return []
        return _per_group(
            _by_shape(encoded),
            lambda at: [
                _likeliest(s)
                for s in self.model.model.detect_language(_gather([encoded[i] for i in at]))
            ],
        )
