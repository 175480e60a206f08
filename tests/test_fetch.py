"""Tests for the media cache: downloads, resume, retries, limits, dedupe, local files."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from podgrep.errors import FetchError, MediaError
from podgrep.fetch import FetchResult, MediaCache, sha256_file
from tests.support.server import LocalServer, Route


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """A folder of random media files, made once per module."""
    root = tmp_path_factory.mktemp("srv")
    rnd = os.urandom(2_000_000)
    made = {
        "a.mp3": rnd[:300_000],
        "b.m4a": rnd[300_000:1_100_000],
        "big.mp3": rnd[:2_000_000],
    }
    made["copy.mp3"] = made["a.mp3"]
    made["audio"] = made["b.m4a"][:400_000]
    for name, data in made.items():
        (root / name).write_bytes(data)
    return root, made


@pytest.fixture
def files(served: tuple[Path, dict[str, bytes]]) -> dict[str, bytes]:
    """The served files' contents by name."""
    return served[1]


@pytest.fixture(scope="module")
def _server(served: tuple[Path, dict[str, bytes]]) -> Iterator[LocalServer]:
    # One server per module: shutting one down costs its 0.5 s poll interval.
    with LocalServer(served[0]) as server:
        yield server


@pytest.fixture
def srv(_server: LocalServer) -> LocalServer:
    """The range-capable local server over the files, with faults and logs reset."""
    for state in (_server.routes, _server.types, _server.fail_after, _server.requests):
        state.clear()
    return _server


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[MediaCache]:
    """A cache with fast retries that records back-off sleeps instead of sleeping."""
    with MediaCache(tmp_path / "cache", retries=2, backoff=0.001, timeout=5) as mc:
        mc.sleeps = []  # type: ignore[attr-defined]
        mc._sleep = mc.sleeps.append  # type: ignore[attr-defined]
        yield mc


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _gets(srv: LocalServer, path: str) -> list[dict[str, str]]:
    """Headers of the GET requests the server saw for `path`."""
    return [h for m, p, h in srv.requests if m == "GET" and p == path]


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def _media_files(root: Path) -> list[Path]:
    """Files filed in the cache (not partials)."""
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name != "partial"]


def _partials(root: Path) -> list[Path]:
    """Leftover partial downloads and sidecars (lock files are expected to stay)."""
    folder = root / "partial"
    return [p for p in folder.glob("*") if not p.name.endswith(".lock")] if folder.exists() else []


