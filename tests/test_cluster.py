"""The job queue on a Ray cluster (jobs/cluster.py).

The planning and the store check are pure functions, tried on node entries shaped as
ray.nodes() gives them. The rest runs the real thing: a Ray cluster of this machine with two
CPUs, started by the tests (`ray start --head --block` in a temporary folder of its own, its
processes ended by pid at the end), a real PostgreSQL, real Whisper (tiny.en) and feeds served
over HTTP; `podgrep` runs in subprocesses as a user would run it, and the transcripts must
equal those of a plain local `podgrep sync` of the same feed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray")

import psutil  # type: ignore[import-untyped]  # noqa: E402 - no stubs installed

from podgrep.errors import PodgrepError  # noqa: E402
from podgrep.jobs.cluster import ActorPlan, check_store, plan_actors  # noqa: E402
from podgrep.runtime import open_store  # noqa: E402
from tests.conftest import DATA, WINDOW, Served, invoke  # noqa: E402

RAY = Path(sys.executable).with_name("ray")
WORKER = re.compile(r"^(?P<host>.+):(?P<pid>\d+)/ray-(?P<lane>\d+)$")


# -- planning: node entries as ray.nodes() returns them ------------------------------------


def _node(ip: str, cpus: float, gpus: float = 0, *, alive: bool = True) -> dict[str, Any]:
    resources = {"CPU": cpus, "memory": 8e9, "object_store_memory": 2e9, f"node:{ip}": 1.0}
    if gpus:
        resources["GPU"] = gpus
    return {
        "NodeID": f"id-{ip}",
        "Alive": alive,
        "NodeManagerAddress": ip,
        "NodeManagerHostname": f"host-{ip}",
        "Resources": resources if alive else {},
    }


def test_cpu_node_gets_one_actor_per_cpus_per_actor_cores() -> None:
    node = _node("10.0.0.1", 8)
    assert plan_actors([node], "auto") == [ActorPlan("id-10.0.0.1", "10.0.0.1", 1, 0, "cpu", 1)] * 8
    plans = plan_actors([node], "cpu", cpus_per_actor=3)
    assert plans == [ActorPlan("id-10.0.0.1", "10.0.0.1", 3, 0, "cpu", 3)] * 2  # 8 // 3
    assert plan_actors([_node("10.0.0.2", 2)], "auto", cpus_per_actor=4) == []  # too small


def test_gpu_node_gets_one_cuda_actor_per_gpu() -> None:
    nodes = [_node("10.0.0.1", 16, 2), _node("10.0.0.2", 4)]
    plans = plan_actors(nodes, "auto")
    gpu = [p for p in plans if p.node_ip == "10.0.0.1"]
    assert gpu == [ActorPlan("id-10.0.0.1", "10.0.0.1", 1, 1, "cuda", 1)] * 2
    cpu = [p for p in plans if p.node_ip == "10.0.0.2"]
    assert cpu == [ActorPlan("id-10.0.0.2", "10.0.0.2", 1, 0, "cpu", 1)] * 4
    # device cuda: nodes without a GPU get no actor; device cpu: GPUs are left alone
    assert {p.node_ip for p in plan_actors(nodes, "cuda")} == {"10.0.0.1"}
    assert all(p.device == "cpu" and p.num_gpus == 0 for p in plan_actors(nodes, "cpu"))
    assert len(plan_actors(nodes, "cpu")) == 16 + 4


def test_actors_per_node_overrides_the_count_and_still_fits() -> None:
    nodes = [_node("10.0.0.1", 16, 2), _node("10.0.0.2", 8)]
    plans = plan_actors(nodes, "auto", actors_per_node=3, cpus_per_actor=2)
    by_ip = {ip: [p for p in plans if p.node_ip == ip] for ip in ("10.0.0.1", "10.0.0.2")}
    assert len(by_ip["10.0.0.1"]) == len(by_ip["10.0.0.2"]) == 3
    assert all(p.device == "cuda" for p in by_ip["10.0.0.1"])
    assert all(p.device == "cpu" and p.num_cpus == 2 for p in by_ip["10.0.0.2"])
    # every actor asked for must fit on its node, or Ray would never start it (and the run
    # would wait for it for ever): more actors than GPUs share them, more than cores share them
    for node in nodes:
        res = node["Resources"]
        mine = [p for p in plans if p.node_id == node["NodeID"]]
        assert sum(p.num_gpus for p in mine) <= res.get("GPU", 0) + 1e-9
        assert sum(p.num_cpus for p in mine) <= res["CPU"] + 1e-9
    crowded = plan_actors([_node("10.0.0.3", 2)], "cpu", actors_per_node=4)
    assert len(crowded) == 4 and sum(p.num_cpus for p in crowded) <= 2
    assert all(p.threads == 1 for p in crowded)


def test_dead_nodes_are_ignored() -> None:
    nodes = [_node("10.0.0.1", 4), _node("10.0.0.9", 64, 8, alive=False)]
    assert {p.node_ip for p in plan_actors(nodes, "auto")} == {"10.0.0.1"}
    assert plan_actors([_node("10.0.0.9", 64, 8, alive=False)], "auto") == []


def test_check_store_refuses_sqlite_on_a_cluster_of_other_machines(tmp_path: Path) -> None:
    store = open_store(tmp_path / "podgrep.db")
    try:
        here = "10.0.0.1"
        check_store(store, [_node(here, 4)], here)  # one machine: this one
        check_store(store, [_node(here, 4), _node("10.0.0.2", 4, alive=False)], here)
        with pytest.raises(PodgrepError) as caught:
            check_store(store, [_node(here, 4), _node("10.0.0.2", 4)], here)
        line = str(caught.value)
        assert "\n" not in line
        assert "10.0.0.2" in line and "SQLite" in line and "postgresql://" in line
        with pytest.raises(PodgrepError):  # a cluster of one other machine: not here either
            check_store(store, [_node("10.0.0.2", 4)], here)
    finally:
        store.close()


def test_check_store_accepts_postgresql_anywhere(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        check_store(store, [_node("10.0.0.1", 4), _node("10.0.0.2", 4, 1)], "10.0.0.1")
        check_store(store, [_node("10.0.0.7", 4)], "10.0.0.1")
    finally:
        store.close()


# -- a real Ray cluster of this machine ------------------------------------------------------


@dataclass
class Cluster:
    """A running local Ray cluster: where to reach it and the folder it lives in."""

    address: str
    root: Path
    home: Path  # HOME of its processes (no ~/.ray token of whoever runs the tests)
    pid: int  # `ray start --block`: every process of the cluster descends from it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ray_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "PODGREP_"))}
    env.update(HOME=str(home), RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    return env


def _processes_of(root: Path, starter: int) -> list[psutil.Process]:
    """Every process of the cluster: the starter's descendants and anything that names its
    folder on its command line (Ray's workers and agents do)."""
    found: dict[int, psutil.Process] = {}
    try:
        for p in psutil.Process(starter).children(recursive=True):
            found[p.pid] = p
    except psutil.NoSuchProcess:
        pass
    for p in psutil.process_iter(["cmdline"]):
        with_root = any(str(root) in arg for arg in (p.info.get("cmdline") or []))
        if with_root and p.pid != os.getpid():
            found[p.pid] = p
    return list(found.values())


def _end(procs: list[psutil.Process]) -> None:
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=15)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=15)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """`ray start --head` with 2 CPUs, no GPU and no dashboard, stopped at the end: this
    cluster's processes only (never `ray stop`, which would end everyone's on the machine)."""
    root = Path(tempfile.mkdtemp(prefix="pgray-", dir="/tmp"))  # short: Ray's socket paths
    home = root / "home"
    home.mkdir()
    port = _free_port()
    log = (root / "ray-start.log").open("w+")
    proc = subprocess.Popen(
        [
            str(RAY),
            *f"start --head --block --node-ip-address 127.0.0.1 --port {port} --num-cpus 2"
            " --num-gpus 0 --include-dashboard=false --disable-usage-stats".split(),
            *("--object-store-memory", str(128 * 1024 * 1024), "--temp-dir", str(root / "ray")),
        ],
        env=_ray_env(home),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
    )
    try:
        deadline = time.monotonic() + 180
        while "Ray runtime started" not in (root / "ray-start.log").read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("ray start failed:\n" + (root / "ray-start.log").read_text())
            time.sleep(0.2)
        yield Cluster(f"127.0.0.1:{port}", root, home, proc.pid)
    finally:
        _end(_processes_of(root, proc.pid))
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        _end(_processes_of(root, proc.pid))  # a worker that was starting as the rest went
        log.close()
        shutil.rmtree(root, ignore_errors=True)


