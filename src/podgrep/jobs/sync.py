"""One sync, as `podgrep sync` and the web app's sync button run it: re-check the sources, then
run every pending step. The one place that puts the media cache, the step context and the run
together, so the CLI and the web app cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable

from podgrep.config import Settings
from podgrep.jobs.local import Reporter, RunSummary
from podgrep.library import RefreshResult
from podgrep.store import Store


def run_sync(
    settings: Settings,
    store: Store,
    reporter: Reporter | None = None,
    *,
    retry: bool = False,
    refresh: bool = True,
    on_retry: Callable[[int], None] | None = None,
    on_feed: Callable[[RefreshResult], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> RunSummary:
    """Sync the library in `store` under the sync locks: parked steps back in the queue when
    `retry` (`on_retry` gets how many), every feed re-checked when `refresh` (`on_feed` gets
    each result, feeds in parallel), then every pending step run once. `on_phase` hears
    "refreshing" and "working"; `notify` gets the steps' notes for the user."""
    from podgrep.asr.engine import resolve as resolve_model
    from podgrep.fetch import MediaCache
    from podgrep.jobs.local import SyncLock, run_pending
    from podgrep.jobs.steps import StepContext
    from podgrep.library import http_client, refresh_all

    resolve_model(settings.model)  # a wrong name fails now, before any work starts
    # the home's file lock first, then the store's (another machine syncing the same
    # PostgreSQL library holds that one)
    with SyncLock(settings.home / "sync.lock"), store.sync_lock():
        if retry:
            n = store.retry_failed()
            if on_retry is not None:
                on_retry(n)
        if refresh:
            if on_phase is not None:
                on_phase("refreshing")
            with http_client(settings.http_timeout, settings) as client:
                for result in refresh_all(store, client):
                    if on_feed is not None:
                        on_feed(result)
        if on_phase is not None:
            on_phase("working")
        cache = MediaCache(
            settings.media_dir,
            max_bytes=settings.max_download_mb * 1024 * 1024,
            retries=settings.fetch_retries,
            timeout=settings.http_timeout,
            settings=settings,
        )
        try:
            return run_pending(StepContext(store, settings, cache, notify=notify), reporter)
        finally:
            cache.close()
