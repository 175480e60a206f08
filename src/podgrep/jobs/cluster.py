"""The job queue on a Ray cluster: actors that each load the models once and pull jobs from
the shared store, as local workers do.

Each actor is a worker (jobs/worker.py) in a process of its own on some node of the cluster:
it opens the library's store, loads the Whisper model once, then claims jobs, keeping each
episode's steps (fetch, transcribe, speakers, index) on itself so its media lands in its own
node's cache (or the shared `media_path`, when one is configured). Ray only places the actors
and carries their progress back: the queue, leases, retries and the results live in the store,
so an actor (or a node) that dies loses nothing but its lease.

Resources: on a node with GPUs (and `device` auto or cuda) one actor per GPU asks Ray for
`num_gpus=1`; elsewhere one actor per `cpus_per_actor` cores asks for that many CPUs, and its
engine runs one model replica with that many threads. `actors_per_node` overrides the count.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from podgrep.config import Settings
from podgrep.domain import Episode
from podgrep.errors import PodgrepError
from podgrep.jobs.worker import RunSummary
from podgrep.store import Store

ADVANCE_EVERY = 0.25  # seconds between progress reports an actor sends per step


class KeyedReporter(Protocol):
    """A reporter that tells lanes apart by key (progress.ConsoleReporter is one)."""

    def start(self, ep: Episode, step: str, key: Hashable | None = None) -> None: ...
    def advance(self, done: float, total: float | None, key: Hashable | None = None) -> None: ...
    def finish(
        self, ep: Episode, step: str, error: str | None, key: Hashable | None = None
    ) -> None: ...


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise PodgrepError(
            "Ray is not installed: pip install 'podgrep[ray]' (on every node of the cluster)"
        ) from None
    return ray


def connect(address: str) -> Any:
    """Join the Ray cluster at `address` ("auto": the one `ray start` runs on this machine;
    "local": start one of this machine alone); return the ray module."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": True}
    try:
        if address == "local":
            ray.init(include_dashboard=False, **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise PodgrepError(
            f"Could not join the Ray cluster at {address!r} ({exc}): start one with"
            " `ray start --head` and give its address (or `auto` on one of its nodes)"
        ) from None
    return ray


@dataclass(frozen=True)
class ActorPlan:
    """One actor to start: where, with what resources, on which device."""

    node_id: str
    node_ip: str
    num_cpus: float
    num_gpus: float
    device: str  # cpu | cuda
    threads: int  # the engine's CPU threads


def plan_actors(
    nodes: list[dict[str, Any]],
    device: str,
    *,
    actors_per_node: int | None = None,
    cpus_per_actor: int = 1,
) -> list[ActorPlan]:
    """The actors each live node gets, from its resources (ray.nodes() entries)."""
    plans: list[ActorPlan] = []
    cpus_per_actor = max(1, cpus_per_actor)
    for node in nodes:
        if not node.get("Alive", False):
            continue
        res = node.get("Resources", {})
        cpus, gpus = float(res.get("CPU", 0)), float(res.get("GPU", 0))
        node_id, ip = str(node["NodeID"]), str(node.get("NodeManagerAddress", "?"))
        if device != "cpu" and gpus >= 1:
            count = actors_per_node or int(gpus)
            plans += [ActorPlan(node_id, ip, 1, 1, "cuda", 1)] * count
        elif device == "cuda":
            continue  # asked for CUDA: nodes without a GPU get no actor
        else:
            count = actors_per_node or int(cpus // cpus_per_actor)
            each = min(float(cpus_per_actor), cpus) if cpus else 0
            plans += [ActorPlan(node_id, ip, each, 0, "cpu", cpus_per_actor)] * count
    return plans


def check_store(store: Store, nodes: list[dict[str, Any]], here: str) -> None:
    """Refuse SQLite on a cluster of more than this machine: its file is on this disk."""
    if store.kind != "sqlite":
        return
    alive = [n for n in nodes if n.get("Alive", False)]
    others = sorted({str(n.get("NodeManagerAddress")) for n in alive} - {here})
    if others:
        raise PodgrepError(
            f"The Ray cluster has {len(alive)} nodes ({', '.join(others)} besides this one),"
            f" but the library is a SQLite file on this machine ({store.location}): use a"
            " store every node reaches, --store postgresql://user@host/dbname"
        )


class _ActorReporter:
    """An actor's reporter: sends (kind, worker, …) events to the driver's queue."""

    def __init__(self, events: Any, worker: str) -> None:
        self.events = events
        self.worker = worker
        self._last = 0.0

    def _put(self, event: tuple[Any, ...]) -> None:
        with contextlib.suppress(Exception):  # a full or lost queue costs a bar, never the job
            self.events.put_nowait(event)

    def start(self, ep: Episode, step: str) -> None:
        self._last = 0.0
        self._put(("start", self.worker, ep.id, step))

    def advance(self, done: float, total: float | None) -> None:
        now = time.monotonic()
        if now - self._last >= ADVANCE_EVERY:
            self._last = now
            self._put(("advance", self.worker, done, total))

    def finish(self, ep: Episode, step: str, error: str | None) -> None:
        self._put(("finish", self.worker, ep.id, step, error))


class JobActor:
    """A worker in a Ray actor: the store, the media cache and the models, loaded once."""

    def __init__(self, settings: Settings, lane: str, events: Any) -> None:
        from podgrep.fetch import MediaCache
        from podgrep.jobs.steps import StepContext
        from podgrep.jobs.worker import worker_id
        from podgrep.runtime import open_store

        self.settings = settings
        self.lane = lane
        self.name = worker_id(lane)
        self.events = events
        self.stop_event = threading.Event()
        self.store = open_store(settings.store)
        self.cache = MediaCache(
            settings.media_dir,
            max_bytes=settings.max_download_mb * 1024 * 1024,
            retries=settings.fetch_retries,
            timeout=settings.http_timeout,
            settings=settings,
        )
        self.ctx = StepContext(self.store, settings, self.cache, notify=self._note)
        began = time.monotonic()
        self.ctx.engine(settings.model)  # the model, loaded once for every job this actor runs
        self.load_seconds = time.monotonic() - began

    def _note(self, line: str) -> None:
        with contextlib.suppress(Exception):  # a note is not worth a job
            self.events.put_nowait(("note", self.name, line))

    def ready(self) -> dict[str, Any]:
        """Who and where this actor is, and how long its model took to load."""
        import socket

        return {
            "worker": self.name,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "load_seconds": self.load_seconds,
            "device": self.settings.device,
        }

    def run(self, until_done: bool, poll_seconds: float) -> dict[str, Any]:
        """Claim and run jobs (see jobs.worker.work); the summary as plain data."""
        from podgrep.jobs.worker import work

        summary = work(
            self.ctx,
            _ActorReporter(self.events, self.name),
            lane=self.lane,
            until_done=until_done,
            poll_seconds=poll_seconds,
            stop=self.stop_event,
        )
        return {
            "steps_done": summary.steps_done,
            "episodes_done": summary.episodes_done,
            "failures": summary.failures,
        }

    def stop(self) -> None:
        """Stop after the step running now (its result is kept)."""
        self.stop_event.set()


def run_on_ray(
    settings: Settings,
    store: Store,
    address: str,
    reporter: KeyedReporter | None = None,
    *,
    until_done: bool = True,
    actors_per_node: int | None = None,
    cpus_per_actor: int = 1,
    poll_seconds: float = 2.0,
    notify: Any = None,
) -> RunSummary:
    """Start the actors the cluster's nodes have room for and run the queue on them: until
    nothing is left (`until_done`, as `sync --ray`) or until interrupted (`worker --ray`).
    Progress comes back to `reporter` as each actor's own bar."""
    ray = connect(address)
    from ray.util.queue import Queue
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = ray.nodes()
    check_store(store, nodes, ray.util.get_node_ip_address())
    plans = plan_actors(
        nodes, settings.device, actors_per_node=actors_per_node, cpus_per_actor=cpus_per_actor
    )
    if not plans:
        raise PodgrepError(
            f"The Ray cluster at {address!r} has no node with room for a worker"
            f" (device {settings.device}, {cpus_per_actor} CPU(s) each)"
        )
    events = Queue(maxsize=10_000)
    remote = ray.remote(JobActor)
    actors = []
    for i, plan in enumerate(plans):
        actor_settings = replace(
            settings, device=plan.device, cpu_threads=plan.threads, workers=1,
            fetch_ahead=0,
        )  # fmt: skip
        actors.append(
            remote.options(
                num_cpus=plan.num_cpus,
                num_gpus=plan.num_gpus,
                max_concurrency=2,  # stop() reaches an actor while run() works
                scheduling_strategy=NodeAffinitySchedulingStrategy(plan.node_id, soft=False),
            ).remote(actor_settings, f"ray-{i}", events)
        )
    summary = RunSummary()
    try:
        ready = ray.get([a.ready.remote() for a in actors])
        if notify is not None:
            for r in ready:
                notify(
                    f"worker {r['worker']} on {r['device']}: model loaded in"
                    f" {r['load_seconds']:.1f} s"
                )
        runs = [a.run.remote(until_done, poll_seconds) for a in actors]
        pending = list(runs)
        titles: dict[int, Episode] = {}
        current: dict[str, tuple[Episode, str]] = {}
        while pending:
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=0.2)
            _drain(events, store, reporter, notify, titles, current)
        _drain(events, store, reporter, notify, titles, current)
        for result in ray.get(runs):
            summary.steps_done += int(result["steps_done"])
            summary.episodes_done += list(result["episodes_done"])
            summary.failures += [tuple(f) for f in result["failures"]]
    except KeyboardInterrupt:
        for a in actors:
            a.stop.remote()
        raise
    finally:
        for a in actors:
            ray.kill(a)
    return summary


def _drain(
    events: Any,
    store: Store,
    reporter: KeyedReporter | None,
    notify: Any,
    titles: dict[int, Episode],
    current: dict[str, tuple[Episode, str]],
) -> None:
    """Hand the actors' queued events to the reporter, each actor's as its own lane."""
    while True:
        try:
            event = events.get_nowait()
        except Exception:  # noqa: BLE001 - ray.util.queue.Empty: nothing more for now
            return
        kind, worker = event[0], event[1]
        if kind == "note":
            if notify is not None:
                notify(f"{worker}: {event[2]}")
            continue
        if reporter is None:
            continue
        if kind == "start":
            episode_id, step = int(event[2]), str(event[3])
            if episode_id not in titles:
                titles[episode_id] = store.get_episode(episode_id)
            current[worker] = (titles[episode_id], step)
            reporter.start(titles[episode_id], step, key=worker)
        elif kind == "advance" and worker in current:
            reporter.advance(float(event[2]), event[3], key=worker)
        elif kind == "finish" and worker in current:
            ep, step = current.pop(worker)
            reporter.finish(ep, step, event[4], key=worker)
