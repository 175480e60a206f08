"""The `Transcriber` port: the windowed loop drives any implementation of it, and CTranslate2's
keeps a batch's encoder output where it was made between decoding and alignment."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from podgrep import audio
from podgrep.asr import device
from podgrep.asr.ctranslate import CTranslate2Transcriber, _Batch, _Encoded, _gather
from podgrep.asr.transcriber import Decoding, Encoded, Transcriber
from podgrep.asr.whisper import WhisperEngine
from tests.conftest import DATA


class Relay:
    """A second `Transcriber`: every port call passed on to another one, and counted. It has
    no `model` attribute, so a loop reaching past the port would fail here."""

    def __init__(self, inner: Transcriber) -> None:
        self._inner = inner
        self.name, self.device, self.compute_type = inner.name, inner.device, inner.compute_type
        self.workers, self.threads, self.batch_size = 1, inner.threads, 3
        self.notes: list[str] = []
        self.calls: dict[str, int] = {}
        self.handed: set[int] = set()  # ids of the Encoded objects this relay handed out

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    @property
    def multilingual(self) -> bool:
        return self._inner.multilingual

    def tokenizer(self, language: str | None) -> Any:
        self._count("tokenizer")
        return self._inner.tokenizer(language)

    def features(self, samples: np.ndarray) -> np.ndarray:
        self._count("features")
        return self._inner.features(samples)

    def encode(self, features: list[np.ndarray]) -> list[Encoded]:
        self._count("encode")
        found = self._inner.encode(features)
        self.handed |= {id(e) for e in found}
        return found

    def _mine(self, encoded: list[Encoded]) -> None:
        assert all(id(e) in self.handed for e in encoded), "encoder output from elsewhere"

    def generate(
        self, encoded: list[Encoded], prompts: list[list[int]], *, beam: int, tokenizer: Any
    ) -> list[Decoding]:
        self._count("generate")
        self._mine(encoded)
        assert len({len(p) for p in prompts}) == 1, "prompts of one call line up"
        return self._inner.generate(encoded, prompts, beam=beam, tokenizer=tokenizer)

    def prompt(self, tokenizer: Any, context: list[int]) -> list[int]:
        return self._inner.prompt(tokenizer, context)

    def align(
        self, encoded: list[Encoded], tokens: list[list[int]], frames: list[int], tokenizer: Any
    ) -> list[list[dict]]:
        self._count("align")
        self._mine(encoded)
        return self._inner.align(encoded, tokens, frames, tokenizer)

    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        return self._inner.detect_language(samples)

    def languages(self, encoded: list[Encoded]) -> list[tuple[str, float]]:
        self._mine(encoded)
        return self._inner.languages(encoded)


@pytest.fixture(scope="module")
def ct2() -> CTranslate2Transcriber:
    return CTranslate2Transcriber("tiny.en", device="cpu", workers=1, batch_size=3)


def test_the_loop_runs_on_any_transcriber_and_writes_the_same_transcript(ct2):
    samples = audio.decode(DATA / "conversation_a.mp3")[: 90 * audio.SAMPLE_RATE]
    relay = Relay(ct2)
    through_relay = WhisperEngine(transcriber=relay).transcribe(samples, language="en")
    direct = WhisperEngine(transcriber=ct2).transcribe(samples, language="en")
    assert [s.text for s in through_relay] == [s.text for s in direct]
    said = " ".join(s.text for s in through_relay).lower()
    assert len(said.split()) > 150 and "open" in said
    assert all(s.words and s.start < s.end for s in through_relay)
    # the loop planned batches of the relay's own batch size, and went through the port
    assert relay.calls["encode"] >= 2 and relay.calls["generate"] >= 2 and relay.calls["align"]


def test_a_batch_encoded_in_one_call_is_decoded_and_aligned_from_the_same_storage(ct2):
    """What the CUDA path relies on: a whole batch in order is handed to CTranslate2 as the
    storage it was encoded into (on a GPU, it never leaves it); a selection is gathered."""
    import ctranslate2

    rows = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)
    batch = _Batch(ctranslate2.StorageView.from_array(rows), 3)
    whole = [_Encoded(batch, i) for i in range(3)]
    assert _gather(whole) is batch.storage
    picked = np.asarray(_gather([whole[2], whole[0]]))
    assert np.array_equal(picked, rows[[2, 0]])
    one = ct2.encode([ct2.features(audio.decode(DATA / "jfk.flac"))])
    assert _gather(one) is one[0].batch.storage  # type: ignore[attr-defined]


def test_a_gpu_without_its_libraries_is_one_line_naming_the_extra(monkeypatch):
    """No GPU here: the check is driven as a machine with one but without cuDNN sees it."""
    monkeypatch.setattr(device, "cuda_device_count", lambda: 1)
    monkeypatch.setattr(
        device, "missing_cuda_libraries", lambda: ["libcudnn.so.9 (pip install nvidia-cudnn-cu12)"]
    )
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    choice = device.choose("auto", "auto")
    assert choice.device == "cpu" and choice.compute_type == "int8"
    assert choice.note is not None and "\n" not in choice.note
    assert "libcudnn.so.9" in choice.note and "pip install 'podgrep[cuda]'" in choice.note
