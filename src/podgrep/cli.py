"""The `podgrep` command: thin verbs over the library, search, export and transcription."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from podgrep import __version__
from podgrep.config import Settings, load_settings
from podgrep.errors import NotFoundError, PodgrepError
from podgrep.formats import EXTENSIONS, FORMATS, render, timestamp
from podgrep.runtime import Runtime
from podgrep.store import Store

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _print_error(exc: PodgrepError) -> None:
    """The one line a user error gets on stderr."""
    err.print(f"[red]error:[/] {escape(str(exc))}")


class _Group(TyperGroup):
    """Turns a PodgrepError anywhere in a command into one red line and its exit code."""

    def invoke(self, ctx: Any) -> object:  # click's Context, vendored or not by Typer
        try:
            return super().invoke(ctx)
        except PodgrepError as exc:
            _print_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("Interrupted: run the same command again to continue where it stopped.")
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=_Group,
    help="podgrep: turn podcasts into searchable, timestamped transcripts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home", help="Data directory (default $PODGREP_HOME or ~/.local/share/podgrep)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (lines) for scripts.")]
DeviceOpt = Annotated[
    str | None,
    typer.Option(
        "--device", help="auto, cpu or cuda (falls back to CPU, saying why, if CUDA cannot run)."
    ),
]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="Whisper model: tiny.en (bundled), a name, or a path.")
]


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    home: HomeOpt = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Where the library's database is: sqlite:///path/to/podgrep.db or"
            " postgresql://user@host/dbname (default $PODGREP_STORE_URL, store_url in"
            " podgrep.toml, else SQLite in the home folder).",
        ),
    ] = None,
    version: Annotated[bool, typer.Option("--version", help="Show the version.")] = False,
) -> None:
    if version:
        out.print(f"podgrep {__version__}")
        raise typer.Exit()
    ctx.obj = {"home": home, "store": store}


def _settings(ctx: typer.Context, home: Path | None, **overrides: object) -> Settings:
    root = home or (ctx.obj or {}).get("home")
    store_url = (ctx.obj or {}).get("store")
    if store_url:
        overrides.setdefault("store_url", store_url)
    return load_settings(root, **overrides)


def _store(settings: Settings) -> Store:
    """The library's store, as the settings choose it (the runtime names the concrete one)."""
    return Runtime(settings).open_store()


db_app = typer.Typer(
    help="The library's store: where it is and what it holds.", no_args_is_help=True
)
app.add_typer(db_app, name="db")


