"""Hostile networks and pages against the web app: DNS rebinding (the Host header), writes from
other origins, a token given on loopback, pages that never wait on the network, ids past 2**63,
upload errors that name no server path, docs with nothing from a CDN, answers a browser cannot
be tricked into running."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from podgrep.config import Settings, load_settings
from podgrep.domain import Episode, Show
from podgrep.runtime import open_store
from podgrep.web import create_app
from podgrep.web.safety import BadHostName, ForbiddenOrigin, check_write, host_rule
from podgrep.web.server import write_token
from tests.support.web import ServeProcess

pytestmark = pytest.mark.fault("web")

EVIL = "rebind.attacker.example"
NOTES = "<p>00:00 Intro<br>01:30 The ask</p>"
CDN = re.compile(
    r"(https?:)?//(cdn\.[\w.-]+|[\w.-]*jsdelivr\.net|unpkg\.com|cdnjs\.[\w.-]+|"
    r"fonts\.(googleapis|gstatic)\.com)"
)


class Staller:
    """A TCP server on 127.0.0.1 that reads each request line and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.paths: list[str] = []
        self.open = 0
        self.most_open = 0
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.append(conn)
            self.open += 1
            self.most_open = max(self.most_open, self.open)
        try:
            line = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
            with self._lock:
                self.paths.append(line.split(" ")[1] if " " in line else line)
            while not self._stop.is_set() and conn.recv(4096):
                pass  # hold the connection open, send nothing
        except OSError:
            pass
        finally:
            with self._lock:
                self.open -= 1

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()


@dataclasses.dataclass
class Lib:
    home: Path
    show: int
    episode: int
    html_audio: int  # an episode whose cached "audio" is an HTML page


def make_library(home: Path, feed_url: str, chapters_url: str) -> Lib:
    """A library with one feed show (at `feed_url`) and no transcripts: fast, no network."""
    home.mkdir(parents=True, exist_ok=True)
    page = home / "cached.html"
    page.write_text("<html><script>window.__pwned=1</script></html>")
    with open_store(home / "podgrep.db") as store:
        show_id, _ = store.add_show(Show(None, feed_url, "Slow Show", kind="feed"))
        ep, html_ep = store.add_episodes(
            show_id,
            [
                Episode(
                    None,
                    show_id,
                    "g1",
                    "An episode",
                    media_url="https://example.com/a.mp3",
                    media_type="audio/mpeg",
                    media_length=10,
                    published=1690884000.0,
                    show_notes_html=NOTES,
                    chapters_url=chapters_url,
                ),
                Episode(
                    None,
                    show_id,
                    "g2",
                    "Cached page",
                    media_type="text/html",
                    media_path=str(page),
                ),
            ],
        )
    return Lib(home, show_id, ep, html_ep)


@pytest.fixture(scope="module")
def staller() -> Iterator[Staller]:
    s = Staller()
    yield s
    s.close()


@pytest.fixture(scope="module")
def lib(staller: Staller, tmp_path_factory: pytest.TempPathFactory) -> Lib:
    home = tmp_path_factory.mktemp("hostile-home")
    return make_library(home, staller.url("feed.xml"), staller.url("chapters.json"))


def client_for(
    settings: Settings, base_url: str = "http://127.0.0.1:8765", **kwargs: object
) -> TestClient:
    return TestClient(create_app(settings, **kwargs), base_url=base_url)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def client(lib: Lib) -> Iterator[TestClient]:
    """The app as `podgrep serve` makes it on 127.0.0.1:8765, reached as 127.0.0.1:8765."""
    with client_for(load_settings(lib.home), bind="127.0.0.1") as c:
        yield c


# -- DNS rebinding: the Host header --------------------------------------------------------------

ALL_KINDS = [
    "/",
    "/search?q=x",
    "/shows/1",
    "/episodes/1",
    "/api/shows",
    "/api/jobs",
    "/api/episodes/1/transcript",
    "/static/app/app.css",
    "/static/app/app.js",
    "/docs",
    "/openapi.json",
    "/static/docs/swagger-ui.css",
    "/no/such/page",
]


@pytest.mark.parametrize("path", ALL_KINDS)
def test_every_request_with_an_unknown_host_is_refused(client: TestClient, path: str):
    r = client.get(path, headers={"Host": f"{EVIL}:8765"})
    assert r.status_code == 400, r.text
    text = r.json()["detail"] if path.startswith("/api") else r.text
    assert text.count("\n") <= 1  # one line
    assert EVIL in text and "--allow-host" in text and "PODGREP_ALLOWED_HOSTS" in text
    assert r.headers["x-content-type-options"] == "nosniff"
    kind = "application/json" if path.startswith("/api") else "text/plain"
    assert r.headers["content-type"].startswith(kind)


