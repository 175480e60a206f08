"""Feed → sync → search → export through the real CLI, real tiny.en model and real SQLite."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from podgrep.transcripts.captions import parse_srt, parse_vtt
from tests.conftest import invoke


def _expected_second(turn: dict, phrase: str) -> float:
    """Where a phrase starts inside a truth turn, by its character position (TTS speaks evenly)."""
    pos = turn["text"].lower().index(phrase.lower())
    return turn["start"] + (turn["end"] - turn["start"]) * pos / len(turn["text"])


PHRASES = [
    # (turn index in the truth file, a phrase said in it)
    (1, "thanks for having me"),
    (3, "Londoners always complain about their weather"),
    (6, "preaching to the choir"),
    (12, "make a huge splash"),
    (17, "depends a little bit on what alignment"),
    (20, "history has pretty much"),
]


@pytest.mark.parametrize(("turn", "phrase"), PHRASES)
def test_search_finds_phrase_at_the_right_second(
    library: Path, truth: dict, turn: int, phrase: str
):
    code, out, err = invoke(["search", f'"{phrase}"', "--json"], library)
    assert code == 0, err
    hits = [json.loads(line) for line in out.splitlines()]
    assert set(hits[0]) >= {"episode_id", "show", "episode", "start", "end", "text"}
    best = hits[0]
    assert best["episode"] == "Yannic Kilcher on Open Assistant"
    assert best["show"] == "Data Talk"
    assert abs(best["start"] - _expected_second(truth["turns"][turn], phrase)) <= 2.0, best


def test_search_plain_output_names_show_episode_and_time(library: Path):
    code, out, _ = invoke(["search", "ask not what your country"], library)
    assert code == 0
    show, episode, stamp, text = out.splitlines()[0].split("\t")
    assert (show, episode) == ("Data Talk", "Ask Not")
    assert re.fullmatch(r"00:00:0\d", stamp)
    assert "**ask**" in text.lower() and "**country**" in text.lower()


def test_search_prefix_and_show_filter(library: Path):
    code, out, _ = invoke(["search", "Zur*", "--json", "--limit", "1"], library)
    assert code == 0 and len(out.splitlines()) == 1
    assert "zurich" in json.loads(out)["text"].lower()
    code, _, err = invoke(["search", "Zurich", "--show", "No Such Show"], library)
    assert code == 1 and "No matches" in err


def test_resync_adds_nothing(library: Path, served):
    db = sqlite3.connect(library / "podgrep.db")
    before = (
        db.execute("SELECT COUNT(*) FROM episodes").fetchone()[0],
        db.execute("SELECT COUNT(*) FROM segments").fetchone()[0],
    )
    served.server.requests.clear()
    code, out, err = invoke(["sync"], library)
    assert code == 0, err
    code, out, err = invoke(["add", served.url("feed.xml")], library)
    assert code == 0 and "0 new" in out
    after = (
        db.execute("SELECT COUNT(*) FROM episodes").fetchone()[0],
        db.execute("SELECT COUNT(*) FROM segments").fetchone()[0],
    )
    assert before == after
    feed_gets = [h for m, p, h in served.server.requests if p == "/feed.xml"]
    assert feed_gets and "If-None-Match" in feed_gets[0]  # conditional GET on re-sync


def test_status_reports_counts(library: Path):
    code, out, _ = invoke(["status", "--json"], library)
    assert code == 0
    shows = json.loads(out)["shows"]
    assert shows[0]["episodes"] == 2 and shows[0]["transcribed"] == 2 and shows[0]["failed"] == 0


def test_exports_are_well_formed(library: Path, tmp_path: Path):
    code, out, _ = invoke(["episodes", "--json"], library)
    ep = next(json.loads(line) for line in out.splitlines() if "Open Assistant" in line)
    texts = {}
    for fmt in ("srt", "vtt", "txt", "json", "podcast-json"):
        target = tmp_path / f"ep.{fmt}"
        code, _, err = invoke(
            ["export", str(ep["id"]), "--format", fmt, "-o", str(target)], library
        )
        assert code == 0, err
        texts[fmt] = target.read_text(encoding="utf-8")
    srt, vtt = parse_srt(texts["srt"]), parse_vtt(texts["vtt"])
    assert len(srt) > 20 and len(vtt) == len(srt)
    assert all(a.start <= b.start for a, b in zip(srt, srt[1:], strict=False))
    assert "zurich" in " ".join(s.text for s in srt).lower()
    assert texts["vtt"].startswith("WEBVTT")
    # paragraphs open with the speaker's name (or label) and the time
    assert re.search(r"^[\w .'-]+ \[00:00:\d\d\]: ", texts["txt"], re.M)
    native = json.loads(texts["json"])
    assert native["segments"][0]["words"][0]["start"] >= 0
    pc = json.loads(texts["podcast-json"])
    assert pc["version"] == "1.0.0"
    assert all({"startTime", "endTime", "body"} <= set(s) for s in pc["segments"])
    # by title works too, and stdout is the default
    code, out, _ = invoke(["export", "Ask Not", "--format", "txt"], library)
    assert code == 0 and "ask not what your country" in out.lower()
