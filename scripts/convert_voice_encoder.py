"""Convert Resemblyzer's pretrained voice encoder into the ONNX graph and weights podgrep ships.

    pip download resemblyzer==0.1.4 --no-deps -d /tmp/rz
    pip install onnx  # this script only: podgrep runs the graph with onnxruntime
    python scripts/convert_voice_encoder.py /tmp/rz/Resemblyzer-0.1.4-py3-none-any.whl

Resemblyzer (Apache-2.0, Corentin Jemine / Resemble AI) ships `pretrained.pt`, a checkpoint in
PyTorch's legacy serialization format. Loading it with `torch.load` would need PyTorch, which
podgrep's install must not pull in, so this script reads the pickle with an unpickler that knows
only tensors, storages and ordered dicts (nothing else in the file can run), then the raw storage
bytes that follow it. The LSTM and projection weights are written as float16 to
`tests/data/voice_encoder.npz` (2.8 MB; embeddings agree with float32 to a cosine of
better than 0.9999). The optimizer state in the checkpoint is dropped.

The same float16 weights become `src/podgrep/speakers/voice_encoder.onnx` (2.8 MB), the network
podgrep runs: ONNX's LSTM op three times (PyTorch's gate blocks i, f, g, o reordered to ONNX's
i, o, f, c; its two biases side by side), the last hidden state through the linear layer, ReLU
and an L2 norm. Each weight is stored as float16 and cast to float32 inside the graph (onnxruntime
folds the casts when it loads the model). The npz stays as the reference the tests check the graph
against (tests/test_speaker_encoder.py) with the NumPy LSTM there.
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
OUT = ROOT / "tests" / "data" / "voice_encoder.npz"  # the reference weights the tests read
ONNX_OUT = ROOT / "src" / "podgrep" / "speakers" / "voice_encoder.onnx"  # what podgrep runs
HIDDEN, LAYERS, N_MELS = 256, 3, 40
OPSET = 17
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


def _gates_onnx(w: np.ndarray) -> np.ndarray:
    """PyTorch's gate blocks (i, f, g, o) along axis 0 in ONNX's order (i, o, f, c)."""
    i, f, g, o = np.split(w, 4, axis=0)
    return np.concatenate([i, o, f, g], axis=0)


def build_onnx(weights: dict[str, np.ndarray]) -> Any:
    """The encoder as an ONNX model: mels (batch, frames, 40) float32 -> embeddings (batch, 256)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits: list[Any] = []
    nodes: list[Any] = []

    def weight(name: str, value: np.ndarray) -> str:
        """A float16 initializer cast to float32 in the graph; returns the float32 name."""
        inits.append(numpy_helper.from_array(value.astype(np.float16), name + "_f16"))
        nodes.append(helper.make_node("Cast", [name + "_f16"], [name], to=TensorProto.FLOAT))
        return name

    nodes.append(helper.make_node("Transpose", ["mels"], ["x0"], perm=[1, 0, 2]))  # time first
    x = "x0"
    for n in range(LAYERS):
        w = weight(f"W{n}", _gates_onnx(weights[f"lstm_weight_ih_l{n}"])[None])
        r = weight(f"R{n}", _gates_onnx(weights[f"lstm_weight_hh_l{n}"])[None])
        bias = np.concatenate(
            [_gates_onnx(weights[f"lstm_bias_ih_l{n}"]), _gates_onnx(weights[f"lstm_bias_hh_l{n}"])]
        )
        b = weight(f"B{n}", bias[None])
        nodes.append(
            helper.make_node(
                "LSTM", [x, w, r, b], [f"y{n}", f"h{n}"], hidden_size=HIDDEN, name=f"lstm{n}"
            )
        )
        if n < LAYERS - 1:  # (time, 1 direction, batch, hidden) -> (time, batch, hidden)
            inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), f"axis1_{n}"))
            nodes.append(helper.make_node("Squeeze", [f"y{n}", f"axis1_{n}"], [f"x{n + 1}"]))
            x = f"x{n + 1}"
    inits.append(numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"))
    nodes.append(helper.make_node("Squeeze", [f"h{LAYERS - 1}", "axis0"], ["last"]))
    proj = weight("proj", np.ascontiguousarray(weights["linear_weight"].T))
    proj_bias = weight("proj_bias", weights["linear_bias"])
    nodes += [
        helper.make_node("MatMul", ["last", proj], ["lin"]),
        helper.make_node("Add", ["lin", proj_bias], ["lin_b"]),
        helper.make_node("Relu", ["lin_b"], ["raw"]),
        helper.make_node("ReduceL2", ["raw"], ["norm"], axes=[1], keepdims=1),
    ]
    inits.append(numpy_helper.from_array(np.array(1e-8, dtype=np.float32), "eps"))
    nodes += [
        helper.make_node("Max", ["norm", "eps"], ["norm_eps"]),
        helper.make_node("Div", ["raw", "norm_eps"], ["embeddings"]),
    ]
    graph = helper.make_graph(
        nodes,
        "resemblyzer_voice_encoder",
        [helper.make_tensor_value_info("mels", TensorProto.FLOAT, ["batch", "frames", N_MELS])],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", HIDDEN])],
        inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="podgrep scripts/convert_voice_encoder.py",
        doc_string="Resemblyzer 0.1.4 voice encoder (Apache-2.0, Corentin Jemine / Resemble AI)",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main() -> None:
    """Read the wheel (or a pretrained.pt) and write the float16 weights."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="Resemblyzer wheel or its pretrained.pt")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--onnx-out", type=Path, default=ONNX_OUT)
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
    onnx_out = args.onnx_out
    onnx_out.write_bytes(build_onnx(weights).SerializeToString())
    print(f"wrote {onnx_out} ({onnx_out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
