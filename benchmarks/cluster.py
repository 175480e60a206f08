"""Audio hours per wall-clock hour with 1 and 2 queue workers on this machine, each worker sized
to one core; where the time goes; and, on paper, 10 and 100 GPU workers.

    python benchmarks/cluster.py [--episodes 8] [--seconds 60] [--workers 1,2] [--repeats 3]
                                 [--store postgresql://user:pw@host/db] [--queue-episodes 200]
                                 [--gpu-rtf 200] [--project 10,100]

A feed of `--episodes` distinct MP3 clips of `--seconds` each (cut from the bundled
conversations, 44.1 kHz stereo at `--bitrate`, as benchmarks/pipeline.py makes them) is served
unthrottled by a LocalServer. Each run is a fresh library (SQLite in a fresh home, or with
`--store URL` a fresh PostgreSQL database created next to the one the URL names, dropped after;
the role needs CREATEDB): `podgrep add FEED`, then K workers started together,

    podgrep worker --until-done --poll P     PODGREP_CPU_THREADS=1 PODGREP_WORKERS=1

which do every step (fetch, transcribe, speakers, index) through the shared queue, until all
have exited. K runs through `--workers` (default 1,2), alternated (1 2 1 2 ...; `--repeats`
rounds, default 3) after an untimed warm-up. Every other setting is podgrep's default; any
PODGREP_* variable in the environment but PODGREP_MODEL_CACHE is dropped.

Each worker is the real `podgrep worker`, started through this script (`--as-worker`), which
wraps, before the CLI runs, every public Store method, the four steps and the three model
loads (WhisperEngine, VoiceEncoder, Embedder) with a timer (a perf_counter pair each; the
outermost store call counts, not the ones it makes inside), and writes the timings to a file
when the worker exits. From those, per worker: start-up (process start to its first claim),
model loads, time in steps, queue time (store calls the worker loop makes outside the steps:
claims, misses included, get_episode, finish_job, job_counts, running_jobs) and idle time (the
rest: waiting for the others at the end, polling); per job (one step of one episode, 4 per
episode): claim_job median/p95 ms, queue ms per job, and the store calls made inside the steps
(add_window per transcription, all of them per job, writes among them).

Separately, queue overhead with no work: a library of `--queue-episodes` episodes (the same
four steps each, same store kind) drained by 1, then 2 processes at once, each running
Worker.drain's loop with steps that do nothing: claim (the same episode's next step first, then
any), get_episode, finish_job; ms per job, median and p95.

Prints PASS/MISS against the issue's targets (>= 1.7x throughput at 2 workers; queue overhead
< 50 ms per job), whether all runs wrote the same transcripts (segment text, start, end of
every episode), the load average before and after, and the model of the projection with its
inputs. Measures, asserts nothing.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

SPAWNED = "PODGREP_BENCH_SPAWNED"  # set by the parent: when it started the worker (epoch s)
SKIP = {"transaction", "sync_lock", "for_thread", "close"}
WRITE_PREFIXES = (
    "add_", "set_", "claim_", "finish_", "fail_", "release_", "renew_", "expire_", "open_",
    "complete_", "drop_", "insert_", "optimize_", "replace_", "save_", "write_", "update_",
    "mark_", "start_", "retry_", "import_", "fill_", "refresh_", "rename_", "unname_", "move_",
    "bulk_", "after_import",
)  # fmt: skip
QUEUE_TARGET_MS = 50.0
SCALING_TARGET = 1.7


def is_write(method: str) -> bool:
    """Whether a store method writes (by its name: add_, set_, claim_, finish_, ...)."""
    return method.startswith(WRITE_PREFIXES)


# -- inside a worker: the real `podgrep worker`, timed ----------------------------------------


def as_worker(stats_path: str, argv: list[str]) -> None:
    """Run podgrep's CLI with `argv`, timing store calls, steps and model loads into
    `stats_path` (JSON) when the process exits."""
    from podgrep.asr.whisper import WhisperEngine
    from podgrep.jobs.steps import STEP_FUNCTIONS
    from podgrep.semantic.embed import Embedder
    from podgrep.speakers.encoder import VoiceEncoder
    from podgrep.store.sqlite import SqliteStore

    classes: list[type] = [SqliteStore]
    try:
        from podgrep.store.postgres import PostgresStore

        classes.append(PostgresStore)
    except ImportError:
        pass
    main_thread = threading.main_thread()
    local = threading.local()
    calls: list[list[Any]] = []  # [method, on main thread, step or "", seconds, got a job]
    steps: list[list[Any]] = []  # [step, episode id, began (epoch s), seconds]
    loads: list[list[Any]] = []  # [model, seconds]
    first_claim: list[float] = []
    lock = threading.Lock()

    def timed_method(name: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if getattr(local, "depth", 0):
                return fn(*args, **kwargs)  # inside another store call: that one counts
            if name == "claim_job" and not first_claim:
                first_claim.append(time.time())
            local.depth = 1
            t0 = time.perf_counter()
            result = None
            try:
                result = fn(*args, **kwargs)
                return result
            finally:
                dt = time.perf_counter() - t0
                local.depth = 0
                on_main = threading.current_thread() is main_thread
                with lock:
                    calls.append(
                        [name, on_main, getattr(local, "step", ""), dt, result is not None]
                    )

        return timed

    for cls in classes:
        for name, fn in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_") or name in SKIP:
                continue
            if inspect.isgeneratorfunction(inspect.unwrap(fn)):
                continue  # generators and context managers: their time is their caller's
            setattr(cls, name, timed_method(name, fn))

    def timed_step(step: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def timed(ctx: Any, ep: Any, progress: Any) -> Any:
            local.step = step
            began, t0 = time.time(), time.perf_counter()
            try:
                return fn(ctx, ep, progress)
            finally:
                local.step = ""
                with lock:
                    steps.append([step, ep.id, began, time.perf_counter() - t0])

        return timed

    for step, step_fn in list(STEP_FUNCTIONS.items()):
        STEP_FUNCTIONS[step] = timed_step(step, step_fn)

    def timed_init(model: str, cls: Any) -> None:
        original = cls.__init__

        @functools.wraps(original)
        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            t0 = time.perf_counter()
            original(self, *args, **kwargs)
            with lock:
                loads.append([model, time.perf_counter() - t0])

        cls.__init__ = init

    timed_init("whisper", WhisperEngine)
    timed_init("voice encoder", VoiceEncoder)
    timed_init("embedder", Embedder)
    imported = time.time()

    def dump() -> None:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        with lock:
            data = {
                "cpu": usage.ru_utime + usage.ru_stime,
                "spawned": float(os.environ.get(SPAWNED, "0") or 0),
                "imported": imported,
                "first_claim": first_claim[0] if first_claim else None,
                "ended": time.time(),
                "calls": calls,
                "steps": steps,
                "loads": loads,
            }
        Path(stats_path).write_text(json.dumps(data), encoding="utf-8")

    atexit.register(dump)
    from podgrep.cli import main as podgrep_main

    sys.argv = ["podgrep", *argv]
    podgrep_main()


if __name__ == "__main__" and sys.argv[1:2] == ["--as-worker"]:
    as_worker(sys.argv[2], sys.argv[3:])
    raise SystemExit(0)

# -- the benchmark -------------------------------------------------------------------------------

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import urllib.parse  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

from pipeline import (  # noqa: E402  # the clips, feeds and checks shared with pipeline.py
    Transcripts,
    clean_env,
    compare,
    load,
    make_clips,
    median_p95,
    podgrep,
    tail,
    transcripts,
    write_feed,
)

from podgrep.domain import Episode, Show  # noqa: E402
from podgrep.runtime import open_store  # noqa: E402
from tests.support.server import LocalServer  # noqa: E402

HOST = socket.gethostname()
WORKER_ENV = {"PODGREP_CPU_THREADS": "1", "PODGREP_WORKERS": "1"}


@contextmanager
def fresh_library(base: str | None, work: Path, label: str) -> Iterator[tuple[Path, str]]:
    """A fresh home and the store URL of a fresh library: SQLite in the home, or a new
    PostgreSQL database beside `base`'s (dropped after)."""
    home = work / "runs" / label
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    if base is None:
        yield home, f"sqlite://{home / 'podgrep.db'}"
        return
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(base)
    name = f"podgrep_bench_{os.getpid()}_{label.replace('-', '_')}"
    url = urllib.parse.urlunsplit(parts._replace(path="/" + name))
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield home, url
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# -- the timed runs ------------------------------------------------------------------------------