def test_writes_with_an_unknown_host_are_refused_before_anything_runs(client: TestClient):
    for path in ("/api/sync", "/api/retry", "/api/sources", "/api/uploads"):
        r = client.post(path, json={}, headers={"Host": EVIL, "Origin": f"http://{EVIL}"})
        assert r.status_code == 400, (path, r.text)
    assert not client.get("/api/jobs").json()["sync"]["running"]


def test_no_host_header_or_a_malformed_one_is_refused(client: TestClient):
    for host in ("", "a b", "evil/x", "127.0.0.1:99999", "127.0.0.1:x", "[::1", "user@127.0.0.1"):
        assert client.get("/api/shows", headers={"Host": host}).status_code == 400, host


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:8765", "127.0.0.1", "localhost:8765", "LOCALHOST.:1234", "[::1]:8765",
     "127.0.0.2:80", "[0:0:0:0:0:0:0:1]:8765"],
)  # fmt: skip
def test_loopback_names_answer_on_any_port(client: TestClient, host: str):
    assert client.get("/api/shows", headers={"Host": host}).status_code == 200


def test_names_the_user_allowed(lib: Lib):
    settings = dataclasses.replace(load_settings(lib.home), allowed_hosts="nas.home, *.lan")
    with client_for(settings, hosts=["Podgrep.Example"]) as c:
        for host in ("podgrep.example:8765", "nas.home", "box.lan:80", "a.b.lan", "127.0.0.1"):
            assert c.get("/api/shows", headers={"Host": host}).status_code == 200, host
        for host in ("lan", "podgrep.example.evil", "nas.home.evil", EVIL, "0.0.0.0"):
            assert c.get("/api/shows", headers={"Host": host}).status_code == 400, host


def test_a_specific_bind_address_answers_to_itself(lib: Lib):
    settings = load_settings(lib.home)
    with client_for(settings, "http://192.168.1.5:8765", bind="192.168.1.5") as c:
        assert c.get("/api/shows").status_code == 200
        assert c.get("/api/shows", headers={"Host": "192.168.1.6:8765"}).status_code == 400
        assert c.get("/api/shows", headers={"Host": EVIL}).status_code == 400


def test_a_bind_to_every_address_answers_to_the_address_each_request_reached(lib: Lib):
    settings = load_settings(lib.home)
    with client_for(settings, "http://10.1.2.3:8765", bind="0.0.0.0") as c:  # noqa: S104
        assert c.get("/").status_code == 200  # Host 10.1.2.3:8765, reached on 10.1.2.3
        assert c.get("/", headers={"Host": "localhost:8765"}).status_code == 200
        assert c.get("/", headers={"Host": "0.0.0.0:8765"}).status_code == 200  # the printed URL
        assert c.get("/", headers={"Host": "10.9.9.9:8765"}).status_code == 400
        assert c.get("/", headers={"Host": f"{EVIL}:8765"}).status_code == 400
    with client_for(settings, "http://10.1.2.3:8765") as c:  # the default: loopback names only
        assert c.get("/").status_code == 400


def test_a_dual_stack_bind_counts_ipv4_clients_by_their_ipv4_address():
    rule = host_rule("::", ["podgrep.lan"])
    assert rule.allows("192.168.1.5", "::ffff:192.168.1.5")
    assert not rule.allows("192.168.1.6", "::ffff:192.168.1.5")
    assert not host_rule("127.0.0.1").allows("192.168.1.5", "192.168.1.5")
    assert "podgrep.lan" in rule.shown() and "this machine's addresses" in rule.shown()


@pytest.mark.parametrize("name", ["http://podgrep.lan", "*", "a/b", "two words", "<b>"])
def test_names_that_are_not_host_names_are_refused_with_one_line(lib: Lib, name: str):
    assert host_rule(None, ["", " , "]).allows("localhost")  # empty entries are skipped
    with pytest.raises(BadHostName, match="is not a host name"):
        create_app(load_settings(lib.home), hosts=[name])
    settings = dataclasses.replace(load_settings(lib.home), allowed_hosts=f"ok.lan,{name}")
    with pytest.raises(BadHostName, match="PODGREP_ALLOWED_HOSTS"):
        create_app(settings)


# -- the token -----------------------------------------------------------------------------------


def test_a_token_given_is_required_on_loopback_too(lib: Lib):
    assert write_token("127.0.0.1", "given") == ("given", False)
    assert write_token("localhost", "given") == ("given", False)
    assert write_token("::1", None) == (None, False)
    with client_for(load_settings(lib.home), token="s3cret", bind="127.0.0.1") as c:
        r = c.post("/api/sources", json={"url": "ftp://x"})
        assert r.status_code == 401 and "token" in r.json()["detail"]
        ok = {"Authorization": "Bearer s3cret"}
        assert c.post("/api/sources", json={"url": "ftp://x"}, headers=ok).status_code == 422


