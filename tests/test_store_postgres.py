"""PostgreSQL as the library's store: choosing it, its errors, its schema, and `db copy`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from podgrep.config import Settings
from podgrep.domain import Episode, Show, Word
from podgrep.errors import SchemaError
from podgrep.runtime import open_store, redact
from podgrep.search import search
from podgrep.store import Store
from tests.conftest import invoke

DATA = Path(__file__).parent / "data" / "transcripts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unknown_scheme_is_one_line_exit_2(tmp_path: Path) -> None:
    code, out, err = invoke(["--store", "mysql://u@h/db", "status"], tmp_path)
    assert code == 2 and "Unknown store URL scheme 'mysql'" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "podgrep.db").exists()


def test_unreachable_server_is_one_line_exit_2(tmp_path: Path) -> None:
    url = f"postgresql://podgrep:secret@127.0.0.1:{_free_port()}/podgrep"
    code, _, err = invoke(["--store", url, "status"], tmp_path)
    assert code == 2 and "Cannot reach PostgreSQL at 127.0.0.1" in err, err
    assert "secret" not in err and len(err.strip().splitlines()) == 1


def test_wrong_password_is_one_line_exit_2(pg_server, pg_url: str, tmp_path: Path) -> None:
    wrong = pg_url.replace(f":{pg_server.password}@", ":not-the-password@")
    code, _, err = invoke(["status"], tmp_path, PODGREP_STORE_URL=wrong)
    assert code == 2 and "refused the password for user 'podgrep'" in err, err
    assert "not-the-password" not in err


def test_missing_vector_extension_is_one_line_and_writes_nothing(pg_server, tmp_path: Path) -> None:
    url = pg_server.create_limited("novector", "limited", "limited-pw")
    code, _, err = invoke(["--store", url, "status"], tmp_path)
    assert code == 2 and "has no `vector` extension" in err, err
    import psycopg

    with psycopg.connect(url) as conn:  # nothing was written: not even the schema table
        tables = conn.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert tables is not None and tables[0] == 0


def test_newer_schema_refused(pg_url: str) -> None:
    open_store(pg_url).close()
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO podgrep_schema (version, applied) VALUES (99, 0)")
    with pytest.raises(SchemaError, match="newer podgrep"):
        open_store(pg_url)


def test_store_chosen_by_option_env_and_toml(pg_url: str, tmp_path: Path) -> None:
    code, out, _ = invoke(["--store", pg_url, "db", "status", "--json"], tmp_path)
    status = json.loads(out)
    assert code == 0 and status["store"] == "postgresql" and status["schema_version"] >= 9
    assert "podgrep-test" not in status["location"]  # the password is never printed
    code, out, _ = invoke(["db", "status", "--json"], tmp_path, PODGREP_STORE_URL=pg_url)
    assert json.loads(out)["store"] == "postgresql"
    (tmp_path / "podgrep.toml").write_text(f'store_url = "{pg_url}"\n')
    code, out, _ = invoke(["db", "status", "--json"], tmp_path)
    assert json.loads(out)["store"] == "postgresql"
    assert not (tmp_path / "podgrep.db").exists()  # SQLite was never opened


def test_redact_hides_the_password() -> None:
    assert redact("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


def _library(path: Path, episodes: int = 12) -> None:
    """A SQLite library of real transcript text, with speakers, chapters, links and jobs."""
    from podgrep.domain import Chapter
    from podgrep.transcripts.importer import read_transcript

    texts = [
        DATA / name
        for name in (
            "sds-733-edited-transcript.txt",
            "gradient-dissent-whisper-cpp.txt",
            "openassistant-faster-whisper-log.txt",
        )
    ]
    store = open_store(path)
    sid, _ = store.add_show(Show(None, "http://example.org/feed.xml", "Copied Show"))
    for n in range(episodes):
        [eid] = store.add_episodes(sid, [Episode(None, sid, f"g{n}", f"Episode {n}")])
        segments = read_transcript(texts[n % len(texts)].read_bytes())[0].segments[:120]
        for i, seg in enumerate(segments):
            seg.speaker = "Ann" if i % 3 else "Ben"
            if not seg.words:
                seg.words = [Word(seg.start, seg.end, w) for w in seg.text.split()[:3]]
        store.replace_transcript(eid, "publisher", None, "en", segments)
        store.set_chapters(eid, [Chapter(0.0, "Start"), Chapter(30.0, "Later", url="https://x")])
        store.finish_job(eid, "fetch")
    store.close()


def _hits(store_target: str | Path, queries: list[str]) -> list[list[tuple[int, float]]]:
    """Every hit of each query (the two stores rank alike but not identically: BM25 and
    ts_rank_cd), as (episode, second)."""
    store = open_store(store_target)
    try:
        return [
            sorted((h.episode_id, round(h.start, 1)) for h in search(store, q, limit=1000))
            for q in queries
        ]
    finally:
        store.close()


def test_db_copy_killed_half_way_then_rerun(pg_url: str, tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    _library(source)
    cmd = [sys.executable, "-m", "podgrep", "db", "copy", str(source), pg_url, "--batch", "40"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import psycopg

    deadline = time.monotonic() + 120
    copied = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with psycopg.connect(pg_url) as conn:
                row = conn.execute("SELECT COUNT(*) FROM segments").fetchone()
                copied = int(row[0]) if row else 0
        except psycopg.Error:
            copied = 0
        if copied >= 200:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the copy ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert copied > 0

    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ, check=False)
    assert done.returncode == 0, done.stderr
    assert "both stores hold the same library" in done.stdout
    src, dst = open_store(source), open_store(pg_url)
    assert src.stats().rows == dst.stats().rows
    assert [(j.episode_id, j.step, j.state) for j in src.jobs()] == [
        (j.episode_id, j.step, j.state) for j in dst.jobs()
    ]
    first = src.list_episodes()[0].id
    assert first is not None
    assert src.list_speakers(first) == dst.list_speakers(first)
    assert src.chapter_rows(first) == dst.chapter_rows(first)
    src_t, dst_t = src.transcript_for(first), dst.transcript_for(first)
    assert src_t is not None and dst_t is not None
    assert [(s.text, s.start, s.speaker, s.words) for s in src_t.segments] == [
        (s.text, s.start, s.speaker, s.words) for s in dst_t.segments
    ]
    src.close()
    dst.close()
    queries = ["data", '"machine learning"', "model*", "people OR science"]
    assert _hits(source, queries) == _hits(pg_url, queries)
    # a third run finds nothing to do; a store holding another library is refused
    again = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert again.returncode == 0 and "Copied 0 rows" in again.stdout
    other = tmp_path / "other.db"
    _library(other, episodes=1)
    refused = subprocess.run(
        [sys.executable, "-m", "podgrep", "db", "copy", str(other), pg_url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2 and "already holds a different library" in refused.stderr
    # and back: PostgreSQL into a new SQLite file holds the same library again
    back = tmp_path / "back.db"
    from typer.testing import CliRunner

    from podgrep.cli import app

    result = CliRunner().invoke(app, ["db", "copy", pg_url, f"sqlite://{back}"])
    assert result.exit_code == 0, result.stderr
    assert open_store(back).stats().rows == open_store(source).stats().rows
    assert _hits(back, queries) == _hits(source, queries)


def test_two_writers_at_once_neither_deadlock_nor_miscount(pg_url: str) -> None:
    """Workers writing windows into one library at the same moment (the next issue's case):
    both finish, and the per-word counts hybrid search reads equal a recount."""
    import threading

    from podgrep.domain import Segment
    from podgrep.store.postgres.tsquery import segment_stems
    from podgrep.transcripts.importer import read_transcript

    lines = [
        s.text
        for s in read_transcript((DATA / "sds-733-edited-transcript.txt").read_bytes())[0].segments
    ][:240]
    setup = open_store(pg_url)
    sid, _ = setup.add_show(Show(None, "http://example.org/w.xml", "Writers"))
    eids = setup.add_episodes(sid, [Episode(None, sid, f"w{n}", f"W{n}") for n in range(2)])
    tids = [setup.open_transcript(e, "whisper", "tiny.en", "en", None).id for e in eids]
    setup.close()
    errors: list[BaseException] = []

    def write(tid: int, texts: list[str]) -> None:
        store = open_store(pg_url)
        try:
            for w in range(0, len(texts), 4):
                window = [Segment(i, i + 1.0, t) for i, t in enumerate(texts[w : w + 4], w)]
                store.add_window(tid, w // 4, window)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [
        threading.Thread(target=write, args=(tid, lines[n::2]))
        for n, tid in enumerate(tids)
        if tid is not None
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    store = open_store(pg_url)
    recount: dict[str, int] = {}
    assert len(lines) > 100
    for n, tid in enumerate(tids):
        assert tid is not None
        segments = store.segments(tid)
        said = lines[n::2]
        assert [s.text for s in segments] == [t.strip() for t in said]
        assert store.windows_done(tid) == (len(said) + 3) // 4
        for i, seg in enumerate(segments):
            lead = segments[i + 1].text.split()[:8] if i + 1 < len(segments) else []
            for stem_ in set(segment_stems(" ".join([seg.text, *lead]))):
                recount[stem_] = recount.get(stem_, 0) + 1
    sample = sorted(recount)[:: max(1, len(recount) // 60)]
    assert store.term_counts(sample) == {s: recount[s] for s in sample}
    store.close()


def test_feed_check_lock_makes_a_second_sync_wait_then_share(
    pg_url: str, tmp_path: Path
) -> None:
    """Two syncs of one PostgreSQL library (other machines, other homes) never check its feeds
    at once: the second waits for the first's check, then shares the jobs without checking
    again; the lock goes with its holder, even a killed one."""
    from podgrep.config import load_settings
    from podgrep.jobs.sync import run_sync

    first, second = open_store(pg_url), open_store(pg_url)
    try:
        with first.sync_lock() as waited:
            assert waited is False
            # a sync from another home (its own file lock is free) waits for the check
            other = load_settings(tmp_path / "other-home", store_url=pg_url)
            notes: list[str] = []
            done = threading.Event()

            def sync() -> None:
                run_sync(other, second, notify=notes.append)
                done.set()

            thread = threading.Thread(target=sync, daemon=True)
            thread.start()
            assert not done.wait(1.0)  # still waiting for the first's check of the feeds
        thread.join(60)
        assert done.is_set()
        assert notes == [
            "Another sync is checking the feeds: waiting for it, then sharing the jobs",
            "Another sync just checked the feeds: sharing its jobs",  # (a library of no feed)
        ]
        with second.sync_lock() as waited:  # released at the end of the block: taken at once
            assert waited is False

        # a process that holds the lock and is killed: the server ends its session, and the lock
        script = (
            "import sys, time\n"
            "from podgrep.runtime import open_store\n"
            "with open_store(sys.argv[1]).sync_lock():\n"
            "    print('held', flush=True)\n"
            "    time.sleep(600)\n"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", script, pg_url], stdout=subprocess.PIPE, text=True
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
            threading.Timer(1.0, proc.send_signal, (signal.SIGKILL,)).start()
            with first.sync_lock() as waited:  # waits for the holder, taken when it dies
                assert waited is True
                assert proc.wait(5) == -signal.SIGKILL  # the lock came with its holder's end
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait()
    finally:
        first.close()
        second.close()


def _one_episode(pg_url: str, tmp_path: Path) -> tuple[Store, Settings, int]:
    """A PostgreSQL library of one episode not yet fetched, and settings for it."""
    from podgrep.config import load_settings

    store = open_store(pg_url)
    sid, _ = store.add_show(Show(None, "http://example.org/flaky.xml", "Flaky"))
    [eid] = store.add_episodes(
        sid, [Episode(None, sid, "g1", "Episode 1", media_url="http://127.0.0.1:9/ep.mp3")]
    )
    settings = load_settings(tmp_path / "home", store_url=pg_url, max_attempts=3)
    return store, settings, eid


def test_a_step_that_meets_a_store_gone_away_is_retried_not_parked(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podgrep.errors import StoreUnavailable
    from podgrep.fetch import MediaCache
    from podgrep.jobs import local
    from podgrep.jobs.steps import StepContext

    gone = "The PostgreSQL server at 127.0.0.1:5432 closed the connection: run sync again"

    def fetch(ctx: object, ep: Episode, progress: object) -> None:
        raise StoreUnavailable(gone)

    monkeypatch.setitem(local.STEP_FUNCTIONS, "fetch", fetch)
    store, settings, eid = _one_episode(pg_url, tmp_path)
    try:
        with MediaCache(tmp_path / "media") as cache:
            ctx = StepContext(store, settings, cache)
            for _ in range(settings.max_attempts + 1):  # more runs than attempts allowed
                # given back and tried again in the run (the store may be back), then failed
                # for this run, never charged
                summary = local.run_pending(ctx)
                assert summary.failures == [(eid, "fetch", gone)]
                [job] = [j for j in store.jobs(eid) if j.step == "fetch"]
                assert job.attempts == 0 and job.error == gone  # not charged, not parked
                offered = store.next_job(settings.max_attempts)
                assert offered is not None and (offered.episode_id, offered.step) == (eid, "fetch")
    finally:
        store.close()


def test_a_store_that_cannot_record_a_failure_stops_the_run_with_its_line(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podgrep.errors import MediaError, StoreUnavailable
    from podgrep.fetch import MediaCache
    from podgrep.jobs import local
    from podgrep.jobs.steps import StepContext
    from podgrep.store.postgres import PostgresStore

    gone = "The PostgreSQL server at 127.0.0.1:5432 closed the connection: run sync again"

    def fetch(ctx: object, ep: Episode, progress: object) -> None:
        raise MediaError("not audio")

    def unrecorded(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable(gone)

    monkeypatch.setitem(local.STEP_FUNCTIONS, "fetch", fetch)
    store, settings, _ = _one_episode(pg_url, tmp_path)
    monkeypatch.setattr(PostgresStore, "fail_job", unrecorded)
    # the run waits for the store to come back (store_wait_seconds), then stops with its line
    settings = replace(settings, store_wait_seconds=1)
    try:
        with (
            MediaCache(tmp_path / "media") as cache,
            pytest.raises(StoreUnavailable, match="closed the connection"),
        ):
            local.run_pending(StepContext(store, settings, cache))
    finally:
        store.close()


def test_serve_with_an_unusable_store_is_one_line_before_listening(
    pg_server, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import podgrep.web.server

    listened: list[object] = []
    monkeypatch.setattr(podgrep.web.server.uvicorn, "run", lambda *a, **k: listened.append(a))
    wrong = pg_url.replace(f":{pg_server.password}@", ":WRONG@")
    code, _, err = invoke(["--store", wrong, "serve", "--port", str(_free_port())], tmp_path)
    assert code == 2 and "refused the password for user 'podgrep'" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "WRONG" not in err
    assert not listened
    # a store that works: the start-up line names it (without its password), not the home
    code, _, err = invoke(["--store", pg_url, "serve", "--port", str(_free_port())], tmp_path)
    assert code == 0 and len(listened) == 1, err
    assert f"podgrep: library in {redact(pg_url)}" in err and pg_server.password not in err


def test_the_password_is_never_printed(pg_server, pg_url: str, tmp_path: Path) -> None:
    secret = pg_server.password
    bad = [
        pg_url.replace("postgresql://", "POSTGRESQL://"),  # any case of the scheme works
        pg_url.replace("postgresql://", "postgresql+asyncpg://"),
        pg_url.replace(f":{secret}@", ":se%zzcret@"),
        pg_url.split("@")[0].replace(f":{secret}", "")
        + "@"
        + pg_url.split("@")[1]
        + f"?password={secret}",
        f"host=127.0.0.1 dbname=x user=podgrep password={secret}",
    ]
    for url in bad:
        code, out, err = invoke(["--store", url, "db", "status", "--json"], tmp_path)
        assert secret not in out + err and "zzcret" not in out + err, url
        assert code in (0, 2) and "Traceback" not in err, (url, err)
    assert not list(Path(".").glob("host=*"))  # a libpq string is not taken for a file name


def test_odd_text_and_racing_writers_are_not_tracebacks(pg_url: str) -> None:
    import threading

    store = open_store(pg_url)
    sid, _ = store.add_show(Show(None, "http://example.org/nul.xml", "Nul\x00Show"))
    assert store.get_show(sid).title == "Nul\ufffdShow"  # PostgreSQL text holds no NUL
    results: list[tuple[int, bool]] = []

    def add() -> None:
        s = open_store(pg_url)
        results.append(s.add_show(Show(None, "http://example.org/race.xml", "Race")))
        s.close()

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({sid for sid, _ in results}) == 1 and sum(new for _, new in results) == 1
    store.close()


def test_a_dropped_connection_is_one_transient_line(pg_server, pg_url: str) -> None:
    import psycopg

    from podgrep.errors import StoreUnavailable

    store = open_store(pg_url)
    store.list_shows()
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (pg_url.rsplit("/", 1)[1],),
        )
    with pytest.raises(StoreUnavailable, match="stopped answering") as caught:
        for _ in range(5):  # the pool notices the dead connections one by one
            store.list_shows()
    assert pg_server.password not in str(caught.value)
    store.list_shows()  # and then goes on with new ones
    store.close()
