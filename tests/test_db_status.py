"""`podgrep db status`: which store, where, its schema version, size and row counts (issue #14,
SQLite part); a library written by a newer podgrep is refused with one line, untouched."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from podgrep.config import load_settings
from tests.conftest import DATA, add_unfetched_episode, invoke


def test_db_status_names_the_store_and_counts_what_it_holds(tmp_path: Path) -> None:
    assert invoke(["add", str(DATA / "jfk.flac")], tmp_path)[0] == 0
    assert add_unfetched_episode(tmp_path) == 2
    code, out, err = invoke(["db", "status", "--json"], tmp_path)
    assert code == 0, err
    stats = json.loads(out)
    assert stats["store"] == "sqlite"
    assert stats["location"] == str(load_settings(tmp_path).db_path)
    assert stats["schema_version"] == stats["latest_version"] >= 8
    assert stats["size_bytes"] > 0
    assert stats["rows"]["shows"] == 2 and stats["rows"]["episodes"] == 2
    assert stats["rows"]["segments"] == 0 and stats["jobs"] == {"pending": stats["rows"]["jobs"]}
    code, out, _ = invoke(["db", "status"], tmp_path)
    assert code == 0 and "sqlite" in out and "episodes" in out and "schema" in out


def test_a_library_from_a_newer_podgrep_is_refused_untouched(tmp_path: Path) -> None:
    assert invoke(["add", str(DATA / "jfk.flac")], tmp_path)[0] == 0
    path = load_settings(tmp_path).db_path
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    for args in (["db", "status"], ["search", "anything"], ["status"]):
        code, out, err = invoke(args, tmp_path)
        assert code == 2 and out == "", args
        assert "newer podgrep (schema version 99" in err and "upgrade podgrep" in err
        assert len(err.strip().splitlines()) == 1
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 99
    db.close()
