"""Settings: defaults, then `<home>/podgrep.toml`, then `PODGREP_*` environment variables.

This is the only module that reads the environment.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from podgrep.errors import PodgrepError

ENV_PREFIX = "PODGREP_"


def default_home() -> Path:
    """The data directory: `$PODGREP_HOME`, else `$XDG_DATA_HOME/podgrep`, else ~/.local/share."""
    if os.environ.get("PODGREP_HOME"):
        return Path(os.environ["PODGREP_HOME"]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "podgrep"


def model_cache_root() -> Path:
    """Where models joined from bundled parts live: `$PODGREP_MODEL_CACHE`, else
    `$XDG_CACHE_HOME/podgrep/models`, else ~/.cache/podgrep/models (one folder per model)."""
    if os.environ.get("PODGREP_MODEL_CACHE"):
        return Path(os.environ["PODGREP_MODEL_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "podgrep" / "models"


# the model windows a chunk may be read in; 10 s was measured slower and less accurate than both
CHUNK_CHOICES = (20.0, 30.0)


@dataclass(frozen=True)
class Settings:
    """Everything a run of podgrep can be tuned with."""

    home: Path
    model: str = "tiny.en"
    device: str = "auto"  # auto | cpu | cuda
    compute_type: str = "auto"  # auto | int8 | float16 | int8_float16 | float32
    language: str | None = None  # None: from the feed, else detected
    multilingual_model: str = "base"  # used when the language is not English and model is .en
    cpu_threads: int = 0  # threads per model replica; 0: chosen from the machine's cores
    workers: int = 0  # model replicas decoding at once; 0: one per core (up to 4) on CPU, 1 on GPU
    batch_size: int = 0  # chunks of speech per batch; 0: 8 on CPU, 16 on GPU
    beam_size: int = 5  # beam for chunks whose first reading (beam 3) looks wrong; 1: greedy only
    reread: bool = True  # read each chunk again prompted with the text before it (accuracy)
    hotwords: bool = True  # prompt Whisper with the names the feed and notes spell (asr.hotwords)
    vad: bool = True
    chunk_seconds: float = 30.0  # the model's window: 30, or 20 (faster, less accurate)
    whisper_too: bool = False  # run Whisper even when the publisher gave a transcript
    window_seconds: float = 600.0  # audio is transcribed and committed in windows of about this
    max_download_mb: int = 2048
    fetch_retries: int = 4
    max_attempts: int = 3  # a step that failed this many times is parked until `sync --retry`
    http_timeout: float = 30.0  # seconds one read (or connect) may wait
    http_deadline: float = 120.0  # seconds a whole feed/transcript/chapters/page request may take
    min_download_kbps: float = 8.0  # media slower than this (KB/s, after a 30 s grace) is dropped
    allow_networks: str = ""  # networks feed content may reach though private: "192.168.1.0/24,nas"
    resolve: str = ""  # "host=address,…" answered before DNS (like curl --resolve)
    disk_reserve_mb: int = 256  # downloads stop short of leaving less than this free
    allowed_hosts: str = ""  # extra Host names `podgrep serve` answers to: "podgrep.lan,10.0.0.5"
    store_url: str = ""  # "": SQLite in home; sqlite:///path.db or postgresql://user@host/db
    media_path: str = ""  # "": <home>/media; the media cache (never in the database)
    fetch_ahead: int = 3  # episodes downloaded ahead of transcription at once; 0: one by one
    lease_seconds: float = 60.0  # a claimed job's lease, renewed every third of it while it runs
    store_wait_seconds: float = 300.0  # how long workers wait for a store that went away
    keep_media: str = "original"  # original | opus | none: media kept once transcribed

    @property
    def db_path(self) -> Path:
        """The SQLite database file."""
        return self.home / "podgrep.db"

    @property
    def media_dir(self) -> Path:
        """The content-addressed media cache."""
        return Path(self.media_path).expanduser() if self.media_path else self.home / "media"

    @property
    def store(self) -> str:
        """Where the library's database is: `store_url`, else the SQLite file in home."""
        return self.store_url or f"sqlite://{self.db_path}"


def _coerce(name: str, value: object, kind: type) -> object:
    if value is None or value == "":
        return None if name == "language" else value
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            return str(value).strip().lower() in {"1", "true", "yes", "on"}
        if kind is int:
            return int(value) if isinstance(value, int | float) else int(str(value))
        if kind is float:
            return float(value) if isinstance(value, int | float) else float(str(value))
    except (TypeError, ValueError) as exc:
        raise PodgrepError(f"Setting {name}={value!r} is not a valid {kind.__name__}") from exc
    return str(value)


_KINDS = {
    "model": str,
    "device": str,
    "compute_type": str,
    "language": str,
    "multilingual_model": str,
    "cpu_threads": int,
    "workers": int,
    "batch_size": int,
    "beam_size": int,
    "reread": bool,
    "hotwords": bool,
    "vad": bool,
    "chunk_seconds": float,
    "whisper_too": bool,
    "window_seconds": float,
    "max_download_mb": int,
    "fetch_retries": int,
    "max_attempts": int,
    "http_timeout": float,
    "http_deadline": float,
    "min_download_kbps": float,
    "allow_networks": str,
    "resolve": str,
    "disk_reserve_mb": int,
    "allowed_hosts": str,
    "store_url": str,
    "media_path": str,
    "fetch_ahead": int,
    "lease_seconds": float,
    "store_wait_seconds": float,
    "keep_media": str,
}


def load_settings(home: Path | str | None = None, **overrides: object) -> Settings:
    """Build Settings for `home` (or the default), applying the toml file, env and overrides."""
    root = Path(home).expanduser() if home else default_home()
    values: dict[str, object] = {}
    toml_path = root / "podgrep.toml"
    if toml_path.is_file():
        try:
            data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise PodgrepError(f"{toml_path} is not valid TOML: {exc}") from exc
        for key, val in data.items():
            if key not in _KINDS:
                raise PodgrepError(f"{toml_path}: unknown setting {key!r}")
            values[key] = _coerce(key, val, _KINDS[key])
    for key, kind in _KINDS.items():
        env = os.environ.get(ENV_PREFIX + key.upper())
        if env is not None:
            values[key] = _coerce(key, env, kind)
    for key, val in overrides.items():
        if val is not None:
            values[key] = _coerce(key, val, _KINDS[key])
    keep = values.get("keep_media")
    if keep is not None and str(keep).strip().lower() not in ("original", "opus", "none"):
        raise PodgrepError(f"Setting keep_media={keep!r}: give original, opus or none")
    if keep is not None:
        values["keep_media"] = str(keep).strip().lower()
    chunk = values.get("chunk_seconds")
    if chunk is not None and chunk not in CHUNK_CHOICES:  # coerced to float above
        raise PodgrepError(
            f"Setting chunk_seconds={chunk!r}: give 30 (most accurate) or 20 (faster)"
        )
    settings = Settings(home=root)
    known = {f.name for f in fields(Settings)}
    chosen = {k: v for k, v in values.items() if k in known}
    return replace(settings, **chosen)  # type: ignore[arg-type]  # each coerced to its kind
