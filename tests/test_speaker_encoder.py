"""The ONNX voice encoder reproduces Resemblyzer's PyTorch one, and tells voices apart."""

from __future__ import annotations

import json

import numpy as np

from podgrep import audio
from podgrep.speakers.encoder import DIM, PARTIAL_FRAMES, mel_spectrogram, voice_encoder
from podgrep.speakers.windows import TARGET_RMS
from tests.conftest import DATA


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def numpy_embed(mels: np.ndarray) -> np.ndarray:
    """Resemblyzer's network written out in NumPy from voice_encoder.npz: PyTorch's LSTM
    equations (gates i, f, g, o), the last hidden state, linear + ReLU, L2 norm."""
    with np.load(DATA / "voice_encoder.npz") as data:
        w = {k: data[k].astype(np.float32) for k in data.files}
    batch, steps, _ = mels.shape
    seq = mels.astype(np.float32)
    for n in range(3):
        x = seq @ w[f"lstm_weight_ih_l{n}"].T + w[f"lstm_bias_ih_l{n}"] + w[f"lstm_bias_hh_l{n}"]
        hidden = np.zeros((batch, DIM), dtype=np.float32)
        cell = np.zeros((batch, DIM), dtype=np.float32)
        out = np.empty((batch, steps, DIM), dtype=np.float32)
        for t in range(steps):
            gates = x[:, t] + hidden @ w[f"lstm_weight_hh_l{n}"].T
            i, f, g, o = np.split(gates, 4, axis=1)
            cell = _sigmoid(f) * cell + _sigmoid(i) * np.tanh(g)
            hidden = _sigmoid(o) * np.tanh(cell)
            out[:, t] = hidden
        seq = out
    raw = np.maximum(hidden @ w["linear_weight"].T + w["linear_bias"], 0.0)
    return raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-8)


def test_matches_resemblyzer_on_real_speech():
    # reference computed once by Resemblyzer 0.1.4 with PyTorch and librosa (see the file)
    ref = json.loads((DATA / "resemblyzer_jfk.json").read_text())
    mel = mel_spectrogram(audio.decode(DATA / "jfk.flac"))
    assert abs(float(mel[:500].sum()) - ref["mel_sum_first_500_frames"]) < 1e-3 * abs(
        ref["mel_sum_first_500_frames"]
    )
    windows = np.stack([mel[s : s + PARTIAL_FRAMES] for s in ref["mel_frame_starts"]])
    ours = voice_encoder().embed_mels(windows)
    theirs = np.array(ref["embeddings"], dtype=np.float32)
    assert ours.shape == (3, 256)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() > 0.9999, cosines


def test_two_voices_are_further_apart_than_one_voice_with_itself(truth):
    wav = audio.decode(DATA / "conversation_a.mp3")
    sr = audio.SAMPLE_RATE
    by_speaker: dict[str, list[np.ndarray]] = {}
    for turn in truth["turns"][:8]:
        clip = wav[int(turn["start"] * sr) : int(turn["end"] * sr)]
        by_speaker.setdefault(turn["speaker"], []).append(voice_encoder().embed_wav(clip))
    a, b = by_speaker.values()
    same = min(float(a[0] @ a[1]), float(b[0] @ b[1]))
    other = max(float(x @ y) for x in a for y in b)
    assert same > 0.85 and other < 0.75, (same, other)


def test_onnx_graph_matches_the_numpy_lstm_on_real_speech():
    """The shipped graph computes the same network as the npz weights (gate order, biases)."""
    windows = []
    for name in ("jfk.flac", "stereo_diarization.wav", "hotwords.mp3"):
        wav = audio.decode(DATA / name)
        mel = mel_spectrogram(wav)
        for s in range(0, len(mel) - PARTIAL_FRAMES + 1, 80):
            frames = slice(s * 160, (s + PARTIAL_FRAMES) * 160)
            rms = float(np.sqrt(np.mean(wav[frames] ** 2)))
            windows.append(mel[s : s + PARTIAL_FRAMES] * (TARGET_RMS / max(rms, 1e-5)) ** 2)
    mels = np.stack(windows)
    assert len(mels) >= 12
    ours = voice_encoder().embed_mels(mels)
    reference = numpy_embed(mels)
    cosines = np.sum(ours * reference, axis=1)
    assert cosines.min() > 0.9999, cosines
    # not trivially alike: the windows are of several voices
    assert float((reference @ reference.T).min()) < 0.8
    assert voice_encoder().embed_mels(mels[:0]).shape == (0, DIM)
