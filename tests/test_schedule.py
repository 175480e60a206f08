"""Scheduled syncs: the interval syntax, what feeds ask (`<ttl>`, `podcast:updateFrequency`),
back-off, which shows are due, the store's check counters on both stores, and the real thing:
`podgrep sync --watch` in a process of its own over a real local feed, a new item transcribed
without a manual sync, SIGTERM in the middle of a transcription given back and resumed, and
`serve --sync-every` in the web app."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest

from podgrep.domain import Show
from podgrep.errors import InvalidInput
from podgrep.jobs.schedule import (
    BACKOFF_CAP,
    MIN_SLEEP,
    DueNow,
    check_wait,
    format_interval,
    is_due,
    next_check,
    next_due,
    parse_interval,
    retry_wait,
    run_round,
    watch,
)
from podgrep.sources import feed
from tests.conftest import DATA, WINDOW, Served, invoke

PODGREP = [sys.executable, "-m", "podgrep"]
DEADLINE = 120.0  # seconds any one wait may take before the test gives up
T = TypeVar("T")

# -- the interval syntax -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("2d", 172800), ("1w", 604800),
     ("90", 90), ("2", 2), ("1.5h", 5400), (" 1H ", 3600), ("2d12h", 216000)],
)  # fmt: skip
def test_intervals(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    "text", ["5x", "0", "0s", "-1", "-5m", "", "h", "1h1h", "1 hour", "m5", "0.001s", "0.5"]
)
def test_bad_intervals_are_one_line(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_interval(text)
    assert "\n" not in str(caught.value) and "--watch" in str(caught.value)


def test_intervals_are_written_back_the_same_way() -> None:
    assert [format_interval(s) for s in (3540, 5400, 2, 0.4, 90061, -3)] == [
        "59m", "1h30m", "2s", "0s", "1d1h1m1s", "0s",
    ]  # fmt: skip


BAD_SCHEDULES = [
    ["sync", "--watch", "5x"],
    ["sync", "--watch", "0"],
    ["sync", "--watch=-1h"],
    ["sync", "--watch", "0.001s"],
    ["serve", "--sync-every", "soon"],
]


@pytest.mark.parametrize("args", BAD_SCHEDULES)
def test_bad_schedule_on_the_command_line_changes_nothing(args: list[str], tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, out, err = invoke(args, home)
    assert code == 1
    assert len(err.strip().splitlines()) == 1, err
    assert any(why in err for why in ("is not an interval", "longer than zero", "too short")), err
    assert not home.exists()  # not even a library made


def test_watch_refuses_no_refresh(tmp_path: Path) -> None:
    code, _, err = invoke(["sync", "--watch", "1h", "--no-refresh"], tmp_path / "h")
    assert code == 1 and "--no-refresh" in err


# -- what the feed asks -----------------------------------------------------------------------

FEED = """<?xml version="1.0"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel><title>Asked</title>{extra}
<item><title>One</title><guid>1</guid>
<enclosure url="http://x.test/1.mp3" type="audio/mpeg"/></item>
</channel></rss>"""


@pytest.mark.parametrize(
    ("extra", "seconds"),
    [
        # <ttl>, a cache lifetime: respected as it is, up to a day
        ("<ttl>60</ttl>", 3600),
        ("<ttl> 90 </ttl>", 5400),
        ("<ttl>2880</ttl>", 86400),
        ("<ttl>soon</ttl>", None),
        ("<ttl>0</ttl>", None),
        # the release period: a quarter of it, up to a day (a new episode seen within a day)
        ('<podcast:updateFrequency rrule="FREQ=DAILY">Daily</podcast:updateFrequency>', 21600),
        ('<podcast:updateFrequency rrule="FREQ=HOURLY;INTERVAL=6"/>', 5400),
        ('<podcast:updateFrequency rrule="freq=weekly;interval=1;byday=MO"/>', 86400),
        ('<podcast:updateFrequency rrule="FREQ=WEEKLY;BYDAY=MO,TH"/>', 7 * 86400 / 2 / 4),
        ('<podcast:updateFrequency rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"/>', 7 * 86400 / 5 / 4),
        ('<podcast:updateFrequency rrule="FREQ=DAILY;BYHOUR=6,18"/>', 86400 / 2 / 4),
        ('<podcast:updateFrequency rrule="FREQ=DAILY;BYDAY=MO,TU"/>', 21600),  # fewer, not more
        ("<podcast:updateFrequency>weekly</podcast:updateFrequency>", 86400),
        ("<podcast:updateFrequency>Twice a week, roughly</podcast:updateFrequency>", None),
        ('<podcast:updateFrequency rrule="FREQ=MINUTELY">Weekly</podcast:updateFrequency>',
         86400),  # an rrule it does not take: the text, which is clear
        ('<podcast:updateFrequency rrule="FREQ=DAILY;INTERVAL=0"/>', None),
        # both: the longer one (neither is broken), at most a day
        ('<ttl>120</ttl><podcast:updateFrequency rrule="FREQ=HOURLY"/>', 7200),
        ('<ttl>30</ttl><podcast:updateFrequency rrule="FREQ=HOURLY;INTERVAL=4"/>', 3600),
        ('<ttl>30</ttl><podcast:updateFrequency rrule="FREQ=MONTHLY"/>', 86400),
        ("", None),
    ],
)  # fmt: skip
def test_what_the_feed_asks(extra: str, seconds: float | None) -> None:
    show, episodes = feed.parse_feed(FEED.format(extra=extra).encode(), "http://x.test/feed")
    assert show.check_every == seconds
    assert [e.guid for e in episodes] == ["1"]


def test_a_weekly_show_is_still_checked_daily() -> None:
    weekly = '<podcast:updateFrequency rrule="FREQ=WEEKLY"/><ttl>10080</ttl>'
    show, _ = feed.parse_feed(FEED.format(extra=weekly).encode(), "http://x.test/feed")
    # checked hourly: the feed's hint lengthens the wait to a day, never to its week
    assert check_wait(show, 3600.0) == 86400
    assert check_wait(show, 2 * 86400.0) == 2 * 86400  # a longer schedule is the user's


# -- back-off and who is due ------------------------------------------------------------------


def _show(**fields: Any) -> Show:
    return Show(**{"id": 1, "feed_url": "http://x.test/f", "title": "T", **fields})


def test_back_off_doubles_per_failure_up_to_a_day() -> None:
    hour = 3600.0
    waits = [check_wait(_show(check_failures=n), hour) for n in range(7)]
    assert waits == [hour, 2 * hour, 4 * hour, 8 * hour, 16 * hour, BACKOFF_CAP, BACKOFF_CAP]
    assert check_wait(_show(check_failures=10_000), 60) == BACKOFF_CAP
    # the feed's own wait counts when longer than the interval, never when shorter
    assert check_wait(_show(check_every=7200.0), hour) == 7200
    assert check_wait(_show(check_every=60.0), hour) == hour
    assert check_wait(_show(check_every=7200.0, check_failures=1), hour) == 14400
    # a feed asking for more than a day is backed off from its own wait
    week = 7 * 86400.0
    assert check_wait(_show(check_every=week, check_failures=3), hour) == week


def test_due_shows() -> None:
    now = 1_000_000.0
    hour = 3600.0
    fresh = _show(last_checked=now - 10)
    stale = _show(last_checked=now - hour)
    never = _show(last_checked=None)
    failing = _show(last_checked=now - hour, check_failures=1)  # waits 2 h now
    slow_feed = _show(last_checked=now - hour, check_every=3 * hour)
    paused = _show(last_checked=None, paused=True)
    paused_stale = _show(last_checked=0.0, paused=True)
    urls = _show(last_checked=None, kind="url")
    folder = _show(last_checked=now - 2 * hour, kind="local")
    due = [s for s in (fresh, stale, never, failing, slow_feed, paused, paused_stale, urls, folder)
           if is_due(s, hour, now)]  # fmt: skip
    assert due == [stale, never, folder]
    assert next_due(paused, hour) is None and next_due(urls, hour) is None
    assert next_due(failing, hour) == now + hour
    # the next round: the first show due, at most an interval away, never right away
    assert next_check([fresh, slow_feed], hour, now) == now - 10 + hour
    assert next_check([paused, urls], hour, now) == now + hour
    assert next_check([], 30, now) == now + 30
    assert next_check([never], hour, now) == now + MIN_SLEEP


def test_a_round_counts_the_shows_it_chose_as_checked() -> None:
    now = 1_000_000.0
    hour = 3600.0
    unmarked = _show(id=1, last_checked=None, kind="local")  # its check left no mark
    fresh = _show(id=2, last_checked=now - 10)
    due = DueNow(hour, now)
    assert [due(s) for s in (unmarked, fresh)] == [True, False]
    # not due again at once (a round every second): an interval after this round
    assert due.next_check([unmarked, fresh], now + 5) == now - 10 + hour
    assert DueNow(hour, now).next_check([unmarked], now + 5) == now + 5 + MIN_SLEEP
    assert due.next_check([replace(unmarked, last_checked=now + 1)], now + 5) == now + 1 + hour


def _refresh_only(settings: Any, store: Any, *, only: Any, on_feed: Any, **_: Any) -> None:
    """A round's sync without its jobs: the real check of every due source."""
    from podgrep.library import http_client, refresh_all

    with http_client(settings.http_timeout, settings) as client:
        for result in refresh_all(store, client, only=only):
            on_feed(result)


