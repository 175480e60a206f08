"""Hotwords: the names an episode's metadata spells, given to Whisper so it hears them right.

Whisper writes a name it does not know as the nearest words it does ("Yannick culture" for
"Yannic Kilcher", "Bureaubie" for "Gurobi"); the feed, the title and the show notes usually
spell it. faster-whisper's `hotwords` puts such words in the decoder's prompt (after
`<|startofprev|>`, before the text said before); podgrep's engine does the same on its own
batched decoding (`WhisperEngine.transcribe_stream(hotwords=…)`).

The string is built only from stored metadata (the episode's people, the show's title and
author, people and proper nouns of the notes and title), in a fixed order, so a resumed run
prompts exactly as the first one did. It is kept short (MAX_TERMS terms, MAX_CHARS characters:
well under 80 tokens), far from Whisper's 224-token prompt limit, next to the 96 tokens of
context the engine adds.
"""

from __future__ import annotations

import re

from podgrep.domain import Episode, Show
from podgrep.speakers.names import _text, episode_people, notes_names

MAX_TERMS = 24
MAX_CHARS = 240
# capitalised words that are no proper noun when they do not start a sentence
_COMMON_TEXT = """a an the and or but of in on at to for with from by as is are was were be
    this that
    these those it its we you he she they i my our your his her their me us them episode
    podcast show today here there what why how when where who which part chapter sponsored
    thanks thank welcome listen subscribe follow join new all more also about"""
_COMMON = frozenset(_COMMON_TEXT.split())
_PROPER = re.compile(r"^[A-Z][\w'’&.\-]*$")
_TITLES = frozenset({"dr.", "prof.", "mr.", "mrs.", "ms.", "mx.", "st."})


def _proper_nouns(text: str) -> list[str]:
    """Runs of capitalised words not at the start of a sentence ("Super Data Science",
    "Gurobi", "DeepJudge"); a sentence's first word counts only inside a run of two or more.
    Punctuation ends a run ("OpenAssistant, Llama" is two)."""
    found: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        run: list[str] = []
        run_start = False
        raw = sentence.split()
        for i, token in enumerate(raw):
            word = token.strip("\"“”‘’'()[]{}<>,;:!?.")
            ends = token.rstrip("\"”’')]}") != token.rstrip("\"”’')]},;:!?.")
            start = i == 0 or raw[i - 1].lower() in _TITLES
            proper = (
                bool(_PROPER.match(word))
                and token.lower() not in _TITLES
                and not (word.isupper() and len(word) <= 3)  # AI, ML, CTO: heard right anyway
                and word.lower() not in _COMMON
            )
            if proper:
                if not run:
                    run_start = start
                run.append(word)
            elif run:
                _flush(run, run_start, found)
            if ends and run:
                _flush(run, run_start, found)
        if run:
            _flush(run, run_start, found)
    return found


def _flush(run: list[str], at_start: bool, found: list[str]) -> None:
    """A run of capitalised words as a proper noun (common words dropped); the run emptied."""
    parts = [w for w in run if w.lower() not in _COMMON]
    if parts and (not at_start or len(parts) >= 2):
        found.append(" ".join(parts))
    run.clear()


def episode_hotwords(show: Show | None, ep: Episode) -> str:
    """The hotwords of an episode: its people (the item's, else the channel's), the show's
    title and author, people and proper nouns of the title and notes; deduplicated, capped."""
    terms: list[str] = []
    people = episode_people(show.persons if show else [], ep.persons)
    terms += [p.name for p in people if p.name]
    if show is not None:
        terms += [show.title or "", *re.split(r",|&|\band\b", show.author or "")]
    notes = _text(ep.show_notes_html)
    terms += notes_names(ep.show_notes_html, ep.title)
    terms += _proper_nouns(notes)  # not the title's: titles capitalise every word
    out: list[str] = []
    size = 0
    for term in terms:
        term = " ".join(term.split()).strip(" ,;:-–—")
        if len(term) < 3 or term.startswith(("http", "www")):
            continue
        low = term.lower()
        if any(low in t.lower() for t in out):
            continue
        if size + len(term) + 2 > MAX_CHARS:
            continue
        out.append(term)
        size += len(term) + 2
        if len(out) >= MAX_TERMS:
            break
    return ", ".join(out)
