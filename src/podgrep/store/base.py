"""The few primitives every SQL store gives the queries written once for both: rows of a
statement, a statement run, a batch, a transaction, all with `?` placeholders in portable SQL
that each store renders to its own dialect (`_sql`)."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import fields
from importlib import resources
from typing import Any, TypeVar

from podgrep.domain import Word

T = TypeVar("T")
Row = Mapping[str, Any]
HIDDEN_FLAGS = {"hallucination"}  # segments kept for the record but never searchable


LEAD_WORDS = 8  # words of the next segment appended to a segment's searchable text


def from_row(cls: type[T], row: Row, **converted: Any) -> T:
    """A dataclass from a row: columns named like its fields, plus the converted ones."""
    columns = set(row.keys())
    plain = {
        f.name: row[f.name]
        for f in fields(cls)  # type: ignore[arg-type]  # T is always a dataclass
        if f.name in columns and f.name not in converted
    }
    return cls(**plain, **converted)


def migrations(package: str) -> list[tuple[int, str]]:
    """(version, SQL) of each `NNNN_*.sql` in a store package's `migrations` folder, in order."""
    folder = resources.files(package) / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def hidden(flags: str | None) -> bool:
    """Whether a segment's stored flags keep it out of search."""
    return bool(flags) and bool(HIDDEN_FLAGS & set((flags or "").split(",")))


def words_of(raw: str | None) -> list[Word]:
    """Word timings from their stored JSON."""
    return [Word(**w) for w in json.loads(raw or "[]")]


class SqlBase(ABC):
    """Where the shared queries run: a SQLite file or a PostgreSQL pool."""

    # -- what each store provides ---------------------------------------------------------------

    @abstractmethod
    def _sql(self, sql: str) -> str:
        """A statement written here, in this store's dialect."""

    @abstractmethod
    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query (inside the open transaction, if any)."""

    @abstractmethod
    def _exec(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run a statement; return how many rows it changed."""

    @abstractmethod
    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run a statement once per row of arguments."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Run a block atomically: all its writes land, or none."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the connection(s)."""

    def _ids(self, sql: str, args: Sequence[Any] = ()) -> list[int]:
        """Run an INSERT … RETURNING id; the ids of the rows it made (none on a conflict)."""
        return [int(r["id"]) for r in self._rows(sql + " RETURNING id", args)]

    def _insert(self, sql: str, args: Sequence[Any] = ()) -> int:
        ids = self._ids(sql, args)
        return ids[0] if ids else 0

    def _row(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        rows = self._rows(sql, args)
        return rows[0] if rows else None

    def _value(self, sql: str, args: Sequence[Any] = ()) -> Any:
        row = self._row(sql, args)
        return None if row is None else row[next(iter(row.keys()))]
