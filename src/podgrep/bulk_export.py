"""Bulk export (`podgrep export --show SHOW | --all -o DIR`): one file per episode that has a
transcript, named `YYYY-MM-DD title.ext` from its published date (else the day it was added)
and title, made safe on every filesystem, and never overwriting a different file silently.

Names: NFC; no `/ \\ : * ? " < > |` or control characters; no leading or trailing dot or
space; a Windows device name (CON, NUL, COM1…) never the whole stem; at most NAME_BYTES bytes
of UTF-8. Two episodes whose names match (ignoring case, as macOS and Windows do) are told
apart by ` (id)` after the title, the lowest id keeping the plain name.
"""

from __future__ import annotations

import re
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
    `differs` (a different file was there and was left), or `skipped` (no transcript)."""

    kind: str
    episode: Episode
    path: Path | None = None


def export_shows(
    store: Store, shows: list[Show], fmt: str, folder: Path, *, force: bool = False
) -> Iterator[Outcome]:
    """Write each transcribed episode of `shows` into `folder` (made if missing) in `fmt`,
    newest first per show; yields each outcome as it happens."""
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
        if transcript is None or not transcript.segments and not transcript.complete:
            yield Outcome("skipped", ep)
            continue
        if not made:
            folder.mkdir(parents=True, exist_ok=True)
            made = True
        data = render(fmt, transcript, title=ep.title, show=show.title).encode("utf-8")
        path = folder / names[ep.id]
        yield Outcome(_put(path, data, force), ep, path)


def _put(path: Path, data: bytes, force: bool) -> str:
    """Write `data` at `path` unless a file is there: identical, it is left (`unchanged`);
    different, it is left (`differs`) unless `force`. Written whole or not at all."""
    if path.exists():
        try:
            same = path.is_file() and path.read_bytes() == data
        except OSError:
            same = False
        if same:
            return "unchanged"
        if not force or not path.is_file():
            return "differs"
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return "wrote"
