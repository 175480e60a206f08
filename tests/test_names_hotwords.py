"""Hotwords reach Whisper's decoder: they lead every prompt, and decoding stays deterministic."""

from __future__ import annotations

from podgrep import audio
from podgrep.asr.whisper import HOTWORD_TOKENS, WhisperEngine, _Readers
from tests.conftest import DATA


def test_hotwords_lead_every_prompt_of_the_decode():
    engine = WhisperEngine("tiny.en", device="cpu", workers=1)
    prompts: list[list[int]] = []
    original = engine.transcriber.model.get_prompt  # type: ignore[attr-defined]

    def recorded(tokenizer, previous_tokens, **kwargs):
        prompt = original(tokenizer, previous_tokens, **kwargs)
        prompts.append(prompt)
        return prompt

    engine.transcriber.model.get_prompt = recorded  # type: ignore[attr-defined]
    samples = audio.decode(DATA / "jfk.flac")
    plain = [s.text for s in engine.transcribe(samples, language="en")]
    plain_reader = _Readers(engine.transcriber, "en", None, None).primary
    assert prompts and all(p[0] != plain_reader.tokenizer.sot_prev for p in prompts)
    prompts.clear()
    hot = "John F. Kennedy, Americans"
    words = [s.text for s in engine.transcribe(samples, language="en", hotwords=hot)]
    reader = _Readers(engine.transcriber, "en", hot, None).primary
    tokenizer = reader.tokenizer
    wanted = tokenizer.encode(" " + hot)
    assert reader.hotword_tokens == wanted
    assert prompts and all(
        p[0] == tokenizer.sot_prev and p[1 : 1 + len(wanted)] == wanted for p in prompts
    )
    assert " ".join(words).count("Americans") == 1 and "country" in " ".join(plain)
    # the same hotwords give the same text (a resumed run prompts as the first did)
    assert [s.text for s in engine.transcribe(samples, language="en", hotwords=hot)] == words
    # a long string is cut at a word, under the cap
    long = _Readers(engine.transcriber, "en", " ".join(["Kilcher"] * 200), None).primary
    assert 0 < len(long.hotword_tokens) <= HOTWORD_TOKENS
