"""One sync, as `podgrep sync` and the web app's sync button run it: re-check the sources, then
run every pending step. The one place that puts the media cache, the step context and the run
together, so the CLI and the web app cannot drift apart."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from podgrep.config import Settings
from podgrep.domain import Show
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
    ray: str | None = None,
    actors_per_node: int | None = None,
    cpus_per_actor: int = 1,
    only: Callable[[Show], bool] | None = None,
    stop: threading.Event | None = None,
) -> RunSummary:
    """Sync the library in `store`: parked steps back in the queue when `retry` (`on_retry`
    gets how many), every feed re-checked when `refresh` (`on_feed` gets each result, feeds in
    parallel; one sync at a time checks them), then every pending step run once, sharing the
    queue with any other sync or worker on the library: here (downloads run ahead of
    transcription) or, given `ray` (a cluster's address), on actors across the cluster
    (`actors_per_node`, `cpus_per_actor`, see jobs.cluster). `on_phase` hears
    "refreshing" and "working"; `notify` gets the steps' notes for the user. `only` checks
    just the shows it accepts (a scheduled round: those due, see jobs.schedule). Setting `stop`
    ends the run: the step running is given back at its next progress report, and
    jobs.worker.Stopped (a KeyboardInterrupt) is raised, as on Ctrl-C (a web server shutting
    down, see web.sync)."""
    from podgrep.asr.engine import resolve as resolve_model
    from podgrep.fetch import MediaCache
    from podgrep.jobs.local import SyncLock, run_pending
    from podgrep.jobs.steps import StepContext
    from podgrep.library import http_client, refresh_all

    resolve_model(settings.model)  # a wrong name fails now, before any work starts
    # One check of the feeds at a time: the home's file lock, then the store's (another
    # machine syncing the same PostgreSQL library holds that one). A sync started while
    # another checks the feeds waits for that check, then shares the jobs without its own.
    began = time.time()

    def waiting() -> None:
        if notify is not None:
            notify("Another sync is checking the feeds: waiting for it, then sharing the jobs")

    with (
        SyncLock(settings.home / "sync.lock", waiting) as home_lock,
        store.sync_lock(waiting) as waited,
    ):
        if retry:
            n = store.retry_failed()
            if on_retry is not None:
                on_retry(n)
        # skipped only when the other sync did check every feed while this one waited (it
        # may have run with --no-refresh, or stopped half way)
        if refresh and (home_lock.waited or waited) and _checked_since(store, began):
            if notify is not None:
                notify("Another sync just checked the feeds: sharing its jobs")
        elif refresh:
            if on_phase is not None:
                on_phase("refreshing")
            with http_client(settings.http_timeout, settings) as client:
                for result in refresh_all(store, client, only=only):
                    if on_feed is not None:
                        on_feed(result)
    if stop is not None and stop.is_set():  # stopped while the feeds were checked
        from podgrep.jobs.worker import Stopped

        raise Stopped("the sync was stopped before its jobs ran")
    if on_phase is not None:
        on_phase("working")
    from podgrep.retention import apply_all  # a stricter keep_media since: finished episodes

    apply_all(store, settings, notify=notify)
    if ray is not None:
        from podgrep.jobs.cluster import run_on_ray

        return run_on_ray(
            settings,
            store,
            ray,
            reporter,  # type: ignore[arg-type]  # the CLI's ConsoleReporter tells lanes apart
            actors_per_node=actors_per_node,
            cpus_per_actor=cpus_per_actor,
            notify=notify,
        )
    cache = MediaCache.for_settings(settings)
    try:
        ctx = StepContext(store, settings, cache, notify=notify, cancel=stop)
        return run_pending(ctx, reporter)
    finally:
        cache.close()


def _checked_since(store: Store, began: float) -> bool:
    """Whether every feed of the library (paused ones are never checked) was checked (well
    or not) since `began`."""
    return all(
        (show.last_checked or 0) >= began
        for show in store.list_shows()
        if show.kind in ("feed", "playlist") and not show.paused
    )
