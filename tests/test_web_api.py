"""The JSON API and the pages through FastAPI's test client, on a real store with real
transcripts (tiny.en over the test feed) and a hostile feed."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from podgrep.config import load_settings
from podgrep.enrich.chapters import chapters_from_notes, parse_chapters_json
from podgrep.transcripts.captions import parse_srt, parse_vtt
from podgrep.web import create_app
from podgrep.web.overview import cadence_text, history_svg, monthly_counts
from podgrep.web.safety import is_loopback
from podgrep.web.server import write_token
from tests.conftest import DATA, Served
from tests.support.web import (
    HOSTILE_SEGMENT,
    HOSTILE_SHOW,
    HOSTILE_TITLE,
    ServeProcess,
    WebLibrary,
    build,
    copy_of,
)

UPLOAD_LIMIT = 1536 * 1024  # jfk.flac (1.1 MB) fits, 2 MB does not


@pytest.fixture(scope="module")
def web(served: Served, library: Path, tmp_path_factory: pytest.TempPathFactory) -> WebLibrary:
    """This module's own copy of the web test library (the tests here add to it)."""
    return copy_of(build(served, library, tmp_path_factory), tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(web: WebLibrary) -> Iterator[TestClient]:
    """A test client for the app over that library, bound as on 127.0.0.1 (no token)."""
    app = create_app(load_settings(web.home), max_upload_bytes=UPLOAD_LIMIT)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes, as a browser would read them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_inert(html: str) -> None:
    """No script but our own, no event-handler attribute, no javascript: URL, no frames."""
    parser = _Tags()
    parser.feed(html)
    assert parser.tags
    for tag, attrs in parser.tags:
        assert tag not in ("iframe", "object", "embed"), (tag, attrs)
        if tag == "svg":
            assert ("class", "chart") in attrs, attrs  # only our own chart
        if tag == "form":
            assert dict(attrs).get("action") in (None, "/search", "/context"), attrs
        if tag == "script":
            assert ("src", "/static/app/app.js") in attrs, attrs
        for name, value in attrs:
            assert not name.startswith("on"), (tag, attrs)
            if name in ("href", "src", "action", "formaction", "xlink:href"):
                assert not (value or "").strip().lower().startswith("javascript:"), (tag, attrs)


# -- reading -------------------------------------------------------------------------------------


def test_shows_lists_counts(client: TestClient, web: WebLibrary):
    r = client.get("/api/shows")
    assert r.status_code == 200
    shows = {s["id"]: s for s in r.json()}
    talk = shows[web.data_talk]
    assert talk["title"] == "Data Talk" and talk["episodes"] == 2 and talk["transcribed"] == 2
    evil = shows[web.evil]
    assert evil["title"] == HOSTILE_SHOW
    assert evil["episodes"] == 2 and evil["failed"] == 1  # the duplicate guid was merged
    assert evil["image"] is None and evil["link"] is None  # javascript: artwork and link dropped


def test_show_episodes_newest_first_with_paging(client: TestClient, web: WebLibrary):
    r = client.get(f"/api/shows/{web.data_talk}/episodes")
    assert r.status_code == 200
    page = r.json()
    assert page["total"] == 2
    titles = [e["title"] for e in page["episodes"]]
    assert titles == ["Ask Not", "Yannic Kilcher on Open Assistant"]  # 11 Jul after 10 Jul
    first = page["episodes"][0]
    assert first["status"] == "indexed" and first["duration"] == pytest.approx(11.0, abs=0.5)
    assert first["audio_url"] == f"/api/episodes/{web.jfk}/audio"
    r = client.get(f"/api/shows/{web.data_talk}/episodes?limit=1&offset=1")
    assert [e["title"] for e in r.json()["episodes"]] == ["Yannic Kilcher on Open Assistant"]


def test_episode_detail(client: TestClient, web: WebLibrary):
    r = client.get(f"/api/episodes/{web.conversation}")
    assert r.status_code == 200
    ep = r.json()
    assert ep["show"] == "Data Talk" and ep["status"] == "indexed"
    assert ep["transcript"]["source"] == "whisper" and ep["transcript"]["complete"]
    assert ep["transcript"]["segments"] > 30
    assert set(ep["exports"]) == {"json", "srt", "vtt", "txt", "podcast-json"}
    assert ep["published_iso"].startswith("2023-07-10")


@pytest.mark.parametrize("fmt", ["json", "srt", "vtt", "txt", "podcast-json"])
def test_transcript_in_every_format(client: TestClient, web: WebLibrary, fmt: str):
    r = client.get(f"/api/episodes/{web.jfk}/transcript", params={"format": fmt})
    assert r.status_code == 200
    body = r.text
    assert "country" in body.lower()
    if fmt == "json":
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["episode"] == "Ask Not" and r.json()["segments"]
    elif fmt == "podcast-json":
        assert r.json()["version"] == "1.0.0" and r.json()["segments"][0]["startTime"] >= 0
    elif fmt == "srt":
        assert parse_srt(body) and r.headers["content-type"].startswith("application/x-subrip")
    elif fmt == "vtt":
        assert body.startswith("WEBVTT") and parse_vtt(body)
    else:
        assert re.match(r"[\w .'-]+ \[00:00:0\d\]: ", body)  # the speaker, then the time


def test_transcript_download_names_the_file(client: TestClient, web: WebLibrary):
    r = client.get(f"/api/episodes/{web.jfk}/transcript?format=srt&download=1")
    assert r.headers["content-disposition"] == 'attachment; filename="Ask-Not.srt"'


def test_search_finds_the_second_with_context(client: TestClient, web: WebLibrary):
    r = client.get("/api/search", params={"q": "ask not what your country"})
    assert r.status_code == 200
    hits = r.json()["hits"]
    best = hits[0]
    assert best["episode_id"] in (web.jfk, web.hostile)
    assert best["start"] < 11
    assert best["url"] == f"/episodes/{best['episode_id']}?t={best['start']:.1f}"
    marked = [best["text"][a:b].lower() for a, b in best["marks"]]
    assert "country" in marked
    r = client.get("/api/search", params={"q": '"preaching to the choir"'})
    hit = r.json()["hits"][0]
    assert hit["episode_id"] == web.conversation
    assert hit["before"] or hit["after"]  # a little context around a mid-episode sentence


def test_search_show_filter_and_paging(client: TestClient, web: WebLibrary):
    both = client.get("/api/search", params={"q": "country", "limit": 50}).json()["hits"]
    assert {h["episode_id"] for h in both} >= {web.jfk, web.hostile}
    only = client.get("/api/search", params={"q": "country", "show": str(web.evil)}).json()
    assert only["hits"] and {h["show_id"] for h in only["hits"]} == {web.evil}
    by_title = client.get("/api/search", params={"q": "country", "show": "Data Talk"}).json()
    assert {h["show_id"] for h in by_title["hits"]} == {web.data_talk}
    page1 = client.get("/api/search", params={"q": "the", "limit": 2}).json()
    page2 = client.get("/api/search", params={"q": "the", "limit": 2, "offset": 2}).json()
    assert page1["has_more"] and len(page1["hits"]) == 2
    assert {h["start"] for h in page1["hits"]} != {h["start"] for h in page2["hits"]}


def test_search_date_filter(client: TestClient, web: WebLibrary):
    july = client.get(
        "/api/search", params={"q": "country", "until": "2023-07-31", "mode": "keyword"}
    ).json()
    assert july["hits"] and {h["episode_id"] for h in july["hits"]} == {web.jfk}
    aug = client.get(
        "/api/search", params={"q": "country", "since": "2023-08-01", "mode": "keyword"}
    ).json()
    assert {h["episode_id"] for h in aug["hits"]} == {web.hostile}


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/api/episodes/999999", 404, "No episode with id 999999"),
        ("/api/episodes/abc", 404, "not an id"),
        ("/api/shows/424242/episodes", 404, "No show with id 424242"),
        ("/api/episodes/999999/transcript", 404, "No episode"),
        ("/api/episodes/999999/audio", 404, "No episode"),
        ("/api/search", 400, "q"),
        ("/api/search?q=", 400, "Nothing to search for"),
        ('/api/search?q="unbalanced', 400, "Unbalanced quote"),
        ("/api/search?q=x&limit=0", 400, "limit"),
        ("/api/search?q=x&limit=ten", 400, "limit"),
        ("/api/search?q=x&since=yesterday", 400, "YYYY-MM-DD"),
        ("/api/shows/1/episodes?offset=-1", 400, "offset"),
    ],
)
def test_read_errors(client: TestClient, path: str, status: int, words: str):
    r = client.get(path)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert words in r.json()["detail"]


