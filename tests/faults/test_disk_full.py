"""Faults of the download path on a real small filesystem: full disks, and lying sizes.

The full-disk tests mount a tmpfs of a few MB (they need root, or CAP_SYS_ADMIN, and skip
saying so otherwise) as the media cache or the whole library, serve real media from a local
HTTP server, and run the real fetch step through run_pending (the later steps are stubbed:
they are not what a full disk tests) or the real CLI in a subprocess.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from podgrep.config import Settings, load_settings
from podgrep.domain import Episode, Job, Show
from podgrep.errors import FetchError
from podgrep.fetch import MediaCache
from podgrep.jobs import local
from podgrep.jobs.steps import StepContext
from podgrep.runtime import open_store
from podgrep.store import STEPS
from podgrep.store.sqlite import SqliteStore
from tests.conftest import DATA, feed_xml
from tests.support.server import LocalServer

pytestmark = pytest.mark.fault("disk")

MB = 1024 * 1024
BIG = (DATA / "conversation_a.mp3").read_bytes()  # 1.9 MB of real audio
SMALL = (DATA / "hotwords.mp3").read_bytes()  # 64 KB of real audio
ETAG = '"v1"'


# -- a small filesystem --------------------------------------------------------------------


@pytest.fixture
def mount_small(tmp_path: Path) -> Iterator[Callable[[Path, str], Path]]:
    """mount(path, size): a tmpfs of `size` at `path`, unmounted when the test ends."""
    mounted: list[Path] = []

    def mount(path: Path, size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("the full-disk tests mount a small tmpfs, which needs root")
        path.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            pytest.skip(f"cannot run mount here ({exc}): the full-disk tests need a tmpfs")
        if done.returncode != 0:
            pytest.skip(
                f"mounting a tmpfs is not permitted here ({done.stderr.strip()}): "
                "the full-disk tests need CAP_SYS_ADMIN"
            )
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _fill(disk: Path, leave: int) -> Path:
    """Fill the disk up, then free `leave` bytes: a stand-in for everything else on it."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as fh:
        block = b"\0" * (64 * 1024)
        with contextlib.suppress(OSError):
            while fh.write(block):
                pass
    size = filler.stat().st_size
    os.truncate(filler, max(size - leave, 0))
    return filler


# -- a media server that streams without Content-Length -----------------------------------


class _Chunked(BaseHTTPRequestHandler):
    """Streams files chunked (length unknown up front); with `resumable`, sends an ETag and
    answers If-Range ranges with a 206 that does give its length."""

    protocol_version = "HTTP/1.1"
    server: _ChunkedServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        srv = self.server
        srv.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        data = srv.files.get(self.path)
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        rng = self.headers.get("Range")
        try:
            if srv.resumable and rng and self.headers.get("If-Range") == ETAG:
                start = int(rng.removeprefix("bytes=").split("-")[0])
                self.send_response(206)
                self.send_header("Content-Type", "audio/mpeg")
                self.send_header("ETag", ETAG)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                self.wfile.write(data[start:])
                return
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Transfer-Encoding", "chunked")
            if srv.resumable:
                self.send_header("ETag", ETAG)
            self.end_headers()
            for i in range(0, len(data), 32 * 1024):
                chunk = data[i : i + 32 * 1024]
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client gave up (its disk is full): nothing to tell it
            self.close_connection = True


