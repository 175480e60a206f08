"""`podgrep sync` and the web app's sync run the same function (jobs/sync.py), so a setting
honoured by one is honoured by the other (each used to build its own media cache and step
context)."""

from __future__ import annotations

from pathlib import Path

import pytest

from podgrep.config import load_settings
from podgrep.web.sync import SyncRunner
from tests.conftest import Served, invoke


@pytest.mark.parametrize("surface", ["cli", "web"])
def test_both_syncs_keep_the_disk_reserve(
    surface: str, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODGREP_DISK_RESERVE_MB", "100000000")  # more than any disk has free
    home = tmp_path / surface
    assert invoke(["add", served.url("feed.xml")], home)[0] == 0
    if surface == "cli":
        code, _, err = invoke(["sync"], home)
        assert code == 3 and "keeps a reserve of" in err
    else:
        runner = SyncRunner(load_settings(home))
        assert runner.start()
        assert runner.wait(120)
        snapshot = runner.snapshot()
        assert snapshot["phase"] == "done", snapshot
        errors = [f["error"] for f in snapshot["failures"]]
        assert errors and all("keeps a reserve of" in e for e in errors), errors
    code, out, _ = invoke(["status"], home)
    assert "keeps a reserve of" in out