def test_unknown_format_and_missing_transcript(client: TestClient, web: WebLibrary):
    r = client.get(f"/api/episodes/{web.jfk}/transcript?format=docx")
    assert r.status_code == 400 and "Unknown format 'docx'" in r.json()["detail"]
    r = client.get(f"/api/episodes/{web.broken}/transcript")
    assert r.status_code == 404 and "no transcript yet" in r.json()["detail"]


def test_pages_answer_html_errors(client: TestClient):
    r = client.get("/episodes/987654")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "No episode with id 987654" in r.text
    assert client.get("/no/such/page").status_code == 404
    r = client.get('/search?q="open')
    assert r.status_code == 400 and "Unbalanced quote" in r.text


# -- audio ---------------------------------------------------------------------------------------


def test_audio_whole_and_ranges(client: TestClient, web: WebLibrary):
    size = (DATA / "jfk.flac").stat().st_size
    r = client.get(f"/api/episodes/{web.jfk}/audio")
    assert r.status_code == 200 and len(r.content) == size
    assert r.headers["accept-ranges"] == "bytes" and r.headers["content-type"] == "audio/flac"
    r = client.get(f"/api/episodes/{web.jfk}/audio", headers={"Range": "bytes=100-199"})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 100-199/{size}"
    assert r.content == (DATA / "jfk.flac").read_bytes()[100:200]
    r = client.get(f"/api/episodes/{web.jfk}/audio", headers={"Range": f"bytes={size - 10}-"})
    assert r.status_code == 206 and len(r.content) == 10
    r = client.get(f"/api/episodes/{web.jfk}/audio", headers={"Range": f"bytes={size + 5}-"})
    assert r.status_code == 416


