"""What the web app shares across requests: settings, the write token, the Host rule, the sync,
the background feed checks and small caches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from podgrep.config import Settings
from podgrep.runtime import Runtime
from podgrep.store import Store
from podgrep.web.art import ArtCache
from podgrep.web.health import HealthChecker
from podgrep.web.safety import HostRule, host_rule
from podgrep.web.sync import SyncRunner

T = TypeVar("T")
DEFAULT_UPLOAD_MB = 1024
FEED_CHECK_SECONDS = 600.0  # how long a feed health result is reused


@dataclass
class WebState:
    """Shared by every request of one app."""

    settings: Settings
    token: str | None  # None: writes need no token (bound to loopback)
    max_upload_bytes: int
    sync: SyncRunner
    hosts: HostRule = field(default_factory=host_rule)
    feeds: HealthChecker | None = None  # made from `settings` when not given
    art: ArtCache = field(init=False)
    runtime: Runtime = field(init=False)
    _cache: dict[tuple[Any, ...], tuple[float, Any]] = field(default_factory=dict)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.art = ArtCache(self.settings)
        self.runtime = Runtime(self.settings)
        if self.feeds is None:
            self.feeds = HealthChecker(self.settings, ttl=FEED_CHECK_SECONDS)

    @contextmanager
    def store(self) -> Iterator[Store]:
        """A store for this request's thread (SQLite connections stay in their thread; a
        PostgreSQL pool is shared)."""
        with self.runtime.session() as store:
            yield store

    def cached(self, key: tuple[Any, ...], make: Callable[[], T], ttl: float | None = None) -> T:
        """`make()` once per key (and again after `ttl` seconds, when given)."""
        now = time.monotonic()
        with self._cache_lock:
            hit = self._cache.get(key)
        if hit is not None and (ttl is None or now - hit[0] < ttl):
            return hit[1]  # type: ignore[no-any-return]
        value = make()
        with self._cache_lock:
            if len(self._cache) > 512:
                self._cache.clear()
            self._cache[key] = (now, value)
        return value

    @property
    def token_required(self) -> bool:
        """Whether write endpoints ask for the token."""
        return self.token is not None
