"""Show artwork served from podgrep itself, so a feed's image URL never reaches the browser.

A feed names its artwork by URL. Letting the browser load it would let a hostile feed make
every visitor's browser request addresses on their own network (`http://192.168.1.1/…`), so
pages only ever point at `/art/shows/ID`, and podgrep fetches the image under the feed's
guard (public addresses, or the machine a feed named by address lives on), with a deadline and
a size cap, keeps only real raster images (never SVG or HTML), and caches them on disk.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

from podgrep import net
from podgrep.domain import Show
from podgrep.errors import PodgrepError

MAX_BYTES = 5 * 1024 * 1024
DEADLINE = 10.0  # seconds for one image, however it is sent
AT_ONCE = 2  # image fetches in flight; more requests are told to come back later
RETRY_FAILED = 3600.0  # a failed image is tried again after this long
# The types a browser may show from here: by their first bytes, not by what a server says.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff(data: bytes) -> str | None:
    """The image type of `data` by its signature (PNG, JPEG, GIF, WebP, AVIF), else None."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "image/avif"
    return None


class Busy(PodgrepError):
    """Too many artwork fetches are in flight; the browser may ask again shortly."""


class ArtCache:
    """Artwork of shows, fetched once under the feed's rules and kept in `<home>/art`."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.root = Path(settings.home) / "art"
        self._slots = threading.BoundedSemaphore(AT_ONCE)
        self._failed: dict[str, float] = {}
        self._lock = threading.Lock()

    def _path(self, url: str) -> Path:
        return self.root / hashlib.sha256(url.encode("utf-8")).hexdigest()

    def cached(self, url: str) -> tuple[Path, str] | None:
        """The stored image for `url` and its type, if it was fetched before."""
        path = self._path(url)
        try:
            head = path.read_bytes()[:16]
        except OSError:
            return None
        kind = sniff(head)
        return (path, kind) if kind else None

    def get(self, show: Show) -> tuple[Path, str] | None:
        """The show's artwork as a local file and its type; None when it has none or it
        cannot be had (refused address, not an image, too big, too slow)."""
        url = show.image
        if not url or not url.startswith(("http://", "https://")):
            return None
        found = self.cached(url)
        if found is not None:
            return found
        with self._lock:
            if time.monotonic() - self._failed.get(url, -RETRY_FAILED) < RETRY_FAILED:
                return None
        if not self._slots.acquire(blocking=False):
            raise Busy("Artwork is being fetched for other pages: try again in a moment")
        try:
            data = self._fetch(show, url)
        finally:
            self._slots.release()
        if data is None:
            with self._lock:
                self._failed[url] = time.monotonic()
            return None
        path = self._path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return self.cached(url)

    def _fetch(self, show: Show, url: str) -> bytes | None:
        guard = net.content_guard(self.settings, show.feed_url, remote=not show.chosen_by_user)
        try:
            with (
                net.client(self.settings, guard=guard, deadline=DEADLINE) as client,
                client.stream("GET", url) as resp,
            ):
                if resp.status_code != 200:
                    return None
                data = net.read_capped(resp, MAX_BYTES, url)
        except net.FETCH_ERRORS:
            return None
        return data if sniff(data) else None
