"""Which language an episode is in, and which model should transcribe it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from podgrep import audio
from podgrep.asr.engine import resolve
from podgrep.config import Settings
from podgrep.errors import ModelError

if TYPE_CHECKING:
    from podgrep.asr.whisper import WhisperEngine


def opening(path: Path, label: str, seconds: float = 90.0) -> np.ndarray:
    """The first `seconds` of a file (streamed; the rest is never decoded)."""
    want, parts, held = int(seconds * audio.SAMPLE_RATE), [], 0
    for block in audio.stream(path, label):
        parts.append(block)
        held += len(block)
        if held >= want:
            break
    return np.concatenate(parts)[:want] if parts else np.zeros(0, np.float32)


def choose_model(
    settings: Settings,
    language: str | None,
    path: Path,
    label: str,
    engine: Callable[[str], WhisperEngine],
    notify: Callable[[str], None] | None = None,
) -> tuple[str, str, float | None]:
    """(model, language, probability) for one recording.

    `language` is what the user or the feed says (None: unknown). An unknown language is
    detected from the opening speech with the configured model when it is multilingual, else
    with the multilingual one. A language other than English gets the multilingual model when
    the configured one is English-only. The probability is None when nothing was detected.
    """
    configured = settings.model
    english_only = resolve(configured).english_only
    prob: float | None = None
    if language is None:
        language = "en"
        try:
            detector = engine(settings.multilingual_model if english_only else configured)
        except ModelError as exc:  # no multilingual model at hand: English is the best guess
            if notify:
                notify(f"language detection skipped, assuming English: {exc}")
        else:
            language, prob = detector.detect_language(opening(path, label))
    language = language.split("-")[0].lower()
    if english_only and language != "en":
        return settings.multilingual_model, language, prob
    return configured, language, prob