def test_serve_on_loopback_with_a_token_and_an_allowed_name(lib: Lib):
    server = ServeProcess(lib.home, "--token", "tok-123", "--allow-host", "podgrep.test")
    try:
        url = server.url
        assert httpx.post(url + "/api/sources", json={"url": "ftp://x"}).status_code == 401
        r = httpx.post(
            url + "/api/sources", json={"url": "ftp://x"}, headers={"X-Podgrep-Token": "tok-123"}
        )
        assert r.status_code == 422  # past the guard
        named = {"Host": f"podgrep.test:{server.port}"}
        assert httpx.get(url + "/api/shows", headers=named).status_code == 200
        r = httpx.get(url + "/", headers={"Host": f"{EVIL}:{server.port}"})
        assert r.status_code == 400 and "--allow-host" in r.text
        r = httpx.get(url + "/static/app/app.js", headers={"Host": EVIL})
        assert r.status_code == 400
    finally:
        err = server.stop()
    assert "podgrep.test" in err and "--allow-host" in err
    assert "from PODGREP_TOKEN / --token" in err


# -- writes from other origins ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def named(lib: Lib) -> Iterator[TestClient]:
    """The app answering to podgrep.lan, reached as http://podgrep.lan:8765."""
    with client_for(load_settings(lib.home), "http://podgrep.lan:8765", hosts=["podgrep.lan"]) as c:
        yield c


@pytest.mark.parametrize(
    "origin",
    [None, "http://podgrep.lan:8765", "https://podgrep.lan:8765", "http://localhost:8765",
     "http://127.0.0.1:8765"],
)  # fmt: skip
def test_writes_from_the_servers_own_origins(named: TestClient, origin: str | None):
    headers = {"Origin": origin} if origin else {}
    r = named.post("/api/sources", json={"url": "ftp://x"}, headers=headers)
    assert r.status_code == 422, r.text  # past the guard, refused as not http(s)


@pytest.mark.parametrize(
    "origin",
    ["http://podgrep.lan:3000", "http://localhost:3000", "http://127.0.0.1", f"http://{EVIL}:8765",
     "http://podgrep.lan.evil.example:8765", "null", "file://", "ftp://podgrep.lan:8765",
     "http://podgrep.lan:8765/path", "http://user@podgrep.lan:8765", "garbage"],
)  # fmt: skip
def test_writes_from_other_origins_are_refused(named: TestClient, origin: str):
    r = named.post("/api/sources", json={"url": "ftp://x"}, headers={"Origin": origin})
    assert r.status_code == 403, r.text
    assert "refused" in r.json()["detail"]


def test_cross_site_fetch_metadata_is_refused_even_with_an_own_origin(named: TestClient):
    headers = {"Origin": "http://podgrep.lan:8765", "Sec-Fetch-Site": "cross-site"}
    assert named.post("/api/sources", json={"url": "ftp://x"}, headers=headers).status_code == 403


def _request(host: str, origin: str) -> Request:
    headers = [(b"host", host.encode()), (b"origin", origin.encode())]
    return Request({"type": "http", "method": "POST", "path": "/api/sync", "headers": headers,
                    "server": ("127.0.0.1", 8765), "query_string": b""})  # fmt: skip


def test_an_origin_equal_to_a_rebound_host_is_still_refused():
    with pytest.raises(ForbiddenOrigin):
        check_write(_request(f"{EVIL}:8765", f"http://{EVIL}:8765"), None)
    check_write(_request("127.0.0.1:8765", "http://127.0.0.1:8765"), None)  # allowed


# -- no network while a page renders ---------------------------------------------------------------


def test_pages_never_wait_on_the_network(client: TestClient, lib: Lib, staller: Staller):
    for path in (
        f"/shows/{lib.show}",
        f"/api/shows/{lib.show}/overview",
        f"/episodes/{lib.episode}",
        f"/api/episodes/{lib.episode}",
        f"/shows/{lib.show}",
    ):
        began = time.monotonic()
        r = client.get(path)
        assert r.status_code == 200, r.text
        assert time.monotonic() - began < 2.0, path
    show = client.get(f"/shows/{lib.show}").text
    assert "Feed health" in show and "stored episodes" in show
    episode = client.get(f"/api/episodes/{lib.episode}").json()
    assert [c["title"] for c in episode["chapters"]] == ["Intro", "The ask"]  # from the notes
    assert "/chapters.json" not in staller.paths  # chapters are never fetched live
    assert staller.most_open <= 1  # feed checks run one at a time, in the background