def test_plain_download(srv: LocalServer, cache: MediaCache, files: dict[str, bytes]) -> None:
    seen: list[tuple[int, int | None]] = []
    res = cache.fetch(srv.url("a.mp3"), progress=lambda d, t: seen.append((d, t)))
    assert isinstance(res, FetchResult)
    assert res.sha256 == _sha(files["a.mp3"])
    assert res.path == cache.root / res.sha256[:2] / f"{res.sha256}.mp3"
    assert res.path.read_bytes() == files["a.mp3"]
    assert res.size == len(files["a.mp3"])
    assert res.content_type == "audio/mpeg"
    assert res.reused is False
    assert seen[-1] == (res.size, res.size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert _partials(cache.root) == []
    assert cache.path_for(res.sha256) == res.path
    assert _header(_gets(srv, "/a.mp3")[0], "user-agent").startswith("podgrep/")


def test_extension_from_content_type(srv: LocalServer, cache: MediaCache) -> None:
    srv.types["/audio"] = "audio/mp4"
    res = cache.fetch(srv.url("audio"))
    assert res.path.suffix == ".m4a"
    srv.types["/audio"] = "application/octet-stream"
    assert cache.fetch(srv.url("audio?x=1")).path.suffix == ".m4a"  # reused, same bytes


def test_unknown_type_gets_bin(srv: LocalServer, cache: MediaCache) -> None:
    srv.types["/audio"] = "application/octet-stream"
    assert cache.fetch(srv.url("audio")).path.suffix == ".bin"


def test_second_fetch_reuses(srv: LocalServer, cache: MediaCache) -> None:
    first = cache.fetch(srv.url("a.mp3"))
    second = cache.fetch(srv.url("a.mp3"))
    assert second.reused is True
    assert second.path == first.path
    assert len(_media_files(cache.root)) == 1


def test_same_bytes_other_url_deduped(srv: LocalServer, cache: MediaCache) -> None:
    first = cache.fetch(srv.url("a.mp3"))
    second = cache.fetch(srv.url("copy.mp3"))
    assert first.reused is False and second.reused is True
    assert second.sha256 == first.sha256 and second.path == first.path
    assert len(_media_files(cache.root)) == 1
    assert _partials(cache.root) == []


def test_resume_after_dropped_connection(
    srv: LocalServer, cache: MediaCache, files: dict[str, bytes]
) -> None:
    srv.fail_after["/big.mp3"] = 700_000
    res = cache.fetch(srv.url("big.mp3"))
    assert res.path.read_bytes() == files["big.mp3"]
    assert res.sha256 == _sha(files["big.mp3"])
    gets = _gets(srv, "/big.mp3")
    assert len(gets) == 2
    assert _header(gets[0], "range") is None
    assert _header(gets[1], "range") == "bytes=700000-"
    assert _header(gets[1], "if-range")
    assert cache.sleeps == [pytest.approx(0.001)]  # type: ignore[attr-defined]


def test_drop_with_no_retries_leaves_resumable_partial(
    srv: LocalServer, tmp_path: Path, files: dict[str, bytes]
) -> None:
    srv.fail_after["/big.mp3"] = 500_000
    with MediaCache(tmp_path / "cache", retries=0, backoff=0.001) as mc:
        with pytest.raises(FetchError) as err:
            mc.fetch(srv.url("big.mp3"))
        assert err.value.transient is True
        assert "connection" in str(err.value)
        (part,) = (tmp_path / "cache" / "partial").glob("*.part")
        assert part.stat().st_size == 500_000
        meta = json.loads(part.with_name(part.name + ".json").read_text())
        assert meta["url"] == srv.url("big.mp3") and meta["bytes"] == 500_000
        res = mc.fetch(srv.url("big.mp3"))
    assert res.path.read_bytes() == files["big.mp3"]
    assert _header(_gets(srv, "/big.mp3")[-1], "range") == "bytes=500000-"


def _fake_killed_run(cache: MediaCache, url: str, data: bytes, etag: str | None, **meta) -> Path:
    """Leave a partial file and sidecar as a run killed mid-download would."""
    key = hashlib.sha256(url.encode()).hexdigest()[:24]
    part = cache.root / "partial" / f"{key}.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(data)
    side = {"url": url, "etag": etag, "last_modified": None, "bytes": len(data), "total": None}
    side.update(meta)
    part.with_name(part.name + ".json").write_text(json.dumps(side))
    return part


def test_resume_after_kill(srv: LocalServer, cache: MediaCache, files: dict[str, bytes]) -> None:
    url = srv.url("big.mp3")
    etag = httpx.head(url).headers["etag"]
    # The sidecar lags behind the file, as after a kill between updates: the file wins.
    _fake_killed_run(cache, url, files["big.mp3"][:1_234_567], etag, bytes=1_000_000)
    seen: list[int] = []
    res = cache.fetch(url, progress=lambda d, t: seen.append(d))
    assert res.path.read_bytes() == files["big.mp3"]
    assert res.sha256 == _sha(files["big.mp3"])
    (get,) = _gets(srv, "/big.mp3")
    assert _header(get, "range") == "bytes=1234567-"
    assert _header(get, "if-range") == etag
    assert seen[0] == 1_234_567
    assert _partials(cache.root) == []


def test_resume_with_last_modified_only(
    srv: LocalServer, cache: MediaCache, files: dict[str, bytes]
) -> None:
    url = srv.url("big.mp3")
    stamp = httpx.head(url).headers["last-modified"]
    _fake_killed_run(cache, url, files["big.mp3"][:800_000], None, last_modified=stamp)
    res = cache.fetch(url)
    assert res.path.read_bytes() == files["big.mp3"]
    (get,) = _gets(srv, "/big.mp3")
    assert _header(get, "range") == "bytes=800000-" and _header(get, "if-range") == stamp


def test_resume_of_complete_partial(
    srv: LocalServer, cache: MediaCache, files: dict[str, bytes]
) -> None:
    # Killed after the last byte but before filing: the server answers 416, nothing re-downloads.
    url = srv.url("a.mp3")
    etag = httpx.head(url).headers["etag"]
    _fake_killed_run(cache, url, files["a.mp3"], etag, content_type="audio/mpeg")
    res = cache.fetch(url)
    assert res.sha256 == _sha(files["a.mp3"]) and res.path.suffix == ".mp3"
    assert res.content_type == "audio/mpeg"
    assert _partials(cache.root) == []


def test_resume_with_changed_file_restarts(
    srv: LocalServer, cache: MediaCache, files: dict[str, bytes]
) -> None:
    # The server honours If-Range: a stale validator gets the whole file back as a 200.
    url = srv.url("big.mp3")
    _fake_killed_run(cache, url, b"\0" * 500_000, '"stale"')
    res = cache.fetch(url)
    assert res.path.read_bytes() == files["big.mp3"]
    gets = _gets(srv, "/big.mp3")
    assert len(gets) == 1 and _header(gets[0], "if-range") == '"stale"'


def test_partial_without_sidecar_starts_over(
    srv: LocalServer, cache: MediaCache, files: dict[str, bytes]
) -> None:
    url = srv.url("a.mp3")
    part = _fake_killed_run(cache, url, b"junk" * 1000, None)
    part.with_name(part.name + ".json").unlink()
    res = cache.fetch(url)
    assert res.path.read_bytes() == files["a.mp3"]
    assert _header(_gets(srv, "/a.mp3")[0], "range") is None


def test_server_without_ranges_restarts(
    served: tuple[Path, dict[str, bytes]], files: dict[str, bytes], cache: MediaCache
) -> None:
    with LocalServer(served[0], ranges=False) as plain:
        plain.fail_after["/big.mp3"] = 600_000
        seen: list[int] = []
        res = cache.fetch(plain.url("big.mp3"), progress=lambda d, t: seen.append(d))
        gets = _gets(plain, "/big.mp3")
    assert res.path.read_bytes() == files["big.mp3"]
    assert res.sha256 == _sha(files["big.mp3"])
    assert len(gets) == 2 and _header(gets[1], "range") == "bytes=600000-"
    assert 0 in seen[1:]  # progress went back to zero when the server sent the whole file


def test_404_fails_at_once(srv: LocalServer, cache: MediaCache) -> None:
    with pytest.raises(FetchError) as err:
        cache.fetch(srv.url("missing.mp3"))
    assert err.value.transient is False
    assert str(err.value) == f"HTTP 404 Not Found for {srv.url('missing.mp3')}: check the link"
    assert len(_gets(srv, "/missing.mp3")) == 1
    assert cache.sleeps == []  # type: ignore[attr-defined]


def test_503_then_success(srv: LocalServer, cache: MediaCache, files: dict[str, bytes]) -> None:
    srv.routes["/a.mp3"] = Route(503, b"busy", headers={"Retry-After": "2"})
    # The "sleep" is where the server recovers.
    cache._sleep = lambda s: (cache.sleeps.append(s), srv.routes.pop("/a.mp3"))  # type: ignore
    res = cache.fetch(srv.url("a.mp3"))
    assert res.path.read_bytes() == files["a.mp3"]
    assert len(_gets(srv, "/a.mp3")) == 2
    assert cache.sleeps == [2.0]  # type: ignore[attr-defined]  # Retry-After honoured


def test_503_forever_gives_up(srv: LocalServer, cache: MediaCache) -> None:
    srv.routes["/a.mp3"] = Route(503, b"busy")
    with pytest.raises(FetchError) as err:
        cache.fetch(srv.url("a.mp3"))
    assert err.value.transient is True
    assert "503" in str(err.value) and "3 attempts" in str(err.value)
    assert len(_gets(srv, "/a.mp3")) == 3  # retries=2
    assert cache.sleeps == [pytest.approx(0.001), pytest.approx(0.002)]  # type: ignore


def test_long_retry_after_is_ignored(srv: LocalServer, cache: MediaCache) -> None:
    srv.routes["/a.mp3"] = Route(429, b"slow down", headers={"Retry-After": "3600"})
    with pytest.raises(FetchError, match="429"):
        cache.fetch(srv.url("a.mp3"))
    assert max(cache.sleeps) < 1  # type: ignore[attr-defined]


def test_connection_refused_is_transient(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/a.mp3"
    with MediaCache(tmp_path / "cache", retries=1, backoff=0.001) as mc:
        mc._sleep = lambda s: None  # type: ignore[method-assign]
        with pytest.raises(FetchError) as err:
            mc.fetch(url)
    assert err.value.transient is True and "2 attempts" in str(err.value)


def test_size_limit_by_content_length(srv: LocalServer, tmp_path: Path) -> None:
    with (
        MediaCache(tmp_path / "cache", max_bytes=100_000) as mc,
        pytest.raises(FetchError) as err,
    ):
        mc.fetch(srv.url("a.mp3"))
    msg = str(err.value)
    assert err.value.transient is False
    assert "0.3 MB" in msg and "0.1 MB" in msg
    assert "max_download_mb" in msg and "PODGREP_MAX_DOWNLOAD_MB" in msg
    assert len(_gets(srv, "/a.mp3")) == 1
    assert _partials(tmp_path / "cache") == []


def test_size_limit_on_resume(srv: LocalServer, tmp_path: Path, files: dict[str, bytes]) -> None:
    # A 206 announces only the remainder; the limit applies to the whole file.
    url = srv.url("big.mp3")
    mc = MediaCache(tmp_path / "cache", max_bytes=1_500_000)
    _fake_killed_run(mc, url, files["big.mp3"][:1_000_000], httpx.head(url).headers["etag"])
    with mc, pytest.raises(FetchError, match="over the download limit"):
        mc.fetch(url)
    assert _partials(tmp_path / "cache") == []


def _lying_client(body: bytes, headers: dict[str, str]) -> httpx.Client:
    """A client whose server streams `body` whatever its headers claim."""

    def handler(request: httpx.Request) -> httpx.Response:
        chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
        return httpx.Response(200, headers=headers, content=chunks)

    return httpx.Client(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("claimed", [None, "1000"])
def test_size_limit_while_streaming(tmp_path: Path, claimed: str | None) -> None:
    headers = {"Content-Type": "audio/mpeg"}
    if claimed:
        headers["Content-Length"] = claimed  # a lie: far more follows
    body = os.urandom(500_000)
    with (
        _lying_client(body, headers) as client,
        MediaCache(tmp_path / "cache", max_bytes=200_000, client=client) as mc,
    ):
        with pytest.raises(FetchError, match="sent more than 0.2 MB") as err:
            mc.fetch("http://example.test/ep.mp3")
        assert err.value.transient is False
    assert _partials(tmp_path / "cache") == []
    assert _media_files(tmp_path / "cache") == []


def test_unlimited_size(tmp_path: Path) -> None:
    body = os.urandom(300_000)
    with (
        _lying_client(body, {"Content-Type": "audio/ogg"}) as client,
        MediaCache(tmp_path / "cache", max_bytes=None, client=client) as mc,
    ):
        res = mc.fetch("http://example.test/feed/episode")
    assert res.sha256 == _sha(body) and res.path.suffix == ".ogg"


@pytest.mark.parametrize("ctype", ["text/html; charset=utf-8", "application/json", "text/xml"])
def test_page_instead_of_media(srv: LocalServer, cache: MediaCache, ctype: str) -> None:
    srv.routes["/episode.mp3"] = Route(200, b"<html>hi</html>", content_type=ctype)
    url = srv.url("episode.mp3")
    with pytest.raises(MediaError) as err:
        cache.fetch(url)
    assert str(err.value).startswith(f"{url} answers {ctype.split(';')[0]}, not audio or video")
    assert _partials(cache.root) == [] and _media_files(cache.root) == []


def test_follows_redirects(srv: LocalServer, cache: MediaCache, files: dict[str, bytes]) -> None:
    srv.routes["/go"] = Route(302, headers={"Location": srv.url("b.m4a")})
    res = cache.fetch(srv.url("go"))
    assert res.path.read_bytes() == files["b.m4a"] and res.path.suffix == ".m4a"


def test_add_file_hashes_without_copying(tmp_path: Path, cache: MediaCache) -> None:
    src = tmp_path / "local.flac"
    src.write_bytes(os.urandom(400_000))
    res = cache.add_file(src)
    assert res.path == src and res.reused is False
    assert res.sha256 == _sha(src.read_bytes()) == sha256_file(src, chunk=4096)
    assert res.size == 400_000
    assert not cache.root.exists() or _media_files(cache.root) == []
    with pytest.raises(MediaError):
        cache.add_file(tmp_path / "nope.mp3")


def test_path_for_unknown(cache: MediaCache) -> None:
    assert cache.path_for("0" * 64) is None
    assert cache.path_for("../../etc") is None
