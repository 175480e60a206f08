"""Feed content that would aim the browser at the visitor's own network: artwork and
enclosures. Pages load artwork only from podgrep (fetched under the feed's rules) and send
the player to a feed's media URL only where podgrep itself would fetch it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from podgrep.config import load_settings
from podgrep.web.app import create_app
from tests.conftest import DATA, feed_xml, invoke
from tests.faults.hostile import Hostile

pytestmark = pytest.mark.fault("web")
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    with Hostile() as h:
        h.files["/jfk.flac"] = ((DATA / "jfk.flac").read_bytes(), "audio/flac")
        h.files["/art.png"] = (PNG, "image/png")
        h.files["/art.svg"] = (b"<svg onload=alert(1)></svg>", "image/png")
        yield h


def _library(
    hostile: Hostile, tmp_path: Path, feed_host: str, image: str, monkeypatch
) -> TestClient:
    port = hostile.port
    xml = feed_xml(f"http://{feed_host}:{port}", "Art", [("T", "t-1", "jfk.flac", "audio/flac")])
    xml = xml.replace(
        "<language>", f"<image><url>{image.format(port=port)}</url></image><language>"
    )
    hostile.files["/feed.xml"] = (xml.encode(), "application/rss+xml")
    monkeypatch.setenv("PODGREP_RESOLVE", "podcast.test=127.0.0.1")
    home = tmp_path / "h"
    code, _, err = invoke(["add", f"http://{feed_host}:{port}/feed.xml"], home)
    assert code == 0, err
    return TestClient(create_app(load_settings(home)), base_url="http://127.0.0.1")


def _no_remote_images(html: str) -> None:
    assert not re.search(r"<img[^>]+src=\"https?:", html)


@pytest.mark.parametrize(
    "image",
    [
        "http://127.0.0.1:{port}/art.png",
        "http://localhost:{port}/art.png",
        "http://podcast.test:{port}/to/http://127.0.0.1:{port}/art.png",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_artwork_on_a_local_address_is_never_fetched(hostile, tmp_path, monkeypatch, image):
    with _library(hostile, tmp_path, "podcast.test", image, monkeypatch) as c:
        for path in ("/", "/shows/1"):
            r = c.get(path)
            assert r.status_code == 200
            _no_remote_images(r.text)
        hostile.hits.clear()
        assert c.get("/art/shows/1").status_code == 404
    assert "/art.png" not in hostile.hits


def test_artwork_is_served_from_podgrep_and_must_be_an_image(hostile, tmp_path, monkeypatch):
    with _library(
        hostile, tmp_path, "127.0.0.1", "http://127.0.0.1:{port}/art.png", monkeypatch
    ) as c:
        assert 'src="/art/shows/1"' in c.get("/").text
        r = c.get("/art/shows/1")
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert r.content == PNG
        hostile.hits.clear()
        assert c.get("/art/shows/1").status_code == 200 and hostile.hits == []  # cached
    with _library(
        hostile, tmp_path / "svg", "127.0.0.1", "http://127.0.0.1:{port}/art.svg", monkeypatch
    ) as c:
        assert c.get("/art/shows/1").status_code == 404  # script in an "image": refused


def test_a_dripping_artwork_server_does_not_hold_pages(hostile, tmp_path, monkeypatch):
    import time

    from podgrep.web import art

    monkeypatch.setattr(art, "DEADLINE", 2.0)
    hostile.behave["/art.png"] = "drip"
    with _library(
        hostile, tmp_path, "127.0.0.1", "http://127.0.0.1:{port}/art.png", monkeypatch
    ) as c:
        began = time.monotonic()
        assert c.get("/art/shows/1").status_code == 404
        assert time.monotonic() - began < 8
        began = time.monotonic()
        assert c.get("/art/shows/1").status_code == 404  # remembered: not fetched again
        assert time.monotonic() - began < 1


@pytest.mark.parametrize(("feed_host", "redirects"), [("podcast.test", False), ("127.0.0.1", True)])
def test_player_goes_to_a_feed_media_url_only_where_podgrep_would(
    hostile, tmp_path, monkeypatch, feed_host, redirects
):
    with _library(hostile, tmp_path, feed_host, "", monkeypatch) as c:
        r = c.get("/api/episodes/1/audio", follow_redirects=False)
        if redirects:
            assert r.status_code == 307 and r.headers["location"].endswith("/jfk.flac")
        else:
            assert r.status_code == 404
