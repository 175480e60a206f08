"""Media retention (`keep_media`): the Opus copy of real audio, a real sync that ends with the
copy in place of the original, `none` handing the player the enclosure, shared originals,
corrupt media kept, the copy played and seeked in a real browser."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import av
import httpx
import pytest

from podgrep import audio, retention
from podgrep.config import load_settings
from podgrep.domain import Episode, Show
from podgrep.errors import PodgrepError
from podgrep.fetch import MediaCache, sha256_file
from podgrep.runtime import open_store
from podgrep.store import STEPS
from tests.conftest import DATA, Served, invoke
from tests.support.browser import CHROMIUM, NO_CHROMIUM
from tests.support.web import ServeProcess

JFK = DATA / "jfk.flac"


def _opus_facts(path: Path) -> tuple[str, int, int, float]:
    """(codec, input sample rate from the OpusHead, channels, duration) as av reads them."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        head = bytes(stream.codec_context.extradata or b"")
        assert head[:8] == b"OpusHead"
        rate = struct.unpack("<I", head[12:16])[0]
        duration = float(container.duration or 0) / av.time_base
        return stream.codec_context.name, rate, stream.codec_context.channels, duration


def test_opus_copy_of_real_audio(tmp_path: Path):
    cache = tmp_path / "media"
    copy = retention.opus_copy(cache, JFK)
    assert copy.parent.parent == cache and copy.name == f"{sha256_file(copy)}.opus"
    codec, rate, channels, duration = _opus_facts(copy)
    want = audio.probe(JFK).duration
    assert codec == "opus" and rate == 16000 and channels == 1
    assert want and abs(duration - want) < 0.1
    kbps = copy.stat().st_size * 8 / duration / 1000
    assert 12 < kbps < 20, kbps  # about 16 kbps (Ogg pages included)
    decoded = audio.decode(copy)  # decodable back to what whisper reads
    assert abs(len(decoded) / audio.SAMPLE_RATE - want) < 0.1
    assert float(abs(decoded).max()) > 0.1  # speech, not silence
    assert not list((cache / "partial").iterdir())  # no temporary file left


# -- the store side, both stores (no model needed) --------------------------------------------


def _episode_with_media(store, cache: Path, show_id: int, guid: str, data: bytes, ext: str) -> int:
    """An episode whose media lies in the cache as fetch.py files it, every step done."""
    [eid] = store.add_episodes(
        show_id, [Episode(None, show_id, guid, guid, media_url=f"http://127.0.0.1:9/{guid}{ext}")]
    )
    tmp = cache / "in" / f"{guid}{ext}"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_bytes(data)
    result = MediaCache(cache).ingest(tmp)
    store.set_media(eid, result.sha256, str(result.path))
    store.set_duration(eid, 11.0)
    for step in STEPS:
        store.start_job(eid, step)
        store.finish_job(eid, step)
    return eid


