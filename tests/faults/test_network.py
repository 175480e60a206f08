"""Hostile servers against `add` and `sync`: every case ends in one line, in bounded time, and
loses nothing; a show that stalls is recorded as failing while the others sync."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DATA, feed_xml, invoke
from tests.faults.hostile import Hostile

# Small limits so a stalled server costs seconds, not the defaults' minutes.
FAST = {"PODGREP_HTTP_DEADLINE": "3", "PODGREP_HTTP_TIMEOUT": "2", "PODGREP_FETCH_RETRIES": "0"}
pytestmark = pytest.mark.fault("network")


def _feed(base: str, title: str, files: list[str]) -> bytes:
    items = [(f"Episode {n}", f"{title}-{n}", f, "audio/flac") for n, f in enumerate(files)]
    return feed_xml(base, title, items).encode()


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    with Hostile(bomb_mb=600) as h:
        h.files["/jfk.flac"] = ((DATA / "jfk.flac").read_bytes(), "audio/flac")
        base = h.url("").rstrip("/")
        h.files["/feed.xml"] = (_feed(base, "Steady", ["jfk.flac"]), "application/rss+xml")
        yield h


def _one_line(err: str) -> None:
    assert "Traceback" not in err
    assert err.strip(), "no message at all"


@pytest.mark.parametrize(
    "mode",
    ["drip", "dripheaders", "stall", "reset", "lie", "gzipbomb", "deflatebomb", "bigfeed"],
)
def test_add_survives_a_hostile_feed_server(hostile: Hostile, tmp_path: Path, mode: str):
    began = time.monotonic()
    code, out, err = invoke(["add", hostile.url(f"{mode}/feed.xml")], tmp_path / "h", **FAST)
    took = time.monotonic() - began
    assert code != 0 and "Added" not in out
    _one_line(err)
    assert took < 30, f"{mode}: add took {took:.0f} s"


def test_add_refuses_a_redirect_loop(hostile: Hostile, tmp_path: Path):
    code, _, err = invoke(["add", hostile.url("redirect/30/feed.xml")], tmp_path / "h", **FAST)
    assert code != 0 and "redirect" in err
    _one_line(err)


@pytest.mark.parametrize("mode", ["drip", "stall", "gzipbomb", "bigfeed"])
def test_sync_records_a_stalled_show_and_goes_on(hostile: Hostile, tmp_path: Path, mode, lost):
    """One show's feed turns hostile; the sync records it as failing and syncs the other."""
    home = tmp_path / "h"
    base = hostile.url("").rstrip("/")
    hostile.files["/other.xml"] = (_feed(base, "Other", ["jfk.flac"]), "application/rss+xml")
    for name in ("feed.xml", "other.xml"):
        code, _, err = invoke(["add", hostile.url(name)], home, **FAST)
        assert code == 0, err
    hostile.behave["/feed.xml"] = mode
    began = time.monotonic()
    code, _, err = invoke(["sync"], home, **FAST)
    assert time.monotonic() - began < 120
    assert code == 0, err  # the feed error is reported, the episodes still synced
    _one_line(err)
    assert "feed error" in err and "Steady" in err
    code, out, _ = invoke(["status", "--json"], home)
    shows = {s["title"]: s for s in json.loads(out)["shows"]}
    assert shows["Steady"]["last_error"]
    done = sum(s["transcribed"] for s in shows.values())
    lost(2 - done)
    assert done == 2
    hostile.behave.clear()
    code, _, err = invoke(["sync"], home, **FAST)
    assert code == 0 and "feed error" not in err


def _ssrf_feed(base: str, transcript: str, chapters: str | None = None) -> bytes:
    extra = f'<podcast:transcript url="{transcript}" type="text/plain"/>'
    if chapters:
        extra += f'<podcast:chapters url="{chapters}" type="application/json+chapters"/>'
    xml = feed_xml(base, "Public", [("Talk", "t-1", "jfk.flac", "audio/flac")])
    return xml.replace("</item>", extra + "</item>").encode()


SECRET = b"1\n00:00:00,000 --> 00:00:05,000\nthe launch codes are swordfish\n"


@pytest.mark.fault("ssrf")
@pytest.mark.parametrize(
    "where",
    [
        "http://127.0.0.1:{port}/secret.srt",
        "http://localhost:{port}/secret.srt",
        "http://[::ffff:127.0.0.1]:{port}/secret.srt",
        "http://2130706433:{port}/secret.srt",
        "http://inside.test:{port}/secret.srt",
        "http://podcast.test:{port}/to/http://127.0.0.1:{port}/secret.srt",
        "http://podcast.test:{port}/secret.srt",
    ],
)
def test_feed_content_cannot_read_local_addresses(hostile: Hostile, tmp_path: Path, where: str):
    """A feed on a public name (resolved, for the test, to this machine) links a transcript
    and chapters on loopback: neither is fetched, the episode is transcribed by Whisper."""
    home = tmp_path / "h"
    port = hostile.port
    base = f"http://podcast.test:{port}"
    hostile.files["/secret.srt"] = (SECRET, "application/x-subrip")
    url = where.format(port=port)
    hostile.files["/public.xml"] = (
        _ssrf_feed(f"http://media.test:{port}", url, f"http://127.0.0.1:{port}/secret.json"),
        "application/rss+xml",
    )
    env = {
        **FAST,
        # the media host is allowed by name, so the episode is fetched and the transcript
        # link is what the guard must stop
        "PODGREP_RESOLVE": "podcast.test=127.0.0.1,inside.test=127.0.0.1,media.test=127.0.0.1",
        "PODGREP_ALLOW_NETWORKS": "media.test",
    }
    code, _, err = invoke(["add", f"{base}/public.xml"], home, **env)
    assert code == 0, err
    hostile.hits.clear()
    code, _, err = invoke(["sync"], home, **env)
    assert "/secret.srt" not in hostile.hits and "/secret.json" not in hostile.hits
    assert code == 0, err  # Whisper transcribed it instead
    _one_line(err)
    code, out, _ = invoke(["search", "swordfish", "--mode", "keyword"], home)
    assert code == 1 and "swordfish" not in out
    db = sqlite3.connect(home / "podgrep.db")
    sources = {r[0] for r in db.execute("SELECT source FROM transcripts")}
    assert "publisher" not in sources