# -- feeds, runs and what they leave ---------------------------------------------------------

SHORT = [  # three short, different episodes: both actors get work
    ("Ask Not", "c-jfk", "jfk.flac", "audio/flac"),
    ("Hot Words", "c-hot", "hotwords.mp3", "audio/mpeg"),
    ("Two Voices", "c-stereo", "stereo_diarization.wav", "audio/wav"),
]


@pytest.fixture(scope="module")
def short_feed(served: Served) -> str:
    """A feed of three episodes of 4 to 11 s."""
    for name in ("hotwords.mp3", "stereo_diarization.wav"):
        shutil.copy(DATA / name, served.root / name)
    return served.write_feed("cluster.xml", "Cluster Talk", SHORT)


Segments = dict[str, list[tuple[str, float, float]]]


def _segments(target: str | Path) -> Segments:
    """Per episode guid: the transcript's (text, start, end)."""
    store = open_store(target)
    try:
        found: Segments = {}
        for ep in store.list_episodes():
            assert ep.id is not None
            t = store.transcript_for(ep.id)
            found[ep.guid] = [(s.text, s.start, s.end) for s in (t.segments if t else [])]
        return found
    finally:
        store.close()


def _state(target: str | Path) -> tuple[dict[str, str], set[str]]:
    """(episode status per guid, the workers named in the jobs table)."""
    store = open_store(target)
    try:
        status = {ep.guid: ep.status for ep in store.list_episodes()}
        workers = {j.worker for j in store.jobs() if j.worker}
        return status, workers
    finally:
        store.close()


