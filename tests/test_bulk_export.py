"""Bulk export (`podgrep export --show SHOW | --all -o DIR`): one file per transcribed
episode, named from its date and title safely on every filesystem, never overwriting a
different file silently."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest

from podgrep.bulk_export import NAME_BYTES, file_name, safe_stem
from podgrep.domain import Episode, Segment, Show, Word
from podgrep.runtime import open_store
from podgrep.transcripts.captions import parse_vtt
from tests.conftest import invoke

MARCH_5 = datetime(2024, 3, 5, 12, tzinfo=UTC).timestamp()
RISKY = 'Part 1: "Why?" <intro>/end|*.'
LONG = "Ünïcödé " * 30  # far past NAME_BYTES in UTF-8


def _words(text: str, start: float) -> list[Word]:
    return [Word(start + i * 0.3, start + i * 0.3 + 0.25, w) for i, w in enumerate(text.split())]


def _transcribed(store, eid: int, text: str) -> None:  # type: ignore[no-untyped-def]
    t = store.open_transcript(eid, "whisper", "tiny.en", "en", None)
    store.add_window(t.id, 0, [Segment(0.0, 3.0, text, _words(text, 0.0))])
    store.complete_transcript(t.id)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Show "Talks": two episodes of one date and title, one without a transcript, one
    without a date, one with a very long title; show "Other" with one episode."""
    home = tmp_path / "home"
    with open_store(home / "podgrep.db") as store:
        sid, _ = store.add_show(Show(None, "http://127.0.0.1:9/talks.xml", "Talks"))
        ids = store.add_episodes(
            sid,
            [
                Episode(None, sid, "a", RISKY, published=MARCH_5),
                Episode(None, sid, "b", RISKY, published=MARCH_5),
                Episode(None, sid, "c", "Not yet", published=MARCH_5 + 86400),
                Episode(None, sid, "d", "CON", published=None),
                Episode(None, sid, "e", LONG, published=MARCH_5),
            ],
        )
        for eid, text in zip(ids, ["first words", "second words", None, "con words", "long"],
                             strict=True):  # fmt: skip
            if text:
                _transcribed(store, eid, text)
        other, _ = store.add_show(Show(None, "http://127.0.0.1:9/other.xml", "Other"))
        [oid] = store.add_episodes(other, [Episode(None, other, "o", "Elsewhere", published=0.0)])
        _transcribed(store, oid, "other words")
    return home


def test_names_are_safe_everywhere() -> None:
    assert safe_stem('a/b\\c:d*e?f"g<h>i|j') == "a b c d e f g h i j"
    assert safe_stem("tab\there\nline\x00end\x7f") == "tab here line end"
    assert safe_stem("  .hidden. . ") == "hidden"
    assert safe_stem("") == safe_stem("...") == safe_stem("/:*") == "untitled"
    assert safe_stem("CON") == "_CON" and safe_stem("nul.txt") == "_nul.txt"
    assert safe_stem("com1") == "_com1" and safe_stem("LPT9 ") == "_LPT9"
    assert safe_stem("CONSOLE") == "CONSOLE" and safe_stem("2024-01-01 CON") == "2024-01-01 CON"
    assert safe_stem("Cafe\u0301") == "Caf\u00e9"  # NFC: one code point, as macOS shows it
    cut = safe_stem("é" * 200, 121)
    assert len(cut.encode()) <= 121 and set(cut) == {"é"}  # never half a character
    ep = Episode(7, 1, "g", LONG, published=MARCH_5)
    name = file_name(ep, ".podcast.json", with_id=True)
    assert len(name.encode()) <= NAME_BYTES and name.endswith(" (7).podcast.json")
    assert name.startswith("2024-03-05 Ünïcödé") and unicodedata.is_normalized("NFC", name)


