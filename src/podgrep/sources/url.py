"""Single media URLs: direct links to audio/video files, or pages yt-dlp can extract.

yt-dlp runs in a child process (`python -m yt_dlp`), never in podgrep's own: it makes its own
connections, which podgrep's per-request deadlines and decoded-size caps cannot reach, so the
child is bounded from outside instead. Reading a page has a whole deadline (`PAGE_DEADLINE`); a
download must keep up the minimum rate every other download keeps (`min_download_kbps`,
averaged after `net.MEDIA_GRACE_SECONDS`), measured on the growth of the files in its download
folder, and stay under `max_download_mb`. A child that breaks a rule is killed with its whole
process group, and its memory is limited (`CHILD_MEMORY_BYTES`) so a decompression bomb ends
the child, not podgrep.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from podgrep import net
from podgrep.domain import Episode, Show
from podgrep.errors import FetchError

URLS_SHOW_URL = "urls:added"  # the pseudo-show that collects single URLs
YTDLP_TYPE = "yt-dlp"  # media_type marking an episode whose media_url is a page for yt-dlp


def urls_show() -> Show:
    """The pseudo-show that holds single URLs."""
    return Show(id=None, feed_url=URLS_SHOW_URL, title="Added URLs", kind="url")


def direct_episode(url: str, content_type: str | None, length: int | None) -> Episode:
    """An episode for a URL that answers with media bytes."""
    name = PurePosixPath(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name
    title = PurePosixPath(name).stem.replace("_", " ").replace("-", " ").strip() or url
    return Episode(
        id=None,
        show_id=None,
        guid=url,
        title=title,
        media_url=url,
        media_type=content_type,
        media_length=length,
    )


PAGE_DEADLINE = 60.0  # seconds yt-dlp may spend reading a page before `add` gives up on it
SOCKET_TIMEOUT = 30.0  # yt-dlp's own per-read timeout (it makes its own connections)
# Memory of the yt-dlp child (POSIX): a decompression bomb ends the child there. RLIMIT_DATA
# (heap and private mappings) rather than RLIMIT_AS: the JavaScript runtimes yt-dlp starts for
# some sites (deno, node: V8) reserve gigabytes of address space they never use, and fail
# under an address-space limit.
CHILD_MEMORY_BYTES = 1024**3
INFO_MAX_BYTES = net.FEED_MAX_BYTES  # what yt-dlp may print about a page (its JSON)
OUTPUT_MAX_BYTES = 1024 * 1024  # what else a child may print before it is stopped
POLL_SECONDS = 0.25  # how often a running child is checked

# Run in the child before yt-dlp is imported. It limits the child's own memory (from outside
# that takes preexec_fn, unsafe in a process with threads such as the web app), and ends the
# child with its process group when podgrep is gone: a sync killed mid-download must not leave
# a yt-dlp writing the .part file the next sync resumes.
_BOOT = """\
import os, sys, threading, time
limit, parent = int(sys.argv.pop(1)), int(sys.argv.pop(1))
try:
    import resource
except ImportError:  # not POSIX: no limit
    pass
else:
    if limit > 0:
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        except (ValueError, OSError):
            pass
def orphaned():
    while os.getppid() == parent:
        time.sleep(1)
    if hasattr(os, "killpg") and os.getpgrp() == os.getpid():
        os.killpg(0, 9)
    os._exit(1)
threading.Thread(target=orphaned, daemon=True).start()
# yt-dlp's own urllib handler, whatever else is installed: with `requests` present (Ray
# brings it) yt-dlp reads pages through it, and a gzip-bomb page no longer ends the child at
# its memory limit but is added (tests/faults/test_ytdlp.py); its compat option
# prefer-legacy-http-handler does not keep it out
sys.modules["requests"] = None
import yt_dlp
sys.exit(yt_dlp.main())
"""


def _ydl_args(*extra: str, quiet: bool = True) -> list[str]:
    """The child's command line: the options podgrep always uses, then `extra`."""
    return [
        sys.executable,
        "-P",  # never import from the working directory (a yt_dlp.py left there)
        "-c",
        _BOOT,
        str(CHILD_MEMORY_BYTES),
        str(os.getpid()),
        "--ignore-config",  # the user's yt-dlp configuration must not change what runs
        *(["--quiet"] if quiet else []),
        "--no-warnings",
        "--no-progress",
        "--no-playlist",
        "--no-color",
        "--socket-timeout",
        f"{SOCKET_TIMEOUT:g}",
        *extra,
    ]


