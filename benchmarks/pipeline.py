"""Downloads hide behind transcription: `podgrep sync` one step after another against the
pipelined runner, over a bandwidth-limited local feed.

    python benchmarks/pipeline.py [--episodes 6] [--seconds 60,90,120] [--rate 2000000]
                                  [--repeats 3] [--fetch-ahead 3] [--bitrate 128000]

A feed of `--episodes` MP3 clips (cut from tests/data/conversation_long.mp3 and
conversation_a.mp3, re-encoded as podcasts are: 44.1 kHz stereo at `--bitrate` bits/s, lengths
cycling through `--seconds`) is served by a LocalServer whose file bodies share one link of
`--rate` bytes/s. Each run is a fresh home: `podgrep add FEED`, then `podgrep sync` timed, both
in child processes. After one untimed warm-up sync of one clip, the sides alternate, A B C A B C:

  sequential   PODGREP_FETCH_AHEAD=0: the runner before issue 15, one step after another
  pipelined    PODGREP_FETCH_AHEAD=N (`--fetch-ahead`, default 3, the product default)
  C            the sequential runner again, against an unthrottled server of the same files:
               the compute-bound time (transcription, speakers, indexing, process start, model
               loads); `--reference-runs` of them (default: as many as `--repeats`; 0: none,
               then C is estimated as sequential - D)

Every other setting is podgrep's default (the engine sizes itself to this machine's cores); any
PODGREP_* variable in the environment but PODGREP_MODEL_CACHE is dropped. The download time
alone is D = media bytes / rate. One step after another should take about C + D; no runner can
beat max(C, D) + the smallest download (nothing to overlap the first one with).

Prints per run: wall s, CPU s (user + sys of the sync process, getrusage(RUSAGE_CHILDREN)
deltas), CPU use (CPU s / wall s; this machine has os.cpu_count() cores), when the first
transcription began (s after the sync started, from the jobs table's `started`: process start
plus the wait for the first download) and the 1-minute load when the run started; then
medians, sequential/pipelined wall, the ideal bound, how much of the network time was hidden,
and whether every run produced the same transcripts (segment text, start and end of every
episode). The machine's load average before and after is printed too.
Measures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import av  # noqa: E402

from podgrep.runtime import open_store  # noqa: E402
from tests.conftest import feed_xml  # noqa: E402
from tests.support.server import LocalServer  # noqa: E402

DATA = ROOT / "tests" / "data"
SOURCES = [DATA / "conversation_long.mp3", DATA / "conversation_a.mp3"]
KEEP_ENV = {"PODGREP_MODEL_CACHE"}  # where the bundled model is joined: no need to redo it

# -- shared with benchmarks/cluster.py ---------------------------------------------------------


@dataclass
class Clip:
    """One episode's media: file name, guid, seconds of audio and size in bytes."""

    name: str
    guid: str
    seconds: float
    size: int


def _duration(path: Path) -> float:
    with av.open(str(path)) as c:
        return float(c.duration or 0) / 1e6


def cut_mp3(src: Path, dst: Path, start: float, seconds: float, bitrate: int) -> float:
    """Write `seconds` of `src` from `start` to `dst` as a 44.1 kHz stereo MP3 at `bitrate`
    bits/s (how podcasts ship speech); return the seconds written."""
    rate, layout = 44_100, "stereo"
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=rate, layout=layout)
        stream.bit_rate = bitrate
        resampler = av.AudioResampler(format=stream.format, layout=layout, rate=rate)
        written = 0

        def encode(frames: list[av.AudioFrame]) -> None:
            for frame in frames:
                frame.pts = None
                for packet in stream.encode(frame):
                    out.mux(packet)

        want = int(seconds * rate)
        for frame in inp.decode(inp.streams.audio[0]):
            t = float(frame.time or 0.0)
            if t + frame.samples / frame.sample_rate <= start:
                continue
            for piece in resampler.resample(frame):
                left = want - written
                if left <= 0:
                    break
                if piece.samples > left:  # the last frame: cut it to length
                    arr = piece.to_ndarray()[:, :left]
                    cut = av.AudioFrame.from_ndarray(arr, format=piece.format.name, layout=layout)
                    cut.sample_rate = rate
                    piece = cut
                written += piece.samples
                encode([piece])
            if written >= want:
                break
        encode(resampler.resample(None))
        for packet in stream.encode(None):
            out.mux(packet)
    return written / rate


