"""Start-up (issue 16): how long until `podgrep transcribe` has its first window decoded, and
until `podgrep sync` has the first searchable segment of a new episode, as whole processes.

    python benchmarks/startup.py [--runs 3] [--file tests/data/conversation_a.mp3]
                                 [--skip-sync] [--skip-transcribe] [--json-out PATH]
                                 [--word podcast] [--stop-after-hit] [--env KEY=VALUE ...]

Each round runs every part once, one after another (A B C D, A B C D, ...), after one untimed
warm-up of each part; at the end the medians of the rounds are printed.

  baselines    `python -c pass` (the interpreter alone), `python -c "import podgrep.cli"` (the
               CLI's imports) and `podgrep --help` (imports plus Typer building the CLI): wall s
               from spawn to exit
  transcribe   `podgrep transcribe FILE --language en -f json -o OUT --home TMP --timings`
               (FILE: `--file`, default tests/data/conversation_a.mp3; a fresh TMP each run).
               From its `timings: {json}` stderr line: `startup` (process start to the model
               loaded), `first_batch` (to the first batch of chunks decoded), `first_window` (to
               the first window of segments returned), `total`; and the harness's own wall s
               from spawn to exit. The busy seconds per phase (plan, features, encode,
               first_pass, retries, reread, align, language, model_load) are printed too.
  sync         a one-episode feed (tests/data/conversation_a.mp3, 5 min, as its enclosure) on
               a local unthrottled HTTP server (tests/support/server.py's LocalServer, as
               benchmarks/pipeline.py serves its feeds). Each run: a fresh home, `podgrep add
               FEED --home H` (untimed), then `podgrep sync --home H` timed from spawn while the
               library (H/podgrep.db) is polled read-only every 50 ms: the first row in
               `segments`, the first FTS5 match of `--word` (a word of the episode's first turn
               in tests/data/conversation_a.truth.json) in `segments_fts`, queried as podgrep's
               search does; then `podgrep search WORD --json --mode keyword --limit 1 --home H`
               is run once (while the sync goes on) to confirm the hit is searchable: its exit
               is the "search hit" moment. After the sync: when the feed was checked
               (shows.last_checked), when the fetch and transcribe jobs started
               (jobs.started) and when the fetch ended (jobs.updated), all as s after spawn;
               and the sync's wall s. `--stop-after-hit` ends the sync (SIGTERM) once the hit
               is confirmed: shorter runs, no sync total.

Every child gets this environment without any PODGREP_* variable, but PODGREP_MODEL_CACHE: a
folder under this run's temp root (or `--model-cache`), the same for every run, so that the
bundled model is joined once, in the warm-up; `--env KEY=VALUE` adds settings to every child
(e.g. `--env PODGREP_WINDOW_SECONDS=60`). The 1-minute load average is printed before and
after each run. The search confirmation and the 50 ms polling share the machine with the sync
(a little CPU). Measures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from pipeline import ROOT, Clip, clean_env, load, tail, write_feed  # noqa: E402

from podgrep.query import parse_query  # noqa: E402
from podgrep.store.sqlite import fts  # noqa: E402
from tests.support.server import LocalServer  # noqa: E402

DATA = ROOT / "tests" / "data"
EPISODE = DATA / "conversation_a.mp3"
TRUTH = DATA / "conversation_a.truth.json"
WORD = "podcast"  # said 6 s in, in the first turn ("... to the Super Data Science podcast")
POLL = 0.05  # s between looks at the library
FIRST_MATCH = "SELECT rowid FROM segments_fts WHERE segments_fts MATCH ? LIMIT 1"
TIMING_KEYS = ["startup", "first_batch", "first_window", "total"]
PHASES = [
    "model_load",
    "plan",
    "features",
    "encode",
    "first_pass",
    "retries",
    "reread",
    "align",
    "language",
]
SYNC_KEYS = [
    "feed_checked",
    "fetch_started",
    "fetch_done",
    "transcribe_started",
    "first_segment",
    "first_fts_hit",
    "search_hit",
    "wall",
]


PODGREP_BIN: Path | None = None  # --podgrep-bin: another podgrep (an older commit, say)


def podgrep_cmd(*args: str) -> list[str]:
    """podgrep's console script next to this interpreter (what a user runs), else -m."""
    if PODGREP_BIN is not None:
        return [str(PODGREP_BIN), *args]
    script = Path(sys.executable).parent / "podgrep"
    head = [str(script)] if script.exists() else [sys.executable, "-m", "podgrep"]
    return [*head, *args]