@pytest.mark.fault("ssrf")
def test_an_enclosure_on_a_local_address_is_refused(hostile: Hostile, tmp_path: Path):
    """A feed on a public name whose enclosure points into this machine: the download is
    refused before connecting, with one line, and the step is parked, not retried."""
    home = tmp_path / "h"
    port = hostile.port
    xml = feed_xml(f"http://127.0.0.1:{port}", "Public", [("T", "t-1", "jfk.flac", "audio/flac")])
    hostile.files["/public.xml"] = (xml.encode(), "application/rss+xml")
    env = {**FAST, "PODGREP_RESOLVE": "podcast.test=127.0.0.1"}
    assert invoke(["add", f"http://podcast.test:{port}/public.xml"], home, **env)[0] == 0
    hostile.hits.clear()
    code, _, err = invoke(["sync"], home, **env)
    assert code == 3 and "loopback, private or reserved" in err
    _one_line(err)
    assert "/jfk.flac" not in hostile.hits
    code, out, _ = invoke(["status", "--json"], home)
    assert code == 0


@pytest.mark.fault("ssrf")
def test_allow_networks_lets_a_feed_reach_its_own_network(hostile: Hostile, tmp_path: Path):
    home = tmp_path / "h"
    port = hostile.port
    base = f"http://podcast.test:{port}"
    hostile.files["/secret.srt"] = (SECRET, "application/x-subrip")
    hostile.files["/public.xml"] = (
        _ssrf_feed(base, f"http://127.0.0.1:{port}/secret.srt"),
        "application/rss+xml",
    )
    env = {
        **FAST,
        "PODGREP_RESOLVE": "podcast.test=127.0.0.1",
        "PODGREP_ALLOW_NETWORKS": "127.0.0.0/8",
    }
    assert invoke(["add", f"{base}/public.xml"], home, **env)[0] == 0
    code, _, err = invoke(["sync"], home, **env)
    assert code == 0, err
    code, out, _ = invoke(["search", "swordfish", "--mode", "keyword"], home)
    assert code == 0 and "swordfish" in out


@pytest.mark.fault("ssrf")
def test_api_off_loopback_cannot_probe_this_machine(hostile: Hostile, tmp_path: Path):
    """Through the API of a server bound to every address, a loopback feed is refused before
    any connection, with the same answer for an open port and a closed one."""
    from fastapi.testclient import TestClient

    from podgrep.config import load_settings
    from podgrep.web.app import create_app

    app = create_app(load_settings(tmp_path / "h"), token="tok", bind="0.0.0.0")
    auth = {"Authorization": "Bearer tok"}
    answers = []
    with TestClient(app, base_url="http://127.0.0.1") as c:
        for port in (hostile.port, 9):  # open, and (almost surely) closed
            for host in ("127.0.0.1", "localhost", "[::1]", "169.254.169.254", "10.0.0.1"):
                r = c.post(
                    "/api/sources", json={"url": f"http://{host}:{port}/feed.xml"}, headers=auth
                )
                assert r.status_code == 422, r.text
                answers.append(r.json()["detail"].replace(str(port), "PORT"))
    assert hostile.hits == []
    by_host = {a.split(" ")[0] for a in answers}
    assert len(set(answers)) == len(by_host)  # open and closed ports answer alike


def test_media_below_the_minimum_rate_is_dropped_and_resumed_later(
    hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lost
):
    """An enclosure that drips a byte a second is stopped by the minimum-rate rule (not held
    'running' forever), the other episode syncs, and the next sync fetches it once it flows."""
    from podgrep import net

    monkeypatch.setattr(net, "MEDIA_GRACE_SECONDS", 2.0)
    home = tmp_path / "h"
    hostile.files["/slow.flac"] = hostile.files["/jfk.flac"]
    base = hostile.url("").rstrip("/")
    hostile.files["/two.xml"] = (
        _feed(base, "Two", ["jfk.flac", "slow.flac"]),
        "application/rss+xml",
    )
    env = {**FAST, "PODGREP_MIN_DOWNLOAD_KBPS": "64"}
    assert invoke(["add", hostile.url("two.xml")], home, **env)[0] == 0
    hostile.behave["/slow.flac"] = "drip"
    began = time.monotonic()
    code, _, err = invoke(["sync"], home, **env)
    assert time.monotonic() - began < 90
    assert code == 3 and "slower than the 64 KB/s" in err, err
    _one_line(err)
    db = sqlite3.connect(home / "podgrep.db")
    assert db.execute("SELECT COUNT(*) FROM jobs WHERE state='running'").fetchone()[0] == 0
    hostile.behave.clear()
    code, _, err = invoke(["sync"], home, **env)
    assert code == 0, err
    done = db.execute("SELECT COUNT(*) FROM episodes WHERE status='indexed'").fetchone()[0]
    lost(2 - done)
    assert done == 2