def make_clips(www: Path, episodes: int, lengths: list[float], bitrate: int) -> list[Clip]:
    """`episodes` distinct MP3 clips in `www`, cut one after another from the bundled
    conversations (wrapping round a few seconds later each time: no two clips alike)."""
    spans = [(src, _duration(src)) for src in SOURCES]
    clips: list[Clip] = []
    source, pos, wraps = 0, 0.0, 0
    for i in range(episodes):
        length = lengths[i % len(lengths)]
        while pos + length > spans[source][1]:  # does not fit: on to the next source
            source, pos = source + 1, 0.0
            if source == len(spans):
                wraps += 1
                source, pos = 0, 7.0 * wraps
            if length > max(d for _, d in spans):
                raise SystemExit(f"a clip of {length} s is longer than the bundled audio")
        name = f"ep{i:02d}.mp3"
        got = cut_mp3(spans[source][0], www / name, pos, length, bitrate)
        clips.append(Clip(name, f"bench-{i:02d}", got, (www / name).stat().st_size))
        pos += length
    return clips


def write_feed(www: Path, name: str, base: str, title: str, clips: list[Clip]) -> None:
    """An RSS feed of `clips` served at `base`."""
    items = [(f"Episode {c.guid}", c.guid, c.name, "audio/mpeg") for c in clips]
    (www / name).write_text(feed_xml(base.rstrip("/"), title, items), encoding="utf-8")


def clean_env(**settings: str) -> dict[str, str]:
    """This environment without PODGREP_* settings (but the model cache), plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODGREP_") or k in KEEP_ENV}
    env.update(settings)
    return env


def podgrep(*args: str) -> list[str]:
    """The command line of podgrep's CLI run by this interpreter."""
    return [sys.executable, "-m", "podgrep", *args]


Transcripts = dict[str, list[tuple[str, float, float]]]


def transcripts(store_target: str | Path) -> Transcripts:
    """guid → [(text, start, end)] of every episode's transcript in a library."""
    store = open_store(store_target)
    try:
        found: Transcripts = {}
        for ep in store.list_episodes():
            assert ep.id is not None
            t = store.transcript_for(ep.id)
            found[ep.guid] = [(s.text, s.start, s.end) for s in t.segments] if t else []
        return found
    finally:
        store.close()


def compare(runs: list[tuple[str, Transcripts]]) -> tuple[bool, list[str]]:
    """Whether every run's transcripts equal the first's; lines saying where they differ."""
    if not runs:
        return True, []
    label0, first = runs[0]
    notes: list[str] = []
    for label, other in runs[1:]:
        for guid in sorted(set(first) | set(other)):
            a, b = first.get(guid), other.get(guid)
            if a == b:
                continue
            if a is None or b is None:
                notes.append(f"{label}: episode {guid} missing on one side")
                continue
            texts = sum(x[0] != y[0] for x, y in zip(a, b, strict=False))
            times = max(
                (max(abs(x[1] - y[1]), abs(x[2] - y[2])) for x, y in zip(a, b, strict=False)),
                default=0.0,
            )
            notes.append(
                f"{label} vs {label0}: {guid}: {len(b)} vs {len(a)} segments,"
                f" {texts} texts differ, times up to {times:.3f} s apart"
            )
    return not notes, notes


