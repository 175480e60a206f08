"""`podgrep db copy`: a whole library from one store to another, resumable.

Tables are copied parents first, each in id order, in batches that each commit on their own;
ids are kept, so the target is the same library row for row. A run that is killed leaves
whole batches behind, and the next run goes on after the largest id the target holds. The
target's `library` id (migration 0009) becomes the source's on the first batch: a target that
already holds rows of another library is refused. Search text is indexed by the target as it
indexes its own (FTS5 triggers, or the tsvector PostgreSQL keeps), vectors are read as floats
from the source and written in the target's form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from podgrep.errors import StoreError
from podgrep.store.ports import Store
from podgrep.store.sql import SqlStore

BATCH = 2000
# parents before children; `words` (keyed by the word) last
TABLES = (
    "shows", "episodes", "transcripts", "speakers", "segments", "jobs", "voiceprints",
    "chapters", "links", "passages",
)  # fmt: skip


@dataclass
class CopyResult:
    """Rows per part of the library on each side once the copy ended."""

    source: dict[str, int]
    target: dict[str, int]
    copied: int  # rows written by this run

    @property
    def equal(self) -> bool:
        return self.source == self.target


def library_id(store: SqlStore) -> str:
    """The random id a library got when its database was made (a copy takes its source's)."""
    return str(store._value("SELECT value FROM library WHERE key = 'id'") or "")


def _holds_rows(store: SqlStore) -> bool:
    return store._row("SELECT id FROM shows LIMIT 1") is not None


def copy_library(
    source: Store,
    target: Store,
    progress: Callable[[str, int, int], None] | None = None,
    *,
    batch: int = BATCH,
) -> CopyResult:
    """Copy every row of `source` that `target` lacks, `batch` rows per transaction;
    `progress(table, done, total)`."""
    if not isinstance(source, SqlStore) or not isinstance(target, SqlStore):
        raise TypeError("db copy copies between SQL stores")
    if source.identity() == target.identity():
        raise StoreError(f"{target.location} is the library being copied: name another store")
    if source.schema_version != target.schema_version:  # pragma: no cover - both migrated
        raise StoreError(
            f"The two stores are at different schema versions ({source.schema_version},"
            f" {target.schema_version}): open both with this podgrep first"
        )
    theirs, ours = library_id(source), library_id(target)
    if theirs != ours:
        if _holds_rows(target):
            raise StoreError(
                f"{target.location} already holds a different library: copy into an empty"
                " store (a new database), or remove that library first"
            )
        with target.transaction():
            target._exec("UPDATE library SET value = ? WHERE key = 'id'", (theirs,))
    copied = 0
    with target.bulk_load():
        for table in TABLES:
            copied += _copy_table(source, target, table, progress, batch)
        copied += _copy_words(source, target, progress, batch)
    return CopyResult(source.part_counts(), target.part_counts(), copied)


def _copy_table(
    source: SqlStore,
    target: SqlStore,
    table: str,
    progress: Callable[[str, int, int], None] | None,
    batch: int,
) -> int:
    columns = [c for c in source.table_columns(table) if c in set(target.table_columns(table))]
    names = ", ".join(f'"{c}"' for c in columns)
    total = int(source._value(f"SELECT COUNT(*) AS n FROM {table}"))  # noqa: S608
    after = int(target._value(f"SELECT COALESCE(MAX(id), 0) AS n FROM {table}") or 0)  # noqa: S608
    done = int(target._value(f"SELECT COUNT(*) AS n FROM {table}"))  # noqa: S608
    copied = 0
    while True:
        rows = source._rows(
            f"SELECT {names} FROM {table} WHERE id > ? ORDER BY id LIMIT ?",  # noqa: S608
            (after, batch),
        )
        if not rows:
            break
        with target.transaction():
            if table == "passages":
                ids = [int(r["id"]) for r in rows]
                vectors = source.vectors_of(ids)
                target.import_passages(columns, rows, vectors)
            else:
                target.import_rows(table, columns, rows)
        after = int(rows[-1]["id"])
        copied += len(rows)
        done += len(rows)
        if progress:
            progress(table, done, total)
    target.after_import(table)
    return copied


def _copy_words(
    source: SqlStore,
    target: SqlStore,
    progress: Callable[[str, int, int], None] | None,
    batch: int,
) -> int:
    total = int(source._value("SELECT COUNT(*) AS n FROM words"))
    after = str(target._value("SELECT MAX(word) AS w FROM words") or "")
    copied = 0
    while True:
        rows = source._rows(
            "SELECT word, stem FROM words WHERE word > ? ORDER BY word LIMIT ?", (after, batch)
        )
        if not rows:
            break
        with target.transaction():
            target._many(
                "INSERT INTO words (word, stem) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(r["word"], r["stem"]) for r in rows],
            )
        after = str(rows[-1]["word"])
        copied += len(rows)
        if progress:
            progress("words", copied, total)
    return copied