class _ChunkedServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up mid-answer (its disk was full) is expected here

    def __init__(self, files: dict[str, bytes], resumable: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Chunked)
        self.files = files
        self.resumable = resumable
        self.seen: list[tuple[str, dict[str, str]]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@contextlib.contextmanager
def _chunked(files: dict[str, bytes], *, resumable: bool) -> Iterator[_ChunkedServer]:
    srv = _ChunkedServer(files, resumable)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


# -- a library whose later steps are stubbed -----------------------------------------------


def _library(home: Path, urls: list[str]) -> tuple[SqliteStore, list[int]]:
    """A show whose episodes (newest first, in the order given) link to `urls`."""
    store = open_store(home / "podgrep.db")
    sid, _ = store.add_show(Show(None, "http://127.0.0.1/feed.xml", "Show"))
    eps = [
        Episode(None, None, f"g{i}", f"Ep {i}", media_url=url, published=1e9 - i)
        for i, url in enumerate(urls)
    ]
    return store, store.add_episodes(sid, eps)


def _sync(
    store: SqliteStore, settings: Settings, reserve_mb: float, monkeypatch: pytest.MonkeyPatch
) -> local.RunSummary:
    """run_pending with the real fetch step (no retries) and the later steps stubbed; one
    download at a time (fetch_ahead 0), so the free space each one meets is known."""
    for step in STEPS[1:]:
        monkeypatch.setitem(local.STEP_FUNCTIONS, step, lambda ctx, ep, progress: None)
    with MediaCache(
        settings.media_dir, retries=0, backoff=0, reserve_bytes=int(reserve_mb * MB)
    ) as cache:
        return local.run_pending(StepContext(store, replace(settings, fetch_ahead=0), cache))


def _full_line(media: Path, tail: str) -> re.Pattern[str]:
    return re.compile(
        rf"^the disk holding {re.escape(str(media))} has \d+(\.\d)? MB free; podgrep needs " + tail
    )


def _partials(media: Path) -> list[Path]:
    folder = media / "partial"
    return sorted(p for p in folder.glob("*") if not p.name.endswith(".lock"))


def _fetch_job(store: SqliteStore, eid: int) -> Job:
    return next(j for j in store.jobs(eid) if j.step == "fetch")


# -- full disks ----------------------------------------------------------------------------


def test_download_larger_than_free_space_is_refused_and_the_next_fits(
    tmp_path: Path, mount_small: Callable[[Path, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    media = mount_small(home / "media", "3m")
    www = tmp_path / "www"
    www.mkdir()
    (www / "big.mp3").write_bytes(os.urandom(4 * MB))
    (www / "small.mp3").write_bytes(SMALL)
    settings = load_settings(home)
    with LocalServer(www) as srv:
        store, (big, small) = _library(home, [srv.url("big.mp3"), srv.url("small.mp3")])
        summary = _sync(store, settings, 1, monkeypatch)
        gets = [p for m, p, _ in srv.requests if m == "GET"]
    [(eid, step, line)] = summary.failures
    assert (eid, step) == (big, "fetch")
    expected = _full_line(media, r"4\.0 MB for this download and keeps a reserve of 1\.0 MB: ")
    assert expected.match(line), line
    assert "free some space or lower disk_reserve_mb" in line and "\n" not in line
    assert gets.count("/big.mp3") == 1  # refused from its Content-Length, not retried
    job = _fetch_job(store, big)
    assert job.state == "failed" and job.attempts == 0 and job.error == line
    assert _fetch_job(store, small).state == "done"
    path = Path(store.get_episode(small).media_path or "")
    assert path.parent.parent == media and path.read_bytes() == SMALL
    assert _partials(media) == []
    # the next sync tries the big one again (no attempt was charged) and says the same
    again = _sync(store, settings, 1, monkeypatch)
    assert [(e, s) for e, s, _ in again.failures] == [(big, "fetch")]


def test_unknown_length_filling_the_disk_drops_an_unresumable_partial(
    tmp_path: Path, mount_small: Callable[[Path, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    media = mount_small(home / "media", "3m")
    filler = _fill(media, 1 * MB)
    settings = load_settings(home)
    with _chunked({"/big.mp3": BIG, "/small.mp3": SMALL}, resumable=False) as srv:
        store, (big, small) = _library(home, [srv.url("/big.mp3"), srv.url("/small.mp3")])
        summary = _sync(store, settings, 0, monkeypatch)
        [(eid, step, line)] = summary.failures
        assert (eid, step) == (big, "fetch")
        tail = r"more than 1\.0 MB for this download: free some space"
        assert _full_line(media, tail).match(line), line
        assert _partials(media) == []  # nothing a later run could resume: removed
        assert _fetch_job(store, small).state == "done"  # fits in what is left
        assert _fetch_job(store, big).attempts == 0
        filler.unlink()  # the user frees some space
        summary = _sync(store, settings, 0, monkeypatch)
    assert summary.failures == []
    assert Path(store.get_episode(big).media_path or "").read_bytes() == BIG
    assert _partials(media) == []


@pytest.mark.parametrize("reserve_mb", [0, 1])
def test_unknown_length_filling_the_disk_keeps_a_resumable_partial(
    tmp_path: Path,
    mount_small: Callable[[Path, str], Path],
    monkeypatch: pytest.MonkeyPatch,
    reserve_mb: int,
) -> None:
    # reserve 0: the write itself fails (ENOSPC); 1 MB: the check while streaming stops it
    home = tmp_path / "home"
    media = mount_small(home / "media", "3m")
    filler = _fill(media, int(1.5 * MB))
    settings = load_settings(home)
    with _chunked({"/big.mp3": BIG}, resumable=True) as srv:
        store, (big,) = _library(home, [srv.url("/big.mp3")])
        [(_, _, line)] = _sync(store, settings, reserve_mb, monkeypatch).failures
        assert _full_line(media, "more for the rest of this download").match(line), line
        assert ("keeps a reserve of 1.0 MB" in line) == (reserve_mb > 0)
        part, sidecar = _partials(media)
        assert sidecar.name == part.name + ".json"
        kept = part.stat().st_size
        assert 0 < kept < len(BIG) and part.read_bytes() == BIG[:kept]
        assert json.loads(sidecar.read_text())["etag"] == ETAG
        filler.unlink()
        summary = _sync(store, settings, reserve_mb, monkeypatch)
        resumed = srv.seen[-1][1]
    assert summary.failures == []
    assert resumed.get("range") == f"bytes={kept}-" and resumed.get("if-range") == ETAG
    path = Path(store.get_episode(big).media_path or "")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == hashlib.sha256(BIG).hexdigest()
    assert _partials(media) == []


@pytest.mark.parametrize("sidecar", ["none", "stale"])
def test_partial_left_by_an_old_full_disk_run_does_not_block(
    tmp_path: Path,
    mount_small: Callable[[Path, str], Path],
    monkeypatch: pytest.MonkeyPatch,
    sidecar: str,
) -> None:
    # 1.5 MB of leftover partial on a 3 MB disk: the 1.9 MB download only fits in its place
    home = tmp_path / "home"
    media = mount_small(home / "media", "3m")
    settings = load_settings(home)
    with _chunked({"/big.mp3": BIG}, resumable=True) as srv:
        url = srv.url("/big.mp3")
        key = hashlib.sha256(url.encode()).hexdigest()[:24]
        part = media / "partial" / f"{key}.part"
        part.parent.mkdir(parents=True)
        part.write_bytes(b"\1" * int(1.5 * MB))
        if sidecar == "stale":
            meta = {"url": url, "etag": '"old"', "last_modified": None, "bytes": 0, "total": None}
            part.with_name(part.name + ".json").write_text(json.dumps(meta))
        store, (big,) = _library(home, [url])
        summary = _sync(store, settings, 0.5, monkeypatch)
    assert summary.failures == []
    assert Path(store.get_episode(big).media_path or "").read_bytes() == BIG


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PODGREP_HOME": str(home),
        "PODGREP_DISK_RESERVE_MB": "0",
        "PODGREP_FETCH_RETRIES": "0",
    }
    return subprocess.run(
        [sys.executable, "-m", "podgrep", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.parametrize("command", ["add", "sync"])
def test_database_on_a_full_disk_is_one_line(
    tmp_path: Path, mount_small: Callable[[Path, str], Path], command: str
) -> None:
    home = mount_small(tmp_path / "home", "3m")
    www = tmp_path / "www"
    www.mkdir()
    (www / "small.mp3").write_bytes(SMALL)
    with LocalServer(www) as srv:
        base = srv.url("").rstrip("/")
        one = [("Ep 0", "g0", "small.mp3", "audio/mpeg")]
        (www / "one.xml").write_text(feed_xml(base, "Show", one), encoding="utf-8")
        done = _cli(home, "add", srv.url("one.xml"))
        assert done.returncode == 0, done.stderr
        # a feed of thousands of items: more rows than the disk has room for
        many = [(f"Ep {i} " + "x" * 400, f"g{i}", "small.mp3", "audio/mpeg") for i in range(4000)]
        big_feed = feed_xml(base, "Show", many)
        (www / "many.xml").write_text(big_feed, encoding="utf-8")
        (www / "one.xml").write_text(big_feed, encoding="utf-8")  # what sync's refresh finds
        _fill(home, 96 * 1024)  # enough to open the database, not to grow it
        if command == "add":
            done = _cli(home, "add", srv.url("many.xml"))
        else:
            done = _cli(home, "sync", "--no-refresh")
            assert done.returncode in (0, 3), done.stderr  # the episode itself may not fit
            done = _cli(home, "sync")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert re.match(rf"error: the disk holding {re.escape(str(home))} has \d", errors[0])
    assert "its database" in errors[0]


def test_opening_the_database_on_a_full_disk_is_one_line(
    tmp_path: Path, mount_small: Callable[[Path, str], Path]
) -> None:
    home = mount_small(tmp_path / "home", "2m")
    assert _cli(home, "status").returncode == 0
    _fill(home, 0)  # not even room for the database's shared-memory index
    done = _cli(home, "status")
    assert "Traceback" not in done.stderr and done.returncode == 1
    assert re.match(rf"error: the disk holding {re.escape(str(home))} has ", done.stderr)


def test_enospc_is_recognised() -> None:
    from podgrep.errors import is_disk_full

    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    import sqlite3

    assert is_disk_full(sqlite3.OperationalError("database or disk is full"))
    assert not is_disk_full(sqlite3.OperationalError("no such table: x"))
    shm = sqlite3.OperationalError("disk I/O error")
    shm.sqlite_errorcode = 4874  # type: ignore[attr-defined]  # SQLITE_IOERR_SHMSIZE
    assert is_disk_full(shm)
    assert shutil.disk_usage("/").free >= 0


# -- lying sizes -----------------------------------------------------------------------------


class _Liar:
    """A raw HTTP server that announces twice the bytes it has and closes after sending them;
    with `etag` it also answers ranges (with nothing more to send past its real end)."""

    def __init__(self, body: bytes, *, etag: bool) -> None:
        self.body, self.etag = body, etag
        self.requests: list[str] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ep.mp3"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    got = conn.recv(4096)
                    if not got:
                        break
                    head += got
                text = head.decode("latin-1")
                self.requests.append(text)
                claimed = 2 * len(self.body)
                rng = re.search(r"(?im)^range:\s*bytes=(\d+)-", text)
                extra = f"ETag: {ETAG}\r\n" if self.etag else ""
                if self.etag and rng:
                    start = int(rng.group(1))
                    status = "206 Partial Content"
                    extra += f"Content-Range: bytes {start}-{claimed - 1}/{claimed}\r\n"
                    length, body = claimed - start, self.body[start:]
                else:
                    status, length, body = "200 OK", claimed, self.body
                with contextlib.suppress(OSError):
                    conn.sendall(
                        f"HTTP/1.1 {status}\r\nContent-Type: audio/mpeg\r\n{extra}"
                        f"Content-Length: {length}\r\nConnection: close\r\n\r\n".encode()
                        + body
                    )

    def close(self) -> None:
        self._sock.close()


@pytest.mark.parametrize("etag", [False, True])
@pytest.mark.parametrize("retries", [0, 2, 4])
def test_lying_content_length_costs_retries_plus_one_attempts(
    tmp_path: Path, etag: bool, retries: int
) -> None:
    liar = _Liar(os.urandom(300_000), etag=etag)
    try:
        with MediaCache(tmp_path / "cache", retries=retries, backoff=0) as mc:
            mc._sleep = lambda s: None  # type: ignore[method-assign]
            with pytest.raises(FetchError) as err:
                mc.fetch(liar.url())
    finally:
        liar.close()
    assert len(liar.requests) == retries + 1
    message = str(err.value)
    assert "the server sent fewer bytes than it announced (300000 of 600000)" in message
    assert f"after {retries + 1} attempts" in message and "\n" not in message
    assert err.value.transient is True


def test_short_answers_through_any_transport_are_counted_alike(tmp_path: Path) -> None:
    # no HTTP/1.1 framing check in between: the short body itself is what is seen
    body = os.urandom(200_000)
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        headers = {"Content-Type": "audio/mpeg", "Content-Length": str(2 * len(body))}
        return httpx.Response(200, headers=headers, content=iter([body]))

    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as client,
        MediaCache(tmp_path / "cache", retries=3, backoff=0, client=client) as mc,
    ):
        mc._sleep = lambda s: None  # type: ignore[method-assign]
        with pytest.raises(FetchError, match="fewer bytes than it announced"):
            mc.fetch("http://example.test/ep.mp3")
    assert len(calls) == 4


class _Dropper(BaseHTTPRequestHandler):
    """Honours ranges but drops every connection after 100 KB: each resume adds bytes."""

    data = os.urandom(550_000)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        rng = self.headers.get("Range")
        start = int(rng.removeprefix("bytes=").split("-")[0]) if rng else 0
        self.send_response(206 if rng else 200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("ETag", ETAG)
        self.send_header("Content-Length", str(len(self.data) - start))
        if rng:
            self.send_header(
                "Content-Range", f"bytes {start}-{len(self.data) - 1}/{len(self.data)}"
            )
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(self.data[start : start + 100_000])
        self.close_connection = True


def test_resumes_that_add_bytes_stay_free(tmp_path: Path) -> None:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Dropper)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        with MediaCache(tmp_path / "cache", retries=1, backoff=0) as mc:
            mc._sleep = lambda s: None  # type: ignore[method-assign]
            res = mc.fetch(f"http://127.0.0.1:{srv.server_address[1]}/ep.mp3")
    finally:
        srv.shutdown()
        srv.server_close()
    assert res.path.read_bytes() == _Dropper.data  # six drops, one retry: progress is free
