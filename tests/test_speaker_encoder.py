"""The NumPy voice encoder reproduces Resemblyzer's PyTorch one, and tells voices apart."""

from __future__ import annotations

import json

import numpy as np

from podgrep import audio
from podgrep.speakers.encoder import PARTIAL_FRAMES, mel_spectrogram, voice_encoder
from tests.conftest import DATA


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
