"""Screenshots of the four web pages at desktop and phone width, taken with Debian's chromium.

    python scripts/screenshots.py --home LIBRARY [--out docs/screenshots] [--query WORDS]

Starts `podgrep serve` on a free port over LIBRARY (e.g. one made by `podgrep demo --home DIR`),
opens the library, the first show, its first transcribed episode (at a second, so the current
sentence is highlighted) and a search, and saves `<page>-desktop.png` and `<page>-phone.png`.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
SIZES = {"desktop": (1280, 860), "phone": (390, 844)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - our own local server
        return json.load(resp)


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            sys.exit("podgrep serve exited early")
        try:
            _get(url + "/api/shows")
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("podgrep serve did not start")


def _pages(base: str, query: str | None) -> dict[str, str]:
    shows = _get(base + "/api/shows")
    assert isinstance(shows, list) and shows, "the library has no shows"
    show = max(shows, key=lambda s: s["transcribed"])
    page = _get(f"{base}/api/shows/{show['id']}/episodes")
    assert isinstance(page, dict)
    ready = [e for e in page["episodes"] if e["status"] == "indexed"] or page["episodes"]
    episode = max(ready, key=lambda e: e["duration"] or 0)
    if not query:
        overview = _get(f"{base}/api/shows/{show['id']}/overview")
        assert isinstance(overview, dict)
        query = overview["top_words"][0]["word"] if overview["top_words"] else "the"
    return {
        "library": "/",
        "show": f"/shows/{show['id']}",
        "episode": f"/episodes/{episode['id']}?t=42",
        "search": "/search?q=" + urllib.request.quote(query),
    }


def _shoot(page: Page, url: str, path: Path) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if "/episodes/" in url:
        page.wait_for_selector(".seg.current", timeout=10000)
        page.evaluate("document.querySelector('.seg.current').scrollIntoView({block: 'center'})")
        page.wait_for_timeout(300)
    page.screenshot(path=str(path))


def main() -> None:
    """Serve the library, shoot every page at both widths, stop the server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--query")
    args = parser.parse_args()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "podgrep", "serve", "--home", str(args.home), "--port", str(port)]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    try:
        _wait(base, proc)
        pages = _pages(base, args.query)
        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for size, (width, height) in SIZES.items():
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    device_scale_factor=1,
                    is_mobile=size == "phone",
                    color_scheme="light",
                )
                page = context.new_page()
                for name, path in pages.items():
                    out = args.out / f"{name}-{size}.png"
                    _shoot(page, base + path, out)
                    print(out)
                context.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
