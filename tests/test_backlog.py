"""Backlog limits: `add --latest N` / `--since DATE` record older episodes as held (no jobs),
`podgrep queue` queues them later, later syncs queue what is new, and `add` says what a sync is
about to do (episodes, hours of audio, the time at the library's measured speed). Feeds point
at served media that is never fetched: the jobs and the queue are checked, not whisper."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from podgrep.backlog import KNOWN_SPEEDS, Backlog, KnownSpeed, known_speed, parse_since, plan_line
from podgrep.config import load_settings
from podgrep.domain import Episode, Show
from podgrep.library import http_client, refresh_all
from podgrep.runtime import open_store
from podgrep.store import STEPS, Store
from podgrep.store.backlog import MeasuredSpeed
from tests.conftest import Served, invoke

CHANNEL = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>{title}</title><link>{base}/</link><description>Backlog test</description>
{items}
</channel></rss>"""
ITEM = """<item><title>{title}</title><guid isPermaLink="false">{guid}</guid>
<pubDate>{day:02d} Jul 2023 10:00:00 GMT</pubDate><itunes:duration>{duration}</itunes:duration>
<enclosure url="{base}/jfk.flac" type="audio/flac" length="1000"/></item>"""


def write_feed(served: Served, name: str, days: list[int], duration: str = "30:00") -> str:
    """A feed of one episode per July 2023 day given (`Day N`, guid `d-N`), half an hour each."""
    base = served.url("").rstrip("/")
    items = "\n".join(
        ITEM.format(title=f"Day {d}", guid=f"d-{d}", day=d, duration=duration, base=base)
        for d in days
    )
    (served.root / name).write_text(CHANNEL.format(title=name, base=base, items=items))
    return served.url(name)


def cli(store_url: str, home: Path, *args: str) -> tuple[int, str, str]:
    return invoke(["--store", store_url, *args], home)


def by_title(store: Store) -> dict[str, Episode]:
    return {e.title: e for e in store.list_episodes()}


def test_latest_holds_older_episodes_and_queue_queues_them(
    store_url: str, served: Served, tmp_path: Path
) -> None:
    feed = write_feed(served, f"latest-{tmp_path.name}.xml", [10, 11, 12, 13, 14])
    code, out, err = cli(store_url, tmp_path, "add", feed, "--latest", "2")
    assert code == 0, err
    # the stdout line is a contract: unchanged
    assert "Added feed" in out and "5 new, 5 episodes" in out
    # nothing measured yet: the benchmarks' speed for the bundled model on these cores, if any
    estimate = known_speed(load_settings(tmp_path))
    if estimate is None:
        assert "2 episodes queued (1.0 h of audio, speed not measured yet), 3 held" in err
    else:
        assert "2 episodes queued (1.0 h of audio, about " in err and "3 held" in err
        assert f"at tiny.en's {estimate.factor:g}x real time benchmarked on" in err
    with open_store(store_url) as store:
        eps = by_title(store)
        assert {t: e.status for t, e in eps.items()} == {
            "Day 14": "new", "Day 13": "new",
            "Day 12": "held", "Day 11": "held", "Day 10": "held",
        }  # fmt: skip
        for title in ("Day 10", "Day 11", "Day 12"):
            assert store.jobs(eps[title].id) == []
        assert {j.step for j in store.jobs(eps["Day 14"].id)} == set(STEPS)
        # nothing held is waiting to run: a sync would fetch and transcribe only the two
        assert {eid for eid, _ in store.pending_work(3)} == {eps["Day 14"].id, eps["Day 13"].id}
        [counts] = store.status_counts()
        assert (counts.episodes, counts.new, counts.held) == (5, 2, 3)
    code, out, _ = cli(store_url, tmp_path, "status", "--json")
    assert code == 0 and json.loads(out)["shows"][0]["held"] == 3
    code, out, _ = cli(store_url, tmp_path, "episodes", "--json")
    statuses = [json.loads(line)["status"] for line in out.splitlines()]
    assert sorted(statuses) == ["held", "held", "held", "new", "new"]

    # a later check queues what is new (it is newer than every held episode)
    write_feed(served, f"latest-{tmp_path.name}.xml", [10, 11, 12, 13, 14, 15])
    with open_store(store_url) as store, http_client() as client:
        [checked] = list(refresh_all(store, client))
        assert checked.error is None and len(checked.new_episodes) == 1
        assert by_title(store)["Day 15"].status == "new"
        assert len(store.jobs(checked.new_episodes[0])) == len(STEPS)

    # queue one by a unique title part, then the rest of the show
    code, out, err = cli(store_url, tmp_path, "queue", "Day 11")
    assert code == 0, err
    assert "Queued episode" in out and "Day 11" in out
    code, out, _ = cli(store_url, tmp_path, "queue", "Day 11")
    assert code == 0 and "already queued" in out
    with open_store(store_url) as store:
        show_id = store.list_shows()[0].id
    code, out, err = cli(store_url, tmp_path, "queue", "--show", str(show_id), "--all")
    assert code == 0, err
    assert out.count("Queued episode") == 2 and "4 other episodes" in out
    with open_store(store_url) as store:
        eps = by_title(store)
        assert all(e.status == "new" for e in eps.values())
        assert {eid for eid, _ in store.pending_work(3)} == {e.id for e in eps.values()}
        assert all(len(store.jobs(e.id)) == len(STEPS) for e in eps.values())
        assert store.status_counts()[0].held == 0