@db_app.command("status")
def db_status(ctx: typer.Context, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Which store holds the library, its schema version, its size and its row counts."""
    from dataclasses import asdict

    settings = _settings(ctx, home)
    with _store(settings) as store:
        stats = store.stats()
    if as_json:
        print(json.dumps(asdict(stats), ensure_ascii=False))
        return
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_row("store", stats.store)
    table.add_row("location", stats.location)
    table.add_row(
        "schema", f"version {stats.schema_version} (this podgrep: {stats.latest_version})"
    )
    table.add_row("size", _bytes(stats.size_bytes))
    for name, n in stats.rows.items():
        table.add_row(name, f"{n:,}")
    if stats.jobs:
        table.add_row(
            "jobs by state", ", ".join(f"{k} {v:,}" for k, v in sorted(stats.jobs.items()))
        )
    out.print(table)


@db_app.command("copy")
def db_copy(
    source: Annotated[str, typer.Argument(help="The store to copy: sqlite:///path or a path.")],
    target: Annotated[
        str, typer.Argument(help="An empty store to copy into: postgresql://… or sqlite:///…")
    ],
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="Rows written per transaction.")
    ] = 2000,
) -> None:
    """Copy a whole library into another store (say, SQLite into PostgreSQL): shows, episodes,
    transcripts with words and speakers, chapters, links, voiceprints, passages with vectors
    and job states. Interrupted, it goes on where it stopped when run again; it refuses a
    store that holds another library. Media stays in the media folder."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from podgrep.runtime import open_store
    from podgrep.store.copy import copy_library

    with open_store(source) as src, open_store(target) as dst:
        tasks: dict[str, Any] = {}
        with Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=not err.is_terminal,
        ) as bar:

            def advance(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = bar.add_task(table, total=total)
                bar.update(tasks[table], completed=done, total=max(total, done))

            result = copy_library(src, dst, advance, batch=batch)
        table = Table(title=f"{src.location} -> {dst.location}", title_justify="left")
        table.add_column("part")
        table.add_column("source", justify="right")
        table.add_column("target", justify="right")
        for name in result.source:
            table.add_row(name, f"{result.source[name]:,}", f"{result.target[name]:,}")
        out.print(table)
    if not result.equal:
        raise PodgrepError(
            "The copy ended with different counts: the source was written to while it was"
            " copied, or after an earlier run (a copy adds rows the target lacks and changes"
            " none). Copy into a new, empty database while nothing writes to the source"
        )
    out.print(f"Copied {result.copied:,} rows; both stores hold the same library.")


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


# -- add / sync / status ---------------------------------------------------------------------


@app.command()
def add(
    ctx: typer.Context,
    targets: Annotated[
        list[str],
        typer.Argument(help="Feed URLs, media URLs, files, folders or OPML lists (file or URL)."),
    ],
    home: HomeOpt = None,
    keep_media: Annotated[
        str | None,
        typer.Option(
            "--keep-media",
            metavar="original|opus|none",
            help="What this show keeps once an episode is transcribed (default: the keep_media"
            " setting).",
        ),
    ] = None,
    latest: Annotated[
        int | None,
        typer.Option(
            "--latest",
            metavar="N",
            help="Queue only the N newest episodes of a new feed; the older ones are recorded"
            " as held (`podgrep queue` queues them later).",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="Hold the episodes published before DATE (YYYY-MM-DD or an ISO datetime).",
        ),
    ] = None,
) -> None:
    """Add podcast feeds, media URLs (direct or any page yt-dlp supports), files, folders or
    OPML subscription lists."""
    from podgrep.backlog import backlog_of, known_speed, plan_line
    from podgrep.library import http_client
    from podgrep.opml import add_targets

    backlog = backlog_of(latest, since)  # checked before anything is added

    if keep_media is not None:  # checked before anything is added
        from podgrep.retention import check_choice

        keep_media = check_choice(keep_media, "--keep-media")
    settings = _settings(ctx, home)
    failed = 0
    with _store(settings) as store, http_client(settings.http_timeout, settings) as client:
        # the current model's measured speed, else the benchmarks' for it on these cores
        speed = store.measured_speed(settings.model) or known_speed(settings)
        for result in add_targets(store, targets, client=client, backlog=backlog):
            if isinstance(result, PodgrepError):  # a target, or an outline of an OPML list
                _print_error(result)
                failed += 1
                continue
            if keep_media is not None and result.show.id is not None:
                store.set_keep_media(result.show.id, keep_media)
            total = store.episode_count(result.show.id)
            verb = "Added" if result.created or result.new_episodes else "Already have"
            out.print(
                f"{verb} {result.kind} [bold]{escape(result.show.title)}[/] "
                f"(show {result.show.id}): {len(result.new_episodes)} new, {total} episodes"
            )
            for line in result.notes:  # what a playlist's listing left out
                err.print(f"note: {escape(line)}")
            if result.new_episodes:  # what a sync is about to do (backlog.py)
                new = set(result.new_episodes)
                got = [e for e in store.list_episodes(result.show.id) if e.id in new]
                err.print(f"  {escape(plan_line(got, speed, result.kind))}")
                if any(e.status == "held" for e in got):
                    err.print(f"  `podgrep queue --show {result.show.id} --all` queues them later")
    if failed:
        raise typer.Exit(1)
    err.print("Run [bold]podgrep sync[/] to fetch and transcribe.")


@app.command("opml")
def opml_export(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write.")] = None,
    home: HomeOpt = None,
) -> None:
    """Export every feed subscription as OPML 2.0 (for a podcast app, or `podgrep add`)."""
    from podgrep.opml import write_opml

    with _store(_settings(ctx, home)) as store:
        text = write_opml(store.list_shows())
    _write(text, output)


@app.command()
def queue(
    ctx: typer.Context,
    episode: Annotated[
        str | None, typer.Argument(help="Episode id (see `podgrep episodes`) or title part.")
    ] = None,
    show: Annotated[
        str | None, typer.Option("--show", help="A show (id, feed URL or title): with --all.")
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every held episode of --show (with --show only).")
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Queue held episodes (recorded by `add --latest/--since`) for the next sync."""
    from podgrep.backlog import queue_episodes
    from podgrep.shows import find_episode

    if episode is not None and (every or show is not None):
        raise PodgrepError(
            f"`podgrep queue {episode}` queues that one episode: --all and --show go together"
            " without it (`podgrep queue --show SHOW --all`)"
        )
    if (episode is None) == (show is None) or (show is not None and not every):
        raise PodgrepError(
            "Name what to queue: `podgrep queue EPISODE` or `podgrep queue --show SHOW --all`"
        )
    with _store(_settings(ctx, home)) as store:
        if episode is not None:
            chosen = [find_episode(store, episode)]
        else:
            from podgrep.shows import find_show

            chosen = store.list_episodes(find_show(store, show or "").id)
        done = queue_episodes(store, chosen)
    for e in done.queued:
        out.print(f"Queued episode {e.id} {escape(e.title)!r}")
    if episode is not None and done.already:
        e = done.already[0]
        out.print(f"Episode {e.id} {escape(e.title)!r} is already queued (status {e.status})")
    elif done.already:
        out.print(f"{len(done.already)} other episodes of the show were already queued")
    if done.queued:
        err.print("Run [bold]podgrep sync[/] to fetch and transcribe.")


RayOpt = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="ADDRESS",
        help="Run the jobs on a Ray cluster: its address (host:6379), `auto` (the cluster this"
        " machine is part of) or `local` (a cluster of this machine). Needs podgrep[ray].",
    ),
]
ActorsOpt = Annotated[
    int | None,
    typer.Option(
        "--actors",
        help="Ray workers per node (default: one per GPU, else one per --cpus-per-actor"
        " cores; more than fit share the node).",
    ),
]
CpusPerActorOpt = Annotated[
    int, typer.Option("--cpus-per-actor", help="CPU cores each Ray worker on CPU asks for.")
]


@app.command()
def sync(
    ctx: typer.Context,
    home: HomeOpt = None,
    model: ModelOpt = None,
    device: DeviceOpt = None,
    retry: Annotated[
        bool, typer.Option("--retry", help="Also retry steps parked after repeated failures.")
    ] = False,
    no_refresh: Annotated[
        bool, typer.Option("--no-refresh", help="Do not check feeds; only finish pending work.")
    ] = False,
    ray: RayOpt = None,
    actors: ActorsOpt = None,
    cpus_per_actor: CpusPerActorOpt = 1,
    fetch_ahead: Annotated[
        int | None,
        typer.Option(
            "--fetch-ahead", help="Episodes downloaded ahead of transcription (0: one by one)."
        ),
    ] = None,
    watch: Annotated[
        str | None,
        typer.Option(
            "--watch",
            metavar="INTERVAL",
            help="Keep going: check the feeds due and sync every INTERVAL (30s, 15m, 1h, 1h30m,"
            " 2d; a bare number is seconds) until stopped.",
        ),
    ] = None,
) -> None:
    """Check feeds, fetch new episodes, transcribe and index them (resumes where it stopped).

    Downloads run ahead of transcription; another sync or worker on the same library shares
    the jobs. With --ray, the jobs run on actors across a Ray cluster."""
    from podgrep.jobs.sync import run_sync
    from podgrep.library import RefreshResult
    from podgrep.progress import ConsoleReporter

    if watch is not None:
        from podgrep.jobs.schedule import parse_interval

        every = parse_interval(watch)
        if no_refresh:
            raise PodgrepError("--watch checks the feeds on a schedule: leave out --no-refresh")
    settings = _settings(ctx, home, model=model, device=device, fetch_ahead=fetch_ahead)

    def retried(n: int) -> None:
        if n:
            err.print(f"Retrying {n} parked step(s).")

    def checked(result: RefreshResult) -> None:
        title = escape(result.show.title)
        if result.error:
            err.print(f"[red]feed error[/] {title}: {escape(result.error)}")
        elif result.new_episodes:
            err.print(f"{title}: {len(result.new_episodes)} new episode(s)")
        for line in result.notes:  # what a playlist's listing left out
            err.print(f"note: {escape(line)}")

    with _store(settings) as store:
        reporter = ConsoleReporter(err)
        try:
            if watch is not None:
                from podgrep.jobs.schedule import watch as watch_feeds

                watch_feeds(
                    settings, store, every, say=lambda line: err.print(escape(line)),
                    on_feed=checked,
                    first={"retry": retry, "on_retry": retried}, reporter=reporter,
                    notify=lambda m: err.print(f"note: {escape(m)}"), ray=ray,
                    actors_per_node=actors, cpus_per_actor=cpus_per_actor,
                )  # fmt: skip
                return  # only Ctrl-C or SIGTERM ends it: exit 130, the step running given back
            summary = run_sync(
                settings,
                store,
                reporter,
                retry=retry,
                refresh=not no_refresh,
                on_retry=retried,
                on_feed=checked,
                notify=lambda m: err.print(f"note: {escape(m)}"),
                ray=ray,
                actors_per_node=actors,
                cpus_per_actor=cpus_per_actor,
            )
        finally:
            reporter.close()
    done = len(summary.episodes_done)
    err.print(
        f"Sync finished: {done} episode(s) ready to search"
        + (
            f", {len(summary.failures)} step(s) failed (see `podgrep status`)"
            if summary.failures
            else "."
        )
    )
    if summary.failures:
        raise typer.Exit(3)


@app.command()
def worker(
    ctx: typer.Context,
    home: HomeOpt = None,
    model: ModelOpt = None,
    device: DeviceOpt = None,
    ray: RayOpt = None,
    actors: ActorsOpt = None,
    cpus_per_actor: CpusPerActorOpt = 1,
    until_done: Annotated[
        bool,
        typer.Option(
            "--until-done",
            help="Stop once no job is left to run and none is running anywhere"
            " (default: keep pulling new work until interrupted).",
        ),
    ] = False,
    poll: Annotated[
        float, typer.Option("--poll", help="Seconds between looks at an empty queue.")
    ] = 2.0,
    steps: Annotated[
        str | None,
        typer.Option(
            "--steps",
            help="Only these steps, comma-separated (fetch,transcribe,speakers,index): e.g."
            " CPU workers for speakers,index beside GPU workers that transcribe. Not with --ray.",
        ),
    ] = None,
) -> None:
    """Pull jobs from the library's queue and run them: in this process, or with --ray as
    actors on every node of a Ray cluster. Many workers (and syncs) share one library; a
    worker that dies loses only its lease, and another takes its job over."""
    from podgrep.progress import ConsoleReporter

    settings = _settings(ctx, home, model=model, device=device)
    note = lambda m: err.print(f"note: {escape(m)}")  # noqa: E731
    chosen = _steps(steps)
    if chosen is not None and ray is not None:
        raise PodgrepError("--steps runs a worker here: leave out --ray (actors run every step)")
    with _store(settings) as store:
        reporter = ConsoleReporter(err)
        try:
            if ray is not None:
                from podgrep.jobs.cluster import run_on_ray

                summary = run_on_ray(
                    settings, store, ray, reporter, until_done=until_done,
                    actors_per_node=actors, cpus_per_actor=cpus_per_actor,
                    poll_seconds=poll, notify=note,
                )  # fmt: skip
            else:
                from podgrep.asr.engine import resolve as resolve_model
                from podgrep.fetch import MediaCache
                from podgrep.jobs.steps import StepContext
                from podgrep.jobs.worker import work, worker_id

                resolve_model(settings.model)
                err.print(f"Worker {worker_id()} on {store.location}: pulling jobs.")
                with MediaCache.for_settings(settings) as cache:
                    summary = work(
                        StepContext(store, settings, cache, notify=note),
                        reporter,
                        until_done=until_done,
                        poll_seconds=poll,
                        steps=chosen,
                    )
        finally:
            reporter.close()
    err.print(
        f"Worker finished: {summary.steps_done} step(s), {len(summary.episodes_done)}"
        f" episode(s) ready to search"
        + (f", {len(summary.failures)} step(s) failed" if summary.failures else ".")
    )
    if summary.failures:
        raise typer.Exit(3)


@app.command()
def status(ctx: typer.Context, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Shows and episodes: how many are new, fetched, transcribed or failed (with errors)."""
    settings = _settings(ctx, home)
    with _store(settings) as store:
        shows = store.status_counts()
        failures = store.failures()
        running = store.running_jobs(expired=True)
        where = str(settings.home) if store.kind == "sqlite" else store.location
        from podgrep.retention import media_use

        # bytes of podgrep's own media (cache and uploads) the library uses
        media = media_use(store, settings.media_dir, settings.home / "uploads")
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "home": str(settings.home),
                    "media_bytes": media.total,
                    "shows": [asdict(c) | {"media_bytes": media.by_show.get(c.id, 0)}
                              for c in shows],  # fmt: skip
                    "failures": [asdict(f) for f in failures],
                    "running": [asdict(r) for r in running],
                }
            )
        )
        return
    if not shows:
        out.print(
            "The library is empty: add a feed with `podgrep add URL` (or try `podgrep demo`)."
        )
        return
    table = Table(title=f"podgrep library in {where}", title_justify="left")
    for col in (
        "id", "show", "episodes", "new", "fetched", "transcribed", "failed", "held", "media"
    ):  # fmt: skip
        table.add_column(col, justify="right" if col not in ("show",) else "left")
    for s in shows:
        table.add_row(
            str(s.id),
            escape(s.title) + (" [yellow](paused)[/]" if s.paused else ""),
            str(s.episodes),
            str(s.new),
            str(s.fetched),
            str(s.transcribed),
            f"[red]{s.failed}[/]" if s.failed else "0",
            str(s.held),
            _bytes(media.by_show.get(s.id, 0)),
        )
    out.print(table)
    out.print(f"Media on disk: {_bytes(media.total)} in {escape(str(settings.media_dir))}")
    if running:
        _print_running(running)
    for s in shows:
        if s.last_error:
            out.print(f"[red]feed error[/] show {s.id}: {escape(s.last_error)}")
    for f in failures:
        out.print(
            f"[red]failed[/] episode {f.episode_id} {escape(f.title)!r} at {f.step} "
            f"(attempt {f.attempts}): {escape(f.error or '')}"
        )
    if failures:
        out.print("Fix the cause and run `podgrep sync --retry` to try parked steps again.")


