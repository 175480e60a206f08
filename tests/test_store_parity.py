"""The same library in both stores gives the same hits, in the same order: keyword, phrase,
prefix and hybrid (real transcripts, real sentence vectors)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podgrep.domain import Episode, Show
from podgrep.runtime import open_store
from podgrep.semantic.embed import shared_embedder
from podgrep.semantic.hybrid import find
from podgrep.semantic.vectors import embed_missing
from podgrep.store import Store
from podgrep.transcripts.importer import read_transcript

DATA = Path(__file__).parent / "data" / "transcripts"
SOURCES = (
    "sds-733-edited-transcript.txt",
    "gradient-dissent-whisper-cpp.txt",
    "openassistant-faster-whisper-log.txt",
)
QUERIES = {
    "keyword": ["data science", "open source model", "memory", "podcast", "training data"],
    "phrase": ['"machine learning"', '"open assistant"', '"in the"'],
    "prefix": ["optim*", "regulat*", "generat*", "train* model*"],
    "hybrid": [
        "how do you run whisper on a laptop",
        "why release the data openly",
        "what does the guest work on",
        "volunteers writing answers for a chat assistant",
    ],
}


def _fill(store: Store) -> None:
    sid, _ = store.add_show(Show(None, "http://example.org/parity.xml", "Parity"))
    for n, name in enumerate(SOURCES):
        [eid] = store.add_episodes(sid, [Episode(None, sid, f"p{n}", name)])
        segments = read_transcript((DATA / name).read_bytes())[0].segments
        store.replace_transcript(eid, "publisher", None, "en", segments[:300])
    embed_missing(store, shared_embedder())


@pytest.fixture(scope="module")
def stores(pg_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Store]]:
    sqlite = open_store(tmp_path_factory.mktemp("parity") / "podgrep.db")
    pg_server.create_database("parity")
    pg = open_store(pg_server.url("parity"))
    _fill(sqlite)
    _fill(pg)
    yield sqlite, pg
    sqlite.close()
    pg.close()
    pg_server.drop_database("parity")


@pytest.mark.parametrize("kind", list(QUERIES))
def test_same_hits_in_the_same_order(stores: tuple[Store, Store], kind: str) -> None:
    sqlite, pg = stores
    mode = "hybrid" if kind == "hybrid" else "keyword"
    found = 0
    for query in QUERIES[kind]:
        mine = find(sqlite, query, mode=mode, limit=10)
        theirs = find(pg, query, mode=mode, limit=10)
        found += bool(mine)
        assert len(mine) == len(theirs), (kind, query)
        for a, b in zip(mine, theirs, strict=True):
            assert a.episode == b.episode and abs(a.start - b.start) <= 0.5, (query, a, b)
            assert a.text == b.text and a.match == b.match and a.speaker == b.speaker
    assert found >= len(QUERIES[kind]) - 1, kind  # the queries find something


def test_both_count_the_same(stores: tuple[Store, Store]) -> None:
    sqlite, pg = stores
    assert sqlite.stats().rows == pg.stats().rows
    stems = ["data", "model", "learn", "whisper", "xyzzi"]
    assert sqlite.term_counts(stems) == pg.term_counts(stems)
