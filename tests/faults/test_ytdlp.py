"""yt-dlp against hostile feeds, pages and media: it never runs for a feed's enclosure, and a
page or media server that drips, or a page that is a decompression bomb, ends `add` and `sync`
in bounded time with one line, the yt-dlp child killed and no job left 'running'."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from podgrep import net
from podgrep.sources import feed as feed_source
from podgrep.sources import url as url_source
from tests.conftest import DATA, feed_xml, invoke
from tests.faults.hostile import Hostile

pytestmark = pytest.mark.fault("network")

# Small limits so a hostile server costs seconds, not the defaults' minutes.
FAST = {"PODGREP_HTTP_DEADLINE": "3", "PODGREP_HTTP_TIMEOUT": "2", "PODGREP_FETCH_RETRIES": "0"}
PAGE = (
    b"<html><head><title>A Great Talk</title></head><body><h1>A Great Talk</h1>"
    b'<audio controls src="/media/talk.flac"></audio></body></html>'
)


@dataclass
class TurnsHostile(Hostile):
    """A Hostile server that answers the first request for a path in `later` plainly (podgrep's
    own read of a page) and every later one (yt-dlp's) in the mode `later` names."""

    later: dict[str, str] = field(default_factory=dict)

    def _answer(self, conn, path: str) -> None:  # type: ignore[no-untyped-def]
        if self.behave.get(path) == "endless":  # no Content-Length, and no end
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: audio/flac\r\nConnection: close\r\n\r\n"
            )
            for _ in range(200):
                conn.sendall(b"\0" * (1 << 20))
            return
        mode = self.later.get(path)
        if mode and self.hits.count(path) > 1:
            super()._answer(conn, f"/{mode}{path}")
            return
        super()._answer(conn, path)


@pytest.fixture
def hostile() -> Iterator[TurnsHostile]:
    with TurnsHostile(bomb_mb=300) as h:
        h.files["/talk.html"] = (PAGE, "text/html")
        h.files["/media/talk.flac"] = ((DATA / "jfk.flac").read_bytes(), "audio/flac")
        yield h


def _one_line(err: str) -> None:
    assert "Traceback" not in err
    assert err.strip(), "no message at all"


def _ytdlp_children() -> list[int]:
    """yt-dlp children of this process still alive (Linux /proc; empty elsewhere)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"yt_dlp" in cmd:
            found.append(int(entry.name))
    return found


def test_a_feed_enclosure_typed_yt_dlp_is_not_handed_to_yt_dlp(
    hostile: TurnsHostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A public feed whose enclosure says type="yt-dlp" and points into this machine: the
    enclosure is an ordinary download, so the address guard refuses it with one line and
    nothing is requested from the loopback address."""
    home = tmp_path / "h"
    port = hostile.port
    hostile.files["/internal.flac"] = hostile.files["/media/talk.flac"]
    xml = feed_xml(f"http://127.0.0.1:{port}", "Public", [("T", "t-1", "internal.flac", "yt-dlp")])
    hostile.files["/public.xml"] = (xml.encode(), "application/rss+xml")
    env = {**FAST, "PODGREP_RESOLVE": "podcast.test=127.0.0.1"}
    assert invoke(["add", f"http://podcast.test:{port}/public.xml"], home, **env)[0] == 0
    db = sqlite3.connect(home / "podgrep.db")
    assert db.execute("SELECT media_type FROM episodes").fetchone()[0] != url_source.YTDLP_TYPE

    # a library written before this fix may hold the mark already: fetch still refuses it
    with db:
        db.execute("UPDATE episodes SET media_type = ?", (url_source.YTDLP_TYPE,))

    def no_ytdlp(*args: object, **kwargs: object) -> Path:
        raise AssertionError("yt-dlp ran for a feed's enclosure")

    monkeypatch.setattr(url_source, "download_page_media", no_ytdlp)
    hostile.hits.clear()
    code, _, err = invoke(["sync"], home, **env)
    assert code == 3 and "loopback, private or reserved" in err, err
    _one_line(err)
    assert "/internal.flac" not in hostile.hits
    assert db.execute("SELECT COUNT(*) FROM jobs WHERE state='running'").fetchone()[0] == 0