@dataclass
class Run:
    """One run of K workers over a fresh library."""

    workers: int
    wall: float  # first worker started → last one exited
    jobs_wall: float  # first worker started → last job finished (from the store)
    cpu: float
    load1: float
    failed: int
    found: Transcripts
    stats: list[dict[str, Any]] = field(default_factory=list)


def run_workers(work: Path, label: str, k: int, feed: str, store: str | None, poll: float) -> Run:
    """A fresh library with the feed added, then `k` timed workers to the end."""
    with fresh_library(store, work, label) as (home, url):
        env = clean_env(**WORKER_ENV, PODGREP_STORE_URL=url)
        add = subprocess.run(
            podgrep("add", feed, "--home", str(home)), env=env, capture_output=True, text=True
        )
        if add.returncode != 0:
            raise SystemExit(f"{label}: podgrep add failed:\n{add.stdout}{add.stderr}")
        logs = work / "logs"
        logs.mkdir(exist_ok=True)
        cmd = ["worker", "--until-done", "--poll", str(poll), "--home", str(home)]
        load1 = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0_epoch, t0 = time.time(), time.perf_counter()
        procs = []
        for i in range(k):
            out, log = logs / f"{label}-w{i}.json", logs / f"{label}-w{i}.log"
            fh = log.open("wb")
            child = {**env, SPAWNED: repr(time.time())}
            argv = [sys.executable, __file__, "--as-worker", str(out), *cmd]
            procs.append((subprocess.Popen(argv, env=child, stdout=fh, stderr=fh), fh, out, log))
        codes = [p.wait() for p, *_ in procs]
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _, fh, _, _ in procs:
            fh.close()
        for code, (_, _, _, log) in zip(codes, procs, strict=True):
            if code not in (0, 3):
                raise SystemExit(f"{label}: a worker exited {code}:\n{tail(log)}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        s = open_store(url)
        try:
            jobs = s.jobs()
        finally:
            s.close()
        failed = sum(j.state != "done" for j in jobs)
        last = max((j.updated for j in jobs), default=t0_epoch)
        found = transcripts(url)
        stats = [json.loads(path.read_text()) for _, _, path, _ in procs if path.exists()]
    shutil.rmtree(home, ignore_errors=True)
    return Run(k, wall, last - t0_epoch, cpu, load1, failed, found, stats)


# -- queue overhead with steps that do nothing -----------------------------------------------


def build_queue_library(url: str, episodes: int) -> None:
    """`episodes` episodes of one show, their four jobs each pending."""
    store = open_store(url)
    try:
        sid, _ = store.add_show(Show(None, "http://127.0.0.1/feed.xml", "Queue"))
        store.add_episodes(
            sid,
            [
                Episode(
                    None,
                    None,
                    f"q{i}",
                    f"Episode {i}",
                    media_url=f"http://127.0.0.1/{i}.mp3",
                    published=1.7e9 + i,
                )  # fmt: skip
                for i in range(episodes)
            ],
        )
    finally:
        store.close()


def _claimer(url: str, barrier: Any, results: Any) -> None:
    """Worker.drain's loop with no-op steps: [(ms per job, ms in claim_job that got it)]."""
    store = open_store(url)
    name = f"{HOST}:{os.getpid()}"
    since = time.time()  # a run started now: nothing has failed since
    out: list[tuple[float, float]] = []
    last: int | None = None
    barrier.wait()
    while True:
        t0 = time.perf_counter()
        claim = None
        if last is not None:  # the same episode's next step first, as Worker.drain does
            claim = store.claim_job(name, 3, 60.0, episode_id=last, failed_before=since)
        t1 = time.perf_counter()
        if claim is None:
            claim = store.claim_job(name, 3, 60.0, failed_before=since)
            took = time.perf_counter() - t1
        else:
            took = t1 - t0
        if claim is None:
            break
        store.get_episode(claim.episode_id)  # Worker.run reads the episode it claimed
        store.finish_job(claim.episode_id, claim.step)
        out.append(((time.perf_counter() - t0) * 1000, took * 1000))
        last = claim.episode_id
    store.close()
    results.put(out)


def queue_overhead(
    store: str | None, work: Path, episodes: int, claimers: int
) -> tuple[list[float], list[float], float]:
    """ms per job and per successful claim_job of `claimers` processes draining a fresh
    library of `episodes` x 4 no-op jobs at once; and the wall s of the drain."""
    ctx = multiprocessing.get_context("fork")
    with fresh_library(store, work, f"queue-{claimers}") as (_, url):
        build_queue_library(url, episodes)
        barrier, results = ctx.Barrier(claimers + 1), ctx.Queue()
        procs = [
            ctx.Process(target=_claimer, args=(url, barrier, results)) for _ in range(claimers)
        ]
        for p in procs:
            p.start()
        barrier.wait()
        t0 = time.perf_counter()
        got = [results.get() for _ in procs]
        wall = time.perf_counter() - t0
        for p in procs:
            p.join()
    per_job = [ms for out in got for ms, _ in out]
    per_claim = [ms for out in got for _, ms in out]
    return per_job, per_claim, wall


# -- summaries -----------------------------------------------------------------------------------


@dataclass
class Breakdown:
    """Where the workers of the runs with K workers spent their time (sums over workers)."""

    workers: int = 0  # worker processes counted
    jobs: int = 0  # steps run
    episodes: int = 0
    lifetime: float = 0.0
    cpu: float = 0.0  # user + sys of the worker processes
    startup: float = 0.0
    steps: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    step_count: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    loads: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    queue: float = 0.0  # store calls on the main thread outside the steps
    background: float = 0.0  # store calls of other threads (lease renewals)
    in_steps: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    in_steps_writes: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    queue_writes: float = 0.0
    add_window: float = 0.0
    claims: list[float] = field(default_factory=list)  # ms of claim_job calls that got a job
    misses: int = 0
    by_method: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def take(self, stats: dict[str, Any]) -> None:
        """Add one worker's timings."""
        self.workers += 1
        end, spawned = stats["ended"], stats["spawned"] or stats["imported"]
        self.lifetime += end - spawned
        self.cpu += stats.get("cpu", 0.0)
        self.startup += (stats["first_claim"] or end) - spawned
        for step, _, _, dt in stats["steps"]:
            self.steps[step] += dt
            self.step_count[step] += 1
            self.jobs += 1
            self.episodes += step == "index"
        for model, dt in stats["loads"]:
            self.loads[model].append(dt)
        for method, on_main, step, dt, hit in stats["calls"]:
            self.by_method[method] += dt
            if not on_main:
                self.background += dt
            elif step:
                self.in_steps[step] += dt
                if is_write(method):
                    self.in_steps_writes[step] += dt
                if method == "add_window":
                    self.add_window += dt
            else:
                self.queue += dt
                if is_write(method):
                    self.queue_writes += dt
            if method == "claim_job" and on_main:
                if hit:
                    self.claims.append(dt * 1000)
                else:
                    self.misses += 1

    @property
    def idle(self) -> float:
        """Lifetime not spent starting, in steps or in the queue's store calls."""
        return self.lifetime - self.startup - sum(self.steps.values()) - self.queue


def ms(seconds: float) -> str:
    """Seconds as milliseconds, for the table."""
    return f"{seconds * 1000:.1f} ms"


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


def main() -> None:  # noqa: C901, PLR0915 - one report, printed in order
    """Run the workers alternately, the queue measurement, and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=8, help="episodes in the library")
    parser.add_argument("--seconds", default="60", help="clip lengths in seconds, cycled")
    parser.add_argument("--bitrate", type=int, default=128_000, help="MP3 bits/s of the clips")
    parser.add_argument("--workers", default="1,2", help="worker counts compared, alternated")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each worker count")
    parser.add_argument("--poll", type=float, default=0.5, help="workers' --poll seconds")
    parser.add_argument("--store", default=None, help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument(
        "--queue-episodes", type=int, default=200, help="episodes of the no-op queue library"
    )
    parser.add_argument(
        "--gpu-rtf", type=float, default=200.0, help="assumed GPU transcription speed (x audio)"
    )
    parser.add_argument("--project", default="10,100", help="GPU worker counts projected")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed first run")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args()
    counts = [int(x) for x in args.workers.split(",") if x.strip()]
    lengths = [float(x) for x in args.seconds.split(",") if x.strip()]
    projected = [int(x) for x in args.project.split(",") if x.strip()]

    work = Path(tempfile.mkdtemp(prefix="podgrep-cluster-"))
    www = work / "www"
    www.mkdir()
    load_before = load()
    clips = make_clips(www, args.episodes, lengths, args.bitrate)
    audio_s = sum(c.seconds for c in clips)
    kind = "PostgreSQL (a fresh database per run)" if args.store else "SQLite (fresh per run)"
    print(
        f"library: {len(clips)} episodes, {audio_s:.0f} s of audio"
        f" ({audio_s / len(clips):.0f} s each on average), {sum(c.size for c in clips) / 1e6:.1f}"
        f" MB of MP3 served unthrottled; store {kind}"
    )
    print(
        f"workers: podgrep worker --until-done --poll {args.poll:g} with"
        " PODGREP_CPU_THREADS=1 PODGREP_WORKERS=1 (one core each), all steps"
    )
    print(f"machine: {os.cpu_count()} cores, load average before {load_before}\n")

    runs: list[Run] = []
    try:
        with LocalServer(www) as srv:
            write_feed(www, "feed.xml", srv.url(""), "Cluster bench", clips)
            write_feed(www, "warm.xml", srv.url(""), "Warm-up", clips[:1])
            if not args.no_warmup:
                t0 = time.perf_counter()
                run_workers(work, "warmup", 1, srv.url("warm.xml"), args.store, args.poll)
                print(f"warm-up (1 worker, 1 episode, untimed): {time.perf_counter() - t0:.1f} s")
            print(
                f"{'run':<14}{'wall s':>8}{'jobs s':>8}{'CPU s':>8}{'CPU use':>9}"
                f"{'audio h/h':>11}{'load1':>7}"
            )
            for i in range(args.repeats):
                for k in counts:
                    label = f"{k}w-{i + 1}"
                    run = run_workers(work, label, k, srv.url("feed.xml"), args.store, args.poll)
                    runs.append(run)
                    note = f"  {run.failed} job(s) not done" if run.failed else ""
                    print(
                        f"{f'{k} worker(s) #{i + 1}':<14}{run.wall:8.2f}{run.jobs_wall:8.2f}"
                        f"{run.cpu:8.2f}{run.cpu / run.wall:9.2f}{audio_s / run.wall:10.1f}x"
                        f"{run.load1:7.2f}{note}",
                        flush=True,
                    )
        queue: dict[int, tuple[list[float], list[float], float]] = {}
        for k in counts:
            queue[k] = queue_overhead(args.store, work, args.queue_episodes, k)
    finally:
        if args.keep:
            print(f"\nwork folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    load_after = load()

    # -- throughput --------------------------------------------------------------------------
    print(f"\nmedians of {args.repeats} run(s) each (wall: first worker started → last exited)")
    print(f"{'workers':<10}{'wall s':>8}{'jobs s':>8}{'CPU use':>9}{'audio h / wall h':>18}")
    through: dict[int, float] = {}
    for k in counts:
        mine = [r for r in runs if r.workers == k]
        wall = statistics.median(r.wall for r in mine)
        jobs = statistics.median(r.jobs_wall for r in mine)
        use = statistics.median(r.cpu / r.wall for r in mine)
        through[k] = audio_s / wall
        print(f"{k:<10}{wall:8.2f}{jobs:8.2f}{use:9.2f}{through[k]:17.1f}")
    base = counts[0]
    for k in counts[1:]:
        ratio = through[k] / through[base]
        target = f" (target >= {SCALING_TARGET}x at 2 workers: {verdict(ratio >= SCALING_TARGET)})"
        print(f"scaling {k} vs {base} worker(s): {ratio:.2f}x{target if k == 2 else ''}")
    same, notes = compare([(f"{r.workers}-worker run", r.found) for r in runs])
    print(
        f"same transcripts (segment text, start, end of {len(clips)} episodes) in all"
        f" {len(runs)} runs: {'yes' if same else 'NO'}"
    )
    for line in notes[:10]:
        print("  " + line)

    # -- where the time goes -----------------------------------------------------------------
    parts: dict[int, Breakdown] = {}
    for k in counts:
        b = Breakdown()
        for r in runs:
            if r.workers == k:
                for st in r.stats:
                    b.take(st)
        parts[k] = b
    print("\nwhere the time goes, per worker (mean over the workers of all runs with K workers)")
    header = f"{'':34}" + "".join(f"{f'K={k}':>12}" for k in counts)
    print(header)

    def row(label: str, values: list[str]) -> None:
        print(f"{label:<34}" + "".join(f"{v:>12}" for v in values))

    def per_worker(fn: Any) -> list[str]:
        return [f"{fn(parts[k]) / max(parts[k].workers, 1):.2f} s" for k in counts]

    row("lifetime (start → exit)", per_worker(lambda b: b.lifetime))
    row("  CPU (user + sys) in it", per_worker(lambda b: b.cpu))
    row("  start-up (→ first claim)", per_worker(lambda b: b.startup))
    for step in ("fetch", "transcribe", "speakers", "index"):
        row(f"  {step} steps", per_worker(lambda b, s=step: b.steps.get(s, 0.0)))
    row("  queue store calls", per_worker(lambda b: b.queue))
    row("  idle (tail, polling)", per_worker(lambda b: b.idle))
    for model in ("whisper", "voice encoder", "embedder"):
        row(
            f"model load: {model} (in steps)",
            [
                f"{statistics.median(parts[k].loads[model]):.2f} s"
                if parts[k].loads[model]
                else "-"
                for k in counts
            ],
        )
    row("lease renewals (other thread)", per_worker(lambda b: b.background))

    print("\nper job (a job: one step of one episode; 4 per episode)")
    print(header)
    claims = {k: median_p95(parts[k].claims) for k in counts}
    row("claim_job that got a job, median", [f"{claims[k][0]:.1f} ms" for k in counts])
    row("claim_job that got a job, p95", [f"{claims[k][1]:.1f} ms" for k in counts])
    row("claims that found nothing", [str(parts[k].misses) for k in counts])
    row("queue store calls / job", [ms(parts[k].queue / max(parts[k].jobs, 1)) for k in counts])
    row(
        "  of which writes / job",
        [ms(parts[k].queue_writes / max(parts[k].jobs, 1)) for k in counts],
    )
    row(
        "add_window / transcription",
        [ms(parts[k].add_window / max(parts[k].step_count["transcribe"], 1)) for k in counts],
    )
    row(
        "store calls in steps / job",
        [ms(sum(parts[k].in_steps.values()) / max(parts[k].jobs, 1)) for k in counts],
    )
    row(
        "  of which writes / job",
        [ms(sum(parts[k].in_steps_writes.values()) / max(parts[k].jobs, 1)) for k in counts],
    )
    for step in ("fetch", "transcribe", "speakers", "index"):
        row(
            f"  in {step} (per step)",
            [ms(parts[k].in_steps[step] / max(parts[k].step_count[step], 1)) for k in counts],
        )
    top = sorted(parts[base].by_method.items(), key=lambda kv: -kv[1])[:6]
    episodes_base = max(parts[base].episodes, 1)
    print(
        f"  costliest store methods (K={base}, per episode): "
        + ", ".join(f"{m} {ms(t / episodes_base)}" for m, t in top)
    )

    print(
        f"\nqueue overhead with no work: {args.queue_episodes} episodes x 4 jobs, each process"
        " running Worker.drain's loop (claim, get_episode, finish_job) with no-op steps"
    )
    print(
        f"{'claimers':<10}{'jobs':>7}{'median ms':>11}{'p95 ms':>9}{'claim p50':>11}{'jobs/s':>9}"
    )
    for k in counts:
        per_job, per_claim, wall = queue[k]
        med, p95 = median_p95(per_job)
        print(
            f"{k:<10}{len(per_job):>7}{med:11.2f}{p95:9.2f}{median_p95(per_claim)[0]:11.2f}"
            f"{len(per_job) / wall:9.0f}"
        )
    top_k = counts[-1]
    noop_p95 = median_p95(queue[top_k][0])[1]
    real = parts[top_k].queue / max(parts[top_k].jobs, 1) * 1000
    print(
        f"target queue overhead < {QUEUE_TARGET_MS:.0f} ms per job: no-op p95 at {top_k}"
        f" claimer(s) {noop_p95:.1f} ms {verdict(noop_p95 < QUEUE_TARGET_MS)}; in the real runs"
        f" at {top_k} worker(s) {real:.1f} ms {verdict(real < QUEUE_TARGET_MS)}"
    )

    # -- on paper ----------------------------------------------------------------------------
    b1 = parts[base]
    eps = max(b1.episodes, 1)
    length = audio_s / len(clips)
    t_gpu = length / args.gpu_rtf
    other = sum(
        b1.steps.get(s, 0.0) - b1.in_steps.get(s, 0.0) for s in ("fetch", "speakers", "index")
    )
    loads_in_other = sum(sum(b1.loads[m]) for m in ("voice encoder", "embedder"))
    t_other = (other - loads_in_other) / eps  # a model loads once per worker: left out
    q = b1.queue / eps
    w = sum(b1.in_steps.values()) / eps
    q_w = b1.queue_writes / eps
    w_w = sum(b1.in_steps_writes.values()) / eps
    s_all = q + w
    s_w = q_w + w_w
    cycle = t_gpu + t_other + q + w
    cpu_transcribe = (
        b1.steps.get("transcribe", 0.0)
        - b1.in_steps.get("transcribe", 0.0)
        - sum(b1.loads["whisper"])
    ) / eps
    claims_per_ep = (len(b1.claims) + b1.misses) / eps
    claim_s = b1.by_method.get("claim_job", 0.0) / eps  # hits and misses
    print(
        f"\non paper: N GPU workers (inputs measured in the {base}-worker runs, per episode of"
        f" {length:.0f} s of audio)"
    )
    terms: list[tuple[str, float, float | None]] = [
        (
            f"T_gpu    transcription on one GPU: {length:.0f} s / {args.gpu_rtf:g}x (ASSUMED,"
            f" --gpu-rtf; one core here: {cpu_transcribe:.2f} s)",
            t_gpu,
            None,
        ),
        ("T_other  fetch + speakers + index, off the store, no model loads", t_other, None),
        ("q        queue store calls (claims, finish_job, get_episode, ...)", q, q_w),
        ("w        store calls inside the steps (add_window, set_*, indexing)", w, w_w),
    ]
    for label, value, writes in terms:
        extra = f"  (writes {writes:.3f} s)" if writes is not None else ""
        print(f"  {label:<88}{value:7.3f} s{extra}")
    print(f"  per worker, one episode every T = T_gpu + T_other + q + w = {cycle:.3f} s")
    print(
        f"  the store serializes writes (SQLite: one writer at a time; PostgreSQL: pessimistic):"
        f" S = writes of q + w = {s_w:.3f} s per episode ({s_all:.3f} s counting reads too)"
    )
    print("  throughput(N) = min(N / T, 1 / S) episodes/s; audio h per wall h = that x length")
    n_sat = cycle / s_w if s_w > 0 else float("inf")
    n_sat_all = cycle / s_all if s_all > 0 else float("inf")
    n_claims = cycle / claim_s if claim_s > 0 else float("inf")
    for n in projected:
        ideal = n * length / cycle
        cap = length / s_w if s_w > 0 else float("inf")
        got = min(ideal, cap)
        limit = "store" if cap < ideal else "workers"
        print(
            f"  N = {n:>4}: workers alone {ideal:9.0f} audio h/h, store cap {cap:9.0f}"
            f" → {got:9.0f} audio h/h ({limit}-bound)"
        )
    print(
        f"  first to saturate: the store, at N* = T / S ≈ {n_sat:.0f} workers ({n_sat_all:.0f}"
        f" if its reads serialized too); claims alone ({claims_per_ep:.1f} per episode,"
        f" {claim_s * 1000:.1f} ms in all) would cap at {n_claims:.0f} workers"
    )
    print(
        "  (not modelled: model loads, once per worker (above); the media source's bandwidth;"
        " index maintenance growing with the library; a GPU host's CPU for T_other)"
    )
    print(f"\nload average before {load_before}, after {load_after}")


if __name__ == "__main__":
    main()
