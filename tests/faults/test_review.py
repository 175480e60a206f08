"""Cases a hostile review found after the first round: feeds that move themselves onto this
machine, layered encodings, deadlines spread over redirects, sources added by a remote API
caller, endless transcript links, badly spelt URLs, a DNS server that never answers."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from podgrep import net
from tests.conftest import DATA, feed_xml, invoke
from tests.faults.hostile import Hostile

pytestmark = pytest.mark.fault("ssrf")
FAST = {"PODGREP_HTTP_DEADLINE": "3", "PODGREP_HTTP_TIMEOUT": "2", "PODGREP_FETCH_RETRIES": "0"}
SECRET = b"1\n00:00:00,000 --> 00:00:05,000\nthe launch codes are swordfish\n"
PUBLIC = {"PODGREP_RESOLVE": "podcast.test=127.0.0.1,media.test=127.0.0.1"}


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    with Hostile(bomb_mb=300) as h:
        h.files["/jfk.flac"] = ((DATA / "jfk.flac").read_bytes(), "audio/flac")
        h.files["/secret.srt"] = (SECRET, "application/x-subrip")
        yield h


def _feed(h: Hostile, extra_item: str = "", extra_channel: str = "", media: str = "") -> bytes:
    base = media or f"http://media.test:{h.port}"
    xml = feed_xml(base, "Public", [("Talk", "t-1", "jfk.flac", "audio/flac")])
    xml = xml.replace("</item>", extra_item + "</item>")
    return xml.replace("<language>", extra_channel + "<language>").encode()


def _searchable(home: Path, word: str) -> bool:
    code, out, _ = invoke(["search", word, "--mode", "keyword"], home)
    return code == 0 and word in out


@pytest.mark.parametrize("how", ["new-feed-url", "301"])
def test_a_feed_cannot_move_itself_onto_this_machine(hostile: Hostile, tmp_path: Path, how):
    """Moved to loopback, the show would inherit the trust of a feed added by address and
    read local transcripts: the move is not followed and nothing local is fetched."""
    port = hostile.port
    trap = f'<podcast:transcript url="http://127.0.0.1:{port}/secret.srt" type="text/plain"/>'
    hostile.files["/moved.xml"] = (_feed(hostile, trap), "application/rss+xml")
    moved = f"http://127.0.0.1:{port}/moved.xml"
    home = tmp_path / "h"
    env = {**FAST, **PUBLIC, "PODGREP_ALLOW_NETWORKS": "media.test"}
    hostile.files["/public.xml"] = (_feed(hostile), "application/rss+xml")
    assert invoke(["add", f"http://podcast.test:{port}/public.xml"], home, **env)[0] == 0
    db = sqlite3.connect(home / "podgrep.db")
    if how == "301":  # the feed's address now answers 301 Moved Permanently to loopback
        db.execute("UPDATE shows SET feed_url = ?", (f"http://podcast.test:{port}/to301/{moved}",))
        db.commit()
    else:
        hostile.files["/public.xml"] = (
            _feed(hostile, extra_channel=f"<itunes:new-feed-url>{moved}</itunes:new-feed-url>"),
            "application/rss+xml",
        )
    hostile.hits.clear()
    for _ in range(2):
        code, _, err = invoke(["sync"], home, **env)
        assert "Traceback" not in err
    assert "/secret.srt" not in hostile.hits
    if how == "301":
        assert "/moved.xml" not in hostile.hits
    assert "127.0.0.1" not in db.execute("SELECT feed_url FROM shows").fetchone()[0].split("/")[2]
    assert not _searchable(home, "swordfish")


def test_a_feed_redirecting_into_this_machine_is_not_followed(hostile: Hostile, tmp_path: Path):
    """The host the user typed is fetched wherever it is; a redirect from it into loopback is
    held to the content rules."""
    port = hostile.port
    home = tmp_path / "h"
    env = {**FAST, **PUBLIC, "PODGREP_ALLOW_NETWORKS": "media.test"}
    hostile.files["/public.xml"] = (_feed(hostile), "application/rss+xml")
    assert invoke(["add", f"http://podcast.test:{port}/public.xml"], home, **env)[0] == 0
    hostile.files["/moved.xml"] = (_feed(hostile), "application/rss+xml")
    db = sqlite3.connect(home / "podgrep.db")
    db.execute(  # the show's address now answers a redirect to loopback
        "UPDATE shows SET feed_url = ?",
        (f"http://podcast.test:{port}/to/http://127.0.0.1:{port}/moved.xml",),
    )
    db.commit()
    hostile.hits.clear()
    code, _, err = invoke(["sync"], home, **env)
    assert "Traceback" not in err and "loopback, private or reserved" in err
    assert "/moved.xml" not in hostile.hits


def test_layered_encodings_are_refused_without_inflating(hostile: Hostile, tmp_path: Path):
    """`Content-Encoding: gzip, gzip` of a 300 MB bomb: refused at once, whatever reads it."""
    hostile.files["/f.xml"] = (b"<rss/>", "application/rss+xml")
    hostile.prebuild("gzipgzip")
    began = time.monotonic()
    code, _, err = invoke(["add", hostile.url("gzipgzip/f.xml")], tmp_path / "h", **FAST)
    assert code != 0 and "encoded as gzip, gzip" in err and "Traceback" not in err
    assert time.monotonic() - began < 10


def test_inflation_is_bounded_and_decodes_right(hostile: Hostile):
    import tracemalloc

    data = b"podgrep " * 50_000
    for coding, wbits in (("gzip", 31), ("deflate", 15), ("deflate", -15)):
        comp = zlib.compressobj(9, zlib.DEFLATED, wbits)
        hostile.files[f"/{coding}{wbits}"] = (comp.compress(data) + comp.flush(), "text/plain")
    for path, (body, _) in list(hostile.files.items()):
        if not path.startswith(("/gzip", "/deflate")):
            continue
        coding = "gzip" if path.startswith("/gzip") else "deflate"
        resp = httpx.Response(
            200, headers={"Content-Encoding": coding}, stream=httpx.ByteStream(body)
        )
        assert b"".join(net.iter_body(resp, 10**9, path)) == data
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    blob = b"".join(bomb.compress(b"\0" * (1 << 20)) for _ in range(200)) + bomb.flush()
    tracemalloc.start()
    with pytest.raises(net.TooLarge):
        resp = httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(blob)
        )
        b"".join(net.iter_body(resp, 4 << 20, "bomb"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 40 << 20, f"{peak / 2**20:.0f} MB held for a 4 MB cap"


def test_one_deadline_covers_every_redirect(hostile: Hostile, tmp_path: Path):
    """Ten redirects a second apart under a 3 s deadline: given up at ~3 s, not ~10 s."""
    hostile.files["/f.xml"] = (b"<rss/>", "application/rss+xml")
    began = time.monotonic()
    code, _, err = invoke(["add", hostile.url("slowredirect/9/f.xml")], tmp_path / "h", **FAST)
    took = time.monotonic() - began
    assert code != 0 and "Traceback" not in err
    assert took < 7, f"{took:.1f} s"


@pytest.mark.parametrize("kind", ["media", "feed"])
def test_what_a_remote_caller_added_stays_off_this_machine(hostile: Hostile, tmp_path, kind):
    """Added through the API of a server others reach, while its name was public (allowed,
    here); when the name later leads into this machine, the sync refuses it — the media URL
    and the feed refresh alike — where a source the user typed would still be fetched."""

    port = hostile.port
    home = tmp_path / "h"
    hostile.files["/talk.flac"] = hostile.files["/jfk.flac"]
    hostile.files["/pub.xml"] = (
        _feed(hostile, media=f"http://podcast.test:{port}"),
        "application/rss+xml",
    )
    target = f"http://podcast.test:{port}/" + ("talk.flac" if kind == "media" else "pub.xml")
    at_add = {**FAST, **PUBLIC, "PODGREP_ALLOW_NETWORKS": "podcast.test"}
    _remote_add(home, target, at_add)
    hostile.hits.clear()
    code, _, err = invoke(["sync"], home, **FAST, **PUBLIC)  # the name is no longer allowed
    assert "Traceback" not in err
    assert "loopback, private or reserved" in err
    assert hostile.hits == []


def _remote_add(home: Path, url: str, env: dict[str, str]) -> None:
    """POST /api/sources on a server bound to every address, with `env` set meanwhile."""
    from fastapi.testclient import TestClient

    from podgrep.config import load_settings
    from podgrep.web.app import create_app

    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        app = create_app(load_settings(home), token="tok", bind="0.0.0.0")
        with TestClient(app, base_url="http://127.0.0.1") as c:
            r = c.post("/api/sources", json={"url": url}, headers={"Authorization": "Bearer tok"})
            assert r.status_code == 201, r.text


def test_only_a_few_transcript_links_are_tried(hostile: Hostile, tmp_path: Path):
    port = hostile.port
    links = "".join(
        f'<podcast:transcript url="http://media.test:{port}/stall/t{n}.srt" type="text/plain"/>'
        for n in range(20)
    )
    hostile.files["/pub.xml"] = (_feed(hostile, links), "application/rss+xml")
    home = tmp_path / "h"
    env = {**FAST, **PUBLIC, "PODGREP_ALLOW_NETWORKS": "media.test"}
    assert invoke(["add", f"http://podcast.test:{port}/pub.xml"], home, **env)[0] == 0
    began = time.monotonic()
    code, _, err = invoke(["sync"], home, **env)
    assert code == 0, err  # Whisper transcribed it after the links failed
    assert sum(p.startswith("/stall/") for p in hostile.hits) <= 3
    assert time.monotonic() - began < 60


@pytest.mark.parametrize(
    "bad", ["http://xn--/t.srt", "http://[::1/t.srt", "http://" + "a" * 64 + ".test/t"]
)
def test_badly_spelt_links_cost_nothing(hostile: Hostile, tmp_path: Path, bad: str):
    port = hostile.port
    item = f'<podcast:transcript url="{bad}" type="text/plain"/><podcast:chapters url="{bad}"/>'
    hostile.files["/pub.xml"] = (
        _feed(hostile, item, f"<image><url>{bad}</url></image>"),
        "application/rss+xml",
    )
    home = tmp_path / "h"
    env = {**FAST, **PUBLIC, "PODGREP_ALLOW_NETWORKS": "media.test"}
    assert invoke(["add", f"http://podcast.test:{port}/pub.xml"], home, **env)[0] == 0
    code, _, err = invoke(["sync"], home, **env)
    assert code == 0 and "Traceback" not in err, err


def test_a_dns_server_that_never_answers_holds_no_other_lookup(monkeypatch):
    real = socket.getaddrinfo

    def slow(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(host).startswith("hang"):
            time.sleep(5)
        if str(host) == "quick.test":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(net.socket, "getaddrinfo", slow)
    guard = net.Guard()
    stuck = [
        threading.Thread(target=lambda n=n: _try(guard, f"hang{n}.test"), daemon=True)
        for n in range(8)
    ]
    for t in stuck:
        t.start()
    time.sleep(0.2)
    began = time.monotonic()
    assert net.resolve(guard, "quick.test", 80, 2.0) == [ipaddress.ip_address("127.0.0.1")]
    assert time.monotonic() - began < 1


def _try(guard: net.Guard, name: str) -> None:
    with contextlib.suppress(Exception):  # timing out is the point
        net.resolve(guard, name, 80, 0.5)


def test_deprecated_site_local_is_not_public():
    assert not net.is_public(ipaddress.ip_address("fec0::1"))
    assert net.is_public(ipaddress.ip_address("2606:4700::1111"))


def test_a_remote_caller_cannot_take_over_a_users_show(hostile: Hostile, tmp_path: Path):
    """A remote caller adds a copy of a show the user follows (same title and guids) on its
    own host: it stays a show of its own; the user's show keeps its address and trust."""

    port = hostile.port
    home = tmp_path / "h"
    hostile.files["/real.xml"] = (_feed(hostile), "application/rss+xml")
    hostile.files["/copy.xml"] = (_feed(hostile), "application/rss+xml")
    env = {
        **FAST,
        "PODGREP_RESOLVE": "real.test=127.0.0.1,evil.test=127.0.0.1,media.test=127.0.0.1",
    }
    assert invoke(["add", f"http://real.test:{port}/real.xml"], home, **env)[0] == 0
    at_add = {**env, "PODGREP_ALLOW_NETWORKS": "evil.test"}
    _remote_add(home, f"http://evil.test:{port}/copy.xml", at_add)
    db = sqlite3.connect(home / "podgrep.db")
    shows = db.execute("SELECT feed_url, remote FROM shows ORDER BY id").fetchall()
    assert shows == [
        (f"http://real.test:{port}/real.xml", 0),
        (f"http://evil.test:{port}/copy.xml", 1),
    ]
    hostile.hits.clear()
    invoke(["sync", "--no-refresh"], home, **env)
    code, _, err = invoke(["sync"], home, **env)
    assert "/copy.xml" not in hostile.hits  # the caller's feed is not refreshed onto loopback