def test_audio_not_downloaded_redirects_to_publisher(client: TestClient, web: WebLibrary):
    r = client.get(f"/api/episodes/{web.broken}/audio", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"].endswith("/corrupt.mp3")


# -- hostile feed --------------------------------------------------------------------------------


def test_hostile_notes_are_sanitised_in_the_api(client: TestClient, web: WebLibrary):
    ep = client.get(f"/api/episodes/{web.hostile}").json()
    notes = ep["show_notes_html"]
    assert "<b>listener</b>" in notes and 'href="https://example.com/safe"' in notes
    assert 'rel="noopener noreferrer"' in notes and 'target="_blank"' in notes
    low = notes.lower()
    for bad in ("<script", "onerror", "onclick", "onload", "javascript:", "<iframe", "<svg"):
        assert bad not in low, bad
    assert "<form" not in low
    assert ep["title"] == HOSTILE_TITLE  # data stays as published; pages escape it
    assert ep["link"] is None
    titles = [c["title"] for c in ep["chapters"]]
    assert titles[1] == "Ask not" and ep["chapters"][1]["url"] is None  # from chapters JSON


@pytest.mark.parametrize("page", ["library", "show", "episode", "search"])
def test_hostile_text_is_escaped_on_every_page(client: TestClient, web: WebLibrary, page: str):
    path = {
        "library": "/",
        "show": f"/shows/{web.evil}",
        "episode": f"/episodes/{web.hostile}",
        "search": "/search?q=zanzibar",
    }[page]
    r = client.get(path)
    assert r.status_code == 200
    html = r.text
    assert_inert(html)
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    if page in ("library", "show"):
        assert "Evil &lt;img src=x onerror=&#34;window.__pwned=&#39;show&#39;&#34;&gt; Show" in html
    if page == "episode":
        assert "&lt;script&gt;window.__pwned=&#39;title&#39;&lt;/script&gt;Hostile" in html
        assert "&lt;script&gt;window.__pwned=&#39;segment&#39;&lt;/script&gt;" in html
        safe = '<a href="https://example.com/safe" target="_blank" rel="noopener noreferrer">'
        assert safe in html
    if page == "search":
        assert "<mark>zanzibar</mark>" in html
        assert "&lt;img src=x onerror=" in html


def test_hostile_segment_is_searchable_as_text(client: TestClient, web: WebLibrary):
    hits = client.get("/api/search", params={"q": "quokka"}).json()["hits"]
    assert hits and hits[0]["text"] == HOSTILE_SEGMENT and hits[0]["episode_id"] == web.hostile


# -- pages ---------------------------------------------------------------------------------------


def feeds_checked(client: TestClient, *show_ids: int) -> None:
    """Ask for the shows' pages, then wait for the background feed checks they started."""
    for show_id in show_ids:
        client.get(f"/shows/{show_id}")
    assert client.app.state.web.feeds.wait(30)  # type: ignore[attr-defined]


def test_show_page_at_a_glance(client: TestClient, web: WebLibrary):
    feeds_checked(client, web.evil, web.data_talk)
    html = client.get(f"/shows/{web.evil}").text
    assert '<svg class="chart"' in html and "Aug 2023: 1 episode" in html
    assert "Feed health" in html
    assert "Guids are unique" in html and "share a guid with another" in html
    assert "Every item has a guid" in html and "have no &lt;guid&gt;" in html
    assert "not a date at all" in html  # the unreadable date is named
    assert "have an enclosure without type or length" in html
    assert "artwork is not an http(s) URL (javascript:" in html
    talk = client.get(f"/shows/{web.data_talk}").text
    assert "1 episode / day" in talk  # 10 and 11 July
    assert "Most said" in talk and ">open assistant</a>" in talk and ">chat gpt</a>" in talk
    assert re.search(r"score-(good|fair|poor)\">\d+/100", talk)


def test_health_api_scores_the_hostile_feed_lower(client: TestClient, web: WebLibrary):
    feeds_checked(client, web.evil, web.data_talk)
    evil = client.get(f"/api/shows/{web.evil}/overview").json()
    talk = client.get(f"/api/shows/{web.data_talk}/overview").json()
    assert evil["health"]["score"] < talk["health"]["score"]
    failed = {c["name"] for c in evil["health"]["checks"] if not c["ok"]}
    assert {"Every item has a guid", "Guids are unique", "Dates can be read"} <= failed
    assert talk["episodes"] == 2 and talk["top_words"][0]["count"] >= 2
    assert [m["month"] for m in talk["per_month"]] == ["2023-07"]


def test_episode_page_has_player_transcript_exports_chapters(client: TestClient, web: WebLibrary):
    html = client.get(f"/episodes/{web.conversation}?t=42").text
    assert f'preload="metadata" src="/api/episodes/{web.conversation}/audio">' in html
    assert 'data-start="42"' in html
    assert len(re.findall(r'class="seg"', html)) > 30
    assert len(re.findall(r'class="para"', html)) >= 5  # grouped, not one block
    assert 'id="untimed"' not in html  # Whisper's times are measured
    for fmt in ("json", "srt", "vtt", "txt", "podcast-json"):
        assert f"transcript?format={fmt}&amp;download=1" in html
    hostile = client.get(f"/episodes/{web.hostile}").text
    assert 'class="chapters"' in hostile and "Ask not" in hostile


def test_search_page_groups_by_episode(client: TestClient, web: WebLibrary):
    html = client.get("/search", params={"q": "country", "mode": "keyword"}).text
    assert html.count('class="result-group"') == 2  # jfk in both shows
    assert f'href="/episodes/{web.jfk}?t=' in html and "<mark>country</mark>" in html
    filtered = client.get(
        "/search", params={"q": "country", "show": str(web.data_talk), "mode": "keyword"}
    ).text
    assert filtered.count('class="result-group"') == 1


def test_library_page_lists_failures(client: TestClient):
    html = client.get("/").text
    assert "Failed jobs" in html and "Broken audio" in html and "retry-button" in html


# -- writing -------------------------------------------------------------------------------------


def test_add_source_errors(client: TestClient, served: Served):
    assert client.post("/api/sources", json={}).status_code == 422
    assert client.post("/api/sources", json={"url": 5}).status_code == 422
    json_type = {"content-type": "application/json"}
    r = client.post("/api/sources", content=b"{not json", headers=json_type)
    assert r.status_code == 422
    r = client.post("/api/sources", json={"url": "/etc"})
    assert r.status_code == 422 and "not an http(s) URL" in r.json()["detail"]
    r = client.post("/api/sources", json={"url": served.url("page.html")})
    assert r.status_code == 422 and "web page" in r.json()["detail"]
    r = client.post("/api/sources", json={"url": served.url("missing.xml")})
    assert r.status_code == 422 and "404" in r.json()["detail"]


def test_add_known_feed(client: TestClient, served: Served, web: WebLibrary):
    r = client.post("/api/sources", json={"url": served.url("feed.xml")})
    assert r.status_code == 201
    body = r.json()
    assert body["show"]["id"] == web.data_talk and body["kind"] == "feed"
    assert not body["created"] and body["new_episodes"] == []


def test_upload_limits_and_types(client: TestClient):
    big = b"\0" * (2 * 1024 * 1024)
    r = client.post("/api/uploads", files={"file": ("big.mp3", big, "audio/mpeg")})
    assert r.status_code == 413 and "limit" in r.json()["detail"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit is counted as bytes arrive
        yield b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.mp3"\r\n'
        yield b"Content-Type: audio/mpeg\r\n\r\n"
        for _ in range(40):
            yield b"\0" * 65536
        yield b"\r\n--XyZ--\r\n"

    r = client.post(
        "/api/uploads",
        content=chunked(),
        headers={"content-type": "multipart/form-data; boundary=XyZ"},
    )
    assert r.status_code == 413
    r = client.post("/api/uploads", files={"file": ("notes.txt", b"hello", "text/plain")})
    assert r.status_code == 415 and "not an audio or video file name" in r.json()["detail"]
    r = client.post("/api/uploads", files={"file": ("fake.mp3", b"hello" * 100, "audio/mpeg")})
    assert r.status_code == 415
    r = client.post("/api/uploads", files={"file": ("a.mp3", b"x", "text/html")})
    assert r.status_code == 415 and "text/html" in r.json()["detail"]
    assert client.post("/api/uploads", files={}).status_code == 422


def test_upload_then_sync_makes_it_searchable(client: TestClient, web: WebLibrary):
    data = (DATA / "jfk.flac").read_bytes()
    r = client.post("/api/uploads", files={"file": ("../../My talk.flac", data, "audio/flac")})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["file"] == "My talk.flac" and body["show"]["title"] == "Local files"
    assert (web.home / "uploads" / "My talk.flac").read_bytes() == data
    [episode_id] = body["episode_ids"]
    r = client.post("/api/sync", json={"refresh": False})
    assert r.status_code == 202 and r.json()["started"]
    assert client.post("/api/sync").status_code == 409  # one at a time
    seen_steps = set()
    holders = []  # the running jobs as the API showed them: worker, start, lease
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        jobs = client.get("/api/jobs").json()
        if jobs["sync"]["step"]:
            seen_steps.add(jobs["sync"]["step"])
            assert jobs["sync"]["steps"][0]["step"] == jobs["sync"]["step"]
        holders += jobs["running"]
        if not jobs["sync"]["running"]:
            break
        time.sleep(0.2)
    assert jobs["sync"]["phase"] == "done", jobs["sync"]
    assert holders and all(h["episode_id"] == episode_id for h in holders)
    for h in holders:  # this process's lanes ("host:pid/cpu", "…/finish", "…/fetch-0")
        assert re.fullmatch(rf".+:{os.getpid()}/(cpu|finish|fetch-\d+)", h["worker"]), h
        assert h["started"] <= time.time() and h["lease_until"] > h["started"]
    assert jobs["running"] == [] and jobs["sync"]["steps"] == []
    assert jobs["sync"]["episodes_done"] == 1 and "transcribe" in seen_steps
    ep = client.get(f"/api/episodes/{episode_id}").json()
    assert ep["status"] == "indexed"
    hits = client.get("/api/search", params={"q": "country", "show": "Local files"}).json()
    assert [h["episode_id"] for h in hits["hits"]] == [episode_id]


def test_retry_failed_jobs(client: TestClient, web: WebLibrary):
    assert client.get("/api/jobs").json()["failures"]
    r = client.post("/api/retry")
    assert r.status_code == 202 and r.json()["retried"] >= 1
    app = client.app
    assert app.state.web.sync.wait(120)  # type: ignore[attr-defined]
    jobs = client.get("/api/jobs").json()
    assert jobs["sync"]["phase"] == "done" and jobs["sync"]["failures"]
    assert "Broken audio" in jobs["failures"][0]["title"]  # tried again and failed again


def test_cross_site_writes_are_refused(client: TestClient):
    r = client.post("/api/sync", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.post("/api/sync", headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403


# -- the token rule ------------------------------------------------------------------------------


def test_token_rule_by_address():
    assert write_token("127.0.0.1", None) == (None, False)
    assert write_token("localhost", "x") == ("x", False)  # a token given is always required
    assert write_token("::1", None) == (None, False)
    token, generated = write_token("0.0.0.0", None)
    assert generated and token and len(token) >= 24
    assert write_token("192.168.1.5", "given") == ("given", False)
    assert is_loopback("127.0.0.2") and not is_loopback("10.0.0.1")


def test_writes_need_the_token_reads_do_not(web: WebLibrary):
    app = create_app(load_settings(web.home), token="s3cret-token")
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get("/api/shows").status_code == 200
        assert c.get("/").status_code == 200
        for path in ("/api/sync", "/api/retry", "/api/sources", "/api/uploads"):
            r = c.post(path, json={})
            assert r.status_code == 401, path
            assert "token" in r.json()["detail"] and r.headers["www-authenticate"] == "Bearer"
        r = c.post("/api/sources", json={"url": "x"}, headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401
        ok = {"Authorization": "Bearer s3cret-token"}
        r = c.post("/api/sources", json={"url": "ftp://x"}, headers=ok)
        assert r.status_code == 422  # past the guard
        other = {"X-Podgrep-Token": "s3cret-token"}
        r = c.post("/api/sources", json={"url": "ftp://x"}, headers=other)
        assert r.status_code == 422


def test_serve_on_all_addresses_prints_a_token(web: WebLibrary):
    server = ServeProcess(web.home, "--host", "0.0.0.0")
    try:
        assert httpx.get(server.url + "/api/shows").status_code == 200
        r = httpx.post(server.url + "/api/sync", json={})
        assert r.status_code == 401
    finally:
        err = server.stop()
    token = re.search(r"need the token \(generated for this run\): (\S+)", err)
    assert token, err
    server = ServeProcess(web.home, "--host", "0.0.0.0", env_token="chosen-token")
    try:
        r = httpx.post(server.url + "/api/sources", json={"url": "ftp://x"},
                       headers={"Authorization": "Bearer chosen-token"})  # fmt: skip
        assert r.status_code == 422
    finally:
        err = server.stop()
    assert "from PODGREP_TOKEN" in err


# -- pure helpers --------------------------------------------------------------------------------


def test_cadence_and_months():
    day = 86400.0
    assert cadence_text([0, 6 * day, 12 * day, 18 * day]) == "1 episode / 6 days"
    assert cadence_text([0, 7 * day, 14 * day]) == "1 episode / week"
    assert cadence_text([0, day / 3, 2 * day / 3]) == "3 episodes / day"
    assert cadence_text([5.0]) is None
    jan, mar = 1672531200.0, 1677628800.0  # 2023-01-01, 2023-03-01
    assert monthly_counts([jan, jan + 10, mar]) == [("2023-01", 2), ("2023-02", 0), ("2023-03", 1)]
    svg = history_svg(monthly_counts([jan, jan + 10, mar]))
    assert svg.count("<rect") == 3 and "Jan 2023: 2 episodes" in svg and "2023</text>" in svg


def test_chapters_from_notes_and_json():
    notes = "<p>(00:00) Intro</p><p>12:30 - Weather<br>1:02:03 The end</p><p>at 5:00 we</p>"
    chapters = chapters_from_notes(notes)
    assert [(c.start, c.title) for c in chapters] == [
        (0, "Intro"),
        (750, "Weather"),
        (3723, "The end"),
    ]
    assert chapters_from_notes("<p>We met at 10:30 for coffee.</p>") == []
    doc = (
        '{"version":"1.2.0","chapters":[{"startTime":5,"title":"B"},{"startTime":0,"title":"A"},'
        '{"startTime":9,"title":"hidden","toc":false}]}'
    )
    assert [c.title for c in parse_chapters_json(doc)] == ["A", "B"]
    assert parse_chapters_json("not json") == []


def test_untimed_and_inaudible_text_is_marked_on_the_episode_page(tmp_path: Path):
    from podgrep.domain import Episode, Show
    from podgrep.runtime import open_store
    from podgrep.transcripts.importer import untimed

    home = tmp_path / "home"
    home.mkdir()
    with open_store(home / "podgrep.db") as store:
        show_id, _ = store.add_show(Show(None, "test://untimed", "Untimed", kind="local"))
        [eid] = store.add_episodes(show_id, [Episode(None, show_id, "u1", "No clock")])
        text = "Jane: Welcome to the show.\n\nTom: Thanks, it is [inaudible] great to be here."
        store.replace_transcript(eid, "publisher", None, "en", untimed(text))
    with TestClient(create_app(load_settings(home)), base_url="http://127.0.0.1") as c:
        html = c.get(f"/episodes/{eid}").text
    assert 'id="untimed"' in html and "without timestamps" in html
    assert html.count('class="seg inaudible"') == 1
