"""Settings precedence: defaults < podgrep.toml < PODGREP_* env < explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from podgrep.config import load_settings
from podgrep.errors import PodgrepError


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "podgrep.toml").write_text('model = "base"\nmax_download_mb = 10\n')
    s = load_settings(tmp_path)
    assert (s.model, s.max_download_mb, s.db_path) == ("base", 10, tmp_path / "podgrep.db")
    monkeypatch.setenv("PODGREP_MODEL", "small")
    assert load_settings(tmp_path).model == "small"
    assert load_settings(tmp_path, model="tiny.en").model == "tiny.en"


def test_home_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PODGREP_HOME", str(tmp_path / "h"))
    assert load_settings().home == tmp_path / "h"


def test_bad_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "podgrep.toml").write_text("colour = 1\n")
    with pytest.raises(PodgrepError, match="unknown setting"):
        load_settings(tmp_path)
    (tmp_path / "podgrep.toml").write_text("")
    monkeypatch.setenv("PODGREP_BEAM_SIZE", "lots")
    with pytest.raises(PodgrepError, match="not a valid int"):
        load_settings(tmp_path)


def test_the_model_window_is_30_or_20_seconds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert load_settings(tmp_path).chunk_seconds == 30.0
    monkeypatch.setenv("PODGREP_CHUNK_SECONDS", "20")
    assert load_settings(tmp_path).chunk_seconds == 20.0
    monkeypatch.setenv("PODGREP_CHUNK_SECONDS", "25")
    with pytest.raises(PodgrepError, match="chunk_seconds=25.0: give 30 .* or 20"):
        load_settings(tmp_path)
