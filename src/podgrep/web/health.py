"""Feed health: the checks a publisher can act on, scored 0–100, from the feed as served now."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import feedparser
import httpx

from podgrep.domain import Episode, Show
from podgrep.errors import FeedError
from podgrep.library import FEED_MAX_BYTES
from podgrep.sources import feed as feed_source
from podgrep.web.safety import safe_url

EXAMPLES = 3


@dataclass
class Check:
    """One feed check: passed or not, what was found, and a few of the items concerned."""

    name: str
    ok: bool
    detail: str
    weight: float = 1.0
    fraction_ok: float = 1.0
    examples: list[str] = field(default_factory=list)


@dataclass
class FeedHealth:
    """A 0–100 score and the checks behind it; `note` says where the data came from."""

    score: int
    checks: list[Check]
    note: str | None = None


def _items(n: int, total: int, what: str) -> str:
    return f"{n} of {total} item{'s' if total != 1 else ''} {what}"


def _check(name: str, bad: list[str], total: int, what: str, ok_text: str, weight: float) -> Check:
    if not bad:
        return Check(name, True, ok_text, weight)
    return Check(
        name,
        False,
        _items(len(bad), total, what),
        weight,
        1 - len(bad) / total if total else 0.0,
        bad[:EXAMPLES],
    )


def _title(entry: Any, n: int) -> str:
    title = entry.get("title")
    return title.strip() if isinstance(title, str) and title.strip() else f"item {n + 1}"


def _length_ok(value: Any) -> bool:
    try:
        return int(str(value).strip()) > 0
    except ValueError:
        return False


def feed_checks(data: bytes, show: Show, episodes: list[Episode]) -> FeedHealth:
    """Check the raw feed bytes: guids, enclosures, dates, transcripts and artwork."""
    parsed = feedparser.parse(
        io.BytesIO(data), response_headers={"content-type": "application/xml"}
    )
    entries = list(parsed.entries)
    total = len(entries)
    titles = [_title(e, i) for i, e in enumerate(entries)]
    ids = [(e.get("id") or "").strip() for e in entries]
    missing_guid = [t for t, i in zip(titles, ids, strict=True) if not i]
    seen = Counter(i for i in ids if i)
    duplicates = [t for t, i in zip(titles, ids, strict=True) if i and seen[i] > 1]
    no_audio, bad_enclosure, bad_date = [], [], []
    for entry, title in zip(entries, titles, strict=True):
        enclosures = [e for e in entry.get("enclosures") or [] if e.get("href")]
        if not enclosures:
            no_audio.append(title)
        elif not all(e.get("type") and _length_ok(e.get("length")) for e in enclosures):
            bad_enclosure.append(title)
        raw_date = entry.get("published") or entry.get("updated")
        if not raw_date or not (entry.get("published_parsed") or entry.get("updated_parsed")):
            bad_date.append(f"{title} ({raw_date})" if raw_date else f"{title} (no date)")
    try:
        _, parsed_eps = feed_source.parse_feed(data, show.feed_url)
        no_transcript = [e.title for e in parsed_eps if not e.transcripts]
        t_total = len(parsed_eps)
        image = _image(parsed) or show.image
    except FeedError:
        no_transcript = [e.title for e in episodes if not e.transcripts]
        t_total = len(episodes)
        image = show.image
    checks = [
        _check("Every item has a guid", missing_guid, total, "have no <guid>", "all items", 2),
        _check("Guids are unique", duplicates, total, "share a guid with another", "no dupes", 2),
        _check("Every item has audio", no_audio, total, "have no enclosure", "all items", 1),
        *_item_checks(bad_enclosure, bad_date, total, no_transcript, t_total, image),
    ]
    return FeedHealth(_score(checks), checks)


def _item_checks(
    bad_enclosure: list[str],
    bad_date: list[str],
    total: int,
    no_transcript: list[str],
    transcript_total: int,
    image: str | None,
) -> list[Check]:
    """The checks made both from the live feed and from stored episodes alone."""
    return [
        _check(
            "Enclosures give type and length",
            bad_enclosure,
            total,
            "have an enclosure without type or length",
            "all enclosures",
            1,
        ),
        _check("Dates can be read", bad_date, total, "have a missing or unreadable date", "all", 1),
        _check(
            "Publisher transcripts (podcast:transcript)",
            no_transcript,
            transcript_total,
            "have no <podcast:transcript>",
            "every item links one",
            1,
        ),
        _artwork(image),
    ]


def _image(parsed: Any) -> str | None:
    image = parsed.feed.get("image")
    if isinstance(image, dict):
        return image.get("href") or image.get("url")
    return None


def _artwork(image: str | None) -> Check:
    if safe_url(image):
        return Check("Show artwork", True, "present", 1)
    detail = "no <itunes:image> or <image> on the channel"
    if image:
        detail = f"the channel's artwork is not an http(s) URL ({image[:80]})"
    return Check("Show artwork", False, detail, 1, 0.0)


def _score(checks: list[Check]) -> int:
    """0-100: the weighted share of checks passed (a partly passed check counts its share)."""
    weight = sum(c.weight for c in checks)
    got = sum(c.weight * (1.0 if c.ok else c.fraction_ok) for c in checks)
    return round(100 * got / weight) if weight else 0


def stored_checks(show: Show, episodes: list[Episode], why: str) -> FeedHealth:
    """What can be checked from the stored episodes alone (the feed itself could not be read)."""
    total = len(episodes)
    bad_enclosure = [e.title for e in episodes if not e.media_type or not e.media_length]
    bad_date = [e.title for e in episodes if not e.published]
    no_transcript = [e.title for e in episodes if not e.transcripts]
    checks = _item_checks(bad_enclosure, bad_date, total, no_transcript, total, show.image)
    return FeedHealth(_score(checks), checks, note=why)


def fetch_feed_bytes(client: httpx.Client, url: str) -> bytes:
    """The feed as served now (size-limited), or FeedError saying why not."""
    try:
        with client.stream("GET", url) as resp:
            if resp.status_code >= 400:
                raise FeedError(feed_source.status_message(url, resp))
            data = bytearray()
            for chunk in resp.iter_bytes():
                data += chunk
                if len(data) > FEED_MAX_BYTES:
                    raise FeedError(f"{url} is larger than a feed can be")
    except httpx.HTTPError as exc:
        raise FeedError(f"Could not reach {url}: {feed_source.network_reason(exc)}") from exc
    return bytes(data)


def feed_health(client: httpx.Client, show: Show, episodes: list[Episode]) -> FeedHealth | None:
    """Health of a feed show, from the live feed when it can be read (None for non-feeds)."""
    if show.kind != "feed" or not show.feed_url.startswith(("http://", "https://")):
        return None
    try:
        data = fetch_feed_bytes(client, show.feed_url)
    except FeedError as exc:
        return stored_checks(show, episodes, f"Checked from stored episodes only: {exc}")
    return feed_checks(data, show, episodes)