def test_since_holds_episodes_published_before(served: Served, tmp_path: Path) -> None:
    feed = write_feed(served, f"since-{tmp_path.name}.xml", [10, 11, 12, 13], duration="600")
    code, _, err = invoke(["add", feed, "--since", "2023-07-12"], tmp_path)
    assert code == 0, err
    assert "2 episodes queued (0.3 h of audio" in err and "2 held" in err
    with open_store(load_settings(tmp_path).db_path) as store:
        held = {t for t, e in by_title(store).items() if e.status == "held"}
    assert held == {"Day 10", "Day 11"}
    # a datetime, with its offset: 12 Jul 10:00 GMT is before 12:00+01:00 (11:00 GMT)
    assert parse_since("2023-07-12T12:00:00+01:00") == parse_since("2023-07-12T11:00:00")
    assert parse_since("2023-07-12") == parse_since("2023-07-12 00:00")


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--latest", "0", "--latest 0"),
        ("--latest", "-3", "--latest -3"),
        ("--since", "last week", "is not a date"),
        ("--since", "2023-13-01", "is not a date"),
        ("--since", "12/07/2023", "is not a date"),
    ],
)
def test_bad_limits_change_nothing(
    served: Served, tmp_path: Path, option: str, value: str, says: str
) -> None:
    feed = write_feed(served, f"bad-{tmp_path.name}.xml", [10, 11])
    code, out, err = invoke(["add", feed, option, value], tmp_path)
    assert code == 1
    assert says in err and len(err.strip().splitlines()) == 1 and out == ""
    with open_store(load_settings(tmp_path).db_path) as store:
        assert store.list_shows() == []


def test_queue_bad_refs(served: Served, tmp_path: Path) -> None:
    feed = write_feed(served, f"refs-{tmp_path.name}.xml", [10, 11, 12])
    assert invoke(["add", feed, "--latest", "1"], tmp_path)[0] == 0
    for args, says in [
        (["queue", "999"], "No episode with id 999"),
        (["queue", "no such title"], "No episode matches"),
        (["queue", "Day 1"], "matches 3 episodes"),
        (["queue", "--show", "nope", "--all"], "No show is 'nope'"),
        (["queue", "--show", "1"], "podgrep queue --show SHOW --all"),
        (["queue"], "Name what to queue"),
        (["queue", "Day 10", "--all"], "queues that one episode: --all and --show go"),
        (["queue", "Day 10", "--show", "1", "--all"], "queues that one episode"),
        (["queue", "--all"], "Name what to queue"),
    ]:
        code, _, err = invoke(args, tmp_path)
        assert code == 1 and says in err and len(err.strip().splitlines()) == 1, (args, err)
    with open_store(load_settings(tmp_path).db_path) as store:
        assert store.status_counts()[0].held == 2


def _transcribed(store: Store, eid: int, model: str | None, *, source: str = "whisper") -> None:
    """Run the episode's transcribe job as the step does: a transcript of `source` begun and
    completed inside the job's attempt (None: no transcript, as a publisher's text keeps)."""
    store.set_duration(eid, 600.0)
    store.start_job(eid, "transcribe")
    if model is not None or source != "whisper":
        tid = store.open_transcript(eid, source, model, "en", None).id
        assert tid is not None
        store.complete_transcript(tid)
    time.sleep(0.03)
    store.finish_job(eid, "transcribe")


