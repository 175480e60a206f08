"""Adding local files, folders, direct media URLs and pages yt-dlp understands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import DATA, invoke


def test_folder_and_file_sources(tmp_path: Path):
    folder = tmp_path / "Recordings"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(DATA / "jfk.flac", folder / "sub" / "inaugural.flac")
    (folder / "notes.txt").write_text("not media")
    home = tmp_path / "home"
    code, out, err = invoke(["add", str(folder)], home)
    assert code == 0, err
    assert "folder" in out and "1 new" in out
    code, out, err = invoke(["sync"], home)
    assert code == 0, err
    code, out, _ = invoke(["search", "fellow americans", "--json"], home)
    hit = json.loads(out.splitlines()[0])
    assert hit["show"] == "Recordings" and hit["episode"] == "inaugural"
    # a new file in the folder is picked up by the next sync; the old one is not redone
    shutil.copy(DATA / "jfk.flac", folder / "again.flac")
    code, _, err = invoke(["sync"], home)
    assert code == 0 and "1 new episode" in err
    code, out, _ = invoke(["status", "--json"], home)
    assert json.loads(out)["shows"][0]["transcribed"] == 2
    # a lone file goes to "Local files"
    code, out, _ = invoke(["add", str(DATA / "jfk.flac")], home)
    assert code == 0 and "Local files" in out


def test_direct_media_url_and_page(served, tmp_path: Path):
    (served.root / "talk.html").write_text(
        "<html><head><title>A Great Talk</title></head><body>"
        '<h1>A Great Talk</h1><audio controls src="jfk.flac"></audio></body></html>'
    )
    home = tmp_path / "urls"
    code, out, err = invoke(["add", served.url("jfk.flac"), served.url("talk.html")], home)
    assert code == 0, err
    assert out.count("Added url") == 2
    code, _, err = invoke(["sync"], home)
    assert code == 0, err
    code, out, _ = invoke(["search", "fellow americans", "--json"], home)
    episodes = {json.loads(line)["episode"] for line in out.splitlines()}
    assert episodes == {"jfk", "A Great Talk"}
    # the same bytes arrived twice but were stored once
    media = [
        p
        for p in (home / "media").rglob("*")
        if p.is_file() and p.parent.name != "partial" and "partial" not in p.parts
    ]
    assert len(media) == 1


def test_transcribe_one_file(tmp_path: Path):
    target = tmp_path / "jfk.srt"
    code, _, err = invoke(["transcribe", str(DATA / "jfk.flac"), "-o", str(target)], tmp_path)
    assert code == 0, err
    text = target.read_text()
    assert text.startswith("1\n00:00:0") and "country" in text.lower()
    assert not (tmp_path / "podgrep.db").exists()  # no library touched
