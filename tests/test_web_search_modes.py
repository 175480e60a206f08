"""The web search runs the CLI's modes: keyword, semantic and hybrid (`mode`), on the API and
the search page, hybrid by default once passages have vectors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from podgrep.config import load_settings
from podgrep.web import create_app
from tests.conftest import DATA, invoke

SDS = DATA / "transcripts" / "sds-733-edited-transcript.txt"
# a paraphrase sharing no word with the answer (Yannic scanning every new Arxiv paper, 51:45)
QUESTION = "how does he keep up with all the new research papers"
ANSWER = 51 * 60 + 45


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app over a library with one episode whose transcript (with vectors) is imported."""
    home = tmp_path_factory.mktemp("modes")
    assert invoke(["add", str(DATA / "jfk.flac")], home)[0] == 0
    assert invoke(["import", "1", str(SDS)], home)[0] == 0
    with TestClient(create_app(load_settings(home)), base_url="http://127.0.0.1") as c:
        yield c


def test_api_search_modes(client: TestClient) -> None:
    default = client.get("/api/search", params={"q": QUESTION, "limit": 5}).json()
    assert default["mode"] == "hybrid"
    keyword = client.get("/api/search", params={"q": QUESTION, "mode": "keyword"}).json()
    assert keyword["mode"] == "keyword" and keyword["hits"] == []
    for mode in ("semantic", "hybrid"):
        r = client.get("/api/search", params={"q": QUESTION, "mode": mode, "limit": 5})
        assert r.status_code == 200 and r.json()["mode"] == mode
        starts = [h["start"] for h in r.json()["hits"]]
        assert any(abs(s - ANSWER) < 60 for s in starts), (mode, starts)
    zurich = client.get("/api/search", params={"q": "Zurich", "mode": "keyword"}).json()
    assert any(h["start"] == 134 for h in zurich["hits"])
    hybrid = client.get("/api/search", params={"q": "Zurich", "mode": "hybrid"}).json()
    best = hybrid["hits"][0]
    assert "zurich" in [best["text"][a:b].lower() for a, b in best["marks"]]


def test_api_search_refuses_an_unknown_mode(client: TestClient) -> None:
    r = client.get("/api/search", params={"q": "Zurich", "mode": "fuzzy"})
    assert r.status_code == 400
    assert "fuzzy" in r.text


def test_search_page_has_a_mode_select(client: TestClient) -> None:
    page = client.get("/search", params={"q": QUESTION})
    assert page.status_code == 200
    assert '<select id="fmode" name="mode">' in page.text
    assert '<option value="hybrid" selected>' in page.text
    semantic = client.get("/search", params={"q": QUESTION, "mode": "semantic"})
    assert semantic.status_code == 200 and '<option value="semantic" selected>' in semantic.text
    assert "No matches" not in semantic.text
    keyword = client.get("/search", params={"q": QUESTION, "mode": "keyword"})
    assert "No matches" in keyword.text
    assert client.get("/search", params={"q": "Zurich", "mode": "fuzzy"}).status_code == 400
