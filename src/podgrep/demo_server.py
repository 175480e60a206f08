"""Serves the bundled sample feed and its media on 127.0.0.1 for `podgrep demo`."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path


class _Handler(SimpleHTTPRequestHandler):
    feed_xml: bytes = b""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path.split("?")[0] in ("/feed.xml", "/"):
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(self.feed_xml)))
            self.end_headers()
            self.wfile.write(self.feed_xml)
            return
        super().do_GET()


def _free(port: int) -> int:
    with socket.socket() as s:
        # the server reuses the address too, so a port left in TIME_WAIT by the last demo is free
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_demo(port: int = 8799) -> Iterator[str]:
    """Serve the sample feed (on `port`, or a free one if taken); yield the feed URL."""
    folder = Path(str(resources.files("podgrep") / "demo"))
    port = _free(port)
    base = f"http://127.0.0.1:{port}"
    template = (folder / "feed.xml").read_text(encoding="utf-8")
    handler = type(
        "DemoHandler", (_Handler,), {"feed_xml": template.replace("{base}", base).encode()}
    )
    httpd = ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=str(folder)))
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"{base}/feed.xml"
    finally:
        httpd.shutdown()
        httpd.server_close()
