"""Which model should transcribe a recording, and which language it turned out to be in.

A language the user or the feed gives is trusted: an English-only model is swapped for the
multilingual one when it is not English. With no language given nothing is detected up front:
the engine finds each chunk's language as it reads it (`asr.whisper`), so a recording that
switches language is read in each, and the transcript's language is the one most of its speech
was in (`spoken`).
"""

from __future__ import annotations

from collections.abc import Iterable

from podgrep.asr.engine import resolve
from podgrep.config import Settings
from podgrep.domain import Segment


def choose_model(settings: Settings, language: str | None) -> tuple[str, str | None]:
    """(model, language) for one recording; language None: found chunk by chunk.

    A language other than English gets the multilingual model when the configured one is
    English-only.
    """
    configured = settings.model
    if language is None:
        return configured, None
    language = language.split("-")[0].lower()
    if language != "en" and resolve(configured).english_only:
        return settings.multilingual_model, language
    return configured, language


def spoken(segments: Iterable[Segment]) -> tuple[str | None, float | None]:
    """The language most of the segments' speech was read in, and the detector's confidence in
    it (its mean over the segments that were detected; None if none were)."""
    seconds: dict[str, float] = {}
    probs: dict[str, list[float]] = {}
    for s in segments:
        if s.language is None or {"no_speech", "hallucination"} & set(s.flags):
            continue
        seconds[s.language] = seconds.get(s.language, 0.0) + max(0.0, s.end - s.start)
        if s.language_prob is not None:
            probs.setdefault(s.language, []).append(s.language_prob)
    if not seconds:
        return None, None
    language = max(seconds, key=lambda k: seconds[k])
    found = probs.get(language)
    return language, (round(sum(found) / len(found), 4) if found else None)
