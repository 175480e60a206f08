"""The Whisper engine on faster-whisper (CTranslate2): one window of audio in, segments out."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from podgrep.asr import engine, guards
from podgrep.audio import SAMPLE_RATE
from podgrep.config import Settings
from podgrep.domain import Segment, Word
from podgrep.errors import ModelError


def _pick_device(device: str) -> str:
    if device != "auto":
        return device
    import ctranslate2

    try:
        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # a broken CUDA install must not stop CPU users
        return "cpu"


class WhisperEngine:
    """A loaded Whisper model that transcribes windows of 16 kHz audio."""

    def __init__(
        self,
        model: str = "tiny.en",
        *,
        device: str = "auto",
        compute_type: str = "auto",
        cpu_threads: int = 0,
        beam_size: int = 5,
        vad: bool = True,
    ) -> None:
        from faster_whisper import WhisperModel

        self.info = engine.resolve(model)
        self.name = self.info.name
        self.device = _pick_device(device)
        if compute_type == "auto":
            compute_type = "float16" if self.device == "cuda" else "int8"
        self.compute_type = compute_type
        self.beam_size = beam_size
        self.vad = vad
        threads = cpu_threads or min(8, os.cpu_count() or 1)
        source = str(self.info.path) if self.info.path else self.info.name
        try:
            self.model = WhisperModel(
                source, device=self.device, compute_type=compute_type, cpu_threads=threads
            )
        except Exception as exc:  # faster-whisper raises many types; all mean "cannot load"
            hint = (
                "no network to download it: install it locally and pass its directory"
                if self.info.path is None
                else "the model files may be damaged"
            )
            raise ModelError(
                f"Could not load model {model!r} ({type(exc).__name__}: {str(exc)[:160]}); {hint}"
            ) from exc

    @property
    def english_only(self) -> bool:
        """True for `.en` models that cannot detect or speak other languages."""
        return not self.model.model.is_multilingual

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """The language spoken in (the start of) the audio, with the model's confidence."""
        if self.english_only:
            return "en", 1.0
        language, prob, _ = self.model.detect_language(audio, vad_filter=self.vad)
        return language, float(prob)

    def transcribe(
        self, audio: np.ndarray, *, offset: float, language: str | None, seed: int = 0
    ) -> Iterator[Segment]:
        """Transcribe one window; segment and word times are shifted by `offset` seconds."""
        import ctranslate2

        # temperature fallback samples; a fixed seed per window makes reruns give the same text
        ctranslate2.set_random_seed(seed)
        segments, _info = self.model.transcribe(
            audio,
            language=language if not self.english_only else "en",
            beam_size=self.beam_size,
            vad_filter=self.vad,
            word_timestamps=True,
            condition_on_previous_text=True,
        )
        duration = len(audio) / SAMPLE_RATE
        for s in segments:
            words = [
                Word(
                    start=round(offset + min(float(w.start), duration), 3),
                    end=round(offset + min(float(w.end), duration), 3),
                    word=w.word,
                    probability=round(float(w.probability), 4),
                )
                for w in (s.words or [])
            ]
            mean_prob = sum(w.probability for w in words) / len(words) if words else None
            text, flags = guards.check(
                s.text.strip(),
                no_speech_prob=s.no_speech_prob,
                avg_logprob=s.avg_logprob,
                compression_ratio=s.compression_ratio,
                word_probability=mean_prob,
            )
            if not text:
                continue
            start = words[0].start if words else offset + float(s.start)
            end = words[-1].end if words else offset + float(s.end)
            yield Segment(
                start=round(start, 3),
                end=round(max(end, start), 3),
                text=text,
                words=words,
                flags=flags,
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> WhisperEngine:
        """The engine the settings ask for (model, device, compute type, threads, beam, VAD)."""
        return cls(
            settings.model,
            device=settings.device,
            compute_type=settings.compute_type,
            cpu_threads=settings.cpu_threads,
            beam_size=settings.beam_size,
            vad=settings.vad,
        )

    def transcribe_windows(
        self,
        samples: np.ndarray,
        windows: list[tuple[int, int]],
        *,
        language: str | None,
        first: int = 0,
    ) -> Iterator[tuple[int, Segment | None]]:
        """Transcribe windows from `first` on: (window, segment) per segment, (window, None) at
        the end of each window."""
        for w in range(first, len(windows)):
            a, b = windows[w]
            for seg in self.transcribe(
                samples[a:b], offset=a / SAMPLE_RATE, language=language, seed=w
            ):
                yield w, seg
            yield w, None
