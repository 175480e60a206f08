"""Podcasting 2.0 chapters JSON (`version` 1.2.0), the file `<podcast:chapters>` points at."""

from __future__ import annotations

import json
from typing import Any

from podgrep.domain import Chapter

VERSION = "1.2.0"


def write_chapters_json(
    chapters: list[Chapter],
    *,
    title: str | None = None,
    podcast: str | None = None,
    author: str | None = None,
) -> str:
    """`{"version": "1.2.0", "chapters": [{"startTime", "title"?, "endTime"?, "url"?, "img"?,
    "toc"?, "location"?}]}` ordered by startTime, with the episode's title and podcast name on
    top. A chapter without a title is written without one (the spec makes it optional), and
    one kept out of the table of contents with `"toc": false`."""
    doc: dict[str, Any] = {"version": VERSION}
    if author:
        doc["author"] = author
    if title:
        doc["title"] = title
    if podcast:
        doc["podcastName"] = podcast
    items = []
    for c in sorted(chapters, key=lambda c: c.start):
        item: dict[str, Any] = {"startTime": _t(c.start)}
        if c.title:
            item["title"] = c.title
        if c.end is not None and c.end > c.start:
            item["endTime"] = _t(c.end)
        if c.url:
            item["url"] = c.url
        if c.img:
            item["img"] = c.img
        if not c.toc:
            item["toc"] = False
        if c.location:
            item["location"] = dict(c.location)
        items.append(item)
    doc["chapters"] = items
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _t(seconds: float) -> float | int:
    value = round(float(seconds), 3)
    return int(value) if value.is_integer() else value
