"""A hostile HTTP server for the fault suite: drips, stalls, resets, lies and bombs.

Each path prefix picks a behaviour; everything else is served from `files` (path -> bytes).
It speaks raw HTTP/1.1 over sockets so it can misbehave in ways a polite server cannot.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field


def gzip_bomb(decoded_mb: int) -> bytes:
    """A gzip body that decodes to `decoded_mb` MB of zeros (about 1000:1)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    out = [comp.compress(block) for _ in range(decoded_mb)]
    return b"".join(out) + comp.flush()


def deflate_bomb(decoded_mb: int) -> bytes:
    """A zlib (Content-Encoding: deflate) body that decodes to `decoded_mb` MB."""
    comp = zlib.compressobj(9)
    block = b"\0" * (1 << 20)
    return b"".join(comp.compress(block) for _ in range(decoded_mb)) + comp.flush()


@dataclass
class Hostile:
    """Serve `files` with faults chosen by path:

    /slow/...        64 KB every 0.1 s
    /drip/...        headers at once, then the body one byte a second
    /dripheaders/... the status line and headers one byte a second
    /stall/...       accept, read the request, then say nothing
    /reset/...       send half the body, then reset the connection
    /lie/...         Content-Length twice the body, then close
    /gzipbomb/...    a gzip bomb (Content-Encoding: gzip) for the file's type
    /deflatebomb/... the same with deflate
    /bigfeed/...     an endless uncompressed body (200 MB announced)
    /redirect/N/...  N redirects, then the file; /to/URL redirects to URL (/to301/URL: permanently)
    /slowredirect/N/... the same, each hop after a second
    /gzipgzip/...    the file gzipped twice, sent as Content-Encoding: gzip, gzip
    """

    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    behave: dict[str, str] = field(default_factory=dict)  # path -> mode, to turn a file hostile
    bomb_mb: int = 1024

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._bombs: dict[tuple[str, int], bytes] = {}

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def __enter__(self) -> Hostile:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _bomb(self, kind: str) -> bytes:
        key = (kind, self.bomb_mb)
        if key not in self._bombs:
            if kind == "gzipgzip":  # the gzip bomb gzipped again
                twice = zlib.compressobj(9, zlib.DEFLATED, 31)
                inner = self._bomb("gzip")
                self._bombs[key] = twice.compress(inner) + twice.flush()
            else:
                self._bombs[key] = (gzip_bomb if kind == "gzip" else deflate_bomb)(self.bomb_mb)
        return self._bombs[key]

    def prebuild(self, *kinds: str) -> None:
        """Build bombs ("gzip", "deflate", "gzipgzip") now, so that building one on a busy
        host does not outlast the client's timeout and turn a refusal into a timeout."""
        for kind in kinds:
            self._bomb(kind)

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(30)
            data = b""
            while b"\r\n\r\n" not in data:
                got = conn.recv(65536)
                if not got:
                    return
                data += got
            line = data.split(b"\r\n", 1)[0].decode("latin-1")
            path = line.split(" ")[1] if " " in line else "/"
            self.hits.append(path)
            self._answer(conn, path)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def _file(self, path: str) -> tuple[bytes, str]:
        return self.files.get(path, (b"not here", "text/plain"))

    def _answer(self, conn: socket.socket, path: str) -> None:
        parts = path.lstrip("/").split("/", 1)
        mode, rest = parts[0], "/" + (parts[1] if len(parts) > 1 else "")
        if path in self.behave:
            mode, rest = self.behave[path], path
        if mode in ("to", "to301"):
            target = path[len(f"/{mode}/") :]
            status = "301 Moved Permanently" if mode == "to301" else "302 Found"
            head = f"HTTP/1.1 {status}\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n"
            conn.sendall(head.encode())
            return
        if mode in ("redirect", "slowredirect"):
            if mode == "slowredirect" and self._stop.wait(1.0):  # each hop after a second
                return
            n, _, tail = rest.lstrip("/").partition("/")
            left = int(n)
            where = f"/{mode}/{left - 1}/{tail}" if left > 1 else f"/{tail}"
            head = f"HTTP/1.1 302 Found\r\nLocation: {where}\r\nContent-Length: 0\r\n\r\n"
            conn.sendall(head.encode())
            return
        body, ctype = self._file(rest if mode in _MODES else path)
        if mode == "stall":
            self._stop.wait(120)
            return
        if mode == "dripheaders":
            head = f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nX-Slow: " + "a" * 10_000
            for ch in head.encode():
                conn.sendall(bytes([ch]))
                if self._stop.wait(1.0):
                    return
            return
        if mode == "gzipgzip":
            body2 = self._bomb("gzipgzip")
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Encoding: gzip, gzip\r\n"
                f"Content-Length: {len(body2)}\r\n\r\n"
            )
            conn.sendall(head.encode() + body2)
            return
        if mode in ("gzipbomb", "deflatebomb"):
            bomb = self._bomb("gzip" if mode == "gzipbomb" else "deflate")
            enc = "gzip" if mode == "gzipbomb" else "deflate"
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Encoding: {enc}\r\n"
                f"Content-Length: {len(bomb)}\r\n\r\n"
            )
            conn.sendall(head.encode() + bomb)
            return
        if mode == "bigfeed":
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {200 * 1024 * 1024}\r\n\r\n"
            )
            conn.sendall(head.encode() + body[: body.find(b"<item>") if b"<item>" in body else 0])
            filler = b"<!--" + b"x" * (1 << 20) + b"-->"
            for _ in range(200):
                conn.sendall(filler)
            return
        length = len(body) * 2 if mode == "lie" else len(body)
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {length}\r\n"
            "Connection: close\r\n\r\n"
        )
        conn.sendall(head.encode())
        if mode == "slow":  # 64 KB every 0.1 s: slow enough to be caught mid-download
            for i in range(0, len(body), 65536):
                conn.sendall(body[i : i + 65536])
                if self._stop.wait(0.1):
                    return
            return
        if mode == "drip":
            for ch in body:
                conn.sendall(bytes([ch]))
                if self._stop.wait(1.0):
                    return
            return
        if mode == "reset":
            conn.sendall(body[: len(body) // 2])
            linger_zero = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # close sends RST
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger_zero)
            return
        conn.sendall(body)


_MODES = {
    "gzipgzip",
    "slow",
    "drip",
    "dripheaders",
    "stall",
    "reset",
    "lie",
    "gzipbomb",
    "deflatebomb",
    "bigfeed",
}


def wait_for(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    """Poll `predicate` until it is true or `timeout` passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


__all__ = ["Hostile", "gzip", "gzip_bomb", "deflate_bomb", "wait_for"]
