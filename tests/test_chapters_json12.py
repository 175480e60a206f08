"""Chapters JSON 1.2: a chapter without a title or with `toc: false` is kept, and its
`location` (and endTime, url, img) survive the store into the export (issue #13)."""

from __future__ import annotations

import json
from pathlib import Path

from podgrep.domain import Episode, Show
from podgrep.enrich.chapters import parse_chapters_json
from podgrep.enrich.episode import stored_chapters
from podgrep.formats.chapters_json import write_chapters_json
from podgrep.runtime import open_store

DOC = {
    "version": "1.2.0",
    "chapters": [
        {"startTime": 0, "title": "Intro", "endTime": 30.5},
        {"startTime": 12, "img": "https://example.com/slide.png"},  # no title: an image change
        {
            "startTime": 30.5,
            "title": "On location",
            "toc": False,
            "url": "https://example.com/place",
            "location": {"name": "Eiffel Tower", "geo": "geo:48.8584,2.2945", "osm": "W5013364"},
        },
        {"startTime": 45, "title": "  ", "location": {"name": "Somewhere", "geo": 5}},
        {"title": "no start"},
        {"startTime": True, "title": "a boolean is no time"},
    ],
}


def test_untitled_and_hidden_chapters_are_kept_with_their_location() -> None:
    found = parse_chapters_json(json.dumps(DOC), hidden=True)
    assert [(c.start, c.title, c.toc) for c in found] == [
        (0, "Intro", True),
        (12, "", True),
        (30.5, "On location", False),
        (45, "", True),
    ]
    assert found[1].img == "https://example.com/slide.png"
    assert found[2].location == {
        "name": "Eiffel Tower",
        "geo": "geo:48.8584,2.2945",
        "osm": "W5013364",
    }
    assert found[3].location == {"name": "Somewhere"}  # a geo that is no string is dropped
    # a table of contents leaves out toc=false, but not the untitled ones
    assert [c.start for c in parse_chapters_json(json.dumps(DOC))] == [0, 12, 45]


def test_chapters_survive_the_store_into_the_export(tmp_path: Path) -> None:
    with open_store(tmp_path / "podgrep.db") as store:
        show_id, _ = store.add_show(Show(None, "file:///feed.xml", "Show", kind="local"))
        eid = store.add_episodes(show_id, [Episode(None, show_id, "g1", "Ep")])[0]
        store.set_chapters(eid, parse_chapters_json(json.dumps(DOC), hidden=True))
        chapters = stored_chapters(store, eid)
    doc = json.loads(write_chapters_json(chapters, title="Ep", podcast="Show"))
    out = doc["chapters"]
    assert [c["startTime"] for c in out] == [0, 12, 30.5, 45]
    assert out[0] == {"startTime": 0, "title": "Intro", "endTime": 30.5}
    assert out[1] == {"startTime": 12, "img": "https://example.com/slide.png"}  # no title key
    assert out[2] == {
        "startTime": 30.5,
        "title": "On location",
        "url": "https://example.com/place",
        "toc": False,
        "location": {"name": "Eiffel Tower", "geo": "geo:48.8584,2.2945", "osm": "W5013364"},
    }
    assert out[3] == {"startTime": 45, "location": {"name": "Somewhere"}}
    # and it reads back the same
    again = parse_chapters_json(json.dumps(doc), hidden=True)
    assert [(c.start, c.title, c.toc, c.location) for c in again] == [
        (c.start, c.title, c.toc, c.location) for c in chapters
    ]
