"""Convert Resemblyzer's pretrained voice encoder into the NumPy weights podgrep ships.

    pip download resemblyzer==0.1.4 --no-deps -d /tmp/rz
    python scripts/convert_voice_encoder.py /tmp/rz/Resemblyzer-0.1.4-py3-none-any.whl

Resemblyzer (Apache-2.0, Corentin Jemine / Resemble AI) ships `pretrained.pt`, a checkpoint in
PyTorch's legacy serialization format. Loading it with `torch.load` would need PyTorch, which
podgrep's install must not pull in, so this script reads the pickle with an unpickler that knows
only tensors, storages and ordered dicts (nothing else in the file can run), then the raw storage
bytes that follow it. The LSTM and projection weights are written as float16 to
`src/podgrep/speakers/voice_encoder.npz` (2.8 MB; embeddings agree with float32 to a cosine of
better than 0.9999). The optimizer state in the checkpoint is dropped.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import io
import pickle
import struct
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "podgrep" / "speakers" / "voice_encoder.npz"
WHEEL_SHA256 = "8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f"  # 0.1.4 on PyPI
KEEP = ("lstm.", "linear.")
DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}


class _Storage:
    def __init__(self, name: str) -> None:
        self.dtype = DTYPES[name]


def _rebuild(storage: tuple, offset: int, size: tuple, stride: tuple, *_: Any) -> tuple:
    return (storage, offset, size, stride)


class _TensorUnpickler(pickle.Unpickler):
    """Knows tensors and storages only: anything else in the checkpoint is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild
        if module == "torch" and name in DTYPES:
            return _Storage(name)
        raise pickle.UnpicklingError(f"refusing {module}.{name}")

    def persistent_load(self, pid: tuple) -> tuple:
        _, storage, key, _location, numel, _view = pid
        return (key, storage.dtype, numel)


def read_legacy_checkpoint(data: bytes) -> dict[str, np.ndarray]:
    """The model_state tensors of a legacy-format (non-zip) PyTorch checkpoint."""
    f = io.BytesIO(data)
    for _ in range(3):  # magic number, protocol version, system info
        pickle.load(f)
    obj = _TensorUnpickler(f).load()
    keys = pickle.load(f)
    dtypes: dict[str, Any] = {}

    def collect(value: Any) -> None:
        if isinstance(value, tuple) and len(value) == 4 and isinstance(value[0], tuple):
            dtypes[value[0][0]] = value[0][1]
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)

    collect(obj)
    storages: dict[str, np.ndarray] = {}
    for key in keys:
        (numel,) = struct.unpack("<q", f.read(8))
        dtype = np.dtype(dtypes.get(key, np.float32))
        storages[key] = np.frombuffer(f.read(numel * dtype.itemsize), dtype=dtype)
    out = {}
    for name, (storage, offset, size, stride) in obj["model_state"].items():
        flat = storages[storage[0]]
        item = flat.itemsize
        out[name] = np.lib.stride_tricks.as_strided(
            flat[offset:], shape=size, strides=[s * item for s in stride]
        ).copy()
    return out


def main() -> None:
    """Read the wheel (or a pretrained.pt) and write the float16 weights."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="Resemblyzer wheel or its pretrained.pt")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    raw = args.source.read_bytes()
    print(f"{args.source.name}: sha256 {hashlib.sha256(raw).hexdigest()}", file=sys.stderr)
    if zipfile.is_zipfile(args.source):
        with zipfile.ZipFile(args.source) as wheel:
            raw = wheel.read("resemblyzer/pretrained.pt")
    state = read_legacy_checkpoint(raw)
    weights = {
        k.replace(".", "_"): v.astype(np.float16) for k, v in state.items() if k.startswith(KEEP)
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **weights)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
