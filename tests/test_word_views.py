"""Word views on real transcripts (conversation_a and jfk through the real tiny.en model): the
key terms of an episode and a show, weighed against the library and general English, and the
word tree (`podgrep context`, `/api/context`, `/context`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from podgrep.config import load_settings
from podgrep.keyterms import Counts, count, key_terms, words_of
from podgrep.runtime import open_store
from podgrep.web import create_app
from podgrep.web.overview import top_words
from tests.conftest import Served, invoke
from tests.support.web import HOSTILE_SEGMENT, WebLibrary, build, copy_of

pytest.importorskip("wordfreq")
FILLERS = {"really", "know", "nice", "bit", "great", "think", "yeah", "people", "want", "just"}
CONTENT = {"open assistant", "openassistant", "open source", "assistant", "chatgpt", "chat gpt"}


@pytest.fixture(scope="module")
def web(served: Served, library: Path, tmp_path_factory: pytest.TempPathFactory) -> WebLibrary:
    """This module's copy of the web test library (the hostile feed added)."""
    return copy_of(build(served, library, tmp_path_factory), tmp_path_factory.mktemp("words"))


@pytest.fixture(scope="module")
def client(web: WebLibrary) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings(web.home)), base_url="http://127.0.0.1") as c:
        yield c


def _texts(web: WebLibrary, episode_id: int) -> list[str]:
    with open_store(web.home / "podgrep.db") as store:
        transcript = store.transcript_for(episode_id)
        assert transcript is not None
        return [s.text for s in transcript.segments]


def test_fillers_rank_below_what_the_episode_is_about(client: TestClient, web: WebLibrary):
    """On conversation_a's real transcript, plain frequency (the old weighting) puts fillers
    among the top words; the key terms put the episode's subjects first and no filler."""
    old = [w for w, _ in top_words(_texts(web, web.conversation))]
    assert FILLERS & set(old), old  # what the old weighting showed: "people", "nice"…
    terms = client.get(f"/api/episodes/{web.conversation}/words", params={"n": 200}).json()
    ranked = [t["term"] for t in terms]
    assert all(set(t) == {"term", "count", "score"} for t in terms)
    assert [t["score"] for t in terms] == sorted((t["score"] for t in terms), reverse=True)
    assert not FILLERS & set(ranked[:24]), ranked[:24]
    content = [ranked.index(c) for c in CONTENT if c in ranked]
    assert content and min(content) < 5, ranked[:24]  # "chat gpt", "open assistant"…
    for filler in FILLERS & set(ranked):
        assert ranked.index(filler) > max(content), (filler, ranked)
    # a phrase said several times is one term; a word said mostly inside it gives way
    assert "open assistant" in ranked[:24]
    counts = {t["term"]: t["count"] for t in terms}
    assert counts["open assistant"] >= 3 and "assistant" not in ranked[:24]


def test_show_words_and_page(client: TestClient, web: WebLibrary):
    terms = client.get(f"/api/shows/{web.data_talk}/words").json()
    assert 0 < len(terms) <= 24 and "chat gpt" in [t["term"] for t in terms[:5]]
    overview = client.get(f"/api/shows/{web.data_talk}/overview").json()
    assert [w["word"] for w in overview["top_words"]] == [t["term"] for t in terms]
    html = client.get(f"/shows/{web.data_talk}").text
    assert f'href="/context?q=chat%20gpt&amp;show={web.data_talk}"' in html
    episode = client.get(f"/episodes/{web.conversation}").text
    assert f'href="/context?q=chat%20gpt&amp;episode={web.conversation}"' in episode
    assert client.get("/api/shows/999999/words").status_code == 404
    assert client.get("/api/episodes/999999/words").status_code == 404


