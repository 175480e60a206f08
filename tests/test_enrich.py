"""Chapters (feed, notes, generated), chapters JSON export, links, and search by meaning, on a
library whose episode holds a real imported transcript."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from podgrep.domain import Chapter, Segment
from podgrep.enrich.chapters import parse_chapters_json
from podgrep.enrich.links import links_from_notes, normalise, spoken_links
from podgrep.enrich.topics import (
    MIN_CHAPTER,
    STOP,
    boundary_f1,
    depth_scores,
    generate_chapters,
    key_phrases,
    pick_boundaries,
    similarity_curve,
)
from podgrep.formats.chapters_json import write_chapters_json
from podgrep.semantic.embed import shared_embedder
from podgrep.semantic.hybrid import keyword_leg
from podgrep.semantic.index import RESCORE, VectorIndex, quantize
from podgrep.semantic.passages import build_passages
from podgrep.transcripts.importer import read_transcript
from tests.conftest import DATA, add_unfetched_episode, invoke

SDS = DATA / "transcripts" / "sds-733-edited-transcript.txt"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library with one local episode whose transcript is the edited SDS 733 transcript."""
    home = tmp_path_factory.mktemp("imported")
    assert add_unfetched_episode(home) == 1
    code, out, err = invoke(["import", "1", str(SDS)], home)
    assert code == 0, err
    assert "Imported 158 segments" in out and "Jon Krohn, Yannic Kilcher" in out
    return home


def test_chapters_json_follows_the_spec() -> None:
    chapters = [
        Chapter(61.5, "Second", url="https://example.com/a", img="https://example.com/i.png"),
        Chapter(0, "Intro", end=61.5),
        Chapter(120, "Hidden", toc=False),
    ]
    doc = json.loads(write_chapters_json(chapters, title="Ep", podcast="Show", author="Me"))
    assert doc["version"] == "1.2.0"
    assert (doc["title"], doc["podcastName"], doc["author"]) == ("Ep", "Show", "Me")
    assert [c["startTime"] for c in doc["chapters"]] == [0, 61.5, 120]
    assert doc["chapters"][0] == {"startTime": 0, "title": "Intro", "endTime": 61.5}
    assert doc["chapters"][1]["url"] == "https://example.com/a"
    assert doc["chapters"][1]["img"] == "https://example.com/i.png"
    assert doc["chapters"][2]["toc"] is False
    back = parse_chapters_json(json.dumps(doc), hidden=True)
    assert [(c.start, c.title, c.toc) for c in back] == [
        (0, "Intro", True),
        (61.5, "Second", True),
        (120, "Hidden", False),
    ]
    assert len(parse_chapters_json(json.dumps(doc))) == 2


def test_boundary_f1() -> None:
    assert boundary_f1([0, 100, 400], [0, 110, 300, 400]) == pytest.approx(0.8)
    assert boundary_f1([100, 105], [100]) == pytest.approx(2 / 3)  # one-to-one matching
    assert boundary_f1([200], [100]) == 0.0


def test_links_from_notes_and_speech() -> None:
    notes = (
        '<p>Guests: <a href="https://twitter.com/swyx?utm_source=x#top">swyx on Twitter</a></p>'
        "<ul><li>Reza on LinkedIn: https://www.linkedin.com/in/reza.</li>"
        '<li><a href="javascript:alert(1)">bad</a></li></ul>'
    )
    found = {lk.url: lk.title for lk in links_from_notes(notes)}
    assert found == {
        "https://twitter.com/swyx": "swyx on Twitter",
        "https://www.linkedin.com/in/reza": "Reza on LinkedIn",
    }
    assert normalise("ftp://x.org/a") is None
    [ep] = read_transcript(SDS.read_bytes(), SDS.name)
    spoken = {lk.url: lk.start for lk in spoken_links(ep.segments)}
    assert spoken["https://superdatascience.com/733"] == 97 * 60 + 25
    assert "https://jonkrohn.com/podcast" in spoken
    assert not any("node.js" in u for u in spoken)