def test_forty_requests_for_a_stalled_feed_leave_the_server_answering(tmp_path: Path):
    staller = Staller()
    lib = make_library(tmp_path / "home", staller.url("feed.xml"), staller.url("chapters.json"))
    server = ServeProcess(lib.home)
    try:
        with ThreadPoolExecutor(40) as pool:
            pages = pool.map(
                lambda _: httpx.get(f"{server.url}/shows/{lib.show}", timeout=30).status_code,
                range(40),
            )
            began = time.monotonic()
            r = httpx.get(server.url + "/", timeout=30)
            assert r.status_code == 200 and time.monotonic() - began < 3.0
            assert set(pages) == {200}
        assert staller.most_open <= 1
    finally:
        server.stop()
        staller.close()


# -- ids past what SQLite holds --------------------------------------------------------------------

HUGE = [
    "9223372036854775808",
    "99999999999999999999",
    "-9223372036854775809",
    "-99999999999999999999",
]
ID_ROUTES = [
    "/api/shows/{id}",
    "/api/shows/{id}/overview",
    "/api/shows/{id}/episodes",
    "/api/shows/{id}/links",
    "/api/episodes/{id}",
    "/api/episodes/{id}/transcript",
    "/api/episodes/{id}/chapters",
    "/api/episodes/{id}/links",
    "/api/episodes/{id}/speakers",
    "/api/episodes/{id}/audio",
    "/shows/{id}",
    "/episodes/{id}",
]


@pytest.mark.parametrize("route", ID_ROUTES)
@pytest.mark.parametrize("big", HUGE)
def test_ids_past_2_63_are_unknown_ids(client: TestClient, route: str, big: str):
    r = client.get(route.format(id=big))
    assert r.status_code == 404, r.text
    if route.startswith("/api"):
        assert big in r.json()["detail"] or "out of range" in r.json()["detail"]
    else:
        assert "text/html" in r.headers["content-type"] and big in r.text


def test_ids_past_2_63_on_writes_and_in_queries(client: TestClient):
    r = client.post(f"/api/episodes/{HUGE[1]}/speakers", json={"label": "S1", "name": "x"})
    assert r.status_code == 404, r.text
    for show in (HUGE[1], HUGE[2], "²", "١٢"):
        r = client.get("/api/search", params={"q": "x", "show": show})
        assert r.status_code == 200 and r.json()["hits"] == [], r.text
        assert client.get("/search", params={"q": "x", "show": show}).status_code == 200


# -- uploads ---------------------------------------------------------------------------------------


def test_upload_errors_name_the_file_not_where_it_was_put(client: TestClient, lib: Lib):
    r = client.post("/api/uploads", files={"file": ("fake.mp3", b"hello" * 100, "audio/mpeg")})
    assert r.status_code == 415
    detail = r.json()["detail"]
    assert "fake.mp3" in detail
    for leak in (str(lib.home), "/uploads", ".part", str(Path.home())):
        assert leak not in detail, detail
    assert not re.search(r"(?<![\w:/])/\w+/", detail), detail


# -- nothing from a CDN ----------------------------------------------------------------------------


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.urls.append(a["src"] or "")
        if tag == "link" and a.get("href"):
            self.urls.append(a["href"] or "")


def test_no_page_loads_a_script_or_stylesheet_from_elsewhere(client: TestClient, lib: Lib):
    pages = [
        "/",
        "/docs",
        "/redoc",
        f"/shows/{lib.show}",
        f"/episodes/{lib.episode}",
        "/search?q=x",
    ]
    checked = set()
    for path in pages:
        r = client.get(path)
        if path == "/redoc" and r.status_code == 404:
            continue  # not served
        assert r.status_code == 200, path
        parser = _Assets()
        parser.feed(r.text)
        assert parser.urls, path
        for url in parser.urls:
            assert url.startswith("/") and not url.startswith("//"), (path, url)
            assert not CDN.search(r.text), path
            if url.endswith((".js", ".css")) and url not in checked:
                checked.add(url)
                asset = client.get(url)
                assert asset.status_code == 200, url
                assert not CDN.search(asset.text), (url, CDN.search(asset.text))
    assert "/static/docs/swagger-ui-bundle.js" in checked
    csp = client.get("/docs").headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp


# -- answers a browser cannot be made to run -------------------------------------------------------


def test_cached_media_is_never_served_as_a_page(client: TestClient, lib: Lib):
    r = client.get(f"/api/episodes/{lib.html_audio}/audio")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert "sandbox" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_api_answers_are_not_sniffed_framed_or_cached(client: TestClient, lib: Lib):
    for path in ("/api/shows", f"/api/episodes/{lib.episode}", "/api/jobs", "/api/episodes/0"):
        r = client.get(path)
        assert r.headers["content-type"].startswith("application/json"), path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["cache-control"] == "no-store", path
        assert r.headers["x-frame-options"] == "DENY", path
