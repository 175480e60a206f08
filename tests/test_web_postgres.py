"""The web app and the JSON API answer the same from PostgreSQL as from SQLite: the synced test
library copied into PostgreSQL with `podgrep db copy`, every read endpoint compared."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from podgrep.config import load_settings
from podgrep.runtime import open_store
from podgrep.store.copy import copy_library
from podgrep.web import create_app

READS = [
    "/api/shows",
    "/api/shows/1",
    "/api/shows/1/episodes",
    "/api/shows/1/overview",
    "/api/shows/1/links",
    "/api/episodes/1",
    "/api/episodes/2",
    "/api/episodes/1/transcript",
    "/api/episodes/1/chapters",
    "/api/episodes/1/links",
    "/api/episodes/1/speakers",
    "/api/episodes/2/transcript?format=vtt",
    "/api/search?q=%22preaching+to+the+choir%22",
    "/api/search?q=open*&mode=keyword",
    "/api/search?q=what+is+open+assistant&mode=hybrid",
    "/api/search?q=xyzzyplugh&mode=semantic",
    "/api/search?q=Zurich&show=Data",
    "/api/episodes/999",
    "/api/search?q=%22unbalanced",
]
PAGES = ["/", "/shows/1", "/episodes/1", "/search?q=choir"]


@pytest.fixture(scope="module")
def both(library: Path, pg_server, tmp_path_factory) -> Iterator[tuple[TestClient, TestClient]]:
    pg_server.create_database("webpg")
    url = pg_server.url("webpg")
    with open_store(library / "podgrep.db") as source, open_store(url) as target:
        assert copy_library(source, target).equal
    home = tmp_path_factory.mktemp("webpg")
    # the media cache stays where the SQLite library keeps it
    (home / "podgrep.toml").write_text(
        f'store_url = "{url}"\nmedia_path = "{(library / "media").as_posix()}"\n'
    )
    sqlite_app = create_app(load_settings(library))
    pg_app = create_app(load_settings(home))
    with (
        TestClient(sqlite_app, base_url="http://127.0.0.1") as a,
        TestClient(pg_app, base_url="http://127.0.0.1") as b,
    ):
        yield a, b
    pg_server.drop_database("webpg")


def test_every_read_endpoint_answers_the_same(both: tuple[TestClient, TestClient]) -> None:
    sqlite, pg = both
    for path in READS:
        a, b = sqlite.get(path), pg.get(path)
        assert a.status_code == b.status_code, path
        if a.headers.get("content-type", "").startswith("application/json"):
            assert a.json() == b.json(), path
        else:
            assert a.text == b.text, path


def test_pages_and_audio_are_the_same(both: tuple[TestClient, TestClient]) -> None:
    sqlite, pg = both
    for path in PAGES:
        a, b = sqlite.get(path), pg.get(path)
        assert a.status_code == b.status_code == 200, path
        assert a.text == b.text, path
    a, b = sqlite.get("/api/episodes/1/audio"), pg.get("/api/episodes/1/audio")
    assert a.status_code == b.status_code and a.content == b.content


def test_jobs_agree_but_for_timing(both: tuple[TestClient, TestClient]) -> None:
    sqlite, pg = both
    a, b = sqlite.get("/api/jobs").json(), pg.get("/api/jobs").json()
    assert a["counts"] == b["counts"] and a["failures"] == b["failures"]
    assert [s["id"] for s in a["shows"]] == [s["id"] for s in b["shows"]]


def test_a_store_gone_away_is_answered_503(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request made while the library's PostgreSQL cannot answer gets 503 and the store's
    one line (the API as JSON, a page as HTML), not 400: the request was fine."""
    from podgrep.errors import StoreUnavailable
    from podgrep.store.postgres import PostgresStore

    app = create_app(load_settings(tmp_path, store_url=pg_url))
    gone = "The PostgreSQL server at 127.0.0.1:5432 closed the connection: try again"

    def unavailable(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable(gone)

    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/shows").status_code == 200
        monkeypatch.setattr(PostgresStore, "_rows", unavailable)
        answer = client.get("/api/shows")
        assert answer.status_code == 503 and answer.json() == {"detail": gone}
        assert answer.headers.get("retry-after")
        for path in ("/", "/search?q=choir"):
            page = client.get(path)
            assert page.status_code == 503 and "closed the connection" in page.text, path
