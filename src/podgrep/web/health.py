"""Feed health: the checks a publisher can act on, scored 0–100, from the feed as served now.

Pages never wait on the network: `HealthChecker` reads feeds in one background thread, with a
short total deadline, and a page shows its last result or, until there is one, the checks that
the stored episodes allow."""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import feedparser  # type: ignore[import-untyped]
import httpx

from podgrep import net
from podgrep.domain import Episode, Show
from podgrep.errors import FeedError
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


def fetch_feed_bytes(
    client: httpx.Client, url: str, deadline: float | None = None, *, remote: bool = False
) -> bytes:
    """The feed as served now (size-capped, whole within `deadline` seconds when given), or
    FeedError saying why not."""
    extensions = net.with_guard(
        net.source_rules(net.guard_of(client), url, remote=remote),
        net.with_deadline(deadline) if deadline is not None else None,
    )
    with feed_source.feed_errors(url), client.stream("GET", url, extensions=extensions) as resp:
        if resp.status_code >= 400:
            raise FeedError(feed_source.status_message(url, resp))
        return net.read_capped(resp, net.FEED_MAX_BYTES, url)


def is_checkable(show: Show) -> bool:
    """Whether the show has a feed on the web whose health can be checked."""
    return show.kind == "feed" and show.feed_url.startswith(("http://", "https://"))


def feed_health(
    client: httpx.Client, show: Show, episodes: list[Episode], deadline: float | None = None
) -> FeedHealth | None:
    """Health of a feed show, from the live feed when it can be read (None for non-feeds)."""
    if not is_checkable(show):
        return None
    if show.paused:
        return stored_checks(show, episodes, PAUSED_NOTE)
    try:
        data = fetch_feed_bytes(client, show.feed_url, deadline, remote=not show.chosen_by_user)
    except FeedError as exc:
        return stored_checks(show, episodes, f"Checked from stored episodes only: {exc}")
    return feed_checks(data, show, episodes)


PAUSED_NOTE = (
    "From the stored episodes only: the show is paused, so its feed is not fetched"
    " (`podgrep resume SHOW` checks it again)"
)
PENDING_NOTE = (
    "From the stored episodes for now: the live feed is being checked in the background "
    "(reload in a moment for the full checks)"
)


@dataclass
class _Result:
    at: float
    episodes: int
    health: FeedHealth


class HealthChecker:
    """Feed health checked in one background thread; requests only read what it found.

    However many pages ask, at most one feed is fetched at a time, each within `deadline`
    seconds, and at most `max_pending` shows wait their turn (the newest request wins)."""

    def __init__(
        self,
        settings: Any,
        *,
        ttl: float = 600.0,
        timeout: float = 5.0,
        deadline: float = 20.0,
        max_pending: int = 64,
    ) -> None:
        self.settings = settings
        self.ttl = ttl
        self.timeout = timeout
        self.deadline = deadline
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: dict[int, tuple[Show, list[Episode]]] = {}
        self._results: dict[int, _Result] = {}
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def health(
        self, show: Show, episodes: list[Episode], last_error: str | None = None
    ) -> FeedHealth | None:
        """The last result for the show (queuing a fresh check when it is old), else the checks
        the stored episodes allow; never waits on the network. A paused show's feed is not
        fetched at all: the stored checks, saying so."""
        if not is_checkable(show) or show.id is None:
            return None
        if show.paused:
            return stored_checks(show, episodes, PAUSED_NOTE)
        now = time.monotonic()
        with self._lock:
            hit = self._results.get(show.id)
            fresh = hit is not None and now - hit.at < self.ttl and hit.episodes == len(episodes)
            if not fresh:
                self._queue(show, episodes)
        if hit is not None:
            return hit.health
        note = PENDING_NOTE
        if last_error:
            note = f"{PENDING_NOTE}; the last sync could not read the feed: {last_error}"
        return stored_checks(show, episodes, note)

    def _queue(self, show: Show, episodes: list[Episode]) -> None:
        assert show.id is not None
        if self._closed:
            return
        if show.id not in self._pending and len(self._pending) >= self.max_pending:
            return  # a flood of shows: the ones already waiting go first
        self._pending[show.id] = (show, episodes)
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="podgrep-feed-health", daemon=True
            )
            self._thread.start()
        self._wake.notify_all()

    def _run(self) -> None:
        from podgrep.library import http_client

        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    if not self._wake.wait(timeout=60):
                        self._thread = None
                        return  # idle: a later request starts another
                if self._closed:
                    return
                show_id, (show, episodes) = next(iter(self._pending.items()))
                del self._pending[show_id]
                self._busy = True
            try:
                with http_client(self.timeout, self.settings) as client:
                    found = feed_health(client, show, episodes, self.deadline)
            except Exception as exc:  # noqa: BLE001 - one bad feed must not stop the checker
                found = stored_checks(show, episodes, f"Checked from stored episodes only: {exc}")
            with self._lock:
                self._busy = False
                if found is not None:
                    if len(self._results) > 4096:
                        self._results.clear()
                    self._results[show_id] = _Result(time.monotonic(), len(episodes), found)
                self._wake.notify_all()

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait until no check is queued or running (for tests); False on timeout."""
        ends = time.monotonic() + timeout
        with self._lock:
            while self._pending or self._busy:
                left = ends - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(left)
        return True

    def close(self) -> None:
        """Stop the thread after the check it is running (if any)."""
        with self._lock:
            self._closed = True
            self._pending.clear()
            self._wake.notify_all()