def load1() -> float:
    return os.getloadavg()[0]


def fmt(value: float | None, width: int = 9) -> str:
    return f"{value:{width}.3f}" if value is not None else f"{'-':>{width}}"


def median(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return statistics.median(got) if got else None


# -- baselines and transcribe -------------------------------------------------------------------


def wall_of(cmd: list[str], env: dict[str, str], log: Path) -> tuple[float, int]:
    """Run `cmd` to its end (output to `log`): wall s from spawn to exit, exit status."""
    t0 = time.perf_counter()
    with log.open("wb") as fh:
        rc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode
    return time.perf_counter() - t0, rc


def transcribe_once(work: Path, label: str, file: Path, env: dict[str, str]) -> dict:
    """One `podgrep transcribe --timings` in a fresh home: its timings and the wall s."""
    run = work / "transcribe" / label
    shutil.rmtree(run, ignore_errors=True)
    (run / "home").mkdir(parents=True)
    cmd = podgrep_cmd(
        "transcribe",
        str(file),
        "--language",
        "en",
        "-f",
        "json",
        "-o",
        str(run / "out.json"),
        "--home",
        str(run / "home"),
        "--timings",
    )
    log = run / "log.txt"
    t0 = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    stderr = proc.stderr.decode(errors="replace")
    with log.open("a") as out:
        out.write(stderr)
    if proc.returncode != 0:
        raise SystemExit(f"{label}: podgrep transcribe exited {proc.returncode}:\n{tail(log)}")
    timings: dict = {}
    for line in stderr.splitlines():
        if line.startswith("timings: "):
            timings = json.loads(line[len("timings: ") :])
    return {"wall": wall, **timings}


# -- sync ---------------------------------------------------------------------------------------


class Library:
    """A read-only view of a podgrep SQLite library that a sync is writing: every error
    (no file yet, locked, a half-made schema) is 'not yet'."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.conn: sqlite3.Connection | None = None

    def one(self, sql: str, args: tuple = ()) -> tuple | None:
        try:
            if self.conn is None:
                if not self.db.exists():
                    return None
                self.conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=0.5)
            rows = self.conn.execute(sql, args).fetchall()  # stepped to the end: no read left open
            return rows[0] if rows else None
        except sqlite3.Error:  # "database is locked", "unable to open", "no such table", ...
            self.close()
            return None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def sync_once(
    work: Path,
    label: str,
    feed: str,
    env: dict[str, str],
    word: str,
    stop_after_hit: bool,
) -> dict:
    """A fresh home: add the feed (untimed), then time the sync and when its first segment,
    first full-text match and first confirmed search hit appear."""
    home = work / "sync" / label
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    add = subprocess.run(
        podgrep_cmd("add", feed, "--home", str(home)), env=env, capture_output=True, text=True
    )
    if add.returncode != 0:
        raise SystemExit(f"{label}: podgrep add failed:\n{add.stdout}{add.stderr}")
    match = fts.render(parse_query(word), exclude=False)  # as SqliteStore.match_segments
    search = podgrep_cmd(
        "search", word, "--json", "--mode", "keyword", "--limit", "1", "--home", str(home)
    )
    lib = Library(home / "podgrep.db")
    log = home / "sync.log"
    found: dict[str, float | None] = dict.fromkeys(SYNC_KEYS)
    hit_at: float | None = None  # where in the episode the confirming hit is, s
    searcher: subprocess.Popen | None = None
    tries = 0
    with log.open("wb") as out:
        epoch0 = time.time()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            podgrep_cmd("sync", "--home", str(home)), env=env, stdout=out, stderr=out
        )
        ended: float | None = None
        while True:
            now = time.perf_counter() - t0
            if ended is None and proc.poll() is not None:
                ended = now
            if found["first_segment"] is None and lib.one("SELECT 1 FROM segments LIMIT 1"):
                found["first_segment"] = now
            if (
                found["first_segment"] is not None
                and found["first_fts_hit"] is None
                and lib.one(FIRST_MATCH, (match,))
            ):
                found["first_fts_hit"] = now
            if searcher is None and found["first_fts_hit"] is not None and tries < 3:
                tries += 1
                searcher = subprocess.Popen(
                    search, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
                )
            if searcher is not None and searcher.poll() is not None:
                lines = searcher.stdout.read().decode().splitlines() if searcher.stdout else []
                if searcher.returncode == 0 and lines:
                    found["search_hit"] = time.perf_counter() - t0
                    hit_at = json.loads(lines[0]).get("start")
                if searcher.stdout:
                    searcher.stdout.close()
                searcher = None
            if found["search_hit"] is not None:
                break
            if (
                ended is not None
                and searcher is None
                and (found["first_fts_hit"] is None or tries >= 3)
            ):
                break  # the sync is over and nothing more will turn up
            time.sleep(POLL)
        if ended is None:
            if stop_after_hit:
                proc.send_signal(signal.SIGTERM)
                proc.wait()
            else:
                proc.wait()
                ended = time.perf_counter() - t0
    found["wall"] = ended
    if ended is not None and proc.returncode != 0:
        raise SystemExit(f"{label}: podgrep sync exited {proc.returncode}:\n{tail(log)}")
    for step in ("fetch", "transcribe"):
        row = lib.one("SELECT started, updated, state FROM jobs WHERE step = ?", (step,))
        if row and row[0]:
            found[f"{step}_started"] = row[0] - epoch0
        if step == "fetch" and row and row[2] == "done":
            found["fetch_done"] = row[1] - epoch0
    row = lib.one("SELECT last_checked FROM shows LIMIT 1")
    if row and row[0] and row[0] >= epoch0:  # `add` checked it first: only the sync's counts
        found["feed_checked"] = row[0] - epoch0
    lib.close()
    shutil.rmtree(home / "media", ignore_errors=True)
    return {**found, "hit_at": hit_at}


# -- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--file", type=Path, default=EPISODE, help="the file transcribed")
    parser.add_argument("--skip-sync", action="store_true", help="no sync part")
    parser.add_argument("--skip-transcribe", action="store_true", help="no transcribe part")
    parser.add_argument("--json-out", type=Path, help="write every run and the medians here")
    parser.add_argument("--word", default=WORD, help=f"word searched for (default: {WORD})")
    parser.add_argument(
        "--stop-after-hit", action="store_true", help="end each sync once its hit is confirmed"
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="setting for children"
    )
    parser.add_argument("--model-cache", type=Path, help="PODGREP_MODEL_CACHE (default: temp)")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-ups")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    parser.add_argument(
        "--podgrep-bin",
        type=Path,
        help="the podgrep executable to measure (default: the one beside this Python); one "
        "from before --timings existed needs --skip-transcribe",
    )
    args = parser.parse_args()
    global PODGREP_BIN
    PODGREP_BIN = args.podgrep_bin
    word = args.word
    file = args.file.resolve()

    work = Path(tempfile.mkdtemp(prefix="podgrep-startup-"))
    cache = args.model_cache or work / "model-cache"
    extra = dict(kv.split("=", 1) for kv in args.env)
    env = clean_env(PODGREP_MODEL_CACHE=str(cache), **extra)
    py = sys.executable
    baselines = {
        "python -c pass": [py, "-c", "pass"],
        "import podgrep.cli": [py, "-c", "import podgrep.cli"],
        "podgrep --help": podgrep_cmd("--help"),
    }
    print(f"machine: {os.cpu_count()} cores, load average before {load()}")
    print(f"podgrep: {' '.join(podgrep_cmd())}; model cache {cache}")
    print(f"settings: podgrep defaults{''.join(' ' + kv for kv in args.env)}")
    if not args.skip_transcribe:
        print(f"transcribe: {file}")
    if not args.skip_sync:
        print(f"sync: one-episode feed of {EPISODE.name} on a local server; word {word!r}")
    print()

    records: list[dict] = []

    def measure(part: str, i: int, keys: list[str], run: Callable[[], dict]) -> None:
        """One timed run of a part: recorded with the load around it, and printed."""
        before = load1()
        rec = run() | {"part": part, "round": i, "load1_before": before, "load1_after": load1()}
        records.append(rec)
        marks = "  ".join(f"{k} {fmt(rec.get(k), 0)}" for k in keys)
        wall = "" if "wall" in keys else f"  wall {rec['wall']:.3f} s"
        print(
            f"{i} {part:<22} {marks}{wall}   load1 {before:.2f} -> {rec['load1_after']:.2f}",
            flush=True,
        )

    try:
        www = work / "www"
        www.mkdir()
        try:
            os.link(EPISODE, www / EPISODE.name)
        except OSError:
            shutil.copy(EPISODE, www / EPISODE.name)
        with LocalServer(www) as server:
            seconds = json.loads(TRUTH.read_text())["duration"]
            clip = Clip(EPISODE.name, "startup-ep", seconds, EPISODE.stat().st_size)
            write_feed(www, "feed.xml", server.url(""), "Startup bench", [clip])
            feed = server.url("feed.xml")
            if not args.no_warmup:
                for cmd in baselines.values():
                    wall_of(cmd, env, work / "warm.log")
                if not args.skip_transcribe:
                    t0 = time.perf_counter()
                    transcribe_once(work, "warmup", file, env)
                    print(f"warm-up transcribe (untimed): {time.perf_counter() - t0:.1f} s")
                if not args.skip_sync:
                    t0 = time.perf_counter()
                    sync_once(work, "warmup", feed, env, word, args.stop_after_hit)
                    print(f"warm-up sync (untimed): {time.perf_counter() - t0:.1f} s")
                print()
            for i in range(1, args.runs + 1):
                for name, cmd in baselines.items():
                    before = load1()
                    wall, rc = wall_of(cmd, env, work / "baseline.log")
                    rec = {"part": name, "round": i, "wall": wall, "rc": rc}
                    rec |= {"load1_before": before, "load1_after": load1()}
                    records.append(rec)
                    print(
                        f"{i} {name:<22} wall {wall:7.3f} s{'' if rc == 0 else f'  rc {rc}'}"
                        f"   load1 {before:.2f} -> {rec['load1_after']:.2f}",
                        flush=True,
                    )
                if not args.skip_transcribe:
                    measure(
                        "transcribe",
                        i,
                        TIMING_KEYS,
                        lambda i=i: transcribe_once(work, f"run{i}", file, env),
                    )
                if not args.skip_sync:
                    measure(
                        "sync",
                        i,
                        SYNC_KEYS,
                        lambda i=i: sync_once(
                            work, f"run{i}", feed, env, word, args.stop_after_hit
                        ),
                    )
    finally:
        if args.keep:
            print(f"\nwork folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    def med(part: str, key: str) -> float | None:
        return median([r.get(key) for r in records if r["part"] == part])

    medians: dict[str, dict[str, float | None]] = {}
    print(f"\nmedians of {args.runs} run(s), s")
    for name in baselines:
        medians[name] = {"wall": med(name, "wall")}
        print(f"  {name:<22} wall {fmt(medians[name]['wall'])}")
    if not args.skip_transcribe:
        keys = [*TIMING_KEYS, "wall"]
        medians["transcribe"] = {k: med("transcribe", k) for k in keys + PHASES}
        print("  transcribe (moments: s from process start; wall: spawn to exit)")
        print("    " + "".join(f"{k:>14}" for k in keys))
        print("    " + "".join(fmt(medians["transcribe"][k], 14) for k in keys))
        print("    busy s per phase (summed over threads)")
        print("    " + "".join(f"{k:>11}" for k in PHASES))
        print("    " + "".join(fmt(medians["transcribe"][k], 11) for k in PHASES))
    if not args.skip_sync:
        medians["sync"] = {k: med("sync", k) for k in [*SYNC_KEYS, "hit_at"]}
        print(
            f"  sync (s after spawn; the hit for {word!r} is at {fmt(med('sync', 'hit_at'), 0)}"
            " s of the episode)"
        )
        print("    " + "".join(f"{k:>19}" for k in SYNC_KEYS))
        print("    " + "".join(fmt(medians["sync"][k], 19) for k in SYNC_KEYS))
    print(f"load average after {load()}")
    if args.json_out:
        report = {
            "cores": os.cpu_count(),
            "file": str(file),
            "word": word,
            "env": args.env,
            "runs": records,
            "medians": medians,
        }
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json_out}")


if __name__ == "__main__":
    main()