@app.command("keep-media")
def keep_media_command(
    ctx: typer.Context,
    show: Annotated[str, typer.Argument(help="The show: its id, feed URL or exact title.")],
    keep: Annotated[
        str, typer.Argument(metavar="original|opus|none", help="What its episodes keep.")
    ],
    home: HomeOpt = None,
) -> None:
    """What a show keeps of each episode's media once transcribed: the original, a 16 kbps
    Opus copy, or none (the player streams the enclosure); applied at once to finished ones."""
    from podgrep.retention import check_choice, set_show_keep, total_bytes

    keep = check_choice(keep)  # before the library is opened: a bad value changes nothing
    settings = _settings(ctx, home)
    with _store(settings) as store:
        found, applied = set_show_keep(
            store, settings, show, keep, notify=lambda m: err.print(f"note: {escape(m)}")
        )
    before, after = total_bytes(a for a in applied if not a.note)
    changed = sum(1 for a in applied if not a.note)
    out.print(
        f"Show {found.id} [bold]{escape(found.title)}[/] keeps {keep} media: "
        f"{changed} episode{'' if changed == 1 else 's'} changed now"
        + (f" ({_bytes(before)} → {_bytes(after)})" if changed else "")
    )
    if keep != "none" and not changed:
        err.print("Episodes transcribed from now on keep it; media already dropped stays so.")


