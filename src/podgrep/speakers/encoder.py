"""Resemblyzer's voice encoder (a 3-layer LSTM over 40 mel bands) run by onnxruntime, no PyTorch.

The weights are Resemblyzer 0.1.4's `pretrained.pt` (Apache-2.0), converted once by
`scripts/convert_voice_encoder.py` into the ONNX graph `voice_encoder.onnx` (and the plain
weights in `tests/data/voice_encoder.npz`, which the tests run through a NumPy LSTM to check the
graph). The mel front end reproduces
`librosa.feature.melspectrogram(sr=16000, n_fft=400, hop_length=160, n_mels=40)`, which Resemblyzer
feeds the network (a power spectrogram, not log-mel).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms: one mel frame per HOP samples
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s: the utterance length the network was trained on
DIM = 256


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    mel = hz / f_sp
    above = hz >= min_log_hz
    mel[above] = min_log_mel + np.log(hz[above] / min_log_hz) / logstep
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    hz = mel * f_sp
    above = mel >= min_log_mel
    hz[above] = min_log_hz * np.exp(logstep * (mel[above] - min_log_mel))
    return hz


@cache
def mel_filters() -> np.ndarray:
    """The (N_MELS, N_FFT // 2 + 1) Slaney-normalised triangular filter bank."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    mel_f = _mel_to_hz(
        np.linspace(
            _hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([SAMPLE_RATE / 2]))[0], N_MELS + 2
        )
    )
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    weights = np.zeros((N_MELS, len(fft_freqs)))
    for i in range(N_MELS):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : N_MELS + 2] - mel_f[:N_MELS]))[:, None]
    return weights.astype(np.float32)


@cache
def _window() -> np.ndarray:
    n = np.arange(N_FFT)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)).astype(np.float32)  # periodic Hann


def mel_spectrogram(wav: np.ndarray) -> np.ndarray:
    """(frames, N_MELS) power mel spectrogram; frame j is centred on sample j * HOP."""
    padded = np.pad(wav.astype(np.float32), N_FFT // 2)
    n_frames = 1 + (len(padded) - N_FFT) // HOP
    if n_frames <= 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(n_frames, N_FFT), strides=(padded.strides[0] * HOP, padded.strides[0])
    )
    power = np.abs(np.fft.rfft(frames * _window(), axis=1)) ** 2
    return (power.astype(np.float32) @ mel_filters().T).astype(np.float32)


class VoiceEncoder:
    """256-dimensional, L2-normed speaker embeddings of 1.6 s mel windows."""

    def __init__(self) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # one thread: the LSTM's steps are small matrix products that a second thread barely
        # speeds up, and transcription runs on the other cores meanwhile
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        model = (resources.files("podgrep.speakers") / "voice_encoder.onnx").read_bytes()
        self.session = onnxruntime.InferenceSession(
            model, options, providers=["CPUExecutionProvider"]
        )

    def embed_mels(self, mels: np.ndarray) -> np.ndarray:
        """Embeddings of a batch of mel windows shaped (batch, frames, N_MELS)."""
        if len(mels) == 0:
            return np.zeros((0, DIM), dtype=np.float32)
        feed = {"mels": np.ascontiguousarray(mels, dtype=np.float32)}
        return self.session.run(["embeddings"], feed)[0]

    def embed_wav(self, wav: np.ndarray) -> np.ndarray:
        """One embedding for a clip: the normed mean over its 1.6 s windows (Resemblyzer's way)."""
        mel = mel_spectrogram(wav)
        step = int(round(SAMPLE_RATE / 1.3 / HOP))  # Resemblyzer's default rate of 1.3 per s
        if len(mel) < PARTIAL_FRAMES:
            mel = np.pad(mel, ((0, PARTIAL_FRAMES - len(mel)), (0, 0)))
        starts = range(0, max(1, len(mel) - PARTIAL_FRAMES + 1), step)
        embeds = self.embed_mels(np.stack([mel[s : s + PARTIAL_FRAMES] for s in starts]))
        mean = embeds.mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-8)


@cache
def voice_encoder() -> VoiceEncoder:
    """The encoder, loaded once per process."""
    return VoiceEncoder()
