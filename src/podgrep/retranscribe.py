"""`podgrep retranscribe`: transcribe episodes again with another model.

The request records the model on each episode (`episodes.model`) and puts its transcribe,
speakers and index steps back in the queue. The transcribe step then writes a Whisper
transcript of that model beside the old one, out of search (store/retranscription.py), and
resumes it window by window after a kill; once it is complete one transaction swaps it in and
deletes the old transcript (a publisher's or an import's too). The speakers step carries the
names a user gave to the voices that match (speakers/carry.py).

A request asks for nothing it cannot run: an episode `add --latest/--since` held back has no
jobs (`podgrep queue` gives it them), and a paused show's jobs are not claimed, so a
retranscription there runs only with `--queue-only` (it waits for `podgrep resume`). Media
kept as a 16 kbps Opus copy (keep_media) is what the new transcript is read from; media not
kept at all is fetched again by the transcribe step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podgrep.config import Settings
from podgrep.domain import Episode, Transcript
from podgrep.errors import PodgrepError
from podgrep.shows import find_episode, find_show
from podgrep.store import Store
from podgrep.store.backlog import HELD

if TYPE_CHECKING:
    from podgrep.jobs.worker import Reporter, RunSummary

WHISPER = "whisper"


@dataclass
class Plan:
    """What a retranscribe asks for, episode by episode."""

    model: str
    queued: list[Episode] = field(default_factory=list)  # transcribed again with `model`
    fresh: list[Episode] = field(default_factory=list)  # not transcribed yet: with `model`
    same: list[Episode] = field(default_factory=list)  # already `model`'s: nothing to do
    untranscribed: list[Episode] = field(default_factory=list)  # of a show: left to sync
    kept: list[Episode] = field(default_factory=list)  # publisher/import transcript (no --all)
    held: list[Episode] = field(default_factory=list)  # of a show: held back, not queued
    paused: int | None = None  # the show, when it is paused: queued only, for its resume

    @property
    def episode_ids(self) -> list[int]:
        """The episodes whose steps run again (queued and fresh)."""
        return [int(e.id or 0) for e in self.queued + self.fresh]

    def as_json(self, summary: RunSummary | None = None) -> dict[str, Any]:
        """What `retranscribe --json` prints: the episode ids by what was done to them and,
        when the work ran, which finished and which steps failed."""

        def ids(episodes: list[Episode]) -> list[int]:
            return [int(e.id or 0) for e in episodes]

        return {
            "model": self.model,
            "queued": ids(self.queued),
            "not_transcribed": ids(self.fresh),
            "unchanged": ids(self.same),
            "left_to_sync": ids(self.untranscribed),
            "kept": ids(self.kept),
            "held": ids(self.held),
            "ran": summary is not None,
            "done": sorted(set(summary.episodes_done)) if summary else [],
            "failed": [
                {"episode": e, "step": step, "error": error}
                for e, step, error in (summary.failures if summary else [])
            ],
        }


def report(planned: Plan, *, show: str | None = None) -> list[str]:
    """The lines telling the user what a retranscribe does (queued, or why not)."""
    model, lines = planned.model, []
    if show is None:
        for ep in planned.queued:
            lines.append(
                f"Retranscribing episode {ep.id} ({ep.title}) with {model}: its transcript stays"
                " searchable until the new one is complete."
            )
        for ep in planned.fresh:
            lines.append(
                f"Episode {ep.id} is not transcribed yet: it will be transcribed with {model}."
            )
        for ep in planned.same:
            lines.append(f"Episode {ep.id} is already transcribed with {model}: nothing to do.")
        return lines + _notes(planned)
    if planned.queued:
        lines.append(
            f"Retranscribing {len(planned.queued)} episode(s) with {model}: each transcript stays"
            " searchable until its new one is complete."
        )
    if planned.same:
        lines.append(f"{len(planned.same)} episode(s) already transcribed with {model}: left.")
    if planned.untranscribed:
        lines.append(
            f"{len(planned.untranscribed)} episode(s) not transcribed yet: `podgrep sync`"
            " transcribes them with the model setting."
        )
    if planned.kept:
        lines.append(
            f"{len(planned.kept)} episode(s) with the publisher's or an imported transcript"
            " kept: --all transcribes them too."
        )
    if planned.held:
        sid = planned.held[0].show_id
        lines.append(
            f"{len(planned.held)} episode(s) held, not queued (`add --latest/--since`):"
            f" `podgrep queue --show {sid} --all` queues them."
        )
    if not planned.queued:
        lines.append(f"Nothing to retranscribe with {model}.")
    return lines + _notes(planned)


def _notes(planned: Plan) -> list[str]:
    """`note:` lines: the show paused (the work waits for its resume), media kept as Opus."""
    lines = []
    if planned.paused is not None and planned.episode_ids:
        lines.append(
            f"note: show {planned.paused} is paused: the retranscription runs once"
            f" `podgrep resume {planned.paused}` resumes it."
        )
    opus = [e for e in planned.queued + planned.fresh if e.media_kept == "opus"]
    if len(opus) == 1:
        lines.append(
            f"note: episode {opus[0].id}'s media was kept as a 16 kbps Opus copy: the new"
            " transcript is read from it."
        )
    elif opus:
        lines.append(
            f"note: {len(opus)} episodes' media was kept as a 16 kbps Opus copy: their new"
            " transcripts are read from it."
        )
    return lines


def model_name(name: str) -> str:
    """The model as recorded on an episode: a name `podgrep models` knows or faster-whisper
    fetches, or a local model directory (made absolute); an unknown one is a ModelError."""
    from podgrep.asr.engine import resolve

    resolve(name)
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


def plan(
    store: Store,
    model: str,
    *,
    episode: str | None = None,
    show: str | None = None,
    every: bool = False,
    queue_only: bool = False,
) -> Plan:
    """Sort the episodes a retranscribe names by what it will do to each (nothing is changed).

    One EPISODE is transcribed again unless its transcript is already `model`'s (one not
    transcribed yet gets `model` for its first transcription). A SHOW's episodes whose
    transcript is Whisper's with another model are; with `every`, also those whose transcript
    came from the publisher or an import; its episodes not transcribed yet are left to sync,
    its held ones (`add --latest/--since`) to `podgrep queue`. A held EPISODE is a
    PodgrepError, and so is work for a paused show unless `queue_only` (then it waits).
    """
    if (episode is None) == (show is None):
        raise PodgrepError(
            "Name one EPISODE or give --show SHOW: `podgrep retranscribe 12 --model base`"
        )
    if every and show is None:
        raise PodgrepError("--all goes with --show SHOW: it takes every episode of the show")
    result = Plan(model)
    if episode is not None:
        episodes = [find_episode(store, episode)]
        if episodes[0].status == HELD:
            eid = episodes[0].id
            raise PodgrepError(
                f"Episode {eid} is held, not queued (`add --latest/--since`): `podgrep queue"
                f" {eid}` queues it, and sync transcribes it"
            )
        assert episodes[0].show_id is not None
        found = store.get_show(episodes[0].show_id)
    else:
        found = find_show(store, str(show), partial=True)
        episodes = sorted(store.list_episodes(found.id), key=lambda e: e.id or 0)
    if found.paused:
        result.paused = found.id
    for ep in episodes:
        assert ep.id is not None
        if ep.status == HELD:
            result.held.append(ep)
            continue
        sources = store.transcript_sources(ep.id)
        done = [t for t in sources if t.complete]
        if not done:
            (result.fresh if episode is not None else result.untranscribed).append(ep)
        elif (
            all(t.source == WHISPER and t.model == model for t in done)
            and len(done) == len(sources)  # nothing of another model half written beside it
            and ep.model in (None, model)
        ):
            result.same.append(ep)
        elif episode is None and not every and not any(t.source == WHISPER for t in done):
            result.kept.append(ep)
        else:
            result.queued.append(ep)
    if result.paused is not None and result.episode_ids and not queue_only:
        raise PodgrepError(
            f"Show {result.paused} is paused: `podgrep resume {result.paused}` first"
            " (or --queue-only queues the retranscription for then)"
        )
    return result


def request(store: Store, planned: Plan) -> int:
    """Queue the planned episodes' steps again with the model; return how many episodes."""
    ids = planned.episode_ids
    return store.requeue_transcription(ids, planned.model) if ids else 0


