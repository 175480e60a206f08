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
        self.handed: list[Encoded] = []  # what this relay handed out (held: ids stay unique)

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
        self.handed += found
        return found

    def _mine(self, encoded: list[Encoded]) -> None:
        assert all(any(e is h for h in self.handed) for e in encoded), "encoded elsewhere"

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


def test_a_whole_batch_in_order_is_passed_as_it_is_and_a_selection_is_gathered():
    """What the CUDA path relies on: a whole batch in order is handed to CTranslate2 as the
    storage it was encoded into (on a GPU, it never leaves it); a selection is gathered."""
    import ctranslate2

    rows = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)
    batch = _Batch(ctranslate2.StorageView.from_array(rows))
    assert batch.size == 3
    whole = [_Encoded(batch, i) for i in range(3)]
    assert _gather(whole) is batch.storage
    picked = np.asarray(_gather([whole[2], whole[0]]))
    assert np.array_equal(picked, rows[[2, 0]])


class _Spy:
    """CTranslate2's Whisper model, with what generate and align are handed recorded."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.handed: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def generate(self, features: Any, *args: Any, **kwargs: Any) -> Any:
        self.handed.append(("generate", features))
        return self._inner.generate(features, *args, **kwargs)

    def align(self, features: Any, *args: Any, **kwargs: Any) -> Any:
        self.handed.append(("align", features))
        return self._inner.align(features, *args, **kwargs)


def test_the_cuda_path_decodes_and_aligns_a_batch_from_the_storage_it_was_encoded_into():
    """The CUDA branches of the adapter, run on this CPU: a batch is encoded in one call, and
    decoding and aligning it hand CTranslate2 that storage itself (on a GPU it never leaves
    it); a retry of one chunk of it gets a gathered copy, and reads the same."""
    t = CTranslate2Transcriber("tiny.en", device="cpu", workers=1)
    t.device = "cuda"  # what the adapter does with a GPU, on a CPU model
    spy = _Spy(t.model.model)
    t.model.model = spy
    samples = audio.decode(DATA / "jfk.flac")
    halves = [samples[: 5 * audio.SAMPLE_RATE], samples[5 * audio.SAMPLE_RATE :]]
    features = [t.features(h) for h in halves]
    encoded = t.encode(features)
    storage = encoded[0].batch.storage  # type: ignore[attr-defined]
    assert all(e.batch.storage is storage for e in encoded)  # type: ignore[attr-defined]
    tokenizer = t.tokenizer("en")
    prompts = [t.prompt(tokenizer, [])] * 2
    decoded = t.generate(encoded, prompts, beam=1, tokenizer=tokenizer)
    frames = [f.shape[-1] for f in features]
    words = t.align(encoded, [d.tokens for d in decoded], frames, tokenizer)
    assert [(kind, handed is storage) for kind, handed in spy.handed] == [
        ("generate", True),
        ("align", True),
    ]
    again = t.generate([encoded[1]], prompts[:1], beam=1, tokenizer=tokenizer)
    assert spy.handed[-1][1] is not storage  # one chunk of the batch: gathered
    assert again[0].tokens == decoded[1].tokens
    said = "".join(w["word"] for ws in words for w in ws)
    assert "country" in said and all(w["end"] >= w["start"] for ws in words for w in ws)


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


def test_transcribe_timings_say_where_the_time_went(tmp_path):
    import json

    from tests.conftest import invoke

    out_file = tmp_path / "jfk.json"
    code, _, err = invoke(
        [
            "transcribe",
            str(DATA / "jfk.flac"),
            "--language",
            "en",
            "-o",
            str(out_file),
            "--timings",
        ],
        tmp_path / "home",
    )
    assert code == 0, err
    line = next(x for x in err.splitlines() if x.startswith("timings: "))
    spent = json.loads(line.removeprefix("timings: "))
    # moments from process start, in order, and busy seconds of the phases that ran
    assert 0 < spent["startup"] <= spent["first_batch"] <= spent["first_window"]
    assert spent["first_window"] <= spent["total"]
    assert all(spent[k] > 0 for k in ("model_load", "plan", "encode", "first_pass", "align"))
    assert "country" in out_file.read_text()


def test_a_chunk_is_encoded_at_a_length_of_its_own_and_chunks_of_several_lengths_decode_together(
    ct2,
):
    """A chunk is padded to the smallest of ENCODE_FRAMES that holds it with a margin, not to
    30 s, whatever it is encoded with (so it reads the same in any batch); a decode or language
    call over chunks of several lengths groups them by shape and reads each as it reads alone."""
    from podgrep.asr.ctranslate import ENCODE_MARGIN_FRAMES, FULL_FRAMES, encode_frames

    samples = audio.decode(DATA / "jfk.flac")
    short, whole = samples[: 5 * audio.SAMPLE_RATE], samples
    f_short, f_whole = ct2.features(short), ct2.features(whole)
    assert encode_frames(f_short) >= f_short.shape[-1] + ENCODE_MARGIN_FRAMES
    assert encode_frames(f_short) < encode_frames(f_whole) < FULL_FRAMES  # 5 s, 11 s: not 30
    assert encode_frames(np.zeros((80, FULL_FRAMES))) == FULL_FRAMES  # never beyond 30 s
    together = ct2.encode([f_short, f_whole])
    apart = ct2.encode([f_short]) + ct2.encode([f_whole])
    for a, b in zip(together, apart, strict=True):  # the batch does not change a chunk's input
        assert np.array_equal(a.batch.on_host()[a.index], b.batch.on_host()[b.index])  # type: ignore[attr-defined]
    shapes = {int(e.batch.storage.shape[1]) for e in together}  # type: ignore[attr-defined]
    assert len(shapes) == 2 and max(shapes) < FULL_FRAMES // 2  # encoder output: frames / 2
    tokenizer = ct2.tokenizer("en")
    prompt = ct2.prompt(tokenizer, [])
    both = ct2.generate(together, [prompt, prompt], beam=1, tokenizer=tokenizer)
    alone = [ct2.generate([e], [prompt], beam=1, tokenizer=tokenizer)[0] for e in apart]
    assert [d.tokens for d in both] == [d.tokens for d in alone]
    said = tokenizer.decode(both[1].tokens).lower()
    assert "ask not what your country can do for you" in said
    base = CTranslate2Transcriber("base", device="cpu", workers=1)
    mixed = base.encode([base.features(short), base.features(whole)])
    assert [lang for lang, _ in base.languages(mixed)] == ["en", "en"]


class Shapes(Relay):
    """A relay that keeps the encoder output length of every chunk it encodes."""

    def __init__(self, inner: Transcriber) -> None:
        super().__init__(inner)
        self.frames: list[int] = []

    def encode(self, features: list[np.ndarray]) -> list[Encoded]:
        found = super().encode(features)
        self.frames += [int(e.batch.storage.shape[1]) for e in found]  # type: ignore[attr-defined]
        return found


def test_a_20_s_model_window_reads_chunks_of_at_most_19_s_encoded_at_20(ct2):
    """`chunk_seconds = 20`: speech is packed into chunks of at most 19 s, which the encoder
    reads at 20 s (2000 frames, 1000 encoder positions), never at Whisper's 30; the default
    packs up to 30 s and encodes such chunks at 30."""
    from podgrep.asr import plan

    samples = audio.decode(DATA / "conversation_a.mp3")[: 120 * audio.SAMPLE_RATE]
    [window] = plan.plan_windows(iter([samples]), 600.0, chunk_seconds=20.0)
    assert window.chunks and max(c.seconds for c in window.chunks) <= 19.0 + 1e-6
    [default] = plan.plan_windows(iter([samples]), 600.0)
    assert max(c.seconds for c in default.chunks) > 20.0  # the setting changed the plan
    short, full = Shapes(ct2), Shapes(ct2)
    read_20 = WhisperEngine(transcriber=short, chunk_seconds=20.0).transcribe(
        samples, language="en"
    )
    read_30 = WhisperEngine(transcriber=full).transcribe(samples, language="en")
    assert short.frames and max(short.frames) == 1000  # 20 s: 2000 feature frames, halved
    assert max(full.frames) == 1500
    said = " ".join(s.text for s in read_20).lower()
    assert len(said.split()) > 0.9 * len(" ".join(s.text for s in read_30).split())
    assert "open" in said and all(s.start < s.end for s in read_20)