def test_shared_original_kept_and_corrupt_media_kept(store_url: str, tmp_path: Path):
    settings = load_settings(tmp_path, media_path=str(tmp_path / "media"))
    cache = settings.media_dir
    jfk = JFK.read_bytes()
    notes: list[str] = []
    with open_store(store_url) as store:
        opus_show, _ = store.add_show(Show(None, "http://127.0.0.1:9/a.xml", "A", kind="feed"))
        kept_show, _ = store.add_show(Show(None, "http://127.0.0.1:9/b.xml", "B", kind="feed"))
        a = _episode_with_media(store, cache, opus_show, "a", jfk, ".flac")
        b = _episode_with_media(store, cache, kept_show, "b", jfk, ".flac")  # the same bytes
        bad = _episode_with_media(store, cache, opus_show, "bad", bytes(range(256)) * 400, ".mp3")
        original = Path(str(store.get_episode(a).media_path))
        assert store.get_episode(b).media_path == str(original)  # deduplicated by fetch.py
        bad_path = Path(str(store.get_episode(bad).media_path))
        store.set_keep_media(opus_show, "opus")

        done = retention.apply_all(store, settings, notify=notes.append)
        ep_a, ep_b, ep_bad = (store.get_episode(i) for i in (a, b, bad))
        assert ep_a.media_kept == "opus" and str(ep_a.media_path).endswith(".opus")
        assert Path(str(ep_a.media_path)).is_file()
        assert ep_a.media_sha256 == ep_b.media_sha256  # still names the original's bytes
        assert original.is_file() and ep_b.media_path == str(original)  # B still needs it
        assert ep_b.media_kept == "original"
        # the corrupt file: kept as it was, one note, nothing left half-written, and the
        # failure recorded so that the next sync does not encode it again
        assert ep_bad.media_kept == retention.COPY_FAILED and ep_bad.media_path == str(bad_path)
        assert bad_path.read_bytes() == bytes(range(256)) * 400
        assert len(notes) == 1 and f"episode {bad}: kept its original media" in notes[0]
        assert f"`podgrep keep-media {opus_show} opus` tries again" in notes[0]
        assert not list((cache / "partial").iterdir())
        assert {d.episode_id for d in done if not d.note} == {a}
        assert retention.apply_all(store, settings, notify=notes.append) == []  # next sync
        assert len(notes) == 1
        # asking for opus again (keep-media) tries again: the same note, nothing lost
        _, again = retention.set_show_keep(store, settings, "A", "opus", notify=notes.append)
        assert [x.episode_id for x in again] == [bad] and again[0].note and len(notes) == 2
        assert store.get_episode(bad).media_kept == retention.COPY_FAILED
        assert bad_path.read_bytes() == bytes(range(256)) * 400

        # B's show turns to opus too: the same copy, and now nobody needs the original
        show, applied = retention.set_show_keep(store, settings, str(kept_show), "opus")
        assert show.keep_media == "opus" and [x.episode_id for x in applied] == [b]
        assert store.get_episode(b).media_path == store.get_episode(a).media_path
        assert not original.exists()
        use = retention.media_use(store, cache)
        copy_size = Path(str(store.get_episode(a).media_path)).stat().st_size
        assert use.total == copy_size + bad_path.stat().st_size  # the shared copy counted once
        assert use.by_show[kept_show] == copy_size

        # none for A: its copy stays while B points at it; then B too, and it is gone
        retention.set_show_keep(store, settings, "A", "none")
        assert store.get_episode(a).media_kept == "none" and store.get_episode(a).media_path is None
        copy = Path(str(store.get_episode(b).media_path))
        assert copy.is_file()
        retention.set_show_keep(store, settings, "http://127.0.0.1:9/b.xml", "none")
        assert not copy.exists() and store.get_episode(b).media_kept == "none"
        assert not bad_path.exists()  # dropping needs no conversion: corrupt or not
        # a looser choice later changes nothing already dropped
        _, applied = retention.set_show_keep(store, settings, "B", "original")
        assert applied == [] and store.get_episode(b).media_kept == "none"


# -- a real sync, the CLI, the web app and a browser ------------------------------------------


