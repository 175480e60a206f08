"""Local media: a single file or a folder of them, each file an episode."""

from __future__ import annotations

from pathlib import Path

from podgrep.domain import Episode, Show
from podgrep.errors import SourceError

MEDIA_SUFFIXES = {
    ".mp3",
    ".m4a",
    ".m4b",
    ".mp4",
    ".aac",
    ".ogg",
    ".oga",
    ".opus",
    ".wav",
    ".flac",
    ".webm",
    ".mkv",
    ".mov",
    ".m4v",
    ".wma",
    ".aiff",
    ".aif",
    ".mpga",
    ".mpeg",
    ".amr",
    ".3gp",
}
FILES_SHOW_URL = "local:files"  # the pseudo-show that collects single files


def folder_url(folder: Path) -> str:
    """The identity of a folder source (its absolute file: URI)."""
    return folder.resolve().as_uri()


def is_media(path: Path) -> bool:
    """True for files with a media suffix (contents are checked when fetched)."""
    return (
        path.is_file() and path.suffix.lower() in MEDIA_SUFFIXES and not path.name.startswith(".")
    )


def _episode(path: Path, guid: str) -> Episode:
    stat = path.stat()
    return Episode(
        id=None,
        show_id=None,
        guid=guid,
        title=path.stem.replace("_", " "),
        media_url=path.resolve().as_uri(),
        media_length=stat.st_size,
        published=stat.st_mtime,
    )


def scan_folder(folder: Path) -> tuple[Show, list[Episode]]:
    """A show for `folder` and an episode per media file under it (recursively)."""
    folder = folder.expanduser().resolve()
    if not folder.is_dir():
        raise SourceError(f"{folder} is not a folder")
    show = Show(
        id=None, feed_url=folder_url(folder), title=folder.name or str(folder), kind="local"
    )
    files = sorted(p for p in folder.rglob("*") if is_media(p))
    return show, [_episode(p, p.relative_to(folder).as_posix()) for p in files]


def single_file(path: Path) -> tuple[Show, Episode]:
    """The 'Local files' pseudo-show and an episode for one media file."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise SourceError(f"{path} is not a file")
    show = Show(id=None, feed_url=FILES_SHOW_URL, title="Local files", kind="local")
    return show, _episode(path, str(path))
