"""Where the model runs: CPU, or CUDA when a GPU and its libraries are really there.

CTranslate2's CUDA build needs cuBLAS and cuDNN at run time. When one is missing it fails deep
inside the first model call; podgrep looks first, names the missing library, and runs on CPU.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

# The shared libraries CTranslate2 4.x (CUDA 12 build) loads for Whisper on a GPU.
CUDA_LIBRARIES = (
    ("libcublas.so.12", "cublas64_12.dll", "nvidia-cublas-cu12"),
    ("libcublasLt.so.12", "cublasLt64_12.dll", "nvidia-cublas-cu12"),
    ("libcudnn.so.9", "cudnn64_9.dll", "nvidia-cudnn-cu12"),
)


@dataclass
class DeviceChoice:
    """The device and compute type to use, and why, when it is not the one asked for."""

    device: str
    compute_type: str
    note: str | None = None


def _pip_library_dirs() -> list[Path]:
    """Library folders of NVIDIA's pip wheels (nvidia-cublas-cu12, nvidia-cudnn-cu12, ...)."""
    spec = importlib.util.find_spec("nvidia")
    if spec is None or not spec.submodule_search_locations:
        return []
    dirs = []
    for root in spec.submodule_search_locations:
        dirs += [p for p in Path(root).glob("*/lib") if p.is_dir()]
    return dirs


def _preload_siblings(found: Path) -> None:
    """Load the other libraries of a wheel's folder that `found` comes from.

    cuDNN 9 opens its parts (libcudnn_ops, libcudnn_cnn, libcudnn_engines_*) by name when first
    used; a library loaded by path does not put its folder on the search path, so they are
    loaded here, globally, while we know where they are.
    """
    stem = found.name.split(".so")[0]
    for sibling in sorted(found.parent.glob(f"{stem}*.so*")):
        if sibling != found:
            with contextlib.suppress(OSError):
                ctypes.CDLL(str(sibling), mode=getattr(ctypes, "RTLD_GLOBAL", 0))


def missing_cuda_libraries(
    libraries: tuple[tuple[str, str, str], ...] = CUDA_LIBRARIES,
) -> list[str]:
    """Names of the CUDA libraries that cannot be loaded, with the pip package that has each.

    Libraries found in NVIDIA's pip wheels are loaded from there, so `pip install
    nvidia-cublas-cu12 nvidia-cudnn-cu12` is enough; no LD_LIBRARY_PATH needed.
    """
    missing = []
    windows = sys.platform == "win32"
    pip_dirs = _pip_library_dirs()
    for linux_name, windows_name, package in libraries:
        name = windows_name if windows else linux_name
        loaded = False
        for candidate in [name] + [str(d / name) for d in pip_dirs]:
            try:
                ctypes.CDLL(candidate, mode=getattr(ctypes, "RTLD_GLOBAL", 0))
            except OSError:
                continue
            loaded = True
            if os.sep in candidate and not windows:
                _preload_siblings(Path(candidate))
            break
        if not loaded:
            missing.append(f"{name} (pip install {package})")
    return missing


def cuda_device_count() -> int:
    """GPUs CTranslate2 can see; 0 when its CUDA support or the driver is absent."""
    import ctranslate2

    try:
        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # a broken driver install must not stop CPU users
        return 0


def choose(device: str, compute_type: str) -> DeviceChoice:
    """Resolve `auto` and check that CUDA can really run; fall back to CPU with a note."""
    cpu_type = compute_type if compute_type not in ("auto", "float16", "int8_float16") else "int8"
    if device == "cpu":
        return DeviceChoice("cpu", cpu_type)
    if os.environ.get("CUDA_VISIBLE_DEVICES") == "" or cuda_device_count() == 0:
        note = None
        if device == "cuda":
            note = (
                "CUDA was asked for but no CUDA GPU is visible (no NVIDIA driver, or "
                "CUDA_VISIBLE_DEVICES hides it); running on CPU"
            )
        return DeviceChoice("cpu", cpu_type, note)
    missing = missing_cuda_libraries()
    if missing:
        return DeviceChoice(
            "cpu",
            cpu_type,
            "CUDA GPU found but its libraries are missing: "
            + ", ".join(missing)
            + "; pip install 'podgrep[cuda]' brings them; running on CPU",
        )
    return DeviceChoice("cuda", "float16" if compute_type == "auto" else compute_type)
