"""Errors a user can cause: each carries one actionable line."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path


class PodgrepError(Exception):
    """Base for every error the CLI prints as one line and the API answers as 4xx."""

    exit_code = 1


class FeedError(PodgrepError):
    """A feed could not be read or parsed."""


class FetchError(PodgrepError):
    """A download failed; `transient` says whether retrying may help."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class MediaError(PodgrepError):
    """A file is not audio we can decode (wrong type, truncated, corrupt)."""


class ModelError(PodgrepError):
    """A Whisper model name or path could not be loaded."""


class QueryError(PodgrepError):
    """A search query is malformed."""

    exit_code = 2


class SchemaError(PodgrepError):
    """The library's store was written by a newer podgrep than this one."""

    exit_code = 2


class StoreError(PodgrepError):
    """The store named by --store / store_url cannot be used (unknown scheme, unreachable
    server, wrong password, no pgvector): nothing was written."""

    exit_code = 2


class StoreUnavailable(StoreError):
    """The store's server went away or refused work mid-command (a restart, a failover, a
    dropped connection): nothing about the episode is wrong, so a step that met it is tried
    again by the next sync without being charged an attempt."""


class NotFoundError(PodgrepError):
    """An episode, show or source the user named does not exist."""


class SourceError(PodgrepError):
    """Something given to `podgrep add` is not a feed, media URL, file or folder."""


class InvalidInput(PodgrepError):
    """A request names something that is not there, such as an episode's unknown speaker."""


class DiskFullError(PodgrepError):
    """The disk holding the media cache or the database has too little space left to go on.

    Not the episode's fault: the runner records it without charging an attempt, so the next
    sync after space is freed takes the episode up again (resuming a partial download).
    """

    def __init__(self, message: str, *, directory: Path) -> None:
        super().__init__(message)
        self.directory = directory

    @classmethod
    def about(
        cls,
        directory: Path,
        *,
        needed: int | None = None,
        at_least: int | None = None,
        reserve: int = 0,
        what: str = "this download",
        then: str = "run `podgrep sync` again",
    ) -> DiskFullError:
        """The one line for a full disk: how much is free, what podgrep needs, what to do.

        `needed` counts the bytes still to write, `at_least` a lower bound when that is unknown
        (what arrived of a download of unannounced size); `reserve` is the space podgrep leaves
        free (disk_reserve_mb); `then` says what to do once there is room.
        """
        free = free_bytes(directory)
        state = f"has {_mb(free)} free" if free is not None else "is full"
        have = f"the disk holding {directory} {state}"
        if needed is not None:
            need = f"podgrep needs {_mb(needed)} for {what}"
        elif at_least:
            need = f"podgrep needs more than {_mb(at_least)} for {what}"
        else:
            need = f"podgrep needs more for {what}"
        if reserve > 0:
            need += f" and keeps a reserve of {_mb(reserve)}"
            advice = "free some space or lower disk_reserve_mb (PODGREP_DISK_RESERVE_MB)"
        else:
            advice = "free some space"
        return cls(f"{have}; {need}: {advice}, then {then}", directory=directory)


def free_bytes(directory: Path) -> int | None:
    """Bytes free to an unprivileged writer on the disk holding `directory` (or its parent)."""
    path = Path(directory)
    for candidate in (path, *path.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return None


def is_disk_full(exc: BaseException) -> bool:
    """Whether an exception is the operating system's or SQLite's "the disk is full"."""
    if isinstance(exc, OSError):
        return exc.errno in _FULL_ERRNOS
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int) and (code & 0xFF == _SQLITE_FULL or code == _SQLITE_SHMSIZE):
            return True
        return "database or disk is full" in str(exc)
    return False


def full_disk_cause(exc: BaseException) -> BaseException | None:
    """The "disk is full" error behind `exc`, if any: the exception itself or one it was
    raised from or while handling (SQLite rolls back on a full disk, so the store's own
    ROLLBACK can fail on top of it), or the original error a wrapper such as yt-dlp's
    DownloadError keeps in `exc_info`."""
    seen: BaseException | None = exc
    for _ in range(16):  # causes can form a cycle; sixteen is deeper than any real chain
        if seen is None:
            return None
        if is_disk_full(seen):
            return seen
        info = getattr(seen, "exc_info", None)
        kept = info[1] if isinstance(info, tuple) and len(info) > 1 else None
        if isinstance(kept, BaseException) and is_disk_full(kept):
            return kept
        seen = seen.__cause__ or seen.__context__
    return None


_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
_SQLITE_FULL = 13
_SQLITE_SHMSIZE = 4874  # SQLITE_IOERR_SHMSIZE: no room to grow the WAL index when opening


def _mb(n: int) -> str:
    """Bytes as whole megabytes (one decimal below 10 MB, where the difference matters)."""
    mb = n / 1024**2
    return f"{mb:.1f} MB" if mb < 10 else f"{mb:.0f} MB"