def test_passages_overlap_and_cover_every_segment() -> None:
    [ep] = read_transcript(SDS.read_bytes(), SDS.name)
    passages = build_passages(ep.segments)
    covered = set()
    for p in passages:
        covered.update(range(p.first_idx, p.last_idx + 1))
    assert covered == {s.idx for s in ep.segments if "hallucination" not in s.flags}
    assert all(a.first_idx < b.first_idx for a, b in zip(passages, passages[1:], strict=False))


def test_vector_index_prefilter_finds_the_nearest() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((RESCORE * 3, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows, scales = quantize(vectors)
    ids = np.arange(10, 10 + len(vectors), dtype=np.int64)
    episodes = (ids % 5).astype(np.int64)
    index = VectorIndex.build(ids, rows, scales, episodes)
    query = vectors[1234] + 0.1 * vectors[77]
    query /= np.linalg.norm(query)
    exact = np.argsort(-(vectors @ query))[:5] + 10
    assert [pid for pid, _ in index.search(query, 5)] == list(exact)
    only = index.search(query, 3, episodes={int(episodes[77])})
    assert all(pid % 5 == episodes[77] for pid, _ in only)


def test_embedder_puts_paraphrases_together() -> None:
    e = shared_embedder()
    q, a, b = e.embed(
        [
            "Which city does the guest live in?",
            "In Zurich. Thanks for having me.",
            "Adversarial examples are features of the data set.",
        ]
    )
    assert abs(float(np.linalg.norm(q)) - 1) < 1e-4
    assert q @ a > q @ b


def test_keyword_leg_keeps_operators_and_drops_stopwords() -> None:
    assert keyword_leg('"open source" -meta') == '"open source" -meta'
    assert keyword_leg("what did they say about the weather in Zurich") == "weather OR zurich"


def test_import_generates_chapters_and_exports_chapters_json(imported: Path) -> None:
    code, out, err = invoke(["export", "1", "--format", "chapters-json"], imported)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["version"] == "1.2.0"
    starts = [c["startTime"] for c in doc["chapters"]]
    assert starts == sorted(starts) and starts[0] == 0 and len(starts) >= 8
    assert all(isinstance(c["title"], str) and c["title"] for c in doc["chapters"])
    assert all(c["endTime"] > c["startTime"] for c in doc["chapters"])


def test_links_command(imported: Path) -> None:
    code, out, _ = invoke(["links", "--episode", "1", "--json"], imported)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert any(r["url"] == "https://superdatascience.com/733" for r in rows)


def test_search_modes_on_an_imported_transcript(imported: Path) -> None:
    code, out, _ = invoke(["search", "--mode", "keyword", "Zurich", "--json"], imported)
    assert code == 0
    assert any(json.loads(line)["start"] == 134 for line in out.splitlines())
    # a paraphrase sharing no word with the answer: keyword search finds nothing at all
    question = "how does he keep up with all the new research papers"
    code, _, _ = invoke(["search", "--mode", "keyword", question], imported)
    assert code == 1
    for mode in ("semantic", "hybrid"):
        code, out, err = invoke(["search", "--mode", mode, question, "-n", "5", "--json"], imported)
        assert code == 0, err
        starts = [json.loads(line)["start"] for line in out.splitlines()]
        # Yannic's answer about scanning every new Arxiv paper starts at 00:51:45
        assert any(abs(s - (51 * 60 + 45)) < 60 for s in starts), (mode, starts)
    code, out, _ = invoke(["search", question, "-n", "5", "--json"], imported)  # hybrid default
    assert code == 0 and out


def test_import_picks_the_episode_of_a_directory_page(tmp_path: Path) -> None:
    page = DATA / "transcripts" / "latent-space-directory-page-2024.txt"
    assert add_unfetched_episode(tmp_path, "an episode") == 1
    code, _, err = invoke(["import", "1", str(page)], tmp_path)
    assert code == 1 and "--part N" in err and "Efficiency is Coming" in err
    code, out, err = invoke(["import", "1", str(page), "--part", "1"], tmp_path)
    assert code == 0, err
    assert "(transcript)" in out  # the headings inside the transcript became its chapters
    code, out, _ = invoke(["export", "1", "--format", "chapters-json"], tmp_path)
    titles = [c["title"] for c in json.loads(out)["chapters"]]
    assert "Nyla's path from Astrophysics to LLMs" in titles


def _slice(page: str, part: int, start: float, end: float, offset: float) -> list[Segment]:
    """The segments of one episode of a directory page between `start` and `end`, moved to
    begin at `offset`."""
    eps = [e for e in read_transcript((DATA / "transcripts" / page).read_bytes(), page)]
    eps = [e for e in eps if e.segments and len(e.notes_chapters) >= 2]
    return [
        Segment(s.start - start + offset, s.end - start + offset, s.text, speaker=s.speaker)
        for s in eps[part].segments
        if start <= s.start < end
    ]


def test_generated_chapters_find_the_joins_of_three_topics() -> None:
    """Three publisher chapters of three different episodes, played one after the other: the
    generated chapters start near both joins, and each topic's chapters are titled by its own
    key words."""
    quant = _slice("latent-space-directory-page-2023.txt", 0, 109, 683, 0)  # quant finance
    bots = _slice("latent-space-directory-page-2024.txt", 5, 24, 563, 574)  # NSFW chatbots
    robo = _slice("latent-space-directory-page-2023.txt", 2, 352, 972, 1113)  # Roboflow
    segments = quant + bots + robo
    chapters = generate_chapters(segments, shared_embedder())
    starts = [c.start for c in chapters]
    assert starts[0] == 0 and starts == sorted(starts)
    assert all(c.end is not None and c.end > c.start for c in chapters)
    for join in (574, 1113):
        assert min(abs(s - join) for s in starts) <= 30, (join, starts)
    assert min(b - a for a, b in zip(starts, starts[1:], strict=False)) >= MIN_CHAPTER

    def titles(a: float, z: float) -> str:
        return " / ".join(c.title for c in chapters if a <= c.start < z).lower()

    assert any(w in titles(0, 574) for w in ("quant", "finance", "data")), titles(0, 574)
    assert any(w in titles(574, 1113) for w in ("nsfw", "chatbot", "creator", "fan")), titles(
        574, 1113
    )
    assert any(w in titles(1113, 2000) for w in ("roboflow", "vision", "hackathon")), titles(
        1113, 2000
    )
    for c in chapters:
        assert 0 < len(c.title) <= 60 and c.title[0].isupper(), c.title
        assert not set(c.title.lower().split()) <= STOP, c.title


def test_boundaries_fall_in_the_deepest_valleys() -> None:
    """Two blocks of unrelated unit vectors: the similarity curve dips at the join, the depth
    score peaks there, and no boundary is put closer than MIN_CHAPTER to it or the ends."""
    rng = np.random.default_rng(3)
    topics = rng.standard_normal((2, 384))
    noise = 0.3 * rng.standard_normal((120, 384))
    vectors = np.repeat(topics, 60, axis=0) + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    times = np.arange(120) * 10.0  # a sentence every 10 s, the topic changes at 600 s
    first = np.arange(1, 120)
    sims = similarity_curve(vectors, np.ones(120), times, first, times[first])
    assert times[first][int(np.argmin(sims))] == 600
    depth = depth_scores(sims)
    assert times[first][int(np.argmax(depth))] == 600
    picked = pick_boundaries(depth, times[first], duration=1200)
    assert 600 in times[first][picked]
    gaps = np.diff([0, *times[first][picked], 1200])
    assert gaps.min() >= MIN_CHAPTER / 2


def test_titles_are_key_phrases_not_filler() -> None:
    texts = [
        "Yeah so, um, the context window is what matters. We extended the context window of "
        "Llama 3 to a million tokens. Yeah, like, the context window, right?",
        "So yeah. We hire AI engineers by giving them a take-home project. The take-home project "
        "shows how they code. I mean, a take-home project is kind of fair.",
        "Yeah, yeah. Okay so. Right.",
    ]
    long_text, hiring, filler = key_phrases(texts)
    assert "Context Window" in long_text and "Yeah" not in long_text
    assert "Take-Home Project" in hiring
    assert filler == ""  # nothing but filler: no title (the caller numbers the part)
    assert all(len(t) <= 60 for t in (long_text, hiring))
