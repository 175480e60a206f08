"""`podgrep remove`, `pause` and `resume`, on both stores, through the CLI, the store and the
web API: a removal leaves no row, full-text entry, vector or unshared media file behind, and
the library stays sound even while a sync is running on the show it removes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from podgrep.config import load_settings
from podgrep.domain import Chapter, Episode, Segment, Show, Speaker, Word
from podgrep.runtime import open_store
from podgrep.search import search
from podgrep.store import Store
from podgrep.store.sqlite import SqliteStore
from tests.conftest import Served, invoke

MODEL, DIM = "removal-test", 384
NOWHERE = "http://127.0.0.1:9"  # a closed port: nothing here is ever fetched


def _words(text: str, start: float) -> list[Word]:
    return [Word(start + i * 0.3, start + i * 0.3 + 0.25, w) for i, w in enumerate(text.split())]


def _media(home: Path, data: bytes) -> tuple[Path, str]:
    """A file in the media cache's layout (`<sha[:2]>/<sha>.mp3`)."""
    sha = hashlib.sha256(data).hexdigest()
    path = home / "media" / sha[:2] / f"{sha}.mp3"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, sha


def _episode(
    store: Store,
    sid: int,
    eid: int,
    said: str,
    media: tuple[Path, str] | None,
    seed: int,
    name: str = "Ann Host",
) -> tuple[int, np.ndarray]:
    """Everything a synced episode has: media, a transcript (searchable), a named speaker
    with a voice, chapters, links and passage vectors. Returns (transcript id, vectors)."""
    if media is not None:
        store.set_media(eid, media[1], str(media[0]))
    t = store.open_transcript(eid, "whisper", "tiny.en", "en", None)
    assert t.id is not None
    lines = [f"{said} one", f"{said} two", f"and {said} three"]
    store.add_window(t.id, 0, [Segment(i * 3.0, i * 3.0 + 3, x, _words(x, i * 3.0))
                               for i, x in enumerate(lines)])  # fmt: skip
    store.complete_transcript(t.id)
    rng = np.random.default_rng(seed)
    voice = rng.normal(size=256).astype(np.float32)
    store.save_diarization(
        eid, t.id, [(Speaker(eid, "S1", name=name, name_source="user"), voice)],
        [(s, 0, 0) for s in store.segments(t.id)],
    )  # fmt: skip
    store.refresh_voiceprints(sid)
    store.set_chapters(eid, [Chapter(0.0, "Intro", 3.0, source="notes")])
    store.set_links(eid, [SimpleNamespace(url=f"https://example.org/{eid}", title="x",
                                          origin="notes", start=None)])  # fmt: skip
    vectors = rng.normal(size=(3, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1)[:, None]
    store.write_passages(t.id, MODEL, [(0, 0, 0, 3), (1, 1, 3, 6), (2, 2, 6, 9)], vectors)
    for step in ("fetch", "transcribe", "speakers", "index"):
        store.finish_job(eid, step)
    return t.id, vectors


def _show(store: Store, n: int, title: str) -> tuple[int, list[int]]:
    sid, _ = store.add_show(Show(None, f"{NOWHERE}/{n}.xml", title))
    ids = store.add_episodes(
        sid, [Episode(None, sid, f"{n}-{k}", f"{title} {k}", published=1000.0 * k) for k in (1, 2)]
    )
    return sid, ids


def _counts(store: Store) -> dict[str, int]:
    rows = store.stats().rows
    return {k: v for k, v in rows.items() if k != "words"}  # the vocabulary may keep words


def _index_sound(store: Store) -> None:
    """SQLite: the file and its FTS5 index pass their checks; PostgreSQL: the term counts
    BM25 reads agree with the segments."""
    if isinstance(store, SqliteStore):
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        store.db.execute(
            "INSERT INTO segments_fts(segments_fts, rank) VALUES ('integrity-check', 1)"
        )
        return
    sql: Any = store  # the store's own primitives: what its triggers keep
    totals = sql._row("SELECT segments, words FROM segment_totals WHERE id = 1")
    real = sql._row("SELECT COUNT(*) AS n, COALESCE(SUM(search_len), 0) AS w FROM segments")
    assert totals is not None and real is not None
    assert (int(totals["segments"]), int(totals["words"])) == (int(real["n"]), int(real["w"]))


def _library(home: Path, store_url: str) -> tuple[Store, dict[str, Any]]:
    """Two shows; one episode of each uses the same enclosure bytes (one cached file)."""
    store = open_store(store_url)
    keep_sid, keep_ids = _show(store, 1, "Keeper")
    shared = _media(home, b"the same enclosure bytes")
    _episode(store, keep_sid, keep_ids[0], "pelican", shared, 1)
    _episode(store, keep_sid, keep_ids[1], "pelican", _media(home, b"keeper's own"), 2)
    before = _counts(store)
    sid, ids = _show(store, 2, "Goner")
    own = _media(home, b"only the goner uses these bytes")
    tid, vectors = _episode(store, sid, ids[0], "aardvark", own, 3)
    _episode(store, sid, ids[1], "aardvark", shared, 4)
    return store, {
        "before": before, "sid": sid, "ids": ids, "tid": tid, "vectors": vectors,
        "own": own[0], "shared": shared[0], "keep_ids": keep_ids,
    }  # fmt: skip


def test_remove_show_leaves_no_row_entry_vector_or_unshared_media(
    store_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    store, lib = _library(home, store_url)
    passages = {pid for pid, _ in store.nearest(lib["vectors"][0], 50, None, MODEL, DIM)}
    assert len(passages) == 12 and search(store, "aardvark")  # the vector index is warm
    code, _, err = invoke(["remove", "Goner", "--yes"], home, PODGREP_STORE_URL=store_url)
    assert code == 0, err
    assert "2 episode(s), 2 transcript(s), 1 media file(s)" in err
    assert _counts(store) == lib["before"]  # not one row of the show is left in any table
    assert store.show_by_url(f"{NOWHERE}/2.xml") is None
    # a feed check that read the feed before the removal stores nothing after it
    assert store.add_episodes(lib["sid"], [Episode(None, lib["sid"], "late", "Late")]) == []
    assert search(store, "aardvark") == [] and len(search(store, "pelican")) == 6
    assert store.term_counts(["aardvark"]) == {"aardvark": 0}
    near = {pid for pid, _ in store.nearest(lib["vectors"][0], 50, None, MODEL, DIM)}
    assert len(near) == 6 and near < passages  # the keeper's six, none of the goner's
    assert store.passage_hits(sorted(passages - near)) == {}
    assert not lib["own"].exists() and lib["shared"].exists()  # the shared bytes stay
    assert not lib["own"].parent.exists()  # its cache folder went with its last file
    _index_sound(store)
    store.close()


def test_remove_one_episode_keeps_its_siblings(store_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    store, lib = _library(home, store_url)
    first, second = lib["ids"]
    code, _, err = invoke(["remove", "--episode", str(first), "--yes"], home,
                          PODGREP_STORE_URL=store_url)  # fmt: skip
    assert code == 0, err
    assert "1 episode(s), 1 transcript(s), 1 media file(s)" in err
    assert [e.id for e in store.list_episodes(lib["sid"])] == [second]
    assert not store.jobs(first) and not store.chapter_rows(first) and not store.link_rows(first)
    assert {h.episode_id for h in search(store, "aardvark")} == {second}
    assert store.voiceprints(lib["sid"])  # the show and its other episode's voice stay
    near = store.nearest(lib["vectors"][0], 50, None, MODEL, DIM)
    assert len(near) == 9
    assert not lib["own"].exists() and lib["shared"].exists()
    _index_sound(store)
    store.close()


def test_vectors_written_after_a_removal_are_the_new_ones(tmp_path: Path) -> None:
    """SQLite's in-memory index is keyed on the passages' count and largest id; a removal of
    the newest passages lets the next ones take the same ids again, which it must notice."""
    store, lib = _library(tmp_path / "home", f"sqlite://{tmp_path / 'lib.db'}")
    assert store.nearest(lib["vectors"][0], 1, None, MODEL, DIM)  # index loaded
    top = max(pid for pid, _ in store.nearest(lib["vectors"][0], 50, None, MODEL, DIM))
    store.remove_episode(lib["ids"][1])  # the newest passages, ids top-2..top
    sid, (eid, _) = _show(store, 3, "Newcomer")
    _, fresh = _episode(store, sid, eid, "wombat", None, 9)
    assert max(store.passage_hits([top])) == top  # the same ids again, other passages
    [(pid, score)] = store.nearest(fresh[2], 1, None, MODEL, DIM)
    assert score > 0.99 and store.passage_hits([pid])[pid].episode_id == eid
    store.close()


def test_remove_refuses_what_it_cannot_do_and_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store, lib = _library(home, f"sqlite://{home / 'podgrep.db'}")
    store.add_show(Show(None, f"{NOWHERE}/twin.xml", "Goner"))  # a second show of that title
    before = _counts(store)

    def refused(args: list[str], words: str) -> None:
        code, out, err = invoke(args, home)
        assert code == 1, (out, err)
        line = " ".join(err.split())
        assert words in line, line
        assert _counts(store) == before and lib["own"].exists()

    refused(["remove", "No Such Show", "--yes"], "No show is 'No Such Show'")
    refused(["remove", "gone", "--yes"], "did you mean")  # a part of a title is not enough
    refused(["remove", "Goner", "--yes"], "is the title of 2 shows")
    refused(["remove", "--episode", "987654", "--yes"], "No episode with id 987654")
    refused(["remove", "Keeper", "--episode", "1"], "Name one thing to remove")
    refused(["remove", str(lib["sid"])], "stdin is not a terminal, add --yes")
    refused(["pause", "Nobody"], "No show is 'Nobody'")
    # the show's id and its feed URL name it too
    code, _, err = invoke(["remove", f"{NOWHERE}/2.xml", "--yes"], home)
    assert code == 0 and "Goner" in err
    store.close()


def test_remove_while_a_sync_transcribes_the_show(
    store_url: str, served: Served, tmp_path: Path
) -> None:
    """The show goes while its episode is being transcribed: the step's next writes find no
    transcript, it ends saying so, and the library passes its store's checks. On PostgreSQL
    the removal runs on a thread of its own while the step goes on writing (its windows, its
    speakers, its passages), so the two contend for the same rows: no deadlock, no error."""
    import threading

    from podgrep.jobs.local import SilentReporter
    from podgrep.jobs.sync import run_sync

    home = tmp_path / "home"
    url = served.write_feed("removed.xml", "Removed Mid-Sync",
                            [("Ask Not", "rm-jfk", "jfk.flac", "audio/flac")])  # fmt: skip
    code, _, err = invoke(["add", url], home, PODGREP_STORE_URL=store_url)
    assert code == 0, err
    settings = load_settings(home, window_seconds=4.0, store_url=store_url)
    concurrent = not store_url.startswith("sqlite")
    removed: list[str] = []
    failed: list[BaseException] = []
    told: list[str | None] = []
    threads: list[threading.Thread] = []

    def remove_it() -> None:
        other = open_store(settings.store)  # as another process would
        try:
            show = other.show_by_url(url)
            assert show is not None and show.id is not None
            removed.extend(other.remove_show(show.id) or ["(no media yet)"])
        except BaseException as exc:  # noqa: BLE001 - told to the test below
            failed.append(exc)
        finally:
            other.close()

    class RemoveMidway(SilentReporter):
        step = ""

        def start(self, ep: Episode, step: str) -> None:
            self.step = step

        def advance(self, done: float, total: float | None) -> None:
            if self.step == "transcribe" and done > 0 and not threads:
                threads.append(threading.Thread(target=remove_it))
                threads[0].start()
                if not concurrent:
                    threads[0].join()

        def finish(self, ep: Episode, step: str, error: str | None) -> None:
            told.append(error)

    with open_store(settings.store) as store:
        summary = run_sync(settings, store, RemoveMidway(), refresh=False)
        threads[0].join(timeout=60)
        assert not failed, failed
        assert removed and not summary.failures, told
        if not concurrent:
            assert any(e and "was removed" in e for e in told), told
        assert store.list_shows() == [] and _counts(store) == dict.fromkeys(_counts(store), 0)
        _index_sound(store)


def test_an_opus_copy_and_the_original_of_the_same_bytes_go_each_with_its_show(
    store_url: str, tmp_path: Path
) -> None:
    """Retention let show X keep an Opus copy while show Y keeps the original of the same
    bytes: two files. Removing Y deletes the original (X does not point at it), removing X
    then deletes the copy."""
    from podgrep import shows

    home = tmp_path / "home"
    settings = load_settings(home, store_url=store_url)
    with open_store(store_url) as store:
        x, (x1, _) = _show(store, 1, "Opus Keeper")
        y, (y1, _) = _show(store, 2, "Original Keeper")
        original, sha = _media(home, b"the enclosure both shows fetched")
        copy = home / "media" / "ab" / f"{'ab' * 32}.opus"
        copy.parent.mkdir(parents=True)
        copy.write_bytes(b"its opus copy")
        store.set_media(x1, sha, str(original))
        store.set_media(y1, sha, str(original))
        store.set_media_kept(x1, "opus", str(copy))  # what retention does for X
        assert store.removal_preview(show_id=y).media == [str(original)]
        gone = shows.remove(store, settings, show=str(y))
        assert gone.files == 1 and not original.exists() and copy.exists()
        assert store.removal_preview(show_id=x).media == [str(copy)]
        gone = shows.remove(store, settings, show=str(x))
        assert gone.files == 1 and not copy.exists()


def test_removing_an_episode_takes_the_voiceprint_only_it_taught(
    store_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    with open_store(store_url) as store:
        sid, (first, second) = _show(store, 1, "Voices")
        _episode(store, sid, first, "heron", None, 1, name="Guest Once")
        _episode(store, sid, second, "heron", None, 2, name="Ann Host")
        assert set(store.voiceprints(sid)) == {"Guest Once", "Ann Host"}
        code, _, err = invoke(["remove", "--episode", str(first), "--yes"], home,
                              PODGREP_STORE_URL=store_url)  # fmt: skip
        assert code == 0, err
        assert set(store.voiceprints(sid)) == {"Ann Host"}  # the guest's voice went with it


# -- pause and resume ------------------------------------------------------------------------


def test_a_paused_show_is_neither_checked_nor_claimed(store_url: str, served: Served) -> None:
    from podgrep.library import http_client, refresh_all

    store = open_store(store_url)
    paused_sid, (p1, _) = _show(store, 1, "Resting")
    other_sid, (o1, _) = _show(store, 2, "Busy")
    local = served.write_feed("paused.xml", "Paused Feed", [("Ask Not", "p-jfk", "jfk.flac",
                                                              "audio/flac")])  # fmt: skip
    feed_sid, _ = store.add_show(Show(None, local, "Paused Feed"))
    store.set_paused(paused_sid, True)
    store.set_paused(feed_sid, True)
    assert store.get_show(paused_sid).paused and not store.get_show(other_sid).paused
    # its jobs are passed by, whoever claims: only the other show's two episodes are taken
    others = {e.id for e in store.list_episodes(other_sid)}
    taken = [store.claim_job("w", 3, 60) for _ in range(3)]
    assert {c.episode_id for c in taken if c} == others and taken[2] is None
    assert o1 in others
    assert store.claim_job("w", 3, 60, episode_id=p1) is None
    assert {eid for eid, _ in store.pending_work(3)} == others
    nxt = store.next_job(3)
    assert nxt is not None and nxt.episode_id in others
    # its feed is not checked
    with http_client(5, load_settings(None)) as client:
        checked = {r.show.id for r in refresh_all(store, client)}
    assert feed_sid not in checked and store.get_show(feed_sid).last_checked is None
    [paused_counts] = [c for c in store.status_counts() if c.id == paused_sid]
    assert paused_counts.paused
    store.set_paused(paused_sid, False)
    claim = store.claim_job("w", 3, 60)
    assert claim is not None and claim.episode_id in {e.id for e in store.list_episodes(paused_sid)}
    store.close()


def test_pause_and_resume_from_the_cli_and_status(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store, lib = _library(home, f"sqlite://{home / 'podgrep.db'}")
    code, _, err = invoke(["pause", "Goner"], home)
    assert code == 0 and "Paused show" in err, err
    code, out, _ = invoke(["status", "--json"], home)
    shows = {s["title"]: s for s in json.loads(out)["shows"]}
    assert shows["Goner"]["paused"] is True and shows["Keeper"]["paused"] is False
    code, out, _ = invoke(["status"], home)
    assert "(paused)" in out
    code, _, err = invoke(["resume", str(lib["sid"])], home)
    assert code == 0 and "Resumed show" in err, err
    assert not store.get_show(lib["sid"]).paused
    store.close()


# -- the web API and pages -------------------------------------------------------------------


def test_api_delete_and_pause_need_the_token(tmp_path: Path) -> None:
    from podgrep.web import create_app
    from tests.test_web_api import assert_inert

    home = tmp_path / "home"
    store, lib = _library(home, f"sqlite://{home / 'podgrep.db'}")
    sid, (first, _) = lib["sid"], lib["ids"]
    app = create_app(load_settings(home), token="s3cret-token")
    ok = {"Authorization": "Bearer s3cret-token"}
    with TestClient(app, base_url="http://127.0.0.1") as c:
        for method, path in (("delete", f"/api/shows/{sid}"), ("delete", f"/api/episodes/{first}"),
                             ("post", f"/api/shows/{sid}/pause"),
                             ("post", f"/api/shows/{sid}/resume")):  # fmt: skip
            r = c.request(method.upper(), path)
            assert r.status_code == 401, path
            r = c.request(method.upper(), path, headers={"Origin": "http://evil.example", **ok})
            assert r.status_code == 403, path
        assert c.get(f"/api/shows/{sid}").json()["paused"] is False
        for path in ("/api/shows/987654", "/api/episodes/987654"):
            r = c.delete(path, headers=ok)
            assert r.status_code == 404 and "No " in r.json()["detail"], path
        assert c.post("/api/shows/987654/pause", headers=ok).status_code == 404
        r = c.post(f"/api/shows/{sid}/pause", headers=ok)
        assert r.status_code == 200 and r.json()["paused"] is True
        assert c.get(f"/api/shows/{sid}").json()["paused"] is True
        page = c.get(f"/shows/{sid}").text
        assert_inert(page)
        assert 'id="remove-show-button"' in page and ">Resume</button>" in page
        assert "Paused:" in page
        r = c.post(f"/api/shows/{sid}/resume", headers=ok)
        assert r.json()["paused"] is False
        episode_page = c.get(f"/episodes/{first}").text
        assert_inert(episode_page)
        assert 'id="remove-episode-button"' in episode_page
        r = c.delete(f"/api/episodes/{first}", headers=ok)
        assert r.status_code == 200, r.text
        assert r.json()["episodes"] == 1 and r.json()["media_files"] == 1
        assert c.get(f"/api/episodes/{first}").status_code == 404
        r = c.delete(f"/api/shows/{sid}", headers=ok)
        assert r.status_code == 200 and r.json()["episodes"] == 1
        assert r.json()["media_files"] == 0  # its other episode's bytes are the keeper's too
        assert c.get(f"/api/shows/{sid}").status_code == 404
        assert c.get(f"/shows/{sid}").status_code == 404
    assert _counts(store) == lib["before"] and lib["shared"].exists()
    store.close()


def test_remove_asks_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal `remove` says what will go and asks; only a yes removes anything."""
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    store, lib = _library(home, f"sqlite://{home / 'podgrep.db'}")
    store.close()

    def answer(reply: str) -> tuple[int, str]:
        master, slave = os.openpty()
        os.write(master, reply.encode() + b"\n")
        done = subprocess.run(
            [sys.executable, "-m", "podgrep", "remove", "Goner", "--home", str(home)],
            stdin=slave, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        os.close(master)
        os.close(slave)
        return done.returncode, " ".join(done.stderr.split())

    code, err = answer("n")
    assert code == 1 and "Nothing removed" in err, err
    assert "Remove show 2 'Goner': 2 episodes, 2 transcripts, 1 media file (0.0 MB)?" in err
    assert lib["own"].exists()
    code, err = answer("y")
    assert code == 0 and "Removed show 2 'Goner'" in err, err
    assert not lib["own"].exists() and lib["shared"].exists()


def test_a_paused_shows_feed_health_is_not_fetched(tmp_path: Path) -> None:
    from dataclasses import replace

    from podgrep.web.health import PAUSED_NOTE, HealthChecker

    show = Show(7, f"{NOWHERE}/paused.xml", "Resting", kind="feed")
    checker = HealthChecker(load_settings(tmp_path))
    try:
        health = checker.health(replace(show, paused=True), [])
        assert health is not None and health.note == PAUSED_NOTE
        assert not checker._pending and checker._thread is None  # nothing queued to fetch
        checker.health(show, [])  # not paused: queued for the background check
        assert checker._thread is not None
    finally:
        checker.close()
