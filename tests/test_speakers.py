"""Speaker turns end to end: the synced library's conversation, renames, exports, voiceprints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from podgrep import audio
from podgrep.domain import Segment, Word
from podgrep.runtime import open_store
from podgrep.speakers.assign import label_segments
from podgrep.speakers.diarize import diarize
from podgrep.speakers.label import label_episode
from podgrep.speakers.metrics import der, word_accuracy
from podgrep.speakers.names import name_speakers
from tests.conftest import DATA, invoke


def _episode_id(home: Path, title: str) -> int:
    code, out, _ = invoke(["episodes", "--json"], home)
    assert code == 0
    return next(e["id"] for e in map(json.loads, out.splitlines()) if title in e["title"])


def _copy(library: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(library, home)
    return home


def test_conversation_turns_speakers_and_names(library: Path, truth: dict):
    eid = _episode_id(library, "Yannic")
    code, out, err = invoke(["speakers", str(eid), "--json"], library)
    assert code == 0, err
    rows = json.loads(out)
    # two voices, named from the feed's host, the title and "…, welcome to the … podcast"
    assert sorted(r["name"] for r in rows) == ["Jon Krohn", "Yannic Kilcher"]
    roles = {r["name"]: r["role"] for r in rows}
    assert roles == {"Jon Krohn": "host", "Yannic Kilcher": "guest"}
    code, out, _ = invoke(["export", str(eid), "--format", "json"], library)
    segments = json.loads(out)["segments"]
    assert all(s["speaker"] in ("Jon Krohn", "Yannic Kilcher") for s in segments)
    reference = [(t["speaker"], t["start"], t["end"]) for t in truth["turns"]]
    identity = {"Jon Krohn": "Jon Krohn", "Yannic Kilcher": "Yannic Kilcher"}
    words = [(w["start"], w["end"], s["speaker"]) for s in segments for w in s["words"]]
    share, n = word_accuracy(reference, words, identity)
    assert n > 800 and share >= 0.95, share
    turns: list[tuple[str, float, float]] = []
    for s in segments:
        if turns and turns[-1][0] == s["speaker"] and s["start"] - turns[-1][2] < 1.5:
            turns[-1] = (s["speaker"], turns[-1][1], s["end"])
        else:
            turns.append((s["speaker"], s["start"], s["end"]))
    assert der(reference, turns).der <= 0.10


def test_exports_carry_names(library: Path):
    eid = _episode_id(library, "Yannic")
    _, vtt, _ = invoke(["export", str(eid), "--format", "vtt"], library)
    assert "<v Jon Krohn>" in vtt and "<v Yannic Kilcher>" in vtt
    _, srt, _ = invoke(["export", str(eid), "--format", "srt"], library)
    assert "\nJon Krohn: " in srt and "\nYannic Kilcher: " in srt
    _, podcast, _ = invoke(["export", str(eid), "--format", "podcast-json"], library)
    speakers = {s.get("speaker") for s in json.loads(podcast)["segments"]}
    assert speakers == {"Jon Krohn", "Yannic Kilcher"}
    _, txt, _ = invoke(["export", str(eid), "--format", "txt"], library)
    first = txt.split("\n\n")[:2]
    assert first[0].startswith("Jon Krohn [00:00:01]: ")
    assert first[1].startswith("Yannic Kilcher [00:00:1")


def test_rename_from_the_cli_and_bad_renames(library: Path, tmp_path: Path):
    home = _copy(library, tmp_path)
    eid = _episode_id(home, "Yannic")
    code, out, _ = invoke(["speakers", str(eid), "--json"], home)
    guest = next(r["label"] for r in json.loads(out) if r["name"] == "Yannic Kilcher")
    code, out, err = invoke(["speakers", str(eid), "--rename", f'{guest}="Jane Doe"'], home)
    assert code == 0, err
    assert "Jane Doe" in out and "user" in out
    _, vtt, _ = invoke(["export", str(eid), "--format", "vtt"], home)
    assert "<v Jane Doe>" in vtt and "<v Yannic Kilcher>" not in vtt  # the text may say it
    code, _, err = invoke(["speakers", str(eid), "--rename", "S9=Nobody"], home)
    assert code != 0 and "no speaker 'S9'" in err
    code, _, err = invoke(["speakers", str(eid), "--rename", "Jane Doe"], home)
    assert code != 0 and 'S1="Jane Doe"' in err
    # a voiceprint per named speaker of the show, following the rename
    with open_store(home / "podgrep.db") as store:
        show_id = store.get_episode(eid).show_id
        assert set(store.voiceprints(show_id)) >= {"Jane Doe", "Jon Krohn"}
        assert "Yannic Kilcher" not in store.voiceprints(show_id)


def test_speakers_step_does_not_redo_finished_work(library: Path, tmp_path: Path):
    home = _copy(library, tmp_path)
    eid = _episode_id(home, "Yannic")
    with open_store(home / "podgrep.db") as store:
        before = [(s.label, s.name) for s in store.list_speakers(eid)]
        ep = store.get_episode(eid)
        assert label_episode(store, ep) is None  # already labelled: nothing decoded
        assert [(s.label, s.name) for s in store.list_speakers(eid)] == before


def test_voiceprint_names_the_host_in_another_episode(library: Path, truth: dict):
    """Other audio of the same voices (conversation_long) and no naming evidence at all."""
    eid = _episode_id(library, "Yannic")
    with open_store(library / "podgrep.db") as store:
        prints = store.voiceprints(store.get_episode(eid).show_id or 0)
    long_truth = json.loads((DATA / "conversation_long.truth.json").read_text())
    turns = [t for t in long_truth["turns"] if t["end"] < 240]
    segments = [Segment(t["start"], t["end"], "Mm.") for t in turns]

    def first_four_minutes():
        seen = 0
        for block in audio.stream(DATA / "conversation_long.mp3"):
            yield block
            seen += len(block)
            if seen > 240 * audio.SAMPLE_RATE:
                return

    result = diarize(first_four_minutes(), segments)
    assert result.count == 2
    names = name_speakers(result.segments, result.count, [], result.centroids, prints)
    said = {}
    for (_, k), t in zip(result.segments, turns, strict=True):
        said.setdefault(names[k].name, set()).add(t["speaker"])
    assert said == {"Jon Krohn": {"Jon Krohn"}, "Yannic Kilcher": {"Yannic Kilcher"}}
    assert {n.source for n in names} == {"voiceprint"}


def _words(start: float, text: str, step: float = 0.3) -> list[Word]:
    out = []
    for i, w in enumerate(text.split()):
        out.append(Word(start + i * step, start + i * step + 0.25, " " + w))
    return out


def test_a_segment_with_two_voices_is_split_between_words():
    a, b = np.eye(256, dtype=np.float32)[0], np.eye(256, dtype=np.float32)[1]
    # speaker A until 3.0 s, then B; windows every 0.4 s, 1.6 s long, pure voices
    starts = np.arange(0, 6, 0.4)
    ends = starts + 1.6
    vectors = np.stack([a if s + 0.8 < 3.0 else b for s in starts])
    labels = (starts + 0.8 >= 3.0).astype(int)
    first = _words(0.0, "so that is how it went and")  # 7 words, ends at 2.05 s
    second = _words(3.1, "right I see what you mean")  # B, after a 1 s pause
    segment = Segment(0.0, second[-1].end, "", first + second)
    segment.text = "".join(w.word for w in segment.words).strip()
    parts = label_segments([segment], starts, ends, labels, np.stack([a, b]), vectors)
    assert [(p.text, k) for p, k in parts] == [
        ("so that is how it went and", 0),
        ("right I see what you mean", 1),
    ]
    assert parts[0][0].end <= parts[1][0].start


def test_a_segment_cut_at_a_change_of_speaker_keeps_the_language_it_was_read_in():
    import numpy as np

    from podgrep.domain import Segment, Word
    from podgrep.speakers.assign import _split

    words = [
        Word(0.0, 0.4, " Guten", 0.9),
        Word(0.4, 0.8, " Tag.", 0.9),
        Word(1.0, 1.5, " Ja.", 0.9),
    ]
    seg = Segment(0.0, 1.5, "Guten Tag. Ja.", words=words, idx=3, language="de")
    parts = _split(seg, np.array([0, 0, 1]))
    assert [(p.text, p.language, who) for p, who in parts] == [
        ("Guten Tag.", "de", 0),
        ("Ja.", "de", 1),
    ]