def test_local_shows_wait_their_interval(tmp_path: Path) -> None:
    from podgrep.config import load_settings
    from podgrep.runtime import open_store
    from podgrep.sources.local import FILES_SHOW_URL

    home, folder = tmp_path / "home", tmp_path / "talks"
    folder.mkdir()
    shutil.copy(DATA / "jfk.flac", folder / "one.flac")
    assert invoke(["add", str(DATA / "hotwords.mp3")], home)[0] == 0  # "Local files"
    assert invoke(["add", str(folder)], home)[0] == 0
    settings = load_settings(home)
    hour = 3600.0
    with open_store(settings.db_path) as store:
        began = time.time()
        first = run_round(settings, store, hour, _refresh_only)
        shows = {s.feed_url: s for s in store.list_shows()}
        assert len(shows) == 2 and FILES_SHOW_URL in shows, shows
        assert all((s.last_checked or 0) >= began for s in shows.values()), shows
        # the next check is the interval away, not a second away
        assert began + hour <= first.next_check <= time.time() + hour
        assert not any(is_due(s, hour, time.time()) for s in store.list_shows())
        again = run_round(settings, store, hour, _refresh_only)
        assert [s.last_checked for s in store.list_shows()] == [
            s.last_checked for s in shows.values()
        ]  # nothing was due: nothing checked
        assert again.next_check >= began + hour
        # the folder gains a file; once its interval has passed it is scanned again
        shutil.copy(DATA / "jfk.flac", folder / "two.flac")
        [folder_show] = [s for s in store.list_shows() if s.feed_url != FILES_SHOW_URL]
        assert folder_show.id is not None
    db = sqlite3.connect(settings.db_path)
    with db:
        db.execute("UPDATE shows SET last_checked = ? WHERE id = ?",
                   (time.time() - hour - 1, folder_show.id))  # fmt: skip
    db.close()
    with open_store(settings.db_path) as store:
        later = run_round(settings, store, hour, _refresh_only)
        assert later.new_episodes == 1
        assert store.get_show(folder_show.id).last_checked > time.time() - 60