def test_key_terms_against_the_rest_of_the_library():
    """A word the rest of a library (hours of it) says as often is no key term of one
    episode; a word only that episode says is, though both are rare in general English."""
    ours = count(["The quokka ate. The zeppelin flew.", "A quokka, a zeppelin."] * 100)
    other = count(["The zeppelin flew again.", "Zeppelin rides."] * 10000)
    library = Counts()
    library.add(ours)
    library.add(other)
    terms = [t.term for t in key_terms(ours, library)]
    assert "quokka ate" in terms and not {"zeppelin", "zeppelin flew"} & set(terms), terms
    alone = [t.term for t in key_terms(ours, ours)]
    assert "zeppelin flew" in alone  # alone, only English to weigh it against
    assert words_of("Don’t CAFÉ") == ["don't", "cafe"]


def _spans(text: str, phrase: str) -> int:
    return len(re.findall(rf"\b{phrase}s?\b", text, flags=re.IGNORECASE))


def test_context_cli_tree(web: WebLibrary):
    """`podgrep context` finds every time the phrase is said (stemmed: "sources" too), each at
    a second inside a segment that says it, grouped by the words that follow."""
    texts = _texts(web, web.conversation)
    said = _spans(re.sub(r"[^\w\s]", " ", " ".join(texts)), r"open\s+source")
    assert said >= 3
    code, out, err = invoke(["context", "open sources", "--show", "Data Talk", "--json"], web.home)
    assert code == 0, err
    tree = json.loads(out)
    assert tree["count"] == said and tree["episodes"] == 1 and tree["match"] == "open source"
    with open_store(web.home / "podgrep.db") as store:
        transcript = store.transcript_for(web.conversation)
        assert transcript is not None
        segments = transcript.segments

    def walk(node: dict, path: list[str]) -> list[tuple[list[str], dict]]:
        found = [(path, o) for o in node["occurrences"]]
        assert node["count"] == len(found) + sum(b["count"] for b in node["branches"]), path
        counts = [b["count"] for b in node["branches"]]
        assert counts == sorted(counts, reverse=True)
        for b in node["branches"]:
            found += walk(b, [*path, *b["words"].split()])
        return found

    found = walk(tree["tree"], [])
    assert len(found) == said
    for path, occ in found:
        assert occ["url"] == f"/episodes/{web.conversation}#t={occ['start']:.2f}"
        at = [s for s in segments if s.start - 0.05 <= occ["start"] <= s.end + 0.05]
        assert any("open" in s.text.lower() for s in at), (occ, at)
        # the branch is the words that follow, as the right context reads
        following = re.findall(r"\w+", occ["right"].lower())
        assert following[: len(path)] == path, (path, occ)
        assert occ["match"].lower().startswith("open")
    code, out, err = invoke(
        ["context", "open source", "--episode", str(web.conversation)], web.home
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"'open source': {said} times in 1 episode"
    assert any("[open source]" in line for line in lines) and any("→" in line for line in lines)


def test_context_cli_errors(web: WebLibrary):
    code, out, err = invoke(["context", " - "], web.home)
    assert code == 1 and "Give a word or phrase" in err and len(err.strip().splitlines()) == 1
    code, out, err = invoke(["context", "quokka", "--show", "No Such Show"], web.home)
    assert code == 1 and "No show is 'No Such Show'" in err
    code, out, err = invoke(["context", "xylophonist"], web.home)
    assert code == 1 and "is not said in the library" in err
    code, out, err = invoke(["context", "open", "--show", "Data Talk", "--episode", "1"], web.home)
    assert code == 1 and not out and "not both" in err and len(err.strip().splitlines()) == 1


def test_context_api_and_page_escape_transcript_text(client: TestClient, web: WebLibrary):
    got = client.get("/api/context", params={"q": "zanzibar quokka"}).json()
    assert got["count"] == 1
    [occ] = got["tree"]["occurrences"]
    assert occ["episode_id"] == web.hostile and "</script> <img src=x onerror=" in occ["left"]
    html = client.get("/context", params={"q": "zanzibar quokka", "show": str(web.evil)}).text
    assert "<img src=x" not in html and "</script> <img" not in html
    assert "&lt;/script&gt; &lt;img src=x onerror=" in html
    assert client.get("/api/context", params={"q": ""}).status_code == 400
    assert client.get("/api/context", params={"q": "a", "episode": "999999"}).status_code == 404
    page = client.get("/context", params={"q": "open source", "episode": str(web.conversation)})
    assert page.status_code == 200 and 'class="occurrence"' in page.text
    assert f'href="/episodes/{web.conversation}#t=' in page.text
    assert HOSTILE_SEGMENT not in page.text


def test_phrase_across_a_segment_boundary():
    """A phrase is found across the end of one segment and the start of the next; the tree
    stops at a sentence's end and joins one-branch chains."""
    from podgrep.domain import Episode, Segment
    from podgrep.word_tree import build_tree, occurrences, query_stems

    segments = [
        Segment(0, 4, "We built open"),
        Segment(4, 8, "assistants in Zurich. Then open assistant shipped fast."),
        Segment(8, 9, "Open assistant. Done."),
    ]
    found = list(occurrences(segments, query_stems("Open Assistant"), Episode(3, 1, "g", "t")))
    assert [o.start for o, _ in found][0] == pytest.approx(2.3, abs=1)
    assert [keys for _, keys in found] == [["in", "zurich"], ["shipped", "fast"], []]
    assert found[0][0].left == "We built " and found[0][0].right.startswith(" in Zurich.")
    tree = build_tree("open assistant", found)
    assert [b.words for b in tree.root.branches] == ["in zurich", "shipped fast"]
    assert len(tree.root.occurrences) == 1 and tree.count == 3


def test_word_caches_keep_only_the_latest_version(web: WebLibrary, monkeypatch):
    """A sync writes a window at a time, each a new `show_version`: page views meanwhile keep
    one copy of each show's and the library's counts, the latest, not one per version."""
    from podgrep.web import word_views

    real = word_views._versions
    bumps: list[int] = []

    def moving(store):  # the show gains a segment before every request
        bumps.append(bump := len(bumps) + 1)
        return tuple(
            (sid, (eps, seg + bump) if sid == web.data_talk else (eps, seg))
            for sid, (eps, seg) in real(store)
        )

    monkeypatch.setattr(word_views, "_versions", moving)
    app = create_app(load_settings(web.home))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        first = c.get(f"/api/shows/{web.data_talk}/words").json()
        for _ in range(6):
            assert c.get(f"/api/shows/{web.data_talk}/words").json() == first
            assert c.get(f"/api/episodes/{web.conversation}/words").status_code == 200
        kept = word_views.caches(app.state.web)
    for cache in (kept.show_counts, kept.library, kept.terms):
        keys = [k for k, _ in cache.versions()]
        assert keys and len(keys) == len(set(keys)), cache.versions()
    assert len(kept.library) == 1 and len(kept.terms) == 2
    with open_store(web.home / "podgrep.db") as store:
        latest = store.show_version(web.data_talk)[1] + bumps[-1]
    shows = dict(kept.show_counts.versions())
    assert len(bumps) == 13 and shows[(app.state.web.settings.store, web.data_talk)][1] == latest


def test_latest_cache_bounds_its_keys():
    from podgrep.web.word_views import LatestCache

    cache: LatestCache[int] = LatestCache(3)
    made: list[tuple[str, int]] = []

    def make(key: str, version: int) -> int:
        return cache.get(key, version, lambda: made.append((key, version)) or version)

    for version in range(5):
        for key in "ab":
            assert make(key, version) == version
    assert cache.versions() == [("a", 4), ("b", 4)] and len(made) == 10
    assert make("a", 4) == 4 and len(made) == 10  # kept
    for key in "cde":
        make(key, 0)
    assert [k for k, _ in cache.versions()] == ["c", "d", "e"]


def test_web_word_tree_reads_a_bounded_number_of_transcripts(web: WebLibrary):
    """Over the whole library a request stops after its transcript limit, `truncated`; the
    CLI's tree (no limit) reads them all."""
    from podgrep.word_tree import word_tree

    with open_store(web.home / "podgrep.db") as store:
        full = word_tree(store, "you")
        capped = word_tree(store, "you", max_transcripts=1)
        assert not full.truncated and full.episodes >= 2
        assert capped.truncated and capped.episodes == 1 and 0 < capped.count < full.count
        assert not word_tree(store, "you", max_transcripts=10_000).truncated