def _steps(given: str | None) -> tuple[str, ...] | None:
    """The steps a `--steps` list names, checked (None: every step)."""
    from podgrep.store import STEPS

    if given is None:
        return None
    chosen = tuple(s.strip() for s in given.split(",") if s.strip())
    wrong = [s for s in chosen if s not in STEPS]
    if wrong or not chosen:
        raise PodgrepError(
            f"--steps {given!r}: name steps among {', '.join(STEPS)}, comma-separated"
        )
    return chosen


def _print_running(running: list[Any]) -> None:
    """Which worker holds which job, since when, and when its lease runs out."""
    import time

    now = time.time()
    table = Table(title="Running", title_justify="left")
    for col in ("episode", "step", "worker", "since", "lease"):
        table.add_column(col)
    for r in running:
        since = time.strftime("%H:%M:%S", time.localtime(r.started)) if r.started else "?"
        if r.lease_until is None:
            lease = "?"
        elif r.lease_until > now:
            lease = f"{r.lease_until - now:.0f} s left"
        else:
            lease = "[red]expired[/] (worker gone: the next claim takes it over)"
        table.add_row(
            f"{r.episode_id} {escape(r.title)}", r.step, escape(r.worker or "?"),
            f"{since} ({_ago(now - r.started) if r.started else '?'})", lease,
        )  # fmt: skip
    out.print(table)


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@app.command()
def episodes(
    ctx: typer.Context,
    home: HomeOpt = None,
    show: Annotated[int | None, typer.Option("--show", help="Only this show id.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List episodes with their ids (for `export`) and status."""
    settings = _settings(ctx, home)
    with _store(settings) as store:
        titles = {s.id: s.title for s in store.list_shows()}
        eps = store.list_episodes(show)
    if as_json:
        for e in eps:
            print(
                json.dumps(
                    {
                        "id": e.id,
                        "show_id": e.show_id,
                        "show": titles.get(e.show_id),
                        "title": e.title,
                        "published": e.published,
                        "duration": e.duration,
                        "status": e.status,
                        "error": e.error,
                        "media_url": e.media_url,
                    },
                    ensure_ascii=False,
                )
            )
        return
    table = Table()
    for col in ("id", "show", "published", "duration", "status", "title"):
        table.add_column(col)
    for e in eps:
        published = (
            datetime.fromtimestamp(e.published, UTC).strftime("%Y-%m-%d") if e.published else ""
        )
        table.add_row(
            str(e.id),
            escape(titles.get(e.show_id, "")),
            published,
            timestamp(e.duration) if e.duration else "",
            e.status,
            escape(e.title),
        )
    out.print(table)


# -- remove / pause / resume -------------------------------------------------------------------


@app.command()
def remove(
    ctx: typer.Context,
    show: Annotated[
        str | None, typer.Argument(help="The show: its id, feed URL or exact title.")
    ] = None,
    episode: Annotated[
        int | None, typer.Option("--episode", help="Remove this one episode (its id) instead.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    home: HomeOpt = None,
) -> None:
    """Remove a show (or one episode) and everything of it: episodes, transcripts, speakers,
    chapters, links, search entries, vectors, jobs, and media files no other show uses."""
    from podgrep.shows import carry_out, plan_removal

    if (show is None) == (episode is None):
        raise PodgrepError("Name one thing to remove: a SHOW, or --episode ID")
    settings = _settings(ctx, home)
    with _store(settings) as store:
        plan = plan_removal(store, settings, show=show, episode=episode)
        if not yes:
            if not sys.stdin.isatty():
                raise PodgrepError(
                    f"Not removing {plan.what} without confirmation: stdin is not a terminal,"
                    " add --yes"
                )
            if not typer.confirm(f"Remove {plan.summary()}?", default=False, err=True):
                err.print("Nothing removed.")
                raise typer.Exit(1)
        done = carry_out(store, settings, plan)
    err.print(
        f"Removed {escape(done.what)}: {done.episodes} episode(s), {done.transcripts}"
        f" transcript(s), {done.files} media file(s) ({done.bytes_freed / 1e6:.1f} MB freed)"
    )


def _pause(ctx: typer.Context, show: str, home: Path | None, paused: bool) -> None:
    from podgrep.shows import set_paused

    settings = _settings(ctx, home)
    with _store(settings) as store:
        found = set_paused(store, show, paused)
    verb = "Paused" if paused else "Resumed"
    then = "not checked or synced until `podgrep resume`" if paused else "checked and synced again"
    err.print(f"{verb} show {found.id} [bold]{escape(found.title)}[/]: {then}.")


ShowArg = Annotated[str, typer.Argument(help="The show: its id, feed URL or exact title.")]


@app.command()
def pause(ctx: typer.Context, show: ShowArg, home: HomeOpt = None) -> None:
    """Pause a show: its feed is not checked and its episodes are not synced."""
    _pause(ctx, show, home, True)


@app.command()
def resume(ctx: typer.Context, show: ShowArg, home: HomeOpt = None) -> None:
    """Resume a paused show: checked and synced again."""
    _pause(ctx, show, home, False)


# -- search / export ---------------------------------------------------------------------------


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help='Words, "a phrase", prefix* , -exclude, OR.')],
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many hits.")] = 20,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many hits.")] = 0,
    show: Annotated[
        str | None, typer.Option("--show", help="Only shows whose title has this.")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="keyword (BM25), semantic (meaning) or hybrid (both fused; the default once"
            " passages have vectors).",
        ),
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search every transcript; each hit gives show, episode, and the second it was said."""
    from podgrep.semantic.hybrid import find

    settings = _settings(ctx, home)
    with _store(settings) as store:
        hits = find(store, query, mode=mode, limit=limit, offset=offset, show=show)
    if not hits:
        err.print(f"No matches for {query!r}.")
        raise typer.Exit(1)
    meaning = sum(1 for h in hits if h.match == "meaning")
    err.print(
        f"{len(hits)} hit{'s' if len(hits) != 1 else ''}"
        + (f", {meaning} by meaning only" if meaning else "")
        + (f" (--offset {offset + limit} for more)" if len(hits) == limit else "")
    )
    for h in hits:
        if as_json:
            print(
                json.dumps(
                    {
                        "episode_id": h.episode_id,
                        "show": h.show,
                        "episode": h.episode,
                        "start": round(h.start, 2),
                        "end": round(h.end, 2),
                        "text": h.text,
                        "speaker": h.speaker,
                        "match": h.match,
                    },
                    ensure_ascii=False,
                )
            )
            continue
        text = Text(h.text)
        for a, b in h.marks:
            text.stylize("bold yellow", a, b)
        if out.is_terminal:
            line = Text.assemble(
                (h.show, "cyan"),
                " › ",
                (h.episode, "bold"),
                (f" #{h.episode_id}", "dim"),
                " ",
                (timestamp(h.start), "green"),
                "  ",
                (f"{h.speaker}: " if h.speaker else "", "magenta"),
                ("(by meaning) " if h.match == "meaning" else "", "italic dim"),
            )
            out.print(line + text)
        else:
            marked = h.text
            for a, b in reversed(h.marks):
                marked = marked[:a] + "**" + marked[a:b] + "**" + marked[b:]
            # four columns, as scripts already read them; --json carries every field
            print(f"{h.show}\t{h.episode}\t{timestamp(h.start)}\t{marked}")


@app.command()
def context(
    ctx: typer.Context,
    words: Annotated[str, typer.Argument(help="A word or phrase, matched as search matches it.")],
    show: Annotated[
        str | None, typer.Option("--show", help="Only this show (id, feed URL or title).")
    ] = None,
    episode: Annotated[
        str | None, typer.Option("--episode", help="Only this episode (id, guid or title).")
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A word tree: every time WORDS were said, with what came before and after, grouped by
    the words that follow, each with its second and episode."""
    from podgrep.shows import find_episode, find_show
    from podgrep.word_tree import render_text, word_tree

    if show and episode:
        err.print("Give --show or --episode, not both (an episode is in one show).")
        raise typer.Exit(1)
    settings = _settings(ctx, home)
    with _store(settings) as store:
        ep = find_episode(store, episode) if episode else None
        show_id = find_show(store, show, partial=True).id if show and ep is None else None
        tree = word_tree(store, words, show_id=show_id, episode_id=ep.id if ep else None)
    if as_json:
        print(json.dumps(tree.as_dict(), ensure_ascii=False))
    if not tree.count:
        where = "that episode" if ep else "that show" if show else "the library"
        err.print(escape(f"{words!r} is not said in {where}."))
        raise typer.Exit(1)
    if not as_json:
        for line in render_text(tree, timestamp):
            print(line)


def _episode_ref(store: Store, ref: str) -> int:
    from podgrep.shows import find_episode

    return find_episode(store, ref).id or 0


@app.command()
def export(
    ctx: typer.Context,
    episode: Annotated[
        str | None, typer.Argument(help="Episode id (see `podgrep episodes`) or title.")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help=f"One of {', '.join(FORMATS)} or chapters-json (default: from -o, else txt).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="File to write (a folder with --show or --all)."),
    ] = None,
    show_ref: Annotated[
        str | None,
        typer.Option("--show", help="Every transcribed episode of this show (id, URL or title)."),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every transcribed episode of every show.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --show/--all: overwrite files that differ.")
    ] = False,
    home: HomeOpt = None,
) -> None:
    """Export an episode's transcript (SRT, WebVTT, text, JSON, Podcasting 2.0 JSON) or its
    chapters (Podcasting 2.0 chapters JSON); with --show or --all, one file per episode into
    the folder -o names, `YYYY-MM-DD title.ext`, never overwriting a different file."""
    settings = _settings(ctx, home)
    if show_ref is not None or every or episode is None:
        _export_many(settings, episode, show_ref, every, fmt, output, force)
        return
    if fmt == "chapters-json":
        _write(_chapters_json(settings, episode), output)
        return
    with _store(settings) as store:
        episode_id = _episode_ref(store, episode)
        ep = store.get_episode(episode_id)
        transcript = store.transcript_for(episode_id)
        show = store.get_show(ep.show_id or 0)
    if transcript is None or not transcript.segments and not transcript.complete:
        raise PodgrepError(
            f"Episode {episode_id} has no transcript yet (status {ep.status}): run `podgrep sync`"
        )
    fmt = fmt or _format_from_path(output) or "txt"
    text = render(fmt, transcript, title=ep.title, show=show.title)
    _write(text, output)


def _export_many(
    settings: Settings,
    episode: str | None,
    show: str | None,
    every: bool,
    fmt: str | None,
    folder: Path | None,
    force: bool,
) -> None:
    """`export --show SHOW | --all -o DIR` (podgrep.bulk_export)."""
    from podgrep.bulk_export import export_shows
    from podgrep.shows import find_show

    if sum((episode is not None, show is not None, every)) != 1:
        raise PodgrepError("Name what to export: an EPISODE, or --show SHOW, or --all")
    if folder is None:
        raise PodgrepError("--show and --all write one file per episode: give -o FOLDER")
    counts = {"wrote": 0, "unchanged": 0, "differs": 0, "skipped": 0}
    with _store(settings) as store:
        shows = [find_show(store, show)] if show is not None else store.list_shows()
        for o in export_shows(store, shows, fmt or "txt", folder, force=force):
            counts[o.kind] += 1
            if o.kind == "wrote":
                out.print(f"Wrote {escape(str(o.path))}")
            elif o.kind == "differs":
                err.print(
                    f"[red]left as it was[/] {escape(str(o.path))}: a different file is there"
                    " (--force to overwrite)"
                )
            elif o.kind == "skipped":
                err.print(
                    f"skipped episode {o.episode.id} {escape(o.episode.title)!r}: {o.reason}"
                )
    err.print(
        f"Exported {counts['wrote']} file(s) to {escape(str(folder))}; {counts['unchanged']}"
        f" unchanged, {counts['skipped']} skipped (no transcript or not finished),"
        f" {counts['differs']} left as they were"
    )
    if counts["differs"]:
        raise typer.Exit(1)


def _chapters_json(settings: Settings, episode: str) -> str:
    from podgrep.enrich.episode import stored_chapters
    from podgrep.formats.chapters_json import write_chapters_json

    with _store(settings) as store:
        episode_id = _episode_ref(store, episode)
        ep = store.get_episode(episode_id)
        show = store.get_show(ep.show_id or 0)
        chapters = stored_chapters(store, episode_id)
    if not chapters:
        raise PodgrepError(
            f"Episode {episode_id} has no chapters yet: `podgrep sync` (or `podgrep index`)"
            " finds or generates them once it has a transcript"
        )
    return write_chapters_json(chapters, title=ep.title, podcast=show.title, author=show.author)


@app.command()
def speakers(
    ctx: typer.Context,
    episode: Annotated[str, typer.Argument(help="Episode id (see `podgrep episodes`) or title.")],
    rename: Annotated[
        list[str] | None,
        typer.Option(
            "--rename",
            help='Name a speaker: S1="Jane Doe" (repeatable; S1= clears the name).',
        ),
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List who speaks in an episode (S1, S2, … with names where known) and rename them."""
    from podgrep.speakers.cli import rename_and_list

    settings = _settings(ctx, home)
    with _store(settings) as store:
        episode_id = _episode_ref(store, episode)
        rows = rename_and_list(store, episode_id, rename or [])
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        out.print(f"Episode {episode_id} has no speakers yet: run `podgrep sync`.")
        return
    table = Table()
    for col in ("speaker", "name", "from", "role", "speech", "share", "segments"):
        table.add_column(col, justify="right" if col in ("speech", "share", "segments") else "left")
    for r in rows:
        table.add_row(
            r["label"],
            escape(r["name"] or ""),
            r["name_source"] or "",
            r["role"] or "",
            timestamp(r["seconds"]),
            f"{r['share']:.0%}",
            str(r["segments"]),
        )
    out.print(table)


def _format_from_path(path: Path | None) -> str | None:
    if path is None:
        return None
    for fmt, ext in EXTENSIONS.items():
        if path.name.endswith(ext) and fmt != "podcast-json":
            return fmt
    return None


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(output)
    err.print(f"Wrote {output}")


# -- one-off transcription, models, demo -------------------------------------------------------


@app.command()
def transcribe(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An audio or video file.")],
    model: ModelOpt = None,
    device: DeviceOpt = None,
    language: Annotated[
        str | None, typer.Option("--language", help="Language code (default: detect).")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", help="srt, vtt, txt, json or podcast-json.")
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write.")] = None,
    home: HomeOpt = None,
    timings: Annotated[
        bool,
        typer.Option(
            "--timings", help="Print where the time went (one JSON line on stderr) at the end."
        ),
    ] = False,
    chunk_seconds: Annotated[
        float | None,
        typer.Option(
            "--chunk-seconds",
            help="The model's window: 30 (default, most accurate) or 20 (faster, less accurate).",
        ),
    ] = None,
) -> None:
    """Transcribe one file without adding it to the library."""
    from podgrep import audio
    from podgrep.asr.language import choose_model, spoken
    from podgrep.asr.timings import PROCESS_START
    from podgrep.asr.whisper import Engines
    from podgrep.domain import Episode, Transcript
    from podgrep.progress import ConsoleReporter

    settings = _settings(
        ctx, home, model=model, language=language, device=device, chunk_seconds=chunk_seconds
    )
    fmt = fmt or _format_from_path(output) or "txt"
    if fmt not in FORMATS:
        raise PodgrepError(f"Unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if not file.is_file():
        raise NotFoundError(f"{file} does not exist")
    info = audio.probe(file)
    engines = Engines(settings, notify=lambda m: err.print(f"note: {escape(m)}"))
    model_name, lang = choose_model(settings, settings.language)
    engine = engines(model_name)
    transcript = Transcript(None, "whisper", engine.name, lang, complete=True)
    reporter = ConsoleReporter(err)
    reporter.start(Episode(None, None, str(file), file.name), "transcribe")
    try:
        for window, segments in engine.transcribe_stream(
            audio.stream(file), language=lang, window_seconds=settings.window_seconds
        ):
            for seg in segments:
                seg.idx = len(transcript.segments)
                transcript.segments.append(seg)
            reporter.advance(window.end / audio.SAMPLE_RATE, info.duration)
    finally:
        reporter.close()
    if lang is None:  # found chunk by chunk: the one most speech was in
        transcript.language, transcript.language_prob = spoken(transcript.segments)
        transcript.language = transcript.language or "en"
    if timings:
        spent = engines.timings()
        spent["total"] = round(time.perf_counter() - PROCESS_START, 3)
        err.print("timings: " + json.dumps(spent), markup=False, highlight=False, soft_wrap=True)
    _write(render(fmt, transcript, title=file.stem), output)


@app.command()
def retranscribe(
    ctx: typer.Context,
    episode: Annotated[
        str | None,
        typer.Argument(help="Episode id (see `podgrep episodes`) or a unique part of its title."),
    ] = None,
    show: Annotated[
        str | None,
        typer.Option(
            "--show",
            help="Every episode of this show (id, feed URL or title) Whisper transcribed with"
            " another model.",
        ),
    ] = None,
    every: Annotated[
        bool,
        typer.Option(
            "--all",
            help="With --show: also episodes whose transcript is the publisher's or an import.",
        ),
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Whisper model: one `podgrep models` lists, a faster-whisper name, or a path"
            " (default: the model setting).",
        ),
    ] = None,
    queue_only: Annotated[
        bool,
        typer.Option(
            "--queue-only", help="Only queue the work: `podgrep sync` or `podgrep worker` runs it."
        ),
    ] = False,
    device: DeviceOpt = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Transcribe episodes again with another model, now (with progress) unless --queue-only.

    The old transcript stays searchable until the new one is complete, then they swap in one
    transaction; names you gave speakers stay with their voices. A killed run resumes."""
    from podgrep.retranscribe import model_name, plan, report, request, run_episodes

    settings = _settings(ctx, home, device=device)
    chosen = model_name(model or settings.model)
    with _store(settings) as store:
        planned = plan(
            store, chosen, episode=episode, show=show, every=every, queue_only=queue_only
        )
        request(store, planned)
        for line in report(planned, show=show):
            err.print(escape(line))
        summary = None
        if planned.episode_ids and not queue_only:
            from podgrep.progress import ConsoleReporter

            reporter = ConsoleReporter(err)
            try:
                summary = run_episodes(
                    settings,
                    store,
                    planned.episode_ids,
                    reporter,
                    notify=lambda m: err.print(f"note: {escape(m)}"),
                )
            finally:
                reporter.close()
    if as_json:
        print(json.dumps(planned.as_json(summary), indent=2, ensure_ascii=False))
    if summary is not None:
        failed = len(summary.failures)
        err.print(
            f"Retranscription finished: {len(summary.episodes_done)} episode(s) ready to search"
            + (f", {failed} step(s) failed (see `podgrep status`)" if failed else ".")
        )
        if summary.failures:
            raise typer.Exit(3)


@app.command()
def models(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """List the Whisper models available offline and where they come from."""
    from podgrep.asr.engine import bundled_models

    found = bundled_models()  # lists split models without joining them; resolve() joins
    if as_json:
        rows = [
            {
                "name": m.name,
                "multilingual": not m.english_only,
                "origin": m.origin,
                "path": str(m.path) if m.path else None,
                "ready": m.ready,
            }
            for m in found
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not found:
        out.print("No Whisper model is installed for offline use.")
    name_w = max((len(m.name) for m in found), default=0)
    origin_w = max((len(m.origin) for m in found), default=0)
    for m in found:
        kind = "English-only" if m.english_only else "multilingual"
        where = str(m.path) if m.ready else f"joined on first use (into {m.path})"
        out.print(f"{m.name:{name_w}}  {kind:12}  {m.origin:{origin_w}}  {escape(where)}")
    out.print("Any faster-whisper name (small, large-v3, …) or a local CTranslate2 model")
    out.print(
        "directory also works with --model; names are downloaded once when a hub is reachable."
    )


@app.command()
def demo(
    ctx: typer.Context,
    home: HomeOpt = None,
    port: Annotated[int, typer.Option("--port", help="Port for the sample feed server.")] = 8799,
    query: Annotated[str, typer.Option("--query", help="What to search for at the end.")] = (
        "ask not what your country"
    ),
) -> None:
    """Serve a bundled sample feed on 127.0.0.1, add it, sync it, and search it."""
    from podgrep.demo_server import serve_demo

    settings = _settings(ctx, home)
    with serve_demo(port) as feed_url:
        err.print(f"Serving the sample feed at {feed_url}")
        args = ["--home", str(settings.home)]
        _invoke(["add", feed_url, *args])
        _invoke(["sync", *args])
        # its feed lives only as long as this command: later syncs would each say they
        # could not reach it, so the sample show is paused (kept, searchable, not checked)
        with _store(settings) as store:
            sample = store.show_by_url(feed_url)
            if sample is not None and sample.id is not None:
                store.set_paused(sample.id, True)
    err.print(f"\nSearching for {query!r}:")
    _invoke(["search", query, *args])
    where = f" --home {settings.home}" if home else ""
    err.print(
        '\nTry: podgrep search "Zurich" · podgrep episodes · podgrep export 1 --format srt'
        + where
    )
    err.print(
        f"The sample show is paused (its feed was served only for this demo):"
        f" `podgrep remove {feed_url}{where}` removes it."
    )


@app.command()
def serve(
    ctx: typer.Context,
    home: HomeOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="PODGREP_TOKEN",
            help="Token that changes need (always, once given; off 127.0.0.1 one is generated"
            " and printed when none is given).",
        ),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            metavar="NAME",
            help="Another Host name (or *.domain) the server answers to, e.g. a name this"
            " machine has on your network; repeat for more. Also PODGREP_ALLOWED_HOSTS.",
        ),
    ] = None,
    sync_every: Annotated[
        str | None,
        typer.Option(
            "--sync-every",
            metavar="INTERVAL",
            help="Also check the feeds due and sync every INTERVAL (30s, 15m, 1h, 2d; a bare"
            " number is seconds) while serving.",
        ),
    ] = None,
) -> None:
    """Serve the web app and JSON API over the library (http://127.0.0.1:8765)."""
    from podgrep.web.server import serve as run_server

    every = None
    if sync_every is not None:
        from podgrep.jobs.schedule import parse_interval

        every = parse_interval(sync_every, option="--sync-every")
    run_server(
        _settings(ctx, home),
        host=host,
        port=port,
        token=token,
        allow_hosts=allow_host or [],
        say=err.print,
        sync_every=every,
    )


@app.command()
def mcp(
    ctx: typer.Context,
    home: HomeOpt = None,
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP on 127.0.0.1 (default: stdio).")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="TCP port with --http.")] = 8766,
    base_url: Annotated[
        str,
        typer.Option("--base-url", help="Where `podgrep serve` answers, for the deep links."),
    ] = "http://127.0.0.1:8765",
    allow_writes: Annotated[
        bool,
        typer.Option("--allow-writes", help="Also offer the add and sync tools (changes)."),
    ] = False,
) -> None:
    """Serve the library to AI assistants over MCP: search, transcripts, shows, episodes,
    chapters (podgrep.mcp_server)."""
    from podgrep.mcp_server import check_base_url
    from podgrep.mcp_server import serve as serve_mcp

    check_base_url(base_url)  # before anything starts: one line, exit 1
    serve_mcp(
        _settings(ctx, home), http=http, port=port, base_url=base_url, allow_writes=allow_writes
    )


@app.command()
def publish(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Folder to write the site into.")],
    show_ref: Annotated[
        str | None, typer.Option("--show", help="Only this show (id, feed URL or title).")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="Where the folder will be served (https://…/): needed for each show's feed.xml.",
        ),
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Write a static Podcasting 2.0 site: pages with player and transcript, transcript JSON,
    WebVTT and chapters files, client-side search and (with --base-url) each feed show's
    feed.xml; a re-run rewrites only what changed."""
    from podgrep.publish.cli import run_publish

    run_publish(_settings(ctx, home), folder, show_ref, base_url, out.print, err.print)


@app.command("import")
def import_transcript(
    ctx: typer.Context,
    episode: Annotated[str, typer.Argument(help="Episode id (see `podgrep episodes`) or title.")],
    file: Annotated[
        Path, typer.Argument(help="Transcript: SRT, WebVTT, JSON, HTML or text layouts.")
    ],
    part: Annotated[
        int | None,
        typer.Option("--part", help="Which episode of a page holding several (from 1)."),
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Import a transcript file as the episode's transcript, replacing the one it had."""
    from podgrep.enrich.episode import enrich_episode
    from podgrep.semantic.embed import shared_embedder
    from podgrep.transcripts.importer import read_transcript
    from podgrep.transcripts.publisher import pick_episode, store_imported

    if not file.is_file():
        raise NotFoundError(f"{file} does not exist")
    settings = _settings(ctx, home)
    found = read_transcript(file.read_bytes(), file.name)
    with _store(settings) as store:
        episode_id = _episode_ref(store, episode)
        ep = store.get_episode(episode_id)
        chosen = pick_episode(found, ep.title, part)
        store_imported(store, episode_id, chosen, whole=True)
        if ep.status != "indexed":
            store.set_status(episode_id, "transcribed")
        done = enrich_episode(store, store.get_episode(episode_id), shared_embedder())
    speakers = sorted({s.speaker for s in chosen.segments if s.speaker})
    out.print(
        f"Imported {len(chosen.segments)} segments into episode {episode_id}"
        + (f" ({len(found)} episodes in the file; took {chosen.title!r})" if len(found) > 1 else "")
        + (f", speakers: {escape(', '.join(speakers))}" if speakers else "")
        + f"; {done.chapters} chapters ({done.chapter_source or 'none'}), {done.links} links."
    )


@app.command()
def links(
    ctx: typer.Context,
    show: Annotated[
        int | None, typer.Option("--show", help="Links shared across this show's episodes.")
    ] = None,
    episode: Annotated[
        str | None, typer.Option("--episode", help="Links of one episode (id or title).")
    ] = None,
    minimum: Annotated[
        int, typer.Option("--min", help="With --show: shared by at least this many episodes.")
    ] = 2,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Links from show notes and the talk: one episode's, or those a show's episodes share."""
    settings = _settings(ctx, home)
    rows: list[dict[str, Any]]
    with _store(settings) as store:
        if episode is not None:
            rows = [
                {"url": lk.url, "title": lk.title, "origin": lk.origin, "start": lk.start}
                for lk in store.link_rows(_episode_ref(store, episode))
            ]
        elif show is not None:
            store.get_show(show)
            rows = [asdict(lk) for lk in store.shared_links(show, minimum)]
        else:
            raise PodgrepError("Give --show ID (shared links) or --episode ID")
    if as_json:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False))
        return
    if not rows:
        err.print("No links found.")
        return
    for r in rows:
        count = f"{r['episodes']:>4} episodes  " if "episodes" in r else ""
        where = f"[{timestamp(r['start'])}] " if r.get("start") is not None else ""
        title = f"  {r['title']}" if r.get("title") else ""
        out.print(f"{count}{where}{escape(r['url'])}{escape(title)}")


@app.command()
def index(
    ctx: typer.Context,
    home: HomeOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Redo chapters and links of every episode.")
    ] = False,
) -> None:
    """Find chapters and links and embed passages for transcribed episodes not yet done."""
    from podgrep import net
    from podgrep.enrich.episode import enrich_episode
    from podgrep.semantic.embed import shared_embedder
    from podgrep.semantic.vectors import embed_missing

    settings = _settings(ctx, home)
    embedder = shared_embedder()
    with _store(settings) as store:
        done = 0
        for ep in store.list_episodes():
            if ep.status not in ("transcribed", "indexed") or ep.id is None:
                continue
            if not force and ep.status == "indexed" and _has_enrichment(store, ep.id):
                continue
            assert ep.show_id is not None
            show = store.get_show(ep.show_id)
            # chapters JSON is the feed's content: fetched under the feed's rules
            guard = net.content_guard(settings, show.feed_url, remote=not show.chosen_by_user)
            with net.client(settings, guard=guard) as client:
                enrich_episode(store, ep, embedder, client)
            done += 1
        passages = embed_missing(store, embedder)
    err.print(f"Indexed {done} episode(s); {passages} new passage vector(s).")


def _has_enrichment(store: Store, episode_id: int) -> bool:
    return bool(store.chapter_rows(episode_id) or store.link_rows(episode_id))


def _invoke(args: list[str]) -> None:
    """Run another podgrep verb in-process, stopping the demo if it fails."""
    code = app(args, standalone_mode=False)
    if isinstance(code, int) and code:
        raise typer.Exit(code)


def _disk_full(exc: BaseException) -> PodgrepError:
    """The one line for SQLite's (or the system's) "disk is full", naming the disk it hit."""
    import os

    from podgrep.errors import DiskFullError, full_disk_cause

    exc = full_disk_cause(exc) or exc
    where: Path | None = None
    if isinstance(exc, OSError) and exc.filename:
        where = Path(os.fsdecode(exc.filename)).parent
    tb = exc.__traceback__
    while where is None and tb is not None:  # the store that hit it knows its file
        for value in (tb.tb_frame.f_locals.get("self"), tb.tb_frame.f_locals.get("store")):
            path = getattr(value, "path", None)
            if getattr(value, "kind", None) == "sqlite" and isinstance(path, Path):
                where = path.parent
        tb = tb.tb_next
    if where is None:  # the library the command was given, else the default one
        args = sys.argv[1:]
        given = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "--home"), None)
        given = given or next((a.split("=", 1)[1] for a in args if a.startswith("--home=")), None)
        where = Path(given).expanduser() if given else load_settings().home
    what = "the files this command writes" if isinstance(exc, OSError) else "its database"
    return DiskFullError.about(where, what=what, then="run the command again")


def main() -> None:
    """Entry point for the `podgrep` script."""
    import signal
    import sqlite3

    from podgrep.errors import full_disk_cause

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM (systemd, docker stop, kill) stops as Ctrl-C does: the step running is given
    # back to the queue and the next run resumes it (`serve` installs its own handlers)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        app()
    except (sqlite3.Error, OSError) as exc:
        # past every command's own handling: a full disk is still one line, not a traceback
        if full_disk_cause(exc) is None:
            raise
        _print_error(_disk_full(exc))
        sys.exit(1)
