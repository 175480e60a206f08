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
import math
import os
import re
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
        if _needs_token(exc):
            raise PodgrepError(
                f"The Ray cluster at {address!r} refused to let this process in: it uses token"
                " authentication; set RAY_AUTH_MODE=token and give this machine the cluster's"
                " token (RAY_AUTH_TOKEN, or the file ~/.ray/auth_token)"
            ) from None
        raise PodgrepError(
            f"Could not join the Ray cluster at {address!r} ({exc}): start one with"
            " `ray start --head` and give its address (or `auto` on one of its nodes)"
        ) from None
    return ray


def _needs_token(exc: BaseException | None) -> bool:
    """Whether joining failed because the cluster wants an authentication token (Ray says so
    only deep in the chain of errors it raises)."""
    seen = 0
    while exc is not None and seen < 10:
        if "AuthenticationError" in type(exc).__name__ or "InvalidAuthToken" in str(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


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
    """The actors each live node gets, from its resources (ray.nodes() entries).

    `actors_per_node` overrides the count; more actors than a node has GPUs (or cores) share
    them, each asking for its part, so that every actor asked for fits on its node (Ray never
    starts one that does not, and the run would wait for it). A node without CPUs (a head
    started with `--num-cpus 0`, to keep work off it) gets no actor."""
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
            each_gpu = 1.0 if count <= gpus else _share(gpus, count)
            each_cpu = min(1.0, _share(cpus, count))
            plans += [ActorPlan(node_id, ip, each_cpu, each_gpu, "cuda", 1)] * count
        elif device == "cuda" or cpus <= 0:
            continue  # asked for CUDA, nodes without a GPU get none; nor do nodes without CPUs
        else:
            fit = int(cpus // cpus_per_actor)
            count = actors_per_node or fit
            if count <= fit:
                each, threads = float(cpus_per_actor), cpus_per_actor
            else:  # more actors than the node has room for at cpus_per_actor: they share it
                each = _share(cpus, count)
                threads = max(1, int(each))
            plans += [ActorPlan(node_id, ip, each, 0, "cpu", threads)] * count
    return plans


def _share(total: float, count: int) -> float:
    """`total` split `count` ways, rounded down to Ray's resource granularity (1/10000) so
    that the parts never add up to more than the whole."""
    return math.floor(total / count * 10_000) / 10_000


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
        self._put(("start", self.worker, ep, step))  # the episode itself: the driver's bar
        # needs its title, and the driver reads nothing from the store while the run goes on

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
        from podgrep.runtime import open_store, store_kind

        if not settings.media_path and store_kind(settings.store) == "postgresql":
            # the cache of this node, not the path of the machine that started the actors
            # (unless `media_path` names a folder every node shares)
            from podgrep.config import default_home

            settings = replace(settings, media_path=str(default_home() / "media"))
        self.settings = settings
        self.lane = lane
        self.name = worker_id(lane)
        self.events = events
        self.stop_event = threading.Event()
        self.error: str | None = None  # why this actor cannot work (its one line), if it cannot
        self.load_seconds = 0.0
        try:
            self.store = open_store(settings.store)
            self.cache = MediaCache.for_settings(settings)
            self.ctx = StepContext(self.store, settings, self.cache, notify=self._note)
            began = time.monotonic()
            self.ctx.engine(settings.model)  # the model, loaded once for every job it runs
            self.load_seconds = time.monotonic() - began
        except PodgrepError as exc:  # a store this node cannot reach, a model it cannot load
            self.error = str(exc)

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
            "error": self.error,
        }

    def run(self, until_done: bool, poll_seconds: float) -> dict[str, Any]:
        """Claim and run jobs (see jobs.worker.work); the summary as plain data."""
        from podgrep.jobs.steps import StepContext
        from podgrep.jobs.worker import work

        if self.error is not None:
            return {"steps_done": 0, "episodes_done": [], "failures": []}
        # Ray runs this method in a thread of its own (the actor is threaded, for stop()), not
        # the one __init__ ran in: the store gets a connection of this thread (SQLite's may
        # not cross threads); the models loaded in __init__ are kept
        store = self.store.for_thread()
        ctx = StepContext(store, self.settings, self.cache, notify=self._note)
        ctx.engine = self.ctx.engine
        try:
            summary = work(
                ctx,
                _ActorReporter(self.events, self.name),
                lane=self.lane,
                until_done=until_done,
                poll_seconds=poll_seconds,
                stop=self.stop_event,
            )
        finally:
            if store is not self.store:
                store.close()
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
    # the queue's own actor asks for no CPU: the workers may take every core there is
    events = Queue(maxsize=10_000, actor_options={"num_cpus": 0})
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
    try:
        return _supervise(ray, actors, events, reporter, notify, until_done, poll_seconds)
    except KeyboardInterrupt:
        for a in actors:
            with contextlib.suppress(Exception):
                a.stop.remote()
        raise
    finally:
        for a in actors:
            with contextlib.suppress(Exception):
                ray.kill(a)
        with contextlib.suppress(Exception):
            events.shutdown(force=True)


def _supervise(
    ray: Any,
    actors: list[Any],
    events: Any,
    reporter: KeyedReporter | None,
    notify: Any,
    until_done: bool,
    poll_seconds: float,
) -> RunSummary:
    """Start every actor's run as it comes up and follow them to their end: each actor's
    progress to the reporter, each loaded model and each death to `notify`. An actor that dies
    (its process killed, its node lost) leaves its job to the others, which take it over once
    its lease ends; only when every actor failed is the run an error. With `until_done`, actors
    the cluster never placed are not waited for once the others have emptied the queue."""
    lanes = [f"ray-{i}" for i in range(len(actors))]
    readies = {a.ready.remote(): i for i, a in enumerate(actors)}
    runs = {a.run.remote(until_done, poll_seconds): i for i, a in enumerate(actors)}
    names: dict[int, str] = {}  # actor -> its worker name ("host:pid/ray-N"), once it is up
    started: set[int] = set()
    ended: dict[int, dict[str, Any]] = {}  # actor -> the summary its run handed back
    dead: dict[int, str] = {}  # actor -> why it died (or could not start)
    # what the driver heard each actor finish (its events): the count of an actor that died
    # before it could hand its own summary back
    tallies: dict[str, RunSummary] = {}
    current: dict[str, tuple[Episode, str]] = {}

    def died(i: int, exc: BaseException) -> None:
        if i in dead or i in ended:
            return
        dead[i] = why = _reason(exc)
        if notify is None:
            return
        name = names.get(i, lanes[i])
        if isinstance(exc, ray.exceptions.RayActorError):  # its process or node is gone
            notify(
                f"{name} died ({why}): a job it held is taken over by another worker once"
                " its lease runs out"
            )
        else:  # its run raised: the worker gave its job back or recorded the failure
            notify(f"{name} stopped: {why}")

    while runs:
        refs = list(readies) + list(runs)
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=0.2)
        for ref in done:
            if ref in readies:
                i = readies.pop(ref)
                try:
                    info = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    died(i, exc)
                    continue
                names[i] = str(info["worker"])
                if info.get("error"):
                    dead[i] = str(info["error"])
                    if notify is not None:
                        notify(f"{names[i]} cannot work: {info['error']}")
                    continue
                started.add(i)
                if notify is not None:
                    notify(
                        f"worker {names[i]} on {info['device']}: model loaded in"
                        f" {info['load_seconds']:.1f} s"
                    )
            else:
                i = runs.pop(ref)
                try:
                    ended[i] = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    died(i, exc)
        _drain(events, reporter, notify, current, tallies)
        for i, why in dead.items():  # a dead actor's bar ends where it got to (it sends no more)
            for worker in [w for w in current if w.endswith(f"/{lanes[i]}")]:
                ep, step = current.pop(worker)
                if reporter is not None:
                    reporter.finish(ep, step, f"{worker} died: {why}", key=worker)
        waiting = [i for i in runs.values() if i not in started and i not in dead]
        finished = {i for i in ended if i not in dead}
        if until_done and finished and started <= finished | set(dead) and waiting:
            # the actors that ran have emptied the queue: those still waiting for room on the
            # cluster (or still loading their model) have nothing left to do, stop them
            for i in waiting:
                with contextlib.suppress(Exception):
                    ray.kill(actors[i])
            break
    _drain(events, reporter, notify, current, tallies)
    working = {i: r for i, r in ended.items() if i not in dead}
    if dead and not working:
        first = next(iter(dead.values()))
        raise PodgrepError(
            f"Every Ray worker failed ({len(dead)}; the first: {first}): the jobs they held go"
            " back to the queue when their leases run out; fix the cause and run again"
        )
    summary = RunSummary()
    for result in working.values():
        summary.steps_done += int(result["steps_done"])
        summary.episodes_done += list(result["episodes_done"])
        summary.failures += [tuple(f) for f in result["failures"]]
    for i in dead:  # what a dead actor finished before it died, as its events told it
        for worker, tally in tallies.items():
            if not worker.endswith(f"/{lanes[i]}"):
                continue
            summary.steps_done += tally.steps_done
            summary.episodes_done += tally.episodes_done
            summary.failures += tally.failures
    return summary