def test_measured_speed_counts_whisper_jobs_of_one_model(store_url: str) -> None:
    with open_store(store_url) as store:
        assert store.measured_speed() is None
        show_id, _ = store.add_show(Show(None, "http://127.0.0.1:9/s.xml", "S", kind="feed"))
        eps = [
            Episode(None, show_id, f"g{n}", f"E{n}", media_url=f"http://127.0.0.1:9/{n}.mp3")
            for n in range(9)
        ]
        ids = store.add_episodes(show_id, eps, hold={"g8"})
        assert store.get_episode(ids[8]).status == "held"
        # no Whisper ran: a publisher's transcript, an imported one, or none at all
        _transcribed(store, ids[0], None, source="publisher")
        _transcribed(store, ids[1], None)
        assert store.measured_speed() is None
        # a transcription resumed after a kill: begun in an attempt before the one on record
        resumed = store.open_transcript(ids[2], "whisper", "tiny.en", "en", None).id
        time.sleep(0.02)
        store.set_duration(ids[2], 600.0)
        store.start_job(ids[2], "transcribe")
        assert resumed is not None
        store.complete_transcript(resumed)
        store.finish_job(ids[2], "transcribe")
        assert store.measured_speed() is None
        # two tiny.en jobs and one base job: base is current but has too few, tiny.en is quoted
        for eid in ids[3:5]:
            _transcribed(store, eid, "tiny.en")
        _transcribed(store, ids[5], "base")
        speed = store.measured_speed("base")
        assert speed is not None and speed.model == "tiny.en" and speed.jobs == 2
        assert speed.audio_seconds == 1200.0 and 0 < speed.wall_seconds < 5
        assert speed.factor == 1200.0 / speed.wall_seconds
        # with as many base jobs the current model wins the tie; with enough, it is its own
        _transcribed(store, ids[6], "base")
        speed = store.measured_speed("base")
        assert speed is not None and (speed.model, speed.jobs) == ("base", 2)
        assert store.measured_speed("tiny.en").model == "tiny.en"  # type: ignore[union-attr]
        _transcribed(store, ids[7], "base")
        speed = store.measured_speed("base")
        assert speed is not None and (speed.model, speed.jobs) == ("base", 3)
        # queue_held only touches held episodes, and twice is once
        assert store.queue_held(ids) == [ids[8]] and store.queue_held(ids) == []
        assert len(store.jobs(ids[8])) == len(STEPS)


def test_plan_line() -> None:
    hour = [
        Episode(None, 1, "a", "A", duration=5400.0, status="new"),
        Episode(None, 1, "b", "B", duration=1800.0, status="new"),
        Episode(None, 1, "c", "C", duration=999.0, status="held"),
    ]
    line = plan_line(hour, MeasuredSpeed(600.0, 60.0, 1, "tiny.en"))
    assert line == (
        "2 episodes queued (2.0 h of audio, about 12 min at this machine's measured speed"
        " with tiny.en), 1 held"
    )
    line = plan_line(hour, KnownSpeed(23.0, "tiny.en", 2))
    assert line == (
        "2 episodes queued (2.0 h of audio, about 5 min at tiny.en's 23x real time"
        " benchmarked on 2 CPU cores (not measured here yet)), 1 held"
    )
    undated = [*hour, Episode(None, 1, "d", "D", status="new")]
    assert plan_line(undated, None).startswith("3 episodes queued (at least 2.0 h of audio,")
    assert plan_line(undated, None).endswith("speed not measured yet), 1 held")
    # no durations: said by the kind of source
    blank = [Episode(None, 1, "x", "X"), Episode(None, 1, "y", "Y")]
    assert "(the feed gives no durations)" in plan_line(blank, None)
    assert "(the files' lengths are read when they are transcribed)" in plan_line(
        blank, None, "folder"
    )
    assert "(its length is read when it is transcribed)" in plan_line(blank[:1], None, "file")
    assert "(the address gives no duration)" in plan_line(blank[:1], None, "url")


def test_known_speed_only_where_recorded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = replace(load_settings(tmp_path), device="cpu", compute_type="auto")
    for cores, factor in KNOWN_SPEEDS.items():
        monkeypatch.setattr(os, "cpu_count", lambda n=cores: n)
        assert known_speed(settings) == KnownSpeed(factor, "tiny.en", cores)
        assert known_speed(replace(settings, model="base")) is None  # not the bundled model
        assert known_speed(replace(settings, compute_type="float32")) is None
    monkeypatch.setattr(os, "cpu_count", lambda: 8)  # nothing recorded for 8 cores
    assert known_speed(settings) is None


def test_latest_keeps_undated_last_in_feed_order() -> None:
    eps = [
        Episode(None, 1, "u1", "U1"),
        Episode(None, 1, "old", "Old", published=1.0),
        Episode(None, 1, "u2", "U2"),
        Episode(None, 1, "new", "New", published=2.0),
    ]
    assert Backlog(latest=3).held(eps) == {"u2"}
    assert Backlog(since=1.5).held(eps) == {"old"}
    assert Backlog(latest=1, since=1.5).held(eps) == {"old", "u1", "u2"}


def test_held_episodes_on_the_web_pages(served: Served, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from podgrep.web import create_app

    feed = write_feed(served, f"web-{tmp_path.name}.xml", [10, 11])
    assert invoke(["add", feed, "--latest", "1"], tmp_path)[0] == 0
    with open_store(load_settings(tmp_path).db_path) as store:
        show_id = store.list_shows()[0].id
        held = by_title(store)["Day 10"].id
    app = create_app(load_settings(tmp_path))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        page = client.get(f"/shows/{show_id}")
        assert page.status_code == 200 and "held back" in page.text
        page = client.get(f"/episodes/{held}")
        assert page.status_code == 200 and f"podgrep queue {held}" in page.text
        shows = client.get("/api/shows")
        assert shows.status_code == 200 and shows.json()[0]["episodes"] == 2
