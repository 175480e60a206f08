"""Bulk export (`podgrep export --show SHOW | --all -o DIR`): one file per episode whose
transcript is complete (one still being transcribed is skipped as not finished), named
`YYYY-MM-DD title.ext` from its published date (else the day it was added) and title, made
safe on every filesystem, and never overwriting a different file silently: each file is
written whole to a temporary file of its own in the folder, then linked to its name only if
no file has that name (so one that appears meanwhile is left as it is), or put in place of a
different file only with `force`.

Names: NFC; no `/ \\ : * ? " < > |` or control characters; no leading or trailing dot or
space; a Windows device name (CON, NUL, COM1…) never the whole stem; at most NAME_BYTES bytes
of UTF-8. Two episodes whose names match (ignoring case, as macOS and Windows do) are told
apart by ` (id)` after the title, the lowest id keeping the plain name.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from podgrep.domain import Episode, Show
from podgrep.errors import InvalidInput
from podgrep.formats import EXTENSIONS, FORMATS, render
from podgrep.store import Store

NAME_BYTES = 120  # of the whole file name, extension included
_UNSAFE = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f-\x9f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{d}{i}" for d in ("COM", "LPT") for i in range(10)}
_RESERVED |= {f"{d}{s}" for d in ("COM", "LPT") for s in "¹²³"}


def safe_stem(text: str, limit: int = NAME_BYTES) -> str:
    """`text` as the stem of a file name every filesystem takes, at most `limit` bytes."""
    text = unicodedata.normalize("NFC", text)
    text = " ".join(_UNSAFE.sub(" ", text).split())
    raw = text.encode("utf-8")[:limit]
    text = raw.decode("utf-8", errors="ignore")  # never half a character
    text = unicodedata.normalize("NFC", text).strip(" .")
    if not text:
        return "untitled"
    if text.split(".")[0].strip().upper() in _RESERVED:
        text = "_" + text
    return text


def day_of(ep: Episode) -> str:
    """The episode's published day (UTC), else the day it was added."""
    when = ep.published if ep.published is not None else ep.added
    return datetime.fromtimestamp(when or 0, UTC).strftime("%Y-%m-%d")


def file_name(ep: Episode, ext: str, *, with_id: bool = False) -> str:
    """`YYYY-MM-DD title.ext` (with ` (id)` after the title when asked), safe everywhere."""
    tail = (f" ({ep.id})" if with_id else "") + ext
    room = NAME_BYTES - len(tail.encode("utf-8"))
    return safe_stem(f"{day_of(ep)} {ep.title}", room) + tail


def names_for(episodes: list[Episode], ext: str) -> dict[int, str]:
    """A distinct file name for each episode (by id): the lowest id of a clash keeps the
    plain name, the others get ` (id)`; clashes are judged case- and form-insensitively."""
    taken: set[str] = set()
    out: dict[int, str] = {}
    for ep in sorted(episodes, key=lambda e: e.id or 0):
        assert ep.id is not None
        name = file_name(ep, ext)
        if name.casefold() in taken:
            name = file_name(ep, ext, with_id=True)
        taken.add(name.casefold())
        out[ep.id] = name
    return out


@dataclass(frozen=True)
class Outcome:
    """What became of one episode: `wrote`, `unchanged` (an identical file was there),
    `differs` (a different file was there and was left), or `skipped` (`reason`: no
    transcript, or not finished)."""

    kind: str
    episode: Episode
    path: Path | None = None
    reason: str | None = None


def export_shows(
    store: Store, shows: list[Show], fmt: str, folder: Path, *, force: bool = False
) -> Iterator[Outcome]:
    """Write each episode of `shows` whose transcript is complete into `folder` (made if
    missing) in `fmt`, newest first per show; yields each outcome as it happens."""
    if fmt not in FORMATS:
        raise InvalidInput(
            f"--format {fmt!r} is not one a bulk export writes: use one of {', '.join(FORMATS)}"
        )
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"{folder} is a file: give -o a folder for --show or --all")
    episodes = [(show, ep) for show in shows for ep in store.list_episodes(show.id)]
    names = names_for([ep for _, ep in episodes], EXTENSIONS[fmt])
    made = False
    for show, ep in episodes:
        assert ep.id is not None
        transcript = store.transcript_for(ep.id)
        if transcript is None:
            yield Outcome("skipped", ep, reason="no transcript")
            continue
        if not transcript.complete:  # the best one there is still being written
            yield Outcome("skipped", ep, reason="not finished")
            continue
        if not made:
            folder.mkdir(parents=True, exist_ok=True)
            made = True
        data = render(fmt, transcript, title=ep.title, show=show.title).encode("utf-8")
        path = folder / names[ep.id]
        yield Outcome(_put(path, data, force), ep, path)


def _put(path: Path, data: bytes, force: bool) -> str:
    """Write `data` at `path` unless a file is there: identical, it is left (`unchanged`);
    different, it is left (`differs`) unless `force`. Written whole or not at all, to a
    temporary file of its own then linked to `path` (which fails if a file has that name by
    then: never an overwrite without `force`)."""
    if path.exists() or path.is_symlink():
        if _same(path, data):
            return "unchanged"
        if not force or not path.is_file():
            return "differs"
    fd, name = tempfile.mkstemp(prefix=".podgrep-", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with contextlib.suppress(OSError):  # as a file made with open() would be, not 0600
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if force:
            os.replace(tmp, path)  # asked for: whatever is there now goes
            return "wrote"
        try:
            os.link(tmp, path)  # fails when a file took the name meanwhile
        except FileExistsError:
            return "unchanged" if _same(path, data) else "differs"
        except OSError:  # no hard links here (FAT, exFAT, some network shares)
            return _create(path, data)
        return "wrote"
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _create(path: Path, data: bytes) -> str:
    """Write `data` to a new file at `path` (O_EXCL: never over one there), all or nothing."""
    try:
        fh = open(path, "xb")  # noqa: SIM115
    except FileExistsError:
        return "unchanged" if _same(path, data) else "differs"
    try:
        with fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        path.unlink(missing_ok=True)  # ours, half written
        raise
    return "wrote"


def _umask() -> int:
    """This process's umask (read where the system tells it, else set and set back)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _same(path: Path, data: bytes) -> bool:
    try:
        return path.is_file() and path.read_bytes() == data
    except OSError:
        return False