def test_export_a_show_into_a_folder_and_never_overwrite(home: Path) -> None:
    folder = home.parent / "out" / "vtt"  # made, parents too
    code, out, err = invoke(["export", "--show", "Talks", "--format", "vtt", "-o", str(folder)],
                            home)  # fmt: skip
    assert code == 0, err
    wrote = [line for line in out.splitlines() if line.startswith("Wrote ")]
    names = sorted(p.name for p in folder.iterdir())
    assert len(wrote) == 4 and len(names) == 4
    with open_store(home / "podgrep.db") as store:
        talks = {e.guid: e for e in store.list_episodes(1)}
    added = datetime.fromtimestamp(talks["d"].added or 0, UTC).strftime("%Y-%m-%d")
    assert "2024-03-05 Part 1 Why intro end.vtt" in names  # the lowest id: the plain name
    assert f"2024-03-05 Part 1 Why intro end ({talks['b'].id}).vtt" in names
    assert f"{added} CON.vtt" in names  # no date: the day it was added
    [long] = [n for n in names if "Ünïcödé" in n]
    assert len(long.encode()) <= NAME_BYTES and long.endswith(".vtt")
    assert "Not yet" in " ".join(err.split()) and "no transcript" in err
    first = folder / "2024-03-05 Part 1 Why intro end.vtt"
    assert [s.text for s in parse_vtt(first.read_text(encoding="utf-8"))] == ["first words"]
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    # again: identical files are left alone, nothing written
    code, out, err = invoke(["export", "--show", "1", "-f", "vtt", "-o", str(folder)], home)
    assert code == 0 and "Wrote" not in out and "4 unchanged" in err, err
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamps

    # a file someone changed is left and reported (exit 1), unless --force
    first.write_text("WEBVTT\n\nmine\n", encoding="utf-8")
    code, out, err = invoke(["export", "--show", "Talks", "-f", "vtt", "-o", str(folder)], home)
    assert code == 1 and first.read_text(encoding="utf-8") == "WEBVTT\n\nmine\n"
    assert "left as it was" in err and first.name in " ".join(err.split())
    code, out, err = invoke(
        ["export", "--show", "Talks", "-f", "vtt", "-o", str(folder), "--force"], home
    )
    assert code == 0 and out.count("Wrote ") == 1, (out, err)
    assert "first words" in first.read_text(encoding="utf-8")
    assert sorted(p.name for p in folder.iterdir()) == names  # no .part left behind


def test_export_all_shows(home: Path) -> None:
    folder = home.parent / "all"
    code, out, err = invoke(["export", "--all", "-o", str(folder)], home)
    assert code == 0, err
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 5 and "1970-01-01 Elsewhere.txt" in names  # txt by default
    assert (folder / "1970-01-01 Elsewhere.txt").read_text(encoding="utf-8").strip()


def test_bulk_export_refuses_bad_requests(home: Path) -> None:
    afile = home.parent / "a-file.txt"
    afile.write_text("x")
    for args, words in (
        (["export", "--show", "Talks"], "give -o FOLDER"),
        (["export", "2", "--show", "Talks", "-o", "x"], "Name what to export"),
        (["export", "--all", "--show", "Talks", "-o", "x"], "Name what to export"),
        (["export"], "Name what to export"),
        (["export", "--show", "Nope", "-o", str(home / "x")], "No show is 'Nope'"),
        (["export", "--all", "-o", str(afile)], "is a file"),
        (["export", "--all", "-f", "chapters-json", "-o", str(home / "x")], "not one a bulk"),
    ):
        code, _, err = invoke(args, home)
        assert code == 1 and words in " ".join(err.split()), (args, err)
    assert not (home / "x").exists() and afile.read_text() == "x"
    code, out, _ = invoke(["export", "1", "-f", "txt"], home)  # one episode: as before
    assert code == 0 and "first words" in out


def test_an_unfinished_transcript_is_skipped_as_not_finished(home: Path) -> None:
    """A first transcription half done (a window written, not complete) is not exported."""
    with open_store(home / "podgrep.db") as store:
        [c] = [e for e in store.list_episodes(1) if e.guid == "c"]
        t = store.open_transcript(c.id, "whisper", "tiny.en", "en", None)
        store.add_window(t.id, 0, [Segment(0.0, 3.0, "half done", _words("half done", 0.0))])
    folder = home.parent / "part"
    code, out, err = invoke(["export", "--show", "Talks", "-f", "txt", "-o", str(folder)], home)
    line = " ".join(err.split())
    assert code == 0, err
    assert f"skipped episode {c.id} 'Not yet': not finished" in line, line
    assert out.count("Wrote ") == 4 and "2 skipped" not in line and "1 skipped" in line
    assert not any("Not yet" in p.name for p in folder.iterdir())


def test_a_file_appearing_before_the_write_is_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name is taken between the check and the write (another program): the file there
    is left, the export says `differs`; no temporary file is left, and a user's own
    `NAME.part` is never touched."""
    import os

    from podgrep import bulk_export

    target = tmp_path / "2024-03-05 Talk.txt"
    theirs = tmp_path / "2024-03-05 Talk.txt.part"
    theirs.write_text("the user's own file")
    real_link = os.link

    def racing_link(src: str, dst: str) -> None:
        Path(dst).write_text("written meanwhile")
        real_link(src, dst)

    monkeypatch.setattr(bulk_export.os, "link", racing_link)
    assert bulk_export._put(target, b"ours", force=False) == "differs"
    assert target.read_text() == "written meanwhile"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, theirs.name])
    assert theirs.read_text() == "the user's own file"
    monkeypatch.setattr(bulk_export.os, "link", real_link)
    fresh = tmp_path / "2024-03-06 Other.txt"
    assert bulk_export._put(fresh, b"ours", force=False) == "wrote"
    assert (
        fresh.read_bytes() == b"ours"
        and fresh.stat().st_mode & 0o777 == 0o666 & ~bulk_export._umask()
    )
    assert bulk_export._put(target, b"ours", force=True) == "wrote"
    assert target.read_bytes() == b"ours"
    assert len(list(tmp_path.iterdir())) == 3  # no temporary file left behind
