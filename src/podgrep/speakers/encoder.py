"""Resemblyzer's voice encoder (a 3-layer LSTM over 40 mel bands) run in NumPy, without PyTorch.

The weights are Resemblyzer 0.1.4's `pretrained.pt` (Apache-2.0), converted once by
`scripts/convert_voice_encoder.py` into `voice_encoder.npz`. The mel front end reproduces
`librosa.feature.melspectrogram(sr=16000, n_fft=400, hop_length=160, n_mels=40)`, which
Resemblyzer feeds the network (a power spectrogram, not log-mel).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
from threadpoolctl import threadpool_limits

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


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class VoiceEncoder:
    """256-dimensional, L2-normed speaker embeddings of 1.6 s mel windows."""

    def __init__(self) -> None:
        source = resources.files("podgrep.speakers") / "voice_encoder.npz"
        with resources.as_file(source) as path, np.load(path) as data:
            w = {k: data[k].astype(np.float32) for k in data.files}
        self.layers = [
            (
                np.ascontiguousarray(w[f"lstm_weight_ih_l{n}"].T),
                np.ascontiguousarray(w[f"lstm_weight_hh_l{n}"].T),
                w[f"lstm_bias_ih_l{n}"] + w[f"lstm_bias_hh_l{n}"],
            )
            for n in range(3)
        ]
        self.proj = np.ascontiguousarray(w["linear_weight"].T)
        self.proj_bias = w["linear_bias"]

    def embed_mels(self, mels: np.ndarray) -> np.ndarray:
        """Embeddings of a batch of mel windows shaped (batch, frames, N_MELS)."""
        # the LSTM's matrices are small: a second BLAS thread only spins, and under load
        # (a transcription beside it) spinning threads made it twenty times slower
        with threadpool_limits(1, user_api="blas"):
            return self._embed(mels)

    def _embed(self, mels: np.ndarray) -> np.ndarray:
        batch, steps, _ = mels.shape
        seq = mels.astype(np.float32)
        hidden = np.zeros((batch, DIM), dtype=np.float32)
        for n, (w_ih, w_hh, bias) in enumerate(self.layers):
            x = seq.reshape(batch * steps, -1) @ w_ih
            x += bias
            x = x.reshape(batch, steps, 4 * DIM)
            hidden = np.zeros((batch, DIM), dtype=np.float32)
            cell = np.zeros((batch, DIM), dtype=np.float32)
            last = n == len(self.layers) - 1
            out = None if last else np.empty((batch, steps, DIM), dtype=np.float32)
            for t in range(steps):
                gates = x[:, t] + hidden @ w_hh
                i = _sigmoid(gates[:, :DIM])
                f = _sigmoid(gates[:, DIM : 2 * DIM])
                g = np.tanh(gates[:, 2 * DIM : 3 * DIM])
                o = _sigmoid(gates[:, 3 * DIM :])
                cell = f * cell + i * g
                hidden = o * np.tanh(cell)
                if out is not None:
                    out[:, t] = hidden
            if out is not None:
                seq = out
        raw = np.maximum(hidden @ self.proj + self.proj_bias, 0.0)
        norm = np.linalg.norm(raw, axis=1, keepdims=True)
        return raw / np.maximum(norm, 1e-8)

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
