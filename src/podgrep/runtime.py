"""The composition root: the one place that names the concrete store (and, as they come, the
engine and the runner), built from settings. The CLI and the web app receive a Runtime."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from podgrep.config import Settings
from podgrep.errors import StoreError
from podgrep.store import Store
from podgrep.store.urls import redact

SCHEMES = ("sqlite", "postgresql", "postgres")


def store_kind(target: str | Path) -> str:
    """ "sqlite" or "postgresql" for a store URL or a path (a path is a SQLite file)."""
    if isinstance(target, Path):
        return "sqlite"
    if "://" not in target:
        if _CONNINFO.match(target):  # libpq's "host=… dbname=…", not a file name
            raise StoreError(
                f"{redact(target)!r} looks like a libpq connection string: write the store as"
                " a URL, postgresql://user:password@host:5432/dbname"
            )
        return "sqlite"
    scheme = target.split("://", 1)[0].lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        return "postgresql"
    raise StoreError(
        f"Unknown store URL scheme {scheme!r} in {redact(target)}: use"
        " sqlite:///path/to/podgrep.db or postgresql://user@host:5432/dbname"
    )


def sqlite_path(target: str | Path) -> Path:
    """The file a SQLite store URL or a path names: sqlite:///abs/path.db (and, as SQLAlchemy
    writes it, sqlite:////abs/path.db), sqlite:///~/lib.db, sqlite://relative/path.db."""
    if isinstance(target, Path) or "://" not in target:
        return Path(target).expanduser()
    rest = target.split("://", 1)[1]
    if rest.startswith("//") or rest.startswith("/~"):  # sqlite:////abs, sqlite:///~/x
        rest = rest[1:]
    if not rest or rest == "/":
        raise StoreError(f"{target} names no file: write sqlite:///path/to/podgrep.db")
    return Path(rest).expanduser()


_CONNINFO = re.compile(r"^\s*\w+\s*=\s*\S+(\s+\w+\s*=)?")


def open_store(target: str | Path) -> Store:
    """Open (creating and migrating as needed) the store a URL or path names."""
    if store_kind(target) == "sqlite":
        from podgrep.store.sqlite import SqliteStore

        return SqliteStore(sqlite_path(target))
    from podgrep.store.postgres import PostgresStore

    return PostgresStore(str(target))


@dataclass
class Runtime:
    """Settings and what they choose: the store (opened on first use, shared after)."""

    settings: Settings
    _store: Store | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def store(self) -> Store:
        """The library's store, opened once."""
        if self._store is None:
            self._store = open_store(self.settings.store)
        return self._store

    def open_store(self) -> Store:
        """A store of its own (for a thread or a background job); the caller closes it."""
        return open_store(self.settings.store)

    @contextmanager
    def session(self) -> Iterator[Store]:
        """A store for one thread's piece of work (a web request, a background sync): SQLite
        opens a connection of its own (its connections stay in their thread), PostgreSQL
        lends the runtime's pool, which is shared by threads."""
        if store_kind(self.settings.store) == "sqlite":
            store = self.open_store()
            try:
                yield store
            finally:
                store.close()
        else:
            with self._lock:
                shared = self.store
            yield shared

    def close(self) -> None:
        """Close the store if it was opened."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