@dataclass
class _Outcome:
    """How a child ended: its exit status, what it printed, and why podgrep stopped it."""

    returncode: int | None
    stdout: bytes
    stderr: str
    stopped: str | None = None  # set when podgrep killed the child


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child and everything it started (ffmpeg, for some sites)."""
    with contextlib.suppress(OSError):
        if os.name == "posix":  # the child leads its own group and is not reaped yet
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _size(f: IO[bytes]) -> int:
    return os.fstat(f.fileno()).st_size


def _read(f: IO[bytes], limit: int) -> bytes:
    f.seek(0)
    return f.read(limit)


def _run(
    args: list[str],
    *,
    deadline: float | None = None,
    stdout_max: int = OUTPUT_MAX_BYTES,
    check: Callable[[], str | None] | None = None,
) -> _Outcome:
    """Run a yt-dlp child until it ends, `deadline` seconds pass, its output passes
    `stdout_max`, or `check()` gives a reason to stop it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=os.environ.copy(),  # podgrep's telemetry-off variables and proxies
                start_new_session=os.name == "posix",  # its own process group, killed whole
                creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
            )
        except OSError as exc:
            raise FetchError(f"yt-dlp could not start: {exc.strerror or exc}") from exc
        start = time.monotonic()
        stopped: str | None = None
        try:
            while True:
                try:
                    proc.wait(timeout=POLL_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if deadline is not None and time.monotonic() - start > deadline:
                    stopped = f"took longer than {deadline:.0f} s"
                elif _size(out) > stdout_max or _size(err) > OUTPUT_MAX_BYTES:
                    stopped = "printed more than podgrep reads"
                elif check is not None:
                    stopped = check()
                if stopped:
                    break
        finally:
            if proc.returncode is None:  # stopped, or podgrep itself interrupted (Ctrl-C)
                _kill(proc)
        stdout = _read(out, stdout_max)
        stderr = _read(err, OUTPUT_MAX_BYTES).decode("utf-8", "replace")
        return _Outcome(proc.returncode, stdout, stderr, stopped)


def _reason(outcome: _Outcome) -> str:
    """yt-dlp's own reason for failing, in one short line."""
    text = outcome.stderr
    if os.strerror(errno.ENOSPC) in text or "No space left on device" in text:
        return "No space left on device"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR:")]
    if errors:
        line = errors[-1].removeprefix("ERROR:").strip()
    elif lines:
        line = lines[-1]
        if "MemoryError" in line:
            line = "it ran out of memory"
    elif outcome.returncode is not None and outcome.returncode < 0:
        line = f"it was killed (signal {-outcome.returncode})"
    else:
        line = f"it exited with status {outcome.returncode}"
    return line[:200]


def _extract(url: str, deadline: float) -> dict[str, Any] | None:
    args = _ydl_args("--dump-single-json", "--", url)
    try:
        outcome = _run(args, deadline=deadline, stdout_max=INFO_MAX_BYTES)
    except FetchError:
        return None
    if outcome.stopped or outcome.returncode != 0:
        return None
    try:
        found = json.loads(outcome.stdout)
    except (ValueError, RecursionError):
        return None
    return found if isinstance(found, dict) else None


def page_episode(url: str, deadline: float | None = None) -> Episode | None:
    """An episode for a page yt-dlp can extract media from, or None when it cannot (or does
    not finish within `deadline` seconds, PAGE_DEADLINE by default: a page that drips must not
    hang `add`)."""
    info = _extract(url, PAGE_DEADLINE if deadline is None else deadline)
    return page_from_info(info, url) if info else None


def page_from_info(info: dict[str, Any], url: str) -> Episode | None:
    """The episode `page_episode` makes of yt-dlp's info about a page (its first entry for
    a playlist), or None when it lists nothing."""
    if info.get("_type") == "playlist":
        entries = [e for e in info.get("entries") or [] if isinstance(e, dict)]
        if not entries:
            return None
        # a page with one embedded player: the page's title names the talk better
        page_title = info.get("title") if len(entries) == 1 else None
        info = {**entries[0], "title": page_title or entries[0].get("title")}
    title = _text(info.get("title")) or url
    if info.get("extractor") in ("generic", "html5"):
        # the generic extractor numbers embedded players: "Page title (1)" for id "page-1"
        m = re.match(r"^(.*) \((\d+)\)$", title)
        if m and str(info.get("id", "")).endswith("-" + m.group(2)):
            title = m.group(1)
    return Episode(
        id=None,
        show_id=None,
        guid=_text(info.get("webpage_url")) or url,
        title=title,
        media_url=url,
        media_type=YTDLP_TYPE,
        duration=_number(info.get("duration")),
        published=_number(info.get("timestamp")),
        link=_text(info.get("webpage_url")) or url,
        show_notes_html=_text(info.get("description")),
        image=_text(info.get("thumbnail")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> Any:
    """A JSON number as yt-dlp gave it (int or float), or None for anything else."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _sizes(folder: Path) -> dict[str, int]:
    """The size of each file in the download folder (yt-dlp writes .part files there)."""
    sizes: dict[str, int] = {}
    with contextlib.suppress(OSError), os.scandir(folder) as it:
        for entry in it:
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False):
                    sizes[entry.name] = entry.stat(follow_symlinks=False).st_size
    return sizes


class _Watch:
    """Stops a download that falls below the minimum rate or grows past the size limit."""

    def __init__(
        self,
        folder: Path,
        min_rate: float | None,
        max_bytes: int | None,
        progress: Callable[[float, float | None], None] | None,
    ) -> None:
        self.folder, self.max_bytes, self.progress = folder, max_bytes, progress
        self.before = _sizes(folder)
        # read at call time: tests (and slow links) change the grace
        self.deadline = net.Deadline(min_rate=min_rate or None, grace=net.MEDIA_GRACE_SECONDS)

    def __call__(self) -> str | None:
        now = _sizes(self.folder)
        grown = sum(now.values()) - sum(self.before.values())
        if grown > self.deadline.received:
            self.deadline.received = grown
            if self.progress is not None:
                self.progress(float(grown), None)
        limit = self.max_bytes
        if limit is not None and (
            self.deadline.received > limit or any(now[n] > limit for n in self._mine(now))
        ):
            return f"it sent more than {_mb(limit)}, over the download limit"
        d = self.deadline
        if d.min_rate and d.remaining() <= 0:
            return (
                f"slower than the {d.min_rate / 1024:.0f} KB/s podgrep waits for "
                f"(min_download_kbps): {d.received / 1024:.0f} KB in "
                f"{time.monotonic() - d.start:.0f} s"
            )
        return None

    def _mine(self, now: dict[str, int]) -> list[str]:
        """Files this download wrote: new, or changed since it began."""
        return [n for n, size in now.items() if self.before.get(n) != size]

    def drop(self) -> None:
        """Remove what this download wrote (too big to keep: never resumed)."""
        for name in self._mine(_sizes(self.folder)):
            with contextlib.suppress(OSError):
                (self.folder / name).unlink()


def _mb(n: int) -> str:
    return f"{n / 1024**2:.1f} MB"


def _template(path: Path) -> str:
    """A path as a yt-dlp output template: its own % signs are not fields."""
    return str(path).replace("%", "%%")


_TOO_BIG = "File is larger than max-filesize"  # yt-dlp's words when Content-Length says so


def download_page_media(
    url: str,
    dest: Path,
    *,
    min_rate: float | None = None,
    max_bytes: int | None = None,
    progress: Callable[[float, float | None], None] | None = None,
) -> Path:
    """Download the best audio of a yt-dlp page into `dest` (resuming a .part file).

    `min_rate` is in bytes per second, averaged after `net.MEDIA_GRACE_SECONDS`; `max_bytes`
    caps the download. A child that breaks either is killed: FetchError(transient=True) for a
    slow one (the next sync resumes it), a permanent one for a download over the limit."""
    dest.mkdir(parents=True, exist_ok=True)
    limit_hint = ": raise max_download_mb in podgrep.toml or PODGREP_MAX_DOWNLOAD_MB"
    with tempfile.TemporaryDirectory(prefix="podgrep-yt-dlp-") as tmp:
        where = Path(tmp) / "filepath.txt"
        extra = [
            "--format",
            "bestaudio/best",
            "--output",
            os.path.join(_template(dest), "%(id)s.%(ext)s"),
            "--continue",
            "--retries",
            "5",
            "--playlist-items",
            "1",  # a page with several players: the first, as page_episode described it
            # not --print, which implies --quiet: yt-dlp says a file is too big only aloud
            "--print-to-file",
            "after_move:filepath",
            _template(where),
        ]
        if max_bytes is not None:
            extra += ["--max-filesize", str(max_bytes)]
        watch = _Watch(dest, min_rate, max_bytes, progress)
        outcome = _run(_ydl_args(*extra, "--", url, quiet=False), check=watch)
        try:
            printed = where.read_bytes()[:OUTPUT_MAX_BYTES].decode("utf-8", "replace")
        except OSError:
            printed = ""
    if outcome.stopped:
        too_big = "download limit" in outcome.stopped
        if too_big:
            watch.drop()  # a slow download's .part stays: the next sync resumes it
        raise FetchError(
            f"yt-dlp stopped downloading {url}: {outcome.stopped}{limit_hint if too_big else ''}",
            transient=not too_big,
        )
    if outcome.returncode != 0:
        raise FetchError(f"yt-dlp could not download {url}: {_reason(outcome)}", transient=True)
    lines = [ln.strip() for ln in printed.splitlines() if ln.strip()]
    if not lines:
        if max_bytes is not None and _TOO_BIG in outcome.stdout.decode("utf-8", "replace"):
            raise FetchError(f"{url} is over the download limit of {_mb(max_bytes)}{limit_hint}")
        raise FetchError(f"yt-dlp reported no file for {url}")
    path = Path(lines[-1])
    try:
        inside = path.resolve().parent == dest.resolve()
    except OSError:
        inside = False
    if not inside or not path.is_file():
        raise FetchError(f"yt-dlp reported no file for {url}")
    return path