def load() -> str:
    """The machine's load average, as `uptime` shows it."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed_child(cmd: list[str], env: dict[str, str], log: Path) -> tuple[float, float, int]:
    """Run `cmd` to its end (output to `log`); its wall s, CPU s (user + sys of it and its
    children) and exit status."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with log.open("wb") as fh:
        rc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, rc


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def median_p95(values: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    if not ordered:
        return float("nan"), float("nan")
    p95 = ordered[min(len(ordered) - 1, max(0, int(round(0.95 * len(ordered) + 0.5)) - 1))]
    return statistics.median(ordered), p95


# -- this benchmark ------------------------------------------------------------------------------


@dataclass
class Run:
    """One timed sync."""

    side: str
    wall: float
    cpu: float
    load1: float
    same: Transcripts
    first_cpu: float  # when the first transcription began, s after the sync started


def sync_once(work: Path, label: str, feed: str, env: dict[str, str]) -> Run:
    """A fresh home: add the feed, time the sync; the transcripts it wrote."""
    home = work / "runs" / label
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    log = work / "logs" / f"{label}.log"
    log.parent.mkdir(exist_ok=True)
    add = subprocess.run(
        podgrep("add", feed, "--home", str(home)), env=env, capture_output=True, text=True
    )
    if add.returncode != 0:
        raise SystemExit(f"{label}: podgrep add failed:\n{add.stdout}{add.stderr}")
    load1 = os.getloadavg()[0]
    began = time.time()
    wall, cpu, rc = timed_child(podgrep("sync", "--home", str(home)), env, log)
    if rc != 0:
        raise SystemExit(f"{label}: podgrep sync exited {rc}:\n{tail(log)}")
    found = transcripts(home / "podgrep.db")
    store = open_store(home / "podgrep.db")
    try:
        starts = [j.started for j in store.jobs() if j.step == "transcribe" and j.started]
    finally:
        store.close()
    first_cpu = min(starts, default=began) - began
    shutil.rmtree(home / "media", ignore_errors=True)  # keep the disk free between runs
    return Run(label.split("-")[0], wall, cpu, load1, found, first_cpu)


def main() -> None:
    """Run the sides alternately and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=6, help="episodes in the feed")
    parser.add_argument(
        "--seconds", default="60,90,120", help="clip lengths in seconds, cycled (e.g. 60,120)"
    )
    parser.add_argument("--rate", type=float, default=2_000_000, help="link bytes/s (shared)")
    parser.add_argument("--bitrate", type=int, default=128_000, help="MP3 bits/s of the clips")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each side")
    parser.add_argument("--fetch-ahead", type=int, default=3, help="the pipelined side's setting")
    parser.add_argument(
        "--reference-runs",
        type=int,
        default=None,
        help="unthrottled sequential syncs measuring C, one a round (default: --repeats)",
    )
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed first sync")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args()
    lengths = [float(x) for x in args.seconds.split(",") if x.strip()]
    reference_runs = args.repeats if args.reference_runs is None else args.reference_runs

    work = Path(tempfile.mkdtemp(prefix="podgrep-pipeline-"))
    www = work / "www"
    www.mkdir()
    load_before = load()
    t_make = time.perf_counter()
    clips = make_clips(www, args.episodes, lengths, args.bitrate)
    make_s = time.perf_counter() - t_make
    audio_s = sum(c.seconds for c in clips)
    media_bytes = sum(c.size for c in clips)
    seq_env = clean_env(PODGREP_FETCH_AHEAD="0")
    pipe_env = clean_env(PODGREP_FETCH_AHEAD=str(args.fetch_ahead))
    print(
        f"feed: {len(clips)} episodes, {audio_s:.0f} s of audio ({audio_s / 60:.1f} min),"
        f" {media_bytes / 1e6:.2f} MB of MP3 ({args.bitrate // 1000} kbit/s, 44.1 kHz stereo;"
        f" made in {make_s:.1f} s)"
    )
    print(
        f"link: {args.rate / 1e6:.2f} MB/s shared by all downloads;"
        f" download alone D = {media_bytes / args.rate:.1f} s"
    )
    print(f"machine: {os.cpu_count()} cores, load average before {load_before}")
    print(
        "settings: podgrep defaults; sequential PODGREP_FETCH_AHEAD=0, pipelined"
        f" PODGREP_FETCH_AHEAD={args.fetch_ahead}\n"
    )

    runs: list[Run] = []
    refs: list[Run] = []
    try:
        with LocalServer(www, rate=args.rate) as slow, LocalServer(www) as fast:
            write_feed(www, "feed.xml", slow.url(""), "Pipeline bench", clips)
            write_feed(www, "fast.xml", fast.url(""), "Pipeline bench", clips)
            write_feed(www, "warm.xml", fast.url(""), "Warm-up", clips[:1])
            if not args.no_warmup:
                t0 = time.perf_counter()
                sync_once(work, "warmup", fast.url("warm.xml"), pipe_env)
                warm = time.perf_counter() - t0
                print(f"warm-up sync (1 episode, unthrottled, untimed): {warm:.1f} s")
            print(
                f"{'run':<16}{'wall s':>9}{'CPU s':>9}{'CPU use':>9}{'1st transcr.':>14}"
                f"{'load1':>8}"
            )
            for i in range(max(args.repeats, reference_runs)):  # A B C, A B C, ...
                sides = [("sequential", "feed.xml", seq_env), ("pipelined", "feed.xml", pipe_env)]
                if i >= args.repeats:
                    sides = []
                if i < reference_runs:
                    sides.append(("reference", "fast.xml", seq_env))
                for side, feed, env in sides:
                    server = fast if side == "reference" else slow
                    run = sync_once(work, f"{side}-{i + 1}", server.url(feed), env)
                    (refs if side == "reference" else runs).append(run)
                    name = "C unthrottled" if side == "reference" else side
                    print(
                        f"{name + ' ' + str(i + 1):<16}{run.wall:9.2f}{run.cpu:9.2f}"
                        f"{run.cpu / run.wall:9.2f}{run.first_cpu:12.2f} s{run.load1:8.2f}",
                        flush=True,
                    )
    finally:
        if args.keep:
            print(f"\nwork folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    load_after = load()

    def med(side: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs if r.side == side)

    seq_wall, pipe_wall = med("sequential", "wall"), med("pipelined", "wall")
    seq_cpu, pipe_cpu = med("sequential", "cpu"), med("pipelined", "cpu")
    print(f"\nmedians of {args.repeats} run(s) each")
    print(f"{'':16}{'wall s':>9}{'CPU s':>9}{'CPU use':>9}{'audio x':>9}{'1st transcr.':>14}")
    for side, wall, cpu in (("sequential", seq_wall, seq_cpu), ("pipelined", pipe_wall, pipe_cpu)):
        first = med(side, "first_cpu")
        print(
            f"{side:<16}{wall:9.2f}{cpu:9.2f}{cpu / wall:9.2f}{audio_s / wall:8.1f}x{first:12.2f} s"
        )
    print(f"sequential / pipelined wall: {seq_wall / pipe_wall:.2f}x")

    d_all = media_bytes / args.rate
    d_first = min((c.size for c in clips), default=0) / args.rate  # the smallest: a lower bound
    if refs:
        c = statistics.median(r.wall for r in refs)
        how = f"median of {len(refs)} unthrottled sequential sync(s)"
    else:
        c = max(seq_wall - d_all, 0.0)
        how = "estimated as sequential wall - D"
    ideal = max(c, d_all) + d_first
    hideable = c + d_all - ideal  # = min(C, D) - first download
    hidden = seq_wall - pipe_wall
    print("\nbound")
    print(f"  D      download alone (media bytes / rate)             {d_all:8.2f} s")
    print(f"  C      compute-bound sync ({how})")
    print(f"                                                         {c:8.2f} s")
    print(
        f"  C + D  one step after another should take              {c + d_all:8.2f} s"
        f"   measured sequential {seq_wall:.2f} s"
    )
    print(
        f"  ideal  max(C, D) + the smallest download              {ideal:8.2f} s"
        f"   measured pipelined {pipe_wall:.2f} s"
    )
    share = hidden / hideable if hideable > 0 else float("nan")
    print(
        f"  network time hidden: {hidden:.2f} s of the {hideable:.2f} s that could be"
        f" ({share:.0%}); best possible ratio (C + D) / ideal: {(c + d_all) / ideal:.2f}x"
    )

    same, notes = compare([(f"{r.side} run", r.same) for r in runs + refs])
    checked = len(runs) + len(refs)
    episodes = {len(r.same) for r in runs + refs}
    print(
        f"\nsame transcripts (segment text, start, end of {'/'.join(map(str, sorted(episodes)))}"
        f" episodes) in all {checked} runs: {'yes' if same else 'NO'}"
    )
    for line in notes[:10]:
        print("  " + line)
    print(f"load average before {load_before}, after {load_after}")


if __name__ == "__main__":
    main()
