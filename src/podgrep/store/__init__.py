"""Persistence. Every SQL statement lives under this package; the rest of podgrep sees the
`Store` port (store/ports.py) and the dataclasses of domain.py. The concrete stores are
store/sqlite (the embedded default) and store/postgres; runtime.open_store picks one."""

from podgrep.store.base import HIDDEN_FLAGS
from podgrep.store.ports import Store
from podgrep.store.sql import COUNTED, LEAD_WORDS, STEPS, NextJob, QueuePosition, StoreStats

__all__ = [
    "COUNTED", "HIDDEN_FLAGS", "LEAD_WORDS", "STEPS", "NextJob", "QueuePosition", "Store",
    "StoreStats",
]  # fmt: skip