# -- the watch loop goes on for days ------------------------------------------------------------


def test_watch_says_a_later_rounds_error_and_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podgrep.jobs import schedule, sync

    calls: list[int] = []

    def flaky_sync(*args: Any, **kwargs: Any) -> None:
        calls.append(len(calls))
        if len(calls) == 2:
            raise sqlite3.OperationalError("database is locked [bold]now[/bold]")
        if len(calls) == 4:
            raise KeyboardInterrupt  # Ctrl-C: the end of the watch

    monkeypatch.setattr(sync, "run_sync", flaky_sync)
    monkeypatch.setattr(schedule, "retry_wait", lambda interval, failures: 0.0)
    home = tmp_path / "home"
    code, _, err = invoke(["sync", "--watch", "1"], home)
    assert code == 130, err
    assert len(calls) == 4, err
    lines = [line for line in err.splitlines() if line.startswith("watch: ")]
    assert len(lines) == 3, err  # the round after the error ran, and said so
    assert lines[1] == (  # one line, its brackets as they were (no Rich markup)
        "watch: this round stopped: OperationalError: database is locked [bold]now[/bold];"
        " next try in 0s"
    ), err
    assert all(lines[i].startswith("watch: checked 0 feed(s), 0 new") for i in (0, 2)), err


def test_watch_lets_the_first_rounds_error_end_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podgrep.config import load_settings
    from podgrep.jobs import sync
    from podgrep.runtime import open_store

    def broken(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(sync, "run_sync", broken)
    settings = load_settings(tmp_path / "home")
    said: list[str] = []
    with open_store(settings.db_path) as store, pytest.raises(sqlite3.OperationalError):
        watch(settings, store, 3600.0, say=said.append, sleep=pytest.fail)
    assert said == []


def test_retry_waits_back_off_up_to_the_interval() -> None:
    assert [retry_wait(3600.0, n) for n in (1, 2, 3, 6, 7, 50)] == [
        60.0, 120.0, 240.0, 1920.0, 3600.0, 3600.0,
    ]  # fmt: skip
    assert retry_wait(10.0, 1) == 10.0


# -- the store keeps count (both stores) ------------------------------------------------------


def test_store_counts_failed_checks_and_keeps_what_the_feed_asks(store_url: str) -> None:
    from podgrep.runtime import open_store

    with open_store(store_url) as store:
        sid, _ = store.add_show(_show(id=None, check_every=1800.0))
        assert store.get_show(sid).check_every == 1800
        store.mark_show_checked(sid, "Could not reach it")
        store.mark_show_checked(sid, "Could not reach it")
        got = store.get_show(sid)
        assert got.check_failures == 2
        assert store.show_errors() == {sid: "Could not reach it"}
        store.mark_show_checked(sid)  # a 304: a good check
        assert store.get_show(sid).check_failures == 0
        store.mark_show_checked(sid, "HTTP 500")
        store.update_show(sid, _show(id=sid, check_every=86400.0))  # a good fetch
        got = store.get_show(sid)
        assert (got.check_failures, got.check_every, store.show_errors()) == (0, 86400, {})
        store.update_show(sid, _show(id=sid, check_every=None))  # the feed no longer says
        assert store.get_show(sid).check_every is None


# -- the real thing: `sync --watch` in a process of its own -----------------------------------


def _rows(home: Path, query: str) -> list[tuple[Any, ...]]:
    db = home / "podgrep.db"
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return [tuple(r) for r in conn.execute(query).fetchall()]
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        conn.close()


def _statuses(home: Path) -> dict[str, str]:
    return {str(g): str(s) for g, s in _rows(home, "SELECT guid, status FROM episodes")}


def _jobs(home: Path) -> list[tuple[str, str, str, float | None]]:
    return [
        (str(g), str(step), str(state), lease)
        for g, step, state, lease in _rows(
            home,
            "SELECT e.guid, j.step, j.state, j.lease_until FROM jobs j"
            " JOIN episodes e ON e.id = j.episode_id ORDER BY j.id",
        )
    ]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], Path]]]:
    """Start `podgrep ARGS` with its stderr in a log; whatever is still running at the end is
    killed."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(*args: str, **env: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"podgrep-{len(procs)}.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [*PODGREP, *args],
                env={**os.environ, "PODGREP_WINDOW_SECONDS": WINDOW, **env},
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        procs.append(proc)
        return proc, log

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _wait_for(what: str, check: Callable[[], T], proc: subprocess.Popen[bytes], log: Path) -> T:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline and proc.poll() is None:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"never saw {what} (exit {proc.poll()}):\n{log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen[bytes], log: Path) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"SIGTERM did not stop it:\n{log.read_text(errors='replace')}")
    return code, log.read_text(errors="replace")


JFK = ("jfk.flac", "audio/flac")


def test_watch_transcribes_a_new_item_without_a_manual_sync(
    served: Served, tmp_path: Path, spawn: Callable[..., tuple[subprocess.Popen[bytes], Path]]
) -> None:
    home = tmp_path / "home"
    first = ("Ask Not", "watch-1", *JFK)
    url = served.write_feed("watch.xml", "Watched", [first])
    assert invoke(["add", url], home)[0] == 0
    proc, log = spawn("sync", "--watch", "2", "--home", str(home))
    _wait_for("the first episode indexed",
              lambda: _statuses(home) == {"watch-1": "indexed"}, proc, log)  # fmt: skip
    _wait_for("a round that found nothing new", lambda: "0 new episode(s)" in log.read_text(),
              proc, log)  # fmt: skip
    asked = len(served.server.requests)
    # a new item appears between two checks
    served.write_feed("watch.xml", "Watched", [("Ask Not Again", "watch-2", *JFK), first])
    _wait_for("the new episode indexed", lambda: _statuses(home).get("watch-2") == "indexed",
              proc, log)  # fmt: skip
    _wait_for("the round's line", lambda: "feed(s), 1 new episode(s)" in log.read_text(),
              proc, log)  # fmt: skip
    code, text = _stop(proc, log)
    assert code == 130, text
    rounds = [line for line in text.splitlines() if line.startswith("watch: ")]
    assert rounds and all("checked" in r and "next check in" in r for r in rounds), text
    assert any("watch: checked 1 feed(s), 1 new episode(s); next check in " in r for r in rounds)
    # the checks were conditional: the unchanged feed was asked with its ETag
    feed_asks = [h for m, p, h in served.server.requests if p == "/watch.xml"]
    assert any("If-None-Match" in h for h in feed_asks)
    assert len(served.server.requests) > asked
    # nothing left running or held
    jobs = _jobs(home)
    assert jobs and {state for _, _, state, _ in jobs} == {"done"}, jobs
    assert all(lease is None or lease < time.time() for *_, lease in jobs)
    assert _statuses(home) == {"watch-1": "indexed", "watch-2": "indexed"}


RUNNING = (
    "SELECT t.windows_done FROM transcripts t JOIN jobs j ON j.episode_id = t.episode_id"
    " AND j.step = 'transcribe' WHERE t.complete = 0 AND t.windows_done >= 1"
    " AND j.state = 'running'"
)


def _frozen_mid_transcription(proc: subprocess.Popen[bytes], home: Path, log: Path) -> int:
    """Wait for a transcription under way (a window written, not complete), and stop the
    process there (SIGSTOP) so it stays under way until the caller's signal: returns the
    windows written. The caller sends its signal, then SIGCONT."""
    while True:
        _wait_for("a window written mid-transcription", lambda: _rows(home, RUNNING), proc, log)
        proc.send_signal(signal.SIGSTOP)
        found = _rows(home, RUNNING)  # read again while it cannot move on
        if found:
            return int(found[0][0])
        proc.send_signal(signal.SIGCONT)  # it finished meanwhile: not this time


def _given_back_and_resumed(home: Path, kept: int, text: str, **env: str) -> None:
    """The transcription was given back (pending, no lease, no attempt charged, the windows
    written kept), nothing is left running, and the next run resumes it where it stopped."""
    jobs = _rows(home, "SELECT j.step, j.state, j.lease_until, j.attempts FROM jobs j")
    assert ("transcribe", "pending", None, 0) in jobs, (jobs, text)
    assert not [j for j in jobs if j[1] == "running"], (jobs, text)
    [(written, complete)] = _rows(home, "SELECT windows_done, complete FROM transcripts")
    assert complete == 0 and written >= kept, text  # it stopped mid-job, keeping its windows
    before = _rows(home, "SELECT idx, text FROM segments ORDER BY idx")
    code, _, err = invoke(["sync", "--no-refresh"], home, **env)
    assert code == 0, err
    [(done, complete)] = _rows(home, "SELECT windows_done, complete FROM transcripts")
    assert complete == 1 and done > written
    after = _rows(home, "SELECT idx, text FROM segments ORDER BY idx")
    assert after[: len(before)] == before and len(after) > len(before)
    assert {state for _, _, state, _ in _jobs(home)} == {"done"}


SMALL_WINDOWS = {"PODGREP_WINDOW_SECONDS": "3"}  # jfk.flac in several windows, each committed


@pytest.mark.parametrize("verb", [["sync"], ["worker", "--until-done"]])
def test_sigterm_stops_a_plain_sync_or_worker_cleanly(
    served: Served,
    tmp_path: Path,
    spawn: Callable[..., tuple[subprocess.Popen[bytes], Path]],
    verb: list[str],
) -> None:
    """Not only a watch: SIGTERM (systemd, docker stop) stops any command as Ctrl-C does."""
    home = tmp_path / "home"
    url = served.write_feed(f"term-{verb[0]}.xml", "Stopped", [("Ask Not", f"t-{verb[0]}", *JFK)])
    assert invoke(["add", url], home)[0] == 0
    proc, log = spawn(*verb, "--home", str(home), **SMALL_WINDOWS)
    kept = _frozen_mid_transcription(proc, home, log)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGCONT)
    code, text = _stop(proc, log)
    assert code in (1, 130), text
    assert "Traceback" not in text, text
    _given_back_and_resumed(home, kept, text, **SMALL_WINDOWS)


def test_sigterm_mid_transcription_gives_the_step_back_and_the_next_run_resumes(
    served: Served, tmp_path: Path, spawn: Callable[..., tuple[subprocess.Popen[bytes], Path]]
) -> None:
    home = tmp_path / "home"
    url = served.write_feed("watch-term.xml", "Stopped", [("Ask Not", "term-1", *JFK)])
    assert invoke(["add", url], home)[0] == 0
    proc, log = spawn("sync", "--watch", "1h", "--home", str(home), **SMALL_WINDOWS)
    kept = _frozen_mid_transcription(proc, home, log)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGCONT)
    code, text = _stop(proc, log)  # (a second SIGTERM, should the first not have ended it)
    assert code == 130, text
    assert "Interrupted" in text
    _given_back_and_resumed(home, kept, text, **SMALL_WINDOWS)


@pytest.fixture(scope="module")
def long_speech(served: Served) -> str:
    """jfk.flac three times over, 33 s served as WAV: a dozen 3 s windows, so a server's
    shutdown (a tenth of a second) always lands in the middle of its transcription."""
    import wave

    import numpy as np

    from podgrep import audio

    name = "jfk-thrice.wav"
    samples = np.tile(audio.decode(DATA / "jfk.flac"), 3)
    with wave.open(str(served.root / name), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio.SAMPLE_RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return name


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_sync_every_gives_the_step_back_on_sigterm(
    served: Served,
    tmp_path: Path,
    spawn: Callable[..., tuple[subprocess.Popen[bytes], Path]],
    long_speech: str,
) -> None:
    home = tmp_path / "home"
    item = ("Ask Not Thrice", "serve-term-1", long_speech, "audio/wav")
    url = served.write_feed("serve-term.xml", "Served and stopped", [item])
    assert invoke(["add", url], home)[0] == 0
    port = str(_free_port())
    proc, log = spawn("serve", "--sync-every", "1h", "--port", port, "--home", str(home),
                      **SMALL_WINDOWS)  # fmt: skip
    kept = _frozen_mid_transcription(proc, home, log)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGCONT)
    try:
        code = proc.wait(60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"SIGTERM did not stop the server:\n{log.read_text(errors='replace')}")
    text = log.read_text(errors="replace")
    assert code in (0, -signal.SIGTERM), text  # uvicorn ends as the signal asks, once stopped
    assert "Traceback" not in text, text
    _given_back_and_resumed(home, kept, text, **SMALL_WINDOWS)


# -- serve --sync-every -------------------------------------------------------------------------


def test_serve_sync_every_checks_on_a_schedule(served: Served, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from podgrep.config import load_settings
    from podgrep.runtime import open_store
    from podgrep.web.app import create_app

    home = tmp_path / "home"
    url = served.write_feed("served-watch.xml", "Served", [])  # no episodes: checks only
    assert invoke(["add", url], home)[0] == 0
    settings = load_settings(home)
    with open_store(settings.db_path) as store:
        [show] = store.list_shows()
        assert show.id is not None
        store.mark_show_checked(show.id, "HTTP 500")  # a failed check, long ago
    db = sqlite3.connect(settings.db_path)
    with db:
        db.execute("UPDATE shows SET last_checked = 1 WHERE id = ?", (show.id,))
    db.close()
    app = create_app(settings, sync_every=1.0)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open_store(settings.db_path) as store:
                checked = store.get_show(show.id)
            if checked.last_checked and checked.check_failures == 0:
                break
            time.sleep(0.1)
        assert checked.last_checked and checked.last_checked > 1
        assert checked.check_failures == 0  # a good check reset the count
        sync = client.get("/api/jobs").json()["sync"]
        assert sync["next_check"] is not None and sync["next_check"] > time.time() - 5
        # a manual sync while the schedule runs: one at a time, never two
        got = client.post("/api/sync", json={"refresh": True})
        assert got.status_code in (202, 409)
        assert app.state.schedule.rounds >= 1
    assert not app.state.schedule._thread.is_alive()  # stopped with the server
