"""Bad input gets one clear line and a non-zero exit, and never costs what is stored."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import DATA, feed_xml, invoke
from tests.support.server import Route


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_malformed_feed(served, tmp_path: Path):
    served.server.routes["/broken.xml"] = Route(
        body=b"<?xml version='1.0'?><rss><channel><title>x</title><item><title>a</item>",
        content_type="application/rss+xml",
    )
    code, _, err = invoke(["add", served.url("broken.xml")], tmp_path)
    assert code == 1
    assert "not a valid RSS or Atom feed" in _one_error_line(err)


def test_feed_404(served, tmp_path: Path):
    code, _, err = invoke(["add", served.url("missing-feed.xml")], tmp_path)
    assert code == 1 and "404" in _one_error_line(err)


def test_feed_url_answering_html(served, tmp_path: Path):
    code, _, err = invoke(["add", served.url("page.html")], tmp_path)
    assert code == 1 and "web page" in _one_error_line(err)


def test_unreachable_host(tmp_path: Path):
    code, _, err = invoke(["add", "http://127.0.0.1:9/feed.xml"], tmp_path)
    assert code == 1 and "127.0.0.1:9" in _one_error_line(err)


def test_not_a_source(tmp_path: Path):
    code, _, err = invoke(["add", str(tmp_path / "nope.mp3")], tmp_path)
    assert code == 1 and "does not exist" in _one_error_line(err)


def test_bad_episodes_fail_alone_and_park(served, tmp_path: Path):
    served.server.routes["/fake.mp3"] = Route(
        body=b"<html><body>Sorry, this episode moved</body></html>" * 50, content_type="audio/mpeg"
    )
    feed = served.write_feed(
        "mixed.xml",
        "Mixed Bag",
        [
            ("Good one", "good", "jfk.flac", "audio/flac"),
            ("Corrupt bytes", "corrupt", "corrupt.mp3", "audio/mpeg"),
            ("Cut short", "truncated", "truncated.flac", "audio/flac"),
            ("Dead link", "dead", "gone.mp3", "audio/mpeg"),
            ("Not audio", "fake", "fake.mp3", "audio/mpeg"),
        ],
    )
    home = tmp_path / "mixed"
    assert invoke(["add", feed], home)[0] == 0
    code, _, err = invoke(["sync"], home)
    assert code == 3, err  # some episodes failed; the sync itself finished
    code, out, _ = invoke(["status", "--json"], home)
    status = json.loads(out)
    errors = {f["title"]: f["error"] for f in status["failures"]}
    assert set(errors) == {"Corrupt bytes", "Cut short", "Dead link", "Not audio"}
    assert "corrupt.mp3" in errors["Corrupt bytes"] and "audio" in errors["Corrupt bytes"]
    assert "truncated" in errors["Cut short"]
    assert "404" in errors["Dead link"]
    assert "fake.mp3" in errors["Not audio"] and "audio" in errors["Not audio"]
    assert status["shows"][0]["transcribed"] == 1 and status["shows"][0]["failed"] == 4
    code, out, _ = invoke(["search", "fellow Americans", "--json"], home)
    assert code == 0 and json.loads(out.splitlines()[0])["episode"] == "Good one"
    # parked steps are not retried on every sync, only when asked
    served.server.requests.clear()
    assert invoke(["sync", "--no-refresh"], home)[0] == 0
    assert not [p for _, p, _ in served.server.requests if p == "/gone.mp3"]
    shutil.copy(DATA / "jfk.flac", served.root / "gone.mp3")
    try:
        code, _, err = invoke(["sync", "--retry"], home)
    finally:
        (served.root / "gone.mp3").unlink()
    assert code == 3
    code, out, _ = invoke(["status", "--json"], home)
    assert {f["title"] for f in json.loads(out)["failures"]} == {
        "Corrupt bytes",
        "Cut short",
        "Not audio",
    }


def test_unknown_model_costs_no_attempt(served, tmp_path: Path):
    home = tmp_path / "model"
    feed = served.write_feed("jfk-only.xml", "JFK", [("Ask Not", "jfk", "jfk.flac", "audio/flac")])
    assert invoke(["add", feed], home)[0] == 0
    code, _, err = invoke(["sync", "--model", "no-such-model"], home)
    assert code == 1 and "Unknown model 'no-such-model'" in _one_error_line(err)
    db = sqlite3.connect(home / "podgrep.db")
    jobs = dict(db.execute("SELECT step, state || ':' || attempts FROM jobs"))
    assert jobs == {
        "fetch": "pending:0",
        "transcribe": "pending:0",
        "speakers": "pending:0",
        "index": "pending:0",
    }
    code, _, err = invoke(["sync"], home)
    assert code == 0, err
    code, _, err = invoke(["transcribe", str(DATA / "jfk.flac"), "--model", "/no/such/dir"], home)
    assert code == 1 and "Unknown model" in _one_error_line(err)


@pytest.mark.parametrize("query", ['"ask not', 'ask "not what" "your'])
def test_unbalanced_quotes(library: Path, query: str):
    code, _, err = invoke(["search", query], library)
    assert code == 2 and "Unbalanced quote" in _one_error_line(err)


def test_search_of_only_symbols(library: Path):
    code, _, err = invoke(["search", "!!! ???"], library)
    assert code == 2 and "Nothing to search for" in _one_error_line(err)


def test_non_audio_file_to_transcribe(tmp_path: Path):
    bogus = tmp_path / "notes.mp3"
    bogus.write_text("these are my notes, not audio")
    code, _, err = invoke(["transcribe", str(bogus)], tmp_path)
    assert code == 1 and "notes.mp3" in _one_error_line(err)


def test_damaged_database_is_reported_not_overwritten(tmp_path: Path):
    (tmp_path / "podgrep.db").write_bytes(b"this is not sqlite" * 100)
    code, _, err = invoke(["status"], tmp_path)
    assert code == 1 and "not a usable podgrep database" in _one_error_line(err)
    assert (tmp_path / "podgrep.db").read_bytes() == b"this is not sqlite" * 100


def test_unknown_episode_and_format(library: Path):
    code, _, err = invoke(["export", "9999"], library)
    assert code == 1 and "No episode with id 9999" in _one_error_line(err)
    code, _, err = invoke(["export", "1", "--format", "docx"], library)
    assert code == 1 and "docx" in _one_error_line(err)


def test_remote_feed_cannot_point_at_local_files(served, tmp_path: Path):
    secret = tmp_path / "secret.flac"
    shutil.copy(DATA / "jfk.flac", secret)
    base = served.server.url("").rstrip("/")
    xml = feed_xml(base, "Sneaky", [("Good one", "good", "jfk.flac", "audio/flac")])
    xml = xml.replace("</item>", "</item>" + _LOCAL_ITEM.format(path=secret.as_uri()), 1)
    (served.root / "sneaky.xml").write_text(xml, encoding="utf-8")
    home = tmp_path / "sneaky"
    assert invoke(["add", served.url("sneaky.xml")], home)[0] == 0
    code, _, _ = invoke(["sync"], home)
    assert code == 3
    _, out, _ = invoke(["status", "--json"], home)
    status = json.loads(out)
    [failure] = status["failures"]
    assert failure["title"] == "Local file" and "local file" in failure["error"]
    assert status["shows"][0]["transcribed"] == 1
    code, out, _ = invoke(["search", "fellow Americans", "--json"], home)
    assert [json.loads(line)["episode"] for line in out.splitlines()] == ["Good one"]


_LOCAL_ITEM = """
<item><title>Local file</title><guid>local</guid>
<pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>
<enclosure url="{path}" type="audio/flac" length="1000"/></item>"""
