"""A real local HTTP server for tests: static files with Range, ETag and Last-Modified, plus faults.

Usage:
    with LocalServer(root_dir) as srv:
        srv.url("feed.xml")              # http://127.0.0.1:PORT/feed.xml
        srv.routes["/x"] = Route(...)     # dynamic answer for a path
        srv.fail_after["/a.mp3"] = 1000   # drop the connection after 1000 body bytes (once)
        srv.requests                      # list of (method, path, headers dict) seen

    LocalServer(root_dir, rate=2_000_000)  # file bodies (ranges too) at 2 MB/s in all: one link
"""

from __future__ import annotations

import email.utils
import hashlib
import mimetypes
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from pathlib import Path


@dataclass
class Route:
    """A canned answer for one path."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)


class _Throttle:
    """A link of `rate` bytes/s that every response of the server shares: each chunk waits
    for its turn on the link, so parallel downloads split the rate between them."""

    CHUNK = 16 * 1024

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)
        self._lock = threading.Lock()
        self._free_at = 0.0  # when the link has sent everything handed to it so far

    def write(self, wfile: BufferedIOBase, data: bytes) -> None:
        """Write `data` to `wfile` no faster than the link allows."""
        view = memoryview(data)
        for at in range(0, len(view), self.CHUNK):
            chunk = view[at : at + self.CHUNK]
            with self._lock:
                now = time.monotonic()
                self._free_at = max(now, self._free_at) + len(chunk) / self.rate
                delay = self._free_at - now
            time.sleep(delay)
            wfile.write(chunk)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        owner.requests.append((self.command, path, dict(self.headers.items())))
        route = owner.routes.get(path)
        if route is not None:
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            for k, v in route.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if not head:
                self.wfile.write(route.body)
            return
        file = (owner.root / path.lstrip("/")).resolve()
        if owner.root not in file.parents or not file.is_file():
            self.send_error(404, "Not Found")
            return
        data = file.read_bytes()
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        mtime = email.utils.formatdate(file.stat().st_mtime, usegmt=True)
        if self.headers.get("If-None-Match") == etag or (
            self.headers.get("If-Modified-Since") == mtime and not self.headers.get("If-None-Match")
        ):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        guessed = mimetypes.guess_type(file.name)[0]
        ctype = owner.types.get(path) or guessed or "application/octet-stream"
        start, end = 0, len(data) - 1
        rng = self.headers.get("Range")
        status = 200
        if_range = self.headers.get("If-Range")
        if if_range and if_range not in (etag, mtime):
            rng = None  # the file changed since the client's partial copy: send it whole
        if rng and rng.startswith("bytes=") and owner.ranges:
            a, _, b = rng[6:].partition("-")
            start = int(a) if a else 0
            end = min(int(b), len(data) - 1) if b else len(data) - 1
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            status = 206
        body = data[start : end + 1]
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", mtime)
        if owner.ranges:
            self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if head:
            return
        cut = owner.fail_after.pop(path, None)
        if cut is not None:
            self._body(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self._body(body)

    def _body(self, data: bytes) -> None:
        throttle = self.server.owner.throttle
        if throttle is None:
            self.wfile.write(data)
        else:
            throttle.write(self.wfile, data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LocalServer


class LocalServer:
    """Serves `root` on 127.0.0.1 on a free port until closed; `rate` (bytes/s, None:
    unlimited) caps the body bytes of file answers, all connections together."""

    def __init__(self, root: str | Path, *, ranges: bool = True, rate: float | None = None) -> None:
        self.root = Path(root).resolve()
        self.ranges = ranges
        self.throttle = _Throttle(rate) if rate else None
        self.routes: dict[str, Route] = {}
        self.types: dict[str, str] = {}
        self.fail_after: dict[str, int] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str = "") -> str:
        """The full URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