def retranscript(
    store: Store, ep: Episode, resumable: Transcript | None, language: str | None
) -> Transcript | None:
    """The transcript the transcribe step writes for an episode retranscribed with `ep.model`:
    the unfinished one of that model (resumed at its first window not written), else a new one;
    None when that model's transcript is complete already (a run killed just after the swap, or
    a request to go back to it): then it is swapped in again, which drops anything left beside
    it, and there is nothing to write."""
    assert ep.id is not None and ep.model
    if resumable is not None and resumable.model == ep.model:
        return resumable
    finished = [
        t.id
        for t in store.transcript_sources(ep.id)
        if t.complete and t.source == WHISPER and t.model == ep.model
    ]
    if finished:
        store.swap_transcript(ep.id, max(finished))
        return None
    # a half-written one of another model (an earlier request, a first transcription cut
    # short) would be searchable beside this one where the episode has no complete one
    store.drop_unfinished(ep.id, WHISPER, ep.model)
    if language:
        language = language.split("-")[0].lower()
    return store.open_transcript(ep.id, WHISPER, ep.model, language, None)


def run_episodes(
    settings: Settings,
    store: Store,
    episode_ids: list[int],
    reporter: Reporter | None = None,
    notify: Callable[[str], None] | None = None,
) -> RunSummary:
    """Run the pending steps of these episodes only (not the rest of the queue), one episode
    after another in this process, through the shared queue: a sync or worker running at the
    same time takes none of them twice. Each step is tried once."""
    from podgrep.fetch import MediaCache
    from podgrep.jobs.steps import StepContext
    from podgrep.jobs.worker import (
        LeaseKeeper,
        RunSummary,
        SilentReporter,
        StoreWait,
        Worker,
        worker_id,
    )

    since = time.time()  # a step that fails from now on is not tried again in this run
    summary = RunSummary()
    cache = MediaCache.for_settings(settings)
    try:
        ctx = StepContext(store, settings, cache, notify=notify)
        wait = StoreWait(settings.store_wait_seconds, notify)
        with LeaseKeeper(store, settings.lease_seconds, notify) as keeper:
            lane = Worker(ctx, worker_id(), keeper, wait, reporter or SilentReporter(), summary)
            for eid in episode_ids:
                while (claim := lane.claim(since, episode_id=eid)) is not None:
                    if not lane.run(claim):
                        break
    finally:
        cache.close()
    return summary
