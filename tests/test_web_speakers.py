"""Naming an episode's speakers through the web API and on the episode page."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from podgrep.config import load_settings
from podgrep.runtime import open_store
from podgrep.web import create_app
from tests.conftest import Served
from tests.support.web import ServeProcess, WebLibrary, build, copy_of
from tests.test_web_api import assert_inert

HOSTILE_NAME = "<script>window.__pwned='speaker'</script>Eve \"&\" <b>"


@pytest.fixture(scope="module")
def web(served: Served, library: Path, tmp_path_factory: pytest.TempPathFactory) -> WebLibrary:
    """This module's own copy of the web test library (the tests here rename speakers)."""
    return copy_of(build(served, library, tmp_path_factory), tmp_path_factory.mktemp("speakers"))


@pytest.fixture(scope="module")
def client(web: WebLibrary) -> Iterator[TestClient]:
    """A client bound as on 127.0.0.1: no token needed."""
    with TestClient(create_app(load_settings(web.home)), base_url="http://127.0.0.1") as c:
        yield c


def url(episode_id: int) -> str:
    return f"/api/episodes/{episode_id}/speakers"


def labels(client: TestClient, episode_id: int) -> list[str]:
    r = client.get(url(episode_id))
    assert r.status_code == 200, r.text
    return [s["label"] for s in r.json()]


def test_lists_the_episodes_speakers(client: TestClient, web: WebLibrary):
    found = client.get(url(web.conversation)).json()
    assert len(found) >= 2  # conversation_a has two voices
    assert [s["seconds"] for s in found] == sorted((s["seconds"] for s in found), reverse=True)
    assert all(s["label"] and s["segments"] > 0 for s in found)
    assert abs(sum(s["share"] for s in found) - 1) < 0.01


def test_rename_shows_everywhere_and_teaches_the_voice(client: TestClient, web: WebLibrary):
    label = labels(client, web.conversation)[-1]
    r = client.post(url(web.conversation), json={"label": label.lower(), "name": "  Jane   Doe "})
    assert r.status_code == 200, r.text
    renamed = next(s for s in r.json() if s["label"] == label)
    assert renamed["name"] == "Jane Doe" and renamed["name_source"] == "user"
    listed = next(s for s in client.get(url(web.conversation)).json() if s["label"] == label)
    assert listed["name"] == "Jane Doe"

    segments = client.get(f"/api/episodes/{web.conversation}/transcript?format=json").json()
    assert "Jane Doe" in {s.get("speaker") for s in segments["segments"]}
    assert "Jane Doe" in client.get(f"/api/episodes/{web.conversation}/transcript?format=txt").text
    page = client.get(f"/episodes/{web.conversation}").text
    assert 'class="speakers"' in page and 'value="Jane Doe"' in page
    assert 'class="speaker" data-speaker-id' in page and ">Jane Doe</span>" in page

    with open_store(web.home / "podgrep.db") as store:
        assert "Jane Doe" in store.voiceprints(web.data_talk)

    r = client.post(url(web.conversation), json={"label": label, "name": ""})  # clears it
    assert r.status_code == 200
    assert next(s for s in r.json() if s["label"] == label)["name"] is None
    with open_store(web.home / "podgrep.db") as store:
        assert "Jane Doe" not in store.voiceprints(web.data_talk)
    assert ">Jane Doe</span>" not in client.get(f"/episodes/{web.conversation}").text


def test_hostile_name_is_escaped(client: TestClient, web: WebLibrary):
    label = labels(client, web.conversation)[0]
    r = client.post(url(web.conversation), json={"label": label, "name": HOSTILE_NAME})
    assert r.status_code == 200
    assert next(s for s in r.json() if s["label"] == label)["name"] == HOSTILE_NAME  # JSON as is
    page = client.get(f"/episodes/{web.conversation}").text
    assert "<script>window.__pwned" not in page and "<b>" not in page
    assert f">{escape(HOSTILE_NAME)}</span>" in page  # the transcript's speaker span
    assert f'value="{escape(HOSTILE_NAME)}"' in page  # the rename field
    assert_inert(page)
    txt = client.get(f"/api/episodes/{web.conversation}/transcript?format=vtt")
    assert txt.headers["content-type"].startswith("text/vtt")


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"label": "S99", "name": "X"}, 422, "no speaker 'S99'"),
        ({"label": "<S1>", "name": "X"}, 422, "label"),
        ({"label": "", "name": "X"}, 422, "label"),
        ({"name": "X"}, 422, "label"),
        ({"label": "S1", "name": "x" * 201}, 422, "name"),
    ],
)
def test_bad_labels_and_names(client: TestClient, web: WebLibrary, body, status, words):
    r = client.post(url(web.conversation), json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_unknown_episode(client: TestClient):
    assert client.get(url(999999)).status_code == 404
    assert client.post(url(999999), json={"label": "S1", "name": "X"}).status_code == 404
    assert client.get("/api/episodes/abc/speakers").status_code == 404


def test_episode_without_speakers_lists_none(client: TestClient, web: WebLibrary):
    assert client.get(url(web.broken)).json() == []
    r = client.post(url(web.broken), json={"label": "S1", "name": "X"})
    assert r.status_code == 422 and "none yet" in r.json()["detail"]
    assert 'class="speakers"' not in client.get(f"/episodes/{web.broken}").text


def test_writes_need_the_token_and_the_same_site(web: WebLibrary, client: TestClient):
    label = labels(client, web.conversation)[0]
    body = {"label": label, "name": "Token Holder"}
    r = client.post(url(web.conversation), json=body, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.post(url(web.conversation), json=body, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    app = create_app(load_settings(web.home), token="s3cret-token")
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get(url(web.conversation)).status_code == 200  # reading stays open
        r = c.post(url(web.conversation), json=body)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        r = c.post(url(web.conversation), json=body, headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401
        r = c.post(url(web.conversation), json=body, headers={"X-Podgrep-Token": "s3cret-token"})
        assert r.status_code == 200
        assert "Token Holder" in {s["name"] for s in r.json()}
        assert "needs the write token" in c.get(f"/episodes/{web.conversation}").text


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")
def test_rename_in_the_browser_updates_the_transcript(web: WebLibrary, client: TestClient):
    sync_api = pytest.importorskip("playwright.sync_api")
    label = labels(client, web.conversation)[-1]
    server = ServeProcess(web.home)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.url}/episodes/{web.conversation}")
            form = page.locator(f'form.speaker-form[data-label="{label}"]')
            field = form.get_by_role("textbox")
            speaker_id = form.get_attribute("data-speaker-id")
            field.fill(HOSTILE_NAME)
            form.get_by_role("button", name="Rename").click()
            form.get_by_role("status").filter(has_text="Saved").wait_for(timeout=10000)
            turns = page.locator(f'.speaker[data-speaker-id="{speaker_id}"]')
            assert turns.count() > 0
            assert set(turns.all_inner_texts()) == {HOSTILE_NAME}  # as text, not markup
            assert page.evaluate("window.__pwned") is None and not errors
            browser.close()
    finally:
        server.stop()
    assert HOSTILE_NAME in {s["name"] for s in client.get(url(web.conversation)).json()}