def test_a_move_the_feed_announced_loses_the_typed_exemption(hostile: Hostile, tmp_path: Path):
    """The user typed podcast.test; the feed moves itself to moved.test (public at the time).
    When moved.test later answers 127.0.0.1, it is refused: only the typed host goes anywhere."""
    port = hostile.port
    home = tmp_path / "h"
    resolve = "podcast.test=127.0.0.1,media.test=127.0.0.1,moved.test=127.0.0.1"
    hostile.files["/pub.xml"] = (_feed(hostile), "application/rss+xml")
    env = {**FAST, "PODGREP_RESOLVE": resolve, "PODGREP_ALLOW_NETWORKS": "media.test"}
    assert invoke(["add", f"http://podcast.test:{port}/pub.xml"], home, **env)[0] == 0
    moved = f"http://moved.test:{port}/internal.xml"
    hostile.files["/internal.xml"] = (_feed(hostile), "application/rss+xml")
    hostile.files["/pub.xml"] = (
        _feed(hostile, extra_channel=f"<itunes:new-feed-url>{moved}</itunes:new-feed-url>"),
        "application/rss+xml",
    )
    # while moved.test counts as public, the move is followed
    invoke(["sync"], home, **{**env, "PODGREP_ALLOW_NETWORKS": "media.test,moved.test"})
    db = sqlite3.connect(home / "podgrep.db")
    assert db.execute("SELECT feed_url, typed FROM shows").fetchone() == (moved, 0)
    hostile.hits.clear()
    code, _, err = invoke(["sync"], home, **env)  # now it leads into this machine
    assert "Traceback" not in err and "loopback, private or reserved" in err
    assert "/internal.xml" not in hostile.hits


def test_deflate_split_before_its_second_byte_still_decodes():
    data = b"podgrep " * 100
    comp = zlib.compress(data)

    class Trickle(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield comp[:1]
            yield comp[1:]

    resp = httpx.Response(200, headers={"Content-Encoding": "deflate"}, stream=Trickle())
    assert b"".join(net.iter_body(resp, 10**6, "x")) == data