@pytest.fixture(scope="module")
def short_reference(short_feed: str, tmp_path_factory: pytest.TempPathFactory) -> Segments:
    """The short feed synced the plain way, in this process, into a SQLite library."""
    home = tmp_path_factory.mktemp("plain")
    assert invoke(["add", short_feed], home)[0] == 0
    code, _, err = invoke(["sync"], home)
    assert code == 0, err
    segments = _segments(home / "podgrep.db")
    assert set(segments) == {guid for _, guid, _, _ in SHORT}
    assert segments["c-jfk"] and segments["c-hot"]  # real speech, really transcribed
    return segments


def _podgrep(args: list[str], home: Path, **env: str) -> subprocess.Popen[str]:
    """`python -m podgrep ARGS --home HOME` as a user runs it, in a home of its own."""
    user = home.parent / f"{home.name}-user"
    user.mkdir(exist_ok=True)
    full = _ray_env(user)
    full.update(PODGREP_HOME=str(home), PODGREP_WINDOW_SECONDS=WINDOW, **env)
    return subprocess.Popen(
        [sys.executable, "-m", "podgrep", *args, "--home", str(home)],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(args: list[str], home: Path, timeout: float = 900, **env: str) -> tuple[int, str]:
    """Run podgrep to its end; (exit code, stderr)."""
    proc = _podgrep(args, home, **env)
    try:
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err


def _ray_workers(workers: set[str]) -> set[str]:
    lanes = set()
    for w in workers:
        match = WORKER.match(w)
        assert match, f"worker {w!r} is not host:pid/ray-N"
        lanes.add(f"ray-{match['lane']}")
    return lanes


# -- sync and worker on the cluster ----------------------------------------------------------


def test_sync_on_ray_with_postgres_equals_a_local_sync(
    cluster: Cluster, short_feed: str, short_reference: Segments, pg_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    assert invoke(["--store", pg_url, "add", short_feed], home)[0] == 0
    code, err = _run(["--store", pg_url, "sync", "--ray", cluster.address], home)
    assert code == 0, err
    assert "Traceback" not in err
    status, workers = _state(pg_url)
    assert set(status.values()) == {"indexed"}, status
    # one actor per CPU came up; which of them ran which job is the queue's choice (the test
    # with a killed actor shows them sharing one)
    lanes = _ray_workers(workers)
    assert lanes and lanes <= {"ray-0", "ray-1"}
    for lane in ("ray-0", "ray-1"):
        assert re.search(rf"^note: worker \S+:\d+/{lane} on cpu: model loaded in", err, re.M)
    assert _segments(pg_url) == short_reference
    # progress from the actors reached this process's stderr, one lane each
    assert re.search(r"^transcribing: #\d+ ", err, re.M), err
    assert re.search(r"^  transcribe #\d+: done in ", err, re.M), err
    assert "Sync finished: 3 episode(s) ready to search." in err
    assert not (home / "podgrep.db").exists()  # the library is in PostgreSQL only


def test_worker_on_ray_until_done_finishes_the_queue(
    cluster: Cluster, short_feed: str, short_reference: Segments, pg_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    assert invoke(["--store", pg_url, "add", short_feed], home)[0] == 0
    args = ["--store", pg_url, "worker", "--ray", cluster.address, "--until-done", "--poll", "1"]
    code, err = _run(args, home)
    assert code == 0, err
    assert "Traceback" not in err
    status, workers = _state(pg_url)
    assert set(status.values()) == {"indexed"}, status
    lanes = _ray_workers(workers)
    assert lanes and lanes <= {"ray-0", "ray-1"}
    assert _segments(pg_url) == short_reference
    assert "Worker finished:" in err and "3 episode(s) ready to search." in err


def test_sync_on_ray_with_sqlite_on_a_one_machine_cluster(
    cluster: Cluster, short_feed: str, short_reference: Segments, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    assert invoke(["add", short_feed], home)[0] == 0
    code, err = _run(["sync", "--ray", cluster.address, "--actors", "1"], home)
    assert code == 0, err
    status, workers = _state(home / "podgrep.db")
    assert set(status.values()) == {"indexed"}, status
    assert _ray_workers(workers) == {"ray-0"}
    assert _segments(home / "podgrep.db") == short_reference


def test_actors_that_cannot_load_the_model_stop_the_run_with_one_line(
    cluster: Cluster, short_feed: str, tmp_path: Path
) -> None:
    """`worker` leaves the model to the actors: none can load it, so the run ends with one
    line saying why, and the queue is as it was."""
    home = tmp_path / "home"
    assert invoke(["add", short_feed], home)[0] == 0
    args = ["worker", "--ray", cluster.address, "--until-done", "--model", "no-such-model"]
    code, err = _run(args, home)
    assert code == 1, err
    assert "Traceback" not in err
    [line] = [x for x in err.splitlines() if x.startswith("error:")]
    assert "Every Ray worker failed" in line and "Unknown model 'no-such-model'" in line
    assert re.search(r"^note: \S+/ray-\d cannot work: Unknown model", err, re.M), err
    store = open_store(home / "podgrep.db")
    try:
        jobs = store.jobs()
    finally:
        store.close()
    assert jobs and all(j.state == "pending" and j.attempts == 0 for j in jobs)


# -- an actor killed mid-job -----------------------------------------------------------------


def _transcribing(url: str, guid: str) -> tuple[int, str, int] | None:
    """(pid, worker, episode) of the ray actor transcribing episode `guid` past its first
    window, if one is."""
    try:
        store = open_store(url)
    except Exception:  # noqa: BLE001 - the sync may still be creating the schema
        return None
    try:
        for job in store.running_jobs():
            match = WORKER.match(job.worker or "")
            if job.step != "transcribe" or match is None:
                continue
            if store.get_episode(job.episode_id).guid != guid:
                continue
            t = store.resumable_transcript(job.episode_id, "whisper")
            if t is not None and t.id is not None and store.windows_done(t.id) >= 1:
                return int(match["pid"]), str(job.worker), job.episode_id
        return None
    finally:
        store.close()


def test_actor_killed_mid_transcription_another_takes_over(
    cluster: Cluster, served: Served, library: Path, pg_url: str, tmp_path: Path
) -> None:
    """The feed of the `library` fixture (a 5-minute conversation and an 11 s speech): the
    actor transcribing the conversation is SIGKILLed after its first window; the other actor
    takes the job over (its lease is ended at once: the process is gone) and resumes it, and
    the library ends as the uninterrupted local sync left `library`."""
    home = tmp_path / "home"
    assert invoke(["--store", pg_url, "add", served.url("feed.xml")], home)[0] == 0
    proc = _podgrep(
        ["--store", pg_url, "sync", "--ray", cluster.address], home, PODGREP_LEASE_SECONDS="3"
    )
    victim = None
    try:
        deadline = time.monotonic() + 600
        while victim is None and proc.poll() is None and time.monotonic() < deadline:
            victim = _transcribing(pg_url, "ep-conv-a")
            time.sleep(0.2)
        assert victim is not None, "no actor reached a second window: " + proc.communicate()[1]
        pid, killed, episode = victim
        # the actor's own process, one of this cluster's (Ray renames its workers' processes)
        assert pid in {p.pid for p in psutil.Process(cluster.pid).children(recursive=True)}
        assert psutil.Process(pid).name().startswith("ray::JobActor")
        os.kill(pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    status, workers = _state(pg_url)
    assert set(status.values()) == {"indexed"}, status
    store = open_store(pg_url)
    try:
        [job] = [j for j in store.jobs(episode) if j.step == "transcribe"]
    finally:
        store.close()
    assert job.worker and job.worker != killed  # the other actor finished the transcription
    assert job.attempts >= 2  # the killed attempt, then the one that took it over
    assert _ray_workers(workers) == {"ray-0", "ray-1"}
    assert f"{killed.split('/')[1]} died" in err, err
    assert _segments(pg_url) == _segments(library / "podgrep.db")
