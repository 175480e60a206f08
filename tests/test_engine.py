"""The transcription engine on real audio: guards, offsets, language, devices."""

from __future__ import annotations

import difflib
import itertools
import json
import re
import sqlite3
import wave
from pathlib import Path

import numpy as np
import pytest

from podgrep import audio
from podgrep.asr import device
from podgrep.asr.language import choose_model
from podgrep.asr.whisper import WhisperEngine
from podgrep.config import Settings
from tests.conftest import DATA, invoke

SR = audio.SAMPLE_RATE


@pytest.fixture(scope="module")
def engine() -> WhisperEngine:
    return WhisperEngine("tiny.en", device="cpu")


@pytest.fixture(scope="module")
def engine_without_vad() -> WhisperEngine:
    """No VAD: every second reaches the model, so the guards alone must catch invented text."""
    return WhisperEngine("tiny.en", device="cpu", vad=False)


def _kept(segments) -> list[str]:
    return [s.text for s in segments if "hallucination" not in s.flags]


def _noise(kind: str, seconds: float = 30.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    if kind == "silence":
        return np.zeros(n, np.float32)
    if kind == "noise":
        return (0.05 * rng.standard_normal(n)).astype(np.float32)
    # "music": a slow arpeggio of soft tones with a tremolo
    notes = 220.0 * 2 ** (np.array([0, 4, 7, 12]) / 12)
    pitch = notes[(t // 0.5).astype(int) % 4]
    return (0.1 * np.sin(2 * np.pi * pitch * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(
        np.float32
    )


@pytest.mark.parametrize("kind", ["silence", "noise", "music"])
def test_silence_noise_and_music_give_no_text(engine, engine_without_vad, kind):
    samples = _noise(kind)
    assert _kept(engine.transcribe(samples, language="en")) == []
    assert _kept(engine_without_vad.transcribe(samples, language="en")) == []


def test_speech_between_long_silences_keeps_its_time(engine):
    speech = audio.decode(DATA / "jfk.flac")
    gap = np.zeros(45 * SR, np.float32)
    segments = engine.transcribe(np.concatenate([gap, speech, gap, speech]), language="en")
    text = " ".join(_kept(segments)).lower()
    assert text.count("ask not what your country can do for you") == 2
    starts = [s.start for s in segments if "fellow americans" in s.text.lower()]
    assert len(starts) == 2 and 45.0 <= starts[0] <= 46.0  # "And so" is said ~0.3 s in
    assert abs(starts[1] - starts[0] - (45 + len(speech) / SR)) < 0.3


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))


def test_turn_starts_within_half_a_second(library: Path, truth: dict):
    """Across window seams and chunk seams, each turn's first word is where it was said."""
    db = sqlite3.connect(library / "podgrep.db")
    rows = db.execute(
        "SELECT s.words_json FROM segments s JOIN transcripts t ON t.id = s.transcript_id"
        " JOIN episodes e ON e.id = t.episode_id WHERE e.guid = 'ep-conv-a' ORDER BY s.idx"
    ).fetchall()
    hyp: list[tuple[str, float]] = []
    for (words_json,) in rows:
        for w in json.loads(words_json):
            hyp += [(tok, w["start"]) for tok in _words(w["word"])]
    ref: list[str] = []
    turn_first: list[int] = []
    for turn in truth["turns"]:
        turn_first.append(len(ref))
        ref += _words(turn["text"])
    match = difflib.SequenceMatcher(a=ref, b=[h[0] for h in hyp], autojunk=False)
    ref_to_hyp = {}
    for block in match.get_matching_blocks():
        for k in range(block.size):
            ref_to_hyp[block.a + k] = block.b + k
    checked, off = 0, []
    for turn, first in zip(truth["turns"], turn_first, strict=True):
        if first in ref_to_hyp:
            checked += 1
            start = hyp[ref_to_hyp[first]][1]
            if abs(start - turn["start"]) > 0.5:
                off.append((turn["start"], start, turn["text"][:30]))
    assert checked >= 0.8 * len(truth["turns"])  # a first word misheard cannot be placed
    assert off == []


def test_language_detected_and_multilingual_model_used(tmp_path: Path):
    samples = audio.decode(DATA / "multilingual.mp3")[10 * SR :]  # the German part
    clip = tmp_path / "german.wav"
    with wave.open(str(clip), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SR)
        out.writeframes((samples * 32767).astype("<i2").tobytes())
    code, out, err = invoke(["transcribe", str(clip), "--format", "json"], tmp_path / "home")
    assert code == 0, err
    result = json.loads(out)
    assert result["language"] == "de" and result["language_probability"] > 0.5
    german = [s for s in result["segments"] if s["language"] == "de"]
    # tiny.en cannot do German: those chunks were read by the multilingual model, in German
    assert sum(s["end"] - s["start"] for s in german) > 20
    said = " ".join(s["text"] for s in german)
    assert len(said.split()) > 20 and {"die", "der", "Software"} <= set(re.findall(r"\w+", said))


@pytest.mark.parametrize("model", ["tiny.en", "base"])
def test_a_recording_that_switches_language_is_read_and_searchable_in_both(
    tmp_path: Path, model: str
):
    """multilingual.mp3: 30 s of English, then 30 s of German. Each chunk's language is found
    as it is read (an English-only model hands the German to the multilingual one; a
    multilingual one detects every chunk), and the library finds words of both."""
    home = tmp_path / "home"
    code, _, err = invoke(["add", str(DATA / "multilingual.mp3")], home)
    assert code == 0, err
    code, out, err = invoke(["sync", "--model", model], home)
    assert code == 0, err
    code, out, err = invoke(["export", "1", "--format", "json"], home)
    assert code == 0, err
    result = json.loads(out)
    languages = {s["language"] for s in result["segments"]}
    assert languages == {"en", "de"}, [(s["start"], s["language"]) for s in result["segments"]]
    for s in result["segments"]:  # the switch is at 30 s
        assert s["language"] == ("en" if s["end"] <= 31 else "de"), s
    for words, lang in (("free of charge", "en"), ("Dokumentationsdateien", "de")):
        code, out, err = invoke(["search", words, "--json"], home)
        assert code == 0, err
        hits = [json.loads(line) for line in out.splitlines()]
        assert hits, words
        assert words.split()[0].lower() in hits[0]["text"].lower()
        assert (hits[0]["start"] < 30) == (lang == "en"), hits[0]


def test_feed_language_is_honoured_without_detection(tmp_path: Path):
    settings = Settings(home=tmp_path)
    assert choose_model(settings, "fr-CA") == ("base", "fr")
    assert choose_model(settings, "en-us") == ("tiny.en", "en")
    assert choose_model(settings, None) == ("tiny.en", None)  # found chunk by chunk
    assert choose_model(Settings(home=tmp_path, model="base"), "de") == ("base", "de")


@pytest.mark.skipif(device.cuda_device_count() > 0, reason="a CUDA GPU is present")
def test_cuda_asked_for_without_a_gpu_runs_on_cpu_and_says_why():
    choice = device.choose("cuda", "auto")
    assert choice.device == "cpu" and choice.compute_type == "int8"
    assert "no CUDA GPU is visible" in (choice.note or "")
    assert device.choose("auto", "auto").note is None  # auto quietly means CPU here
    eng = WhisperEngine("tiny.en", device="cuda")
    assert eng.device == "cpu" and any("CUDA" in n for n in eng.notes)


def test_missing_cuda_library_is_named_with_its_package():
    fake = (("libpodgrep-missing.so.12", "podgrep-missing.dll", "nvidia-missing-cu12"),)
    missing = device.missing_cuda_libraries(fake)
    assert missing == ["libpodgrep-missing.so.12 (pip install nvidia-missing-cu12)"]
    assert device.missing_cuda_libraries((("libc.so.6", "kernel32.dll", "glibc"),)) == []


def test_greedy_repetition_loop_is_caught_and_redecoded():
    """A real loop: greedy tiny.en on one 30 s chunk of conversation_long says "no, no, no, ..."
    to the end of the chunk. Without a beam to fall back on, the guards collapse and flag it;
    the default engine decodes that chunk again and gets the speech."""
    from podgrep.asr import plan

    windows = plan.plan_windows(audio.stream(DATA / "conversation_long.mp3"), 300)
    chunks = [c for w in itertools.islice(windows, 3) for c in w.chunks]
    [chunk] = [c for c in chunks if abs(c.regions[0][0] - 4114432) < SR]  # at 4 min 17 s
    greedy_only = WhisperEngine("tiny.en", device="cpu", beam_size=1)
    looped = greedy_only.decode_chunks([chunk], language="en")
    assert any("repetition" in s.flags for s in looped)
    assert not any("no, no, no, no" in s.text for s in looped)  # collapsed to one copy
    engine = WhisperEngine("tiny.en", device="cpu")
    fixed = engine.decode_chunks([chunk], language="en")
    assert not any("repetition" in s.flags for s in fixed)
    assert len(" ".join(_kept(fixed)).split()) > 50


def test_speech_left_after_a_chunk_stops_early_is_read_on(monkeypatch):
    """A real early stop: in conversation_four the chunk from 3:53 holds four speech regions;
    tiny.en reads the first speaker up to "pull back profile." (4:05.6) and stops, dropping
    the next speaker's 12 s turn and more (17 s of speech). Reading on after the last aligned
    word brings it back, in time order, with nothing read twice."""
    from podgrep.asr import plan, whisper

    samples = audio.decode(Path(__file__).parents[1] / "benchmarks/data/conversation_four.mp3")
    regions = [(3733728, 3823840), (3824000, 3886976), (3886976, 4119168), (4119168, 4207232)]
    chunk = plan.Chunk(regions, np.concatenate([samples[a:b] for a, b in regions]))
    engine = WhisperEngine("tiny.en", device="cpu")
    turn = ("pulling back documents", "keyword search together")  # the turn dropped

    def said(segments) -> str:
        return " ".join(re.findall(r"[a-z']+", " ".join(_kept(segments)).lower()))

    monkeypatch.setattr(whisper, "READ_ON_TIMES", 0)
    stopped = engine.decode_chunks([chunk], language="en")
    assert "pull back profile" in said(stopped)
    assert not any(words in said(stopped) for words in turn)
    monkeypatch.setattr(whisper, "READ_ON_TIMES", 3)
    read_on = engine.decode_chunks([chunk], language="en")
    assert all(words in said(read_on) for words in turn)
    assert said(read_on).count("pull back profile") == 1  # nothing read twice
    kept = [s for s in read_on if "hallucination" not in s.flags]
    assert all(a.end <= b.start + 0.05 for a, b in itertools.pairwise(kept))  # in time order
    assert max(s.end for s in read_on) > 256


def test_a_chunk_whose_few_words_are_stretched_over_it_is_read_in_halves(monkeypatch):
    """A real early stop the aligner hides: in conversation_seven the chunk from 5:20 (29 s)
    reads as its first speaker's sentence only, and the aligner spreads those few words over
    the whole chunk, so there is no rest after the last word to read on from. Too few tokens
    for the speech, words reaching the end: the chunk is read in halves, which bring back the
    next speaker's turn, with nothing read twice."""
    from podgrep.asr import plan, whisper

    path = Path(__file__).parents[1] / "benchmarks/data/conversation_seven.mp3"
    samples = audio.decode(path)
    regions = [(5120128, 5438080), (5438080, 5553024), (5553024, 5587840)]
    chunk = plan.Chunk(regions, np.concatenate([samples[a:b] for a, b in regions]))
    engine = WhisperEngine("tiny.en", device="cpu")
    turn = ("32 000 tokens", "inference time")  # the next speaker's words

    def said(segments) -> str:
        return " ".join(re.findall(r"[a-z0-9']+", " ".join(_kept(segments)).lower()))

    monkeypatch.setattr(whisper.WhisperEngine, "_halve_stretched", lambda self, p, w: {})
    stopped = engine.decode_chunks([chunk], language="en")
    assert "nice techniques" in said(stopped)
    assert not any(words in said(stopped) for words in turn)
    monkeypatch.undo()
    halved = engine.decode_chunks([chunk], language="en")
    assert all(words in said(halved) for words in turn)
    assert said(halved).count("nice techniques") == 1  # nothing read twice
    kept = [s for s in halved if "hallucination" not in s.flags]
    assert all(a.end <= b.start + 0.05 for a, b in itertools.pairwise(kept))  # in time order
