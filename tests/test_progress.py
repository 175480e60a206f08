"""Progress of a real sync (real feed, real media, tiny.en, diarization, embeddings): the
transcription bar advances as chunks are decoded inside a window, the speakers and index steps
report their own progress, and a failed step's bar stops its clock (issue #13)."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from rich.console import Console

from podgrep.config import load_settings
from podgrep.domain import Episode
from podgrep.fetch import MediaCache
from podgrep.jobs.local import run_pending
from podgrep.jobs.steps import StepContext
from podgrep.progress import ConsoleReporter
from podgrep.runtime import open_store
from tests.conftest import Served, invoke


class Recording(ConsoleReporter):
    """The terminal reporter (Rich bars drawn into a buffer) noting every call it gets."""

    def __init__(self) -> None:
        super().__init__(Console(file=io.StringIO(), force_terminal=True, width=120))
        self.calls: list[tuple[str, str, str, float | None, float | None]] = []
        self.lane = threading.local()  # the step each lane (thread) is running
        self.tasks: dict[tuple[str, str], object] = {}  # (episode title, step) -> its Rich task
        self.windows: list[tuple[float, float]] = []  # the transcript's windows (seconds)
        self.failed: set[tuple[int, str]] = set()
        self.titles: dict[int, str] = {}

    def start(self, ep: Episode, step: str) -> None:
        assert ep.id is not None
        self.titles[ep.id] = ep.title
        self.lane.step, self.lane.title = step, ep.title
        self.calls.append(("start", ep.title, step, None, None))
        super().start(ep, step)

    def advance(self, done: float, total: float | None) -> None:
        self.calls.append(("advance", self.lane.title, self.lane.step, done, total))
        super().advance(done, total)

    def finish(self, ep: Episode, step: str, error: str | None) -> None:
        self.calls.append(("finish", ep.title, step, None, None))
        task = self.task()
        assert self.progress is not None and task is not None
        self.tasks[(ep.title, step)] = next(t for t in self.progress.tasks if t.id == task)
        super().finish(ep, step, error)

    def advances(
        self, step: str, title: str = "A conversation"
    ) -> list[tuple[float, float | None]]:
        """What the step told for the episode: (done, total) in order."""
        return [
            (d, t)
            for kind, e, s, d, t in self.calls
            if kind == "advance" and s == step and e == title and d is not None
        ]


@pytest.fixture(scope="module")
def run(served: Served, tmp_path_factory: pytest.TempPathFactory) -> tuple[Recording, Path]:
    """One sync of a feed with a real conversation and a corrupt file, recorded."""
    home = tmp_path_factory.mktemp("progress")
    url = served.write_feed(
        "progress.xml",
        "Progress Show",
        [
            ("A conversation", "progress-conv", "conversation_a.mp3", "audio/mpeg"),
            ("Dead link", "progress-dead", "progress-gone.mp3", "audio/mpeg"),
            ("Cut short", "progress-truncated", "truncated.flac", "audio/flac"),
        ],
    )
    code, _, err = invoke(["add", url], home)
    assert code == 0, err
    # windows of 10 min over a 5 min file, two chunks of speech per batch: the bar must move
    # inside a window, as its batches finish
    settings = load_settings(home, window_seconds=600, batch_size=2)
    reporter = Recording()
    with (
        open_store(settings.home / "podgrep.db") as store,
        MediaCache(settings.media_dir, settings=settings) as cache,
    ):
        summary = run_pending(StepContext(store, settings, cache), reporter)
        reporter.close()
        conversation = next(e for e in store.list_episodes() if e.title == "A conversation")
        assert conversation.id is not None
        transcript = store.transcript_for(conversation.id)
        assert transcript is not None and transcript.id is not None
        _, cuts = store.windows(transcript.id)
    # two windows: the first short (plan.FIRST_WINDOW_SECONDS), the second the rest of the file
    assert len(cuts) == 2
    reporter.windows = [(a / 16000, b / 16000) for a, b in cuts]
    reporter.failed = {(ep, step) for ep, step, _ in summary.failures}
    assert len(summary.failures) == 2
    return reporter, home


def _moves_forward(values: list[float]) -> bool:
    return all(b > a for a, b in zip(values, values[1:], strict=False))


def test_transcription_advances_inside_a_window(run: tuple[Recording, Path]) -> None:
    reporter, _ = run
    advances = reporter.advances("transcribe")
    total = advances[-1][1]
    assert total is not None and 300 < total < 330
    done = [d for d, _ in advances]
    assert _moves_forward(done)
    for start, end in reporter.windows:  # each window told as its batches were decoded
        inside = [d for d in done if start < d < end - 0.5]
        assert len(inside) >= 2, (start, end, advances)
    assert done[-1] == pytest.approx(total, abs=1.0)
    task = reporter.tasks[("A conversation", "transcribe")]
    assert task.finished  # type: ignore[attr-defined]


def test_speakers_and_index_report_their_own_progress(run: tuple[Recording, Path]) -> None:
    reporter, _ = run
    speakers = reporter.advances("speakers")
    total = speakers[0][1]
    assert total is not None and 300 < total < 330
    assert all(t == total for _, t in speakers)
    assert len([d for d, _ in speakers if 0 < d < total]) >= 2, speakers
    assert _moves_forward([d for d, _ in speakers][:-1])  # the last: the step's own end
    assert speakers[-1][0] >= speakers[-2][0]
    index = reporter.advances("index")
    assert [d for d, _ in index] == [0, 1, 2, 3, 4] and {t for _, t in index} == {4}
    for step in ("speakers", "index"):
        assert reporter.tasks[("A conversation", step)].finished  # type: ignore[attr-defined]


def test_a_failed_step_stops_its_clock(run: tuple[Recording, Path]) -> None:
    reporter, _ = run
    assert reporter.progress is not None
    now = {t.id: t for t in reporter.progress.tasks}
    failed = {reporter.titles[ep]: step for ep, step in reporter.failed}
    assert failed.keys() == {"Dead link", "Cut short"}
    for title, step in failed.items():
        task = now[reporter.tasks[(title, step)].id]  # type: ignore[attr-defined]
        assert task.stop_time is not None, title  # the elapsed column no longer counts
        assert task.elapsed == task.stop_time - task.start_time  # type: ignore[operator]
        assert f"✗ {step} {title}" in str(task.description)
    # the dead link never got going: it is not drawn as done either
    assert not now[reporter.tasks[("Dead link", "fetch")].id].finished  # type: ignore[attr-defined]