@pytest.mark.parametrize("mark", ["yt-dlp", "YT-DLP", " yt-dlp "])
def test_the_feed_parser_never_yields_the_yt_dlp_mark(mark: str):
    xml = feed_xml("https://example.com", "Show", [("T", "t-1", "talk", mark)])
    _, episodes = feed_source.parse_feed(xml.encode(), "https://example.com/feed.xml")
    assert episodes[0].media_url == "https://example.com/talk"
    assert episodes[0].media_type is None


@pytest.mark.parametrize("mode", ["drip", "dripheaders"])
def test_add_of_a_page_that_drips_to_yt_dlp_ends(
    hostile: TurnsHostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
):
    """podgrep's own read of the page is fine; yt-dlp's read drips: `add` gives up at the
    page deadline with one line and leaves no yt-dlp behind."""
    monkeypatch.setattr(url_source, "PAGE_DEADLINE", 3.0)
    hostile.later["/talk.html"] = mode
    began = time.monotonic()
    code, out, err = invoke(["add", hostile.url("talk.html")], tmp_path / "h", **FAST)
    took = time.monotonic() - began
    assert code != 0 and "Added" not in out
    _one_line(err)
    assert took < 3.0 + 15, f"add took {took:.0f} s"
    assert hostile.hits.count("/talk.html") >= 2  # yt-dlp did ask, and was stopped
    assert _ytdlp_children() == []


def test_add_of_a_page_that_drips_exits_as_a_process(hostile: TurnsHostile, tmp_path: Path):
    """The same through a real `podgrep add` process: it exits, nothing joins a stuck worker."""
    hostile.later["/talk.html"] = "drip"
    boot = (
        "import sys; from podgrep.sources import url; url.PAGE_DEADLINE = 3.0; "
        "from podgrep.cli import main; sys.argv[0] = 'podgrep'; main()"
    )
    cmd = [sys.executable, "-c", boot, "add", hostile.url("talk.html")]
    env = {**os.environ, **FAST}
    began = time.monotonic()
    done = subprocess.run(
        [*cmd, "--home", str(tmp_path / "h")], env=env, capture_output=True, text=True, timeout=60
    )
    assert time.monotonic() - began < 3.0 + 30
    assert done.returncode != 0
    _one_line(done.stderr)


