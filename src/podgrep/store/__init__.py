"""Persistence. Every SQL statement lives under this package."""

from podgrep.store.sqlite import SqliteStore, open_store

__all__ = ["SqliteStore", "open_store"]
