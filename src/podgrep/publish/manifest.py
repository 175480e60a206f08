"""Writing a published site so that a re-run touches only what changed.

The folder holds `MANIFEST` (JSON: every path podgrep wrote there, with the SHA-256 of its
bytes). A file whose bytes hash as the manifest says, and which is still there at that size, is
left alone (its mtime and inode unchanged); any other is written whole (a `.part` beside it,
then renamed). A path the manifest names that this run did not produce is deleted: only ever
files podgrep wrote. A non-empty folder without a manifest is refused, so publishing never
overwrites someone else's files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from podgrep.errors import InvalidInput

MANIFEST = ".podgrep-publish.json"


@dataclass
class WriteReport:
    """What a publish did to the folder: paths (relative, `/`-separated) per outcome."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _safe(rel: str) -> str:
    """`rel` if it is a plain relative path inside the folder (no `..`, not absolute)."""
    p = PurePosixPath(rel)
    if p.is_absolute() or not p.parts or any(part in ("", ".", "..") for part in p.parts):
        raise ValueError(f"not a path inside the site: {rel!r}")
    return p.as_posix()


def read_manifest(folder: Path) -> dict[str, str]:
    """The manifest of `folder` ({} when it has none or it cannot be read)."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = data.get("files", {})
        return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}


def write_site(
    folder: Path, files: Mapping[str, bytes] | Iterable[tuple[str, bytes]]
) -> WriteReport:
    """Make `folder` hold exactly `files` (relative path → bytes, or (path, bytes) pairs as
    they are made: each is written and let go, so a site is never all in memory) of what
    podgrep publishes, writing only the files whose content changed."""
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"{folder} is a file: give publish a folder")
    old = read_manifest(folder)
    if folder.is_dir() and not old and not (folder / MANIFEST).exists() and any(folder.iterdir()):
        raise InvalidInput(
            f"{folder} already holds files podgrep did not publish: give an empty or new folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    report = WriteReport()
    new: dict[str, str] = {}
    pairs = sorted(files.items()) if isinstance(files, Mapping) else files
    for rel, data in pairs:
        rel = _safe(rel)
        if rel in new:
            raise ValueError(f"{rel} made twice")
        digest = _digest(data)
        new[rel] = digest
        path = folder / rel
        if old.get(rel) == digest and _holds(path, data):
            report.unchanged.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        part.write_bytes(data)
        os.replace(part, path)
        report.written.append(rel)
    report.written.sort()
    report.unchanged.sort()
    for rel in sorted(set(old) - set(new)):
        try:
            path = folder / _safe(rel)
        except ValueError:
            continue  # a manifest edited by hand: never follow it out of the folder
        if path.is_file() and not path.is_symlink():
            path.unlink()
            report.removed.append(rel)
            _prune(folder, path.parent)
    if new != old or not (folder / MANIFEST).exists():
        doc = {"generator": "podgrep publish", "files": dict(sorted(new.items()))}
        part = folder / (MANIFEST + ".part")
        part.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(part, folder / MANIFEST)
    return report


def _holds(path: Path, data: bytes) -> bool:
    """Whether `path` is a file holding `data` (checked by size, then bytes)."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _prune(folder: Path, directory: Path) -> None:
    """Remove the folders a removal left empty, up to (not including) `folder`."""
    root = folder.resolve()
    d = directory
    while d.resolve() != root and root in d.resolve().parents:
        try:
            d.rmdir()
        except OSError:
            return
        d = d.parent