def test_add_of_a_page_that_is_a_gzip_bomb_to_yt_dlp(
    hostile: TurnsHostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """yt-dlp's own read of the page is a decompression bomb: the child's memory limit ends it
    (podgrep's memory is untouched) and `add` says in one line that the page is no feed."""
    monkeypatch.setattr(url_source, "CHILD_MEMORY_BYTES", 160 * 1024**2)
    hostile.later["/talk.html"] = "gzipbomb"
    began = time.monotonic()
    code, out, err = invoke(["add", hostile.url("talk.html")], tmp_path / "h", **FAST)
    assert code != 0 and "Added" not in out
    _one_line(err)
    assert time.monotonic() - began < url_source.PAGE_DEADLINE
    assert hostile.hits.count("/talk.html") >= 2


def _add_page(hostile: TurnsHostile, home: Path, env: dict[str, str]) -> None:
    code, out, err = invoke(["add", hostile.url("talk.html")], home, **env)
    assert code == 0 and "Added url" in out, err


def test_page_media_that_drips_is_stopped_and_resumed_later(
    hostile: TurnsHostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lost
):
    """A page added by URL whose media later drips: the minimum-rate rule kills the yt-dlp
    child, the sync ends with one line and no job 'running', and the next sync, once the
    media flows, fetches and transcribes it."""
    grace = net.MEDIA_GRACE_SECONDS
    monkeypatch.setattr(net, "MEDIA_GRACE_SECONDS", 2.0)
    home = tmp_path / "h"
    env = {**FAST, "PODGREP_MIN_DOWNLOAD_KBPS": "64"}
    _add_page(hostile, home, env)
    hostile.behave["/media/talk.flac"] = "drip"
    began = time.monotonic()
    code, _, err = invoke(["sync"], home, **env)
    assert time.monotonic() - began < 60
    assert code == 3 and "yt-dlp stopped downloading" in err, err
    assert "slower than the 64 KB/s" in err
    _one_line(err)
    assert _ytdlp_children() == []
    db = sqlite3.connect(home / "podgrep.db")
    assert db.execute("SELECT COUNT(*) FROM jobs WHERE state='running'").fetchone()[0] == 0
    hostile.behave.clear()
    # the media flows now: the short grace was for the drip only (on a busy host yt-dlp can
    # take longer than 2 s to start sending, and the rule would stop a healthy download)
    monkeypatch.setattr(net, "MEDIA_GRACE_SECONDS", grace)
    code, _, err = invoke(["sync"], home, **env)
    assert code == 0, err
    done = db.execute("SELECT COUNT(*) FROM episodes WHERE status='indexed'").fetchone()[0]
    lost(1 - done)
    assert done == 1
    code, out, _ = invoke(["search", "fellow americans"], home)
    assert code == 0 and "A Great Talk" in out


def test_page_media_over_the_download_limit_is_refused(hostile: TurnsHostile, tmp_path: Path):
    home = tmp_path / "h"
    env = {**FAST, "PODGREP_MAX_DOWNLOAD_MB": "1"}  # the talk is 1.1 MB
    _add_page(hostile, home, env)
    code, _, err = invoke(["sync"], home, **env)
    assert code == 3 and "over the download limit of 1.0 MB" in err, err
    _one_line(err)


def test_page_media_that_never_ends_is_stopped_at_the_limit(hostile: TurnsHostile, tmp_path: Path):
    """Media of no announced size that streams past max_download_mb: the growth of the
    download folder stops it, not yt-dlp's Content-Length check."""
    home = tmp_path / "h"
    env = {**FAST, "PODGREP_MAX_DOWNLOAD_MB": "5"}
    _add_page(hostile, home, env)
    hostile.behave["/media/talk.flac"] = "endless"
    began = time.monotonic()
    code, _, err = invoke(["sync"], home, **env)
    assert time.monotonic() - began < 60
    assert code == 3 and "over the download limit" in err, err
    _one_line(err)
    left = [p for p in (home / "media").rglob("*") if p.is_file() and p.stat().st_size > 1 << 20]
    assert left == []  # what came of a download too big to keep is not kept


@pytest.fixture
def small_media(tmp_path: Path) -> Iterator[Path]:
    """A home whose media folder is a 3 MB tmpfs (root only; skipped elsewhere)."""
    media = tmp_path / "h" / "media"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("a full disk for yt-dlp mounts a small tmpfs, which needs root")
    media.mkdir(parents=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(media)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot run mount here ({exc})")
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({done.stderr.strip()})")
    try:
        yield media
    finally:
        if subprocess.run(["umount", str(media)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(media)], capture_output=True)


@pytest.mark.fault("disk")
def test_page_media_on_a_full_disk_is_one_line_and_fetched_later(
    hostile: TurnsHostile, small_media: Path, lost
):
    """yt-dlp's download fills the disk: the step says so in podgrep's one line (not yt-dlp's
    error) and, once space is freed, the next sync fetches the episode."""
    home = small_media.parent
    env = {**FAST, "PODGREP_DISK_RESERVE_MB": "0"}
    _add_page(hostile, home, env)
    filler = small_media / "filler"
    with open(filler, "wb", buffering=0) as fh, contextlib.suppress(OSError):
        while fh.write(b"\0" * 65536):
            pass
    os.truncate(filler, filler.stat().st_size - 300 * 1024)  # 300 KB left; the talk is 1.1 MB
    code, _, err = invoke(["sync"], home, **env)
    assert code != 0 and f"the disk holding {small_media} has" in err, err
    assert "yt-dlp" not in err
    _one_line(err)
    filler.unlink()
    code, _, err = invoke(["sync"], home, **env)
    assert code == 0, err
    db = sqlite3.connect(home / "podgrep.db")
    done = db.execute("SELECT COUNT(*) FROM episodes WHERE status='indexed'").fetchone()[0]
    lost(1 - done)
    assert done == 1