def _reason(exc: BaseException) -> str:
    """The line that says why an actor died: the error its __init__ raised (the last line of
    the traceback Ray carries), else the first line of Ray's own account."""
    text = str(exc)
    raised = re.findall(r"^[\w.]+(?:Error|Exception|Exit|Interrupt)\w*: (.+)$", text, re.M)
    if raised:
        return raised[-1].strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _drain(
    events: Any,
    reporter: KeyedReporter | None,
    notify: Any,
    current: dict[str, tuple[Episode, str]],
    tallies: dict[str, RunSummary],
) -> None:
    """Hand the actors' queued events to the reporter, each actor's as its own lane, and
    count the steps each actor finished."""
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
        if kind == "start":
            ep, step = event[2], str(event[3])
            current[worker] = (ep, step)
            if reporter is not None:
                reporter.start(ep, step, key=worker)
        elif kind == "advance" and worker in current:
            if reporter is not None:
                reporter.advance(float(event[2]), event[3], key=worker)
        elif kind == "finish" and worker in current:
            ep, step = current.pop(worker)
            error = event[4]
            if ep.id is not None:
                tally = tallies.setdefault(worker, RunSummary())
                if error is None:
                    tally.done(ep.id, step)
                else:
                    tally.failed(ep.id, step, str(error))
            if reporter is not None:
                reporter.finish(ep, step, error, key=worker)
