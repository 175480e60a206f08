"""A feed that moves keeps its show: permanent redirects, <itunes:new-feed-url>, and adding the
new address of a show followed under the old one."""

from __future__ import annotations

from pathlib import Path

from podgrep.library import add_source, http_client, refresh
from podgrep.runtime import open_store
from tests.conftest import feed_xml
from tests.support.server import Route

ITEMS = [
    ("Ep one", "move-1", "jfk.flac", "audio/flac"),
    ("Ep two", "move-2", "jfk.flac", "audio/flac"),
]


def _publish(served, name: str, title: str, items=ITEMS, extra: str = "") -> str:
    base = served.server.url("").rstrip("/")
    xml = feed_xml(base, title, items).replace("<channel>", "<channel>" + extra, 1)
    served.server.routes[f"/{name}"] = Route(body=xml.encode(), content_type="application/rss+xml")
    return served.url(name)


def _refresh_all(store) -> None:
    with http_client() as client:
        for show in store.list_shows():
            assert refresh(store, show, client).error is None


def test_permanent_redirect_moves_the_show_temporary_does_not(served, tmp_path: Path):
    store = open_store(tmp_path / "podgrep.db")
    old = _publish(served, "moving-old.xml", "Moving Show")
    added = add_source(store, old)
    # what the server was asked and answered, should it ever be filed as anything but a feed
    assert added.kind == "feed", (added, served.server.requests[-4:])
    new = _publish(served, "moving-new.xml", "Moving Show")
    served.server.routes["/moving-old.xml"] = Route(status=302, headers={"Location": new})
    _refresh_all(store)
    [show] = store.list_shows()
    assert show.feed_url == old  # a temporary redirect (a tracker's) keeps the address
    served.server.routes["/moving-old.xml"] = Route(status=301, headers={"Location": new})
    _refresh_all(store)
    [show] = store.list_shows()
    assert show.feed_url == new
    assert add_source(store, old).created is False  # the old address finds the same show
    assert [s.feed_url for s in store.list_shows()] == [new]


def test_adding_the_new_address_of_a_followed_show(served, tmp_path: Path):
    store = open_store(tmp_path / "podgrep.db")
    old = _publish(served, "nfu-old.xml", "Renamed Host Show")
    add_source(store, old)
    new = _publish(served, "nfu-new.xml", "Renamed Host Show")
    result = add_source(store, new)  # same title, same episodes: the same show, now here
    assert result.created is False and result.new_episodes == []
    [show] = store.list_shows()
    assert show.feed_url == new
    # a show of the same title with other episodes is another show
    _publish(
        served, "namesake.xml", "Renamed Host Show", [("X", "other-1", "jfk.flac", "audio/flac")]
    )
    assert add_source(store, served.url("namesake.xml")).created is True


def test_new_feed_url_moves_the_show(served, tmp_path: Path):
    store = open_store(tmp_path / "podgrep.db")
    other_new = served.url("elsewhere.xml")
    other = _publish(
        served,
        "announcing.xml",
        "Announcing Show",
        [("Solo", "solo-1", "jfk.flac", "audio/flac")],
        f"<itunes:new-feed-url>{other_new}</itunes:new-feed-url>",
    )
    add_source(store, other)
    assert [s.feed_url for s in store.list_shows()] == [other]
    _refresh_all(store)
    assert [s.feed_url for s in store.list_shows()] == [other_new]
