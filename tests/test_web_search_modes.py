"""The web search runs the CLI's modes: keyword, semantic and hybrid (`mode`), on the API and
the search page, hybrid by default once passages have vectors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from podgrep.config import load_settings
from podgrep.web import create_app
from tests.conftest import DATA, add_unfetched_episode, invoke

SDS = DATA / "transcripts" / "sds-733-edited-transcript.txt"
# a paraphrase sharing no word with the answer (Yannic scanning every new Arxiv paper, 51:45)
QUESTION = "how does he keep up with all the new research papers"
ANSWER = 51 * 60 + 45


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library with one episode whose transcript (speakers named, with vectors) is imported."""
    home = tmp_path_factory.mktemp("modes")
    assert add_unfetched_episode(home) == 1
    assert invoke(["import", "1", str(SDS)], home)[0] == 0
    return home


@pytest.fixture(scope="module")
def client(home: Path) -> Iterator[TestClient]:
    """The app over that library."""
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


NONSENSE = ["xyzzyplugh", "asdfgh qwerty zxcv", "glimmerwick snarfblat"]
SPEAKERS = {"Jon Krohn", "Yannic Kilcher"}


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid", None])
def test_nonsense_gets_no_hits_on_every_surface(client: TestClient, home: Path, mode) -> None:
    for q in NONSENSE:
        params = {"q": q} | ({"mode": mode} if mode else {})
        api = client.get("/api/search", params=params).json()
        assert api["hits"] == [] and api["count"] == 0, (q, mode)
        page = client.get("/search", params=params)
        assert page.status_code == 200 and "No matches" in page.text
        assert 'class="hit"' not in page.text
        code, out, err = invoke(["search", q, *(["--mode", mode] if mode else [])], home)
        assert code == 1 and out == "" and "No matches" in err


def test_api_hits_say_who_spoke_how_they_matched_and_how_many(client: TestClient) -> None:
    for mode in ("keyword", "semantic", "hybrid"):
        r = client.get("/api/search", params={"q": QUESTION, "mode": mode, "limit": 8}).json()
        assert r["count"] == len(r["hits"])
        for h in r["hits"]:
            assert h["speaker"] in SPEAKERS and isinstance(h["episode_id"], int)
            assert h["match"] == ("meaning" if mode == "semantic" else h["match"])
            assert h["match"] in ("words", "meaning")
    # a paraphrase sharing no word with its answer: the hybrid answer is marked as by meaning
    hybrid = client.get("/api/search", params={"q": QUESTION, "limit": 10}).json()["hits"]
    assert any(h["match"] == "meaning" for h in hybrid)
    words = client.get("/api/search", params={"q": "Zurich", "mode": "hybrid"}).json()["hits"]
    assert words[0]["match"] == "words"


def test_search_page_shows_count_speaker_episode_and_meaning_label(client: TestClient) -> None:
    page = client.get("/search", params={"q": QUESTION}).text
    assert 'class="hit-count"' in page and "by meaning only" in page
    assert '<span class="match-kind meaning"' in page
    assert '<span class="speaker">Yannic Kilcher</span>' in page or (
        '<span class="speaker">Jon Krohn</span>' in page
    )
    assert "episode 1" in page
    zurich = client.get("/search", params={"q": '"in Zurich"'}).text
    assert "match-kind meaning" not in zurich and 'class="hit-count"' in zurich


def test_cli_lines_carry_speaker_episode_id_and_match(home: Path, monkeypatch) -> None:
    code, out, err = invoke(["search", "Zurich", "--json"], home)
    assert code == 0 and "hit" in err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and all(r["episode_id"] == 1 and r["speaker"] in SPEAKERS for r in rows)
    assert {r["match"] for r in rows} <= {"words", "meaning"}
    # on a terminal: show › episode #id time  Speaker: text
    from podgrep import cli

    screen = StringIO()
    monkeypatch.setattr(cli, "out", Console(file=screen, force_terminal=True, width=400))
    code, _, _ = invoke(["search", "Zurich", "--mode", "keyword", "--limit", "3"], home)
    lines = [line for line in screen.getvalue().splitlines() if line.strip()]
    assert code == 0 and lines
    plain = Text_plain(lines[0])
    assert "#1" in plain and any(f"{name}:" in plain for name in SPEAKERS), plain


def Text_plain(line: str) -> str:  # noqa: N802 - the styled terminal line without escapes
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", line)