@pytest.fixture(scope="module")
def kept(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library whose show keeps Opus, synced through the real pipeline (jfk.flac, 11 s)."""
    home = tmp_path_factory.mktemp("retention")
    feed = served.write_feed("retained.xml", "Retained", [("Ask Not", "ret-jfk", "jfk.flac",
                                                           "audio/flac")])  # fmt: skip
    code, _, err = invoke(["add", feed, "--keep-media", "opus"], home)
    assert code == 0, err
    code, _, err = invoke(["sync"], home)
    assert code == 0, err
    return home


def _only_episode(home: Path) -> Episode:
    with open_store(load_settings(home).db_path) as store:
        [ep] = store.list_episodes()
        return ep


def test_sync_keeps_the_opus_copy(kept: Path):
    ep = _only_episode(kept)
    assert ep.media_kept == "opus" and ep.status == "indexed"
    copy = Path(str(ep.media_path))
    assert copy.suffix == ".opus" and copy.is_file()
    media = load_settings(kept).media_dir
    assert [p for p in media.rglob("*") if p.is_file() and "partial" not in p.parts] == [copy]
    assert ep.media_sha256 == sha256_file(JFK)  # the original's identity, kept
    with open_store(load_settings(kept).db_path) as store:
        transcript = store.transcript_for(ep.id or 0)
        assert transcript is not None and transcript.complete
        text = " ".join(s.text for s in transcript.segments).lower()
    assert "ask not what your country can do for you" in text
    code, out, _ = invoke(["status", "--json"], kept)
    status = json.loads(out)
    assert code == 0 and status["media_bytes"] == copy.stat().st_size
    assert status["shows"][0]["media_bytes"] == copy.stat().st_size
    code, out, _ = invoke(["status"], kept)
    assert code == 0 and "Media on disk:" in out


def test_bad_input_changes_nothing(kept: Path, served: Served, tmp_path: Path):
    code, _, err = invoke(["keep-media", "Retained", "tiny"], kept)
    assert code == 1 and "original, opus or none" in err
    code, _, err = invoke(["keep-media", "No Such Show", "none"], kept)
    assert code == 1 and "No show is 'No Such Show'" in err
    code, _, err = invoke(["add", served.url("retained.xml"), "--keep-media", "mp3"], tmp_path)
    assert code == 1 and "--keep-media must be original, opus or none" in err
    assert not (tmp_path / "podgrep.db").exists()
    code, _, err = invoke(["status"], tmp_path, PODGREP_KEEP_MEDIA="flac")
    assert code == 1 and "keep_media" in err
    assert _only_episode(kept).media_kept == "opus"


@pytest.fixture(scope="module")
def server(kept: Path) -> Iterator[ServeProcess]:
    proc = ServeProcess(kept)
    yield proc
    proc.stop()


def test_web_serves_the_copy_with_ranges(kept: Path, server: ServeProcess):
    ep = _only_episode(kept)
    size = Path(str(ep.media_path)).stat().st_size
    url = f"{server.url}/api/episodes/{ep.id}/audio"
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.headers["content-type"] == retention.OPUS_TYPE
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    page = httpx.get(f"{server.url}/episodes/{ep.id}").text
    assert f'src="/api/episodes/{ep.id}/audio"' in page


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=NO_CHROMIUM)
def test_browser_plays_and_seeks_the_opus_copy(kept: Path, server: ServeProcess):
    from tests.support.browser import chromium

    ep = _only_episode(kept)
    _, _, _, duration = _opus_facts(Path(str(ep.media_path)))
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{server.url}/episodes/{ep.id}")
        page.wait_for_function(
            "() => document.getElementById('player').readyState >= 1", timeout=15000
        )
        got = float(page.evaluate("document.getElementById('player').duration"))
        assert abs(got - duration) < 0.2, (got, duration)
        page.evaluate("document.getElementById('player').currentTime = 7.5")
        page.wait_for_function(
            "() => { const a = document.getElementById('player');"
            " return !a.seeking && a.readyState >= 2 && Math.abs(a.currentTime - 7.5) < 0.3; }",
            timeout=15000,
        )
        error = page.evaluate("document.getElementById('player').error")
        assert error is None


def test_none_drops_the_file_and_plays_the_enclosure(
    kept: Path, served: Served, server: ServeProcess
):
    """Runs last here: it drops the library's media (a stricter choice applies at once)."""
    copy = Path(str(_only_episode(kept).media_path))
    code, out, err = invoke(["keep-media", "1", "none"], kept)
    assert code == 0, err
    assert "keeps none media: 1 episode changed now" in out
    ep = _only_episode(kept)
    assert ep.media_kept == "none" and ep.media_path is None and not copy.exists()
    page = httpx.get(f"{server.url}/episodes/{ep.id}").text
    assert f'src="{served.url("jfk.flac")}"' in page  # the enclosure itself, no local path
    code, out, _ = invoke(["status", "--json"], kept)
    assert json.loads(out)["media_bytes"] == 0

    # the fetch step does not bring it back; a step that needs the audio does
    from podgrep.jobs.steps import StepContext, fetch, local_media

    settings = load_settings(kept)
    with open_store(settings.db_path) as store, MediaCache.for_settings(settings) as cache:
        ctx = StepContext(store, settings, cache)
        fetch(ctx, ep, lambda done, total: None)
        assert store.get_episode(ep.id or 0).media_path is None
        again = local_media(ctx, store.get_episode(ep.id or 0))
        assert again.media_path and Path(again.media_path).is_file()
        assert sha256_file(Path(again.media_path)) == ep.media_sha256
        assert again.media_kept is None  # the original is back until retention runs again
    code, _, err = invoke(["sync"], kept)  # the next sync applies the show's choice again
    assert code == 0, err
    dropped = _only_episode(kept)
    assert dropped.media_kept == "none" and dropped.media_path is None
    assert not Path(str(again.media_path)).exists()


def test_setting_and_show_choice(tmp_path: Path):
    assert load_settings(tmp_path).keep_media == "original"
    settings = load_settings(tmp_path, keep_media=" Opus ")
    assert settings.keep_media == "opus"
    show = Show(None, "http://127.0.0.1:9/a.xml", "A")
    assert retention.effective(settings, show) == "opus"
    assert retention.effective(settings, replace(show, keep_media="none")) == "none"
    (tmp_path / "podgrep.toml").write_text('keep_media = "mp3"\n')
    with pytest.raises(PodgrepError, match="keep_media='mp3': give original, opus or none"):
        load_settings(tmp_path)
