"""The storage ports: what the rest of podgrep needs from a library's database, as typed
Protocols. Both stores (store/sqlite, store/postgres) implement every one of them; nothing
outside `store/` sees a connection, a row or a line of SQL, only these methods and the
dataclasses of domain.py. `runtime.open_store` is the one place a concrete store is named."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from podgrep.domain import (
    Chapter,
    Claim,
    Episode,
    Failure,
    Job,
    PassageInfo,
    RunningJob,
    Segment,
    SegmentMatch,
    SharedLink,
    Show,
    ShowCounts,
    Speaker,
    StoredLink,
    Transcript,
    TranscriptSource,
    Word,
)

if TYPE_CHECKING:
    from podgrep.query import Query
    from podgrep.store.backlog import MeasuredSpeed
    from podgrep.store.removal import Removal
    from podgrep.store.sql import NextJob, QueuePosition, StoreStats


class Catalog(Protocol):
    """The shows and episodes of a library, and what their feeds and notes give them."""

    def add_show(self, show: Show) -> tuple[int, bool]:
        """Insert a show unless its feed URL is known; return (id, created). A new show keeps
        `show.typed`; a known one is left as it is."""
        ...

    def mark_remote(self, show_id: int | None, episode_ids: list[int]) -> None:
        """Record that a show and/or episodes were added by a remote API caller."""
        ...

    def update_show(self, show_id: int, show: Show) -> None:
        """Refresh a show's metadata and conditional-GET state after a feed fetch."""
        ...

    def mark_show_checked(self, show_id: int, error: str | None = None) -> None:
        """Record a feed check that changed nothing (304) or failed with `error`."""
        ...

    def get_show(self, show_id: int) -> Show:
        """The show with this id."""
        ...

    def show_by_url(self, feed_url: str) -> Show | None:
        """The show added from this feed URL (or pseudo-URL), if any."""
        ...

    def show_holding(self, title: str, guids: list[str]) -> Show | None:
        """A feed show of this title that already holds most of these episode guids: the
        same podcast under another address."""
        ...

    def move_show(self, show_id: int, feed_url: str, *, typed: bool = True) -> bool:
        """Give a show the address its feed moved to (`typed`: one the user gave, not one
        the feed announced); False (nothing changed) when another show already has that
        address."""
        ...

    def set_feed_xml(self, show_id: int, data: bytes | None) -> None:
        """Keep the raw bytes of a show's feed as just fetched (None, or over the cap: none)."""
        ...

    def feed_xml(self, show_id: int) -> bytes | None:
        """The raw feed `set_feed_xml` kept for the show (None: none kept)."""
        ...

    def list_shows(self) -> list[Show]:
        """Every show, in the order added."""
        ...

    def show_errors(self) -> dict[int, str]:
        """The last feed error per show, for shows whose last check failed."""
        ...

    def show_episode_ids(self, show: str) -> set[int]:
        """Episodes of the shows a `--show` filter names (title part or id), as search reads
        it."""
        ...

    def add_episodes(
        self, show_id: int, episodes: list[Episode], hold: Collection[str] = ()
    ) -> list[int]:
        """Insert episodes not yet known (by show and guid) with their jobs; return the new
        ids. Those whose guid is in `hold` are recorded `held`, without jobs."""
        ...

    def queue_held(self, episode_ids: Sequence[int]) -> list[int]:
        """Give each held episode among these its jobs and status `new`; return the ids
        queued (store/backlog.py)."""
        ...

    def measured_speed(self, model: str | None = None) -> MeasuredSpeed | None:
        """This library's transcription speed from its finished Whisper transcribe jobs, of
        `model` when it has enough of them, else of the model with the most (see
        store/backlog.py); None before any was measured."""
        ...

    def get_episode(self, episode_id: int) -> Episode:
        """The episode with this id."""
        ...

    def list_episodes(self, show_id: int | None = None) -> list[Episode]:
        """Episodes, newest first (per show when `show_id` is given)."""
        ...

    def episode_count(self, show_id: int | None) -> int:
        """How many episodes a show has."""
        ...

    def find_episodes(self, text: str) -> list[Episode]:
        """Episodes whose guid equals `text` or whose title contains it (case-
        insensitive)."""
        ...

    def set_media(self, episode_id: int, sha256: str, path: str) -> None:
        """Record where an episode's media bytes lie in the cache."""
        ...

    def set_keep_media(self, show_id: int, keep: str | None) -> None:
        """A show's own `keep_media` (None: the setting's)."""
        ...

    def set_media_kept(self, episode_id: int, kept: str, path: str | None) -> None:
        """What retention left of an episode's media: `kept` and the file now kept (None)."""
        ...

    def episodes_using(self, path: str) -> list[int]:
        """The episodes whose media is the file at `path`."""
        ...

    def media_files(self) -> list[tuple[int, str]]:
        """(show id, media path) of every episode with media on disk."""
        ...

    def listened_episodes(self, show_id: int | None = None) -> list[Episode]:
        """Episodes whose audio no step needs any more (speakers done, none queued again)
        and whose media is still on disk."""
        ...

    def set_duration(self, episode_id: int, duration: float) -> None:
        """Record the measured duration of an episode's audio."""
        ...

    def set_status(self, episode_id: int, status: str, error: str | None = None) -> None:
        """Set an episode's pipeline status (and its last error)."""
        ...

    def chapter_rows(self, episode_id: int) -> list[Chapter]:
        """An episode's stored chapters in order, `location` read back from its JSON."""
        ...

    def set_chapters(self, episode_id: int, chapters: Iterable[Any]) -> None:
        """Replace an episode's stored chapters (objects with start, end, title, url, img,
        toc, source, location; an untitled chapter has title "")."""
        ...

    def link_rows(self, episode_id: int) -> list[StoredLink]:
        """An episode's links, notes first, in the order found."""
        ...

    def set_links(self, episode_id: int, links: Iterable[Any]) -> None:
        """Replace an episode's links (objects with url, title, origin, start)."""
        ...

    def shared_links(self, show_id: int, minimum: int = 2) -> list[SharedLink]:
        """Links found in at least `minimum` episodes of a show, most shared first, with a
        title."""
        ...

    def show_texts(self, show_id: int) -> Iterator[str]:
        """The text of every shown segment of a show's best transcripts, one segment at a
        time."""
        ...

    def show_version(self, show_id: int) -> tuple[int, int]:
        """Changes whenever a show gains episodes or transcript text (a cache key)."""
        ...

    def removal_preview(
        self, *, show_id: int | None = None, episode_id: int | None = None
    ) -> Removal:
        """What removing the show or the episode would take (episodes, transcripts, media
        no other episode uses), changing nothing; NotFoundError for an unknown id."""
        ...

    def remove_show(self, show_id: int) -> list[str]:
        """Delete a show and everything of it in one transaction (store/removal.py); return
        the media paths no episode left uses, for the caller to delete after the commit."""
        ...

    def remove_episode(self, episode_id: int) -> list[str]:
        """Delete one episode and everything of it in one transaction; return the media
        paths no other episode uses."""
        ...

    def set_paused(self, show_id: int, paused: bool) -> None:
        """Pause a show (not checked, its jobs not claimed) or resume it."""
        ...


class Transcripts(Protocol):
    """Transcripts, written a window at a time (each one transaction) or replaced whole,
    and read back."""

    def open_transcript(
        self,
        episode_id: int,
        source: str,
        model: str | None,
        language: str | None,
        language_prob: float | None,
    ) -> Transcript:
        """The unfinished transcript of this source and model to resume, or a new one."""
        ...

    def windows_done(self, transcript_id: int) -> int:
        """How many audio windows of this transcript are fully written."""
        ...

    def windows(self, transcript_id: int) -> tuple[float | None, list[tuple[int, int]]]:
        """The window target (seconds) and the cuts fixed so far for this transcript."""
        ...

    def set_windows(
        self, transcript_id: int, target: float, windows: list[tuple[int, int]]
    ) -> None:
        """Store the window target and the cuts planned so far (they only ever grow)."""
        ...

    def set_language(self, transcript_id: int, language: str | None, prob: float | None) -> None:
        """Record the transcript's language and the detector's confidence."""
        ...

    def drop_partial_window(self, transcript_id: int) -> int:
        """Delete segments of windows not finished (left by a killed run); return how
        many."""
        ...

    def add_segment(self, transcript_id: int, segment: Segment, window: int) -> int:
        """Write one segment (searchable at once); return its id."""
        ...

    def add_window(self, transcript_id: int, window: int, segments: list[Segment]) -> None:
        """Write a finished window's segments and mark it done, all in one transaction."""
        ...

    def insert_segments(self, transcript_id: int, segments: list[Segment], window: int) -> None:
        """Append segments to a transcript inside the caller's transaction: each gets the
        next idx, and each shown segment's searchable text ends with the first words of the
        shown segment after it (so a phrase said across the boundary is found). Sets each
        segment's id and idx. One batch of rows, one update of the segment written before
        them."""
        ...

    def finished_transcript(self, episode_id: int, source: str) -> bool:
        """True when the episode has a complete transcript from this source."""
        ...

    def resumable_transcript(self, episode_id: int, source: str) -> Transcript | None:
        """The newest unfinished transcript of this source, whatever its model, if any."""
        ...

    def finish_window(self, transcript_id: int, window: int) -> None:
        """Mark audio window `window` fully written: a resumed run starts after it."""
        ...

    def complete_transcript(self, transcript_id: int) -> None:
        """Mark a transcript finished (searchable, where it was written out of search)."""
        ...

    def drop_unfinished(self, episode_id: int, source: str, model: str) -> int:
        """Delete the episode's unfinished transcripts of `source` and another model than
        `model` (a retranscription with `model` supersedes them); return how many."""
        ...

    def swap_transcript(self, episode_id: int, transcript_id: int) -> int:
        """Make a finished retranscription the episode's only transcript in one transaction:
        searchable, complete, every other transcript deleted with its segments, full-text rows
        and passages; return how many were deleted (store/retranscription.py)."""
        ...

    def transcript_for(self, episode_id: int) -> Transcript | None:
        """The episode's best transcript with its segments (complete first, newest
        first)."""
        ...

    def segments(self, transcript_id: int) -> list[Segment]:
        """All segments of a transcript in order."""
        ...

    def segment_count(self) -> int:
        """Segments in the whole library."""
        ...

    def segments_about(self) -> int:
        """About how many segments the library holds (the largest id: instant at any
        size)."""
        ...

    def replace_transcript(
        self,
        episode_id: int,
        source: str,
        model: str | None,
        language: str | None,
        segments: list[Segment],
        *,
        whole: bool = False,
    ) -> int:
        """Store a whole transcript of `source` in one transaction, its named speakers as
        the episode's speakers P1, P2…; return its id."""
        ...

    def transcript_sources(self, episode_id: int) -> list[TranscriptSource]:
        """The transcripts an episode has: id, source, model, complete, segment count."""
        ...

    def segment_speakers(self, segment_ids: list[int]) -> dict[int, str]:
        """Who said each segment: the speaker's name, else its label (unlabelled:
        absent)."""
        ...

    def next_segments(
        self, places: list[tuple[int, int]]
    ) -> dict[tuple[int, int], tuple[str, list[Word], float]]:
        """For each (transcript id, idx): the text, words and end of the segment after it;
        places with none are absent. One query."""
        ...

    def passage_segments(
        self, transcript_id: int, first_idx: int, last_idx: int
    ) -> list[tuple[str, str | None]]:
        """The text and speaker (name, else label) of each segment of a passage, in
        order."""
        ...

    def segment_context(self, segment_ids: list[int]) -> dict[int, tuple[str | None, str | None]]:
        """For each segment id: the text of the segments just before and just after it."""
        ...


class Speakers(Protocol):
    """Who spoke: the speakers of each episode and the voiceprints of each show."""

    def labelled(self, transcript_id: int) -> bool:
        """True when every segment of the transcript has a speaker (the step is done)."""
        ...

    def list_speakers(self, episode_id: int) -> list[Speaker]:
        """The episode's speakers, most speech first."""
        ...

    def refresh_voiceprints(self, show_id: int) -> int:
        """Rebuild the show's voiceprints from its named speakers; return how many there
        are."""
        ...

    def rename_speaker(self, episode_id: int, label: str, name: str | None) -> Speaker:
        """Give a speaker of an episode a name (None clears it); return the speaker."""
        ...

    def save_diarization(
        self,
        episode_id: int,
        transcript_id: int,
        speakers: list[tuple[Speaker, np.ndarray | None]],
        segments: list[tuple[Segment, int, int]],
    ) -> None:
        """Replace the episode's speakers and rewrite the transcript's segments,
        atomically."""
        ...

    def segment_windows(self, transcript_id: int) -> dict[int, int]:
        """The audio window each segment (by idx) was transcribed in."""
        ...

    def speaker_segments(self, episode_id: int) -> dict[int, int]:
        """How many segments each speaker (by id) has in the episode's transcripts."""
        ...

    def speaker_vectors(self, episode_id: int) -> dict[str, np.ndarray]:
        """Each speaker's voice centroid, by label."""
        ...

    def unname_raw_labels(
        self, episode_id: int, source: str, is_raw: Callable[[str], bool]
    ) -> None:
        """Speakers `source` named with what `is_raw` calls a diarizer's numbering
        (`SPEAKER_00`, `spk_1`) keep that as their label (when no other speaker of the
        episode has it) and lose the name: hits show the label and the user can name them
        (`name` is for names)."""
        ...

    def voiceprints(self, show_id: int) -> dict[str, np.ndarray]:
        """The show's voiceprints: name -> normed voice vector."""
        ...


class SearchIndex(Protocol):
    """The full-text index: it takes a parsed, backend-neutral Query and renders it
    itself (FTS5 on SQLite, tsquery on PostgreSQL)."""

    def match_segments(
        self, query: Query, *, limit: int, offset: int = 0, show: str | None = None
    ) -> list[SegmentMatch]:
        """Segments matching a parsed query, best first (the `-words` are left to the
        caller, which checks them on the text it shows)."""
        ...

    def term_counts(self, terms: list[str]) -> dict[str, int]:
        """How many segments hold each stemmed term (0 for a term never said)."""
        ...

    def widen(self, prefix: str) -> list[str]:
        """The words said that begin with `prefix` but whose stems do not (so the index's
        own prefix match misses them), at most MOST_WIDENED of them."""
        ...

    def optimize_index(self) -> None:
        """Keep the full-text index fast as the library grows."""
        ...


class Vectors(Protocol):
    """Passages of transcript text with their sentence vectors, and the nearest ones to a
    question."""

    def write_passages(
        self,
        transcript_id: int,
        model: str,
        spans: list[tuple[int, int, float, float]],
        vectors: np.ndarray,
    ) -> None:
        """Store a transcript's passages (first idx, last idx, start, end) with their unit
        vectors, replacing its passages of any model."""
        ...

    def nearest(
        self, vector: np.ndarray, k: int, episodes: set[int] | None, model: str, dim: int
    ) -> list[tuple[int, float]]:
        """The k passages of `model` nearest a unit vector, among those of `episodes` when
        given: (passage id, cosine), best first."""
        ...

    def has_passages(self, model: str) -> bool:
        """Whether any passage has a vector of `model`."""
        ...

    def transcripts_without_passages(
        self, model: str, episode_id: int | None = None
    ) -> list[int]:
        """Complete transcripts that have segments but no passages embedded with `model` (of
        one episode, when given)."""
        ...

    def passage_hits(self, passage_ids: list[int]) -> dict[int, PassageInfo]:
        """Passage details for hits: span, text of its segments, episode, show, first
        segment id."""
        ...

    def passages_of_segments(self, segment_ids: list[int]) -> dict[int, list[int]]:
        """For each segment id, every passage that covers it (passages overlap, so usually
        two)."""
        ...


class JobQueue(Protocol):
    """The jobs table: each episode's steps, their attempts and errors, in queue order."""

    def pending_work(self, max_attempts: int) -> list[tuple[int, str]]:
        """(episode id, next step) for each episode with a step left to run, in queue order:
        by show, newest published first; a parked step holds back its episode's later
        steps."""
        ...

    def next_job(self, max_attempts: int, after: QueuePosition | None = None) -> NextJob | None:
        """The first runnable step in queue order (pending_work's first entry), or the first
        one past `after`: an index lookup, never a scan of the job table."""
        ...

    def claim_job(
        self,
        worker: str,
        max_attempts: int,
        lease_seconds: float,
        *,
        steps: Sequence[str] | None = None,
        episode_id: int | None = None,
        failed_before: float | None = None,
    ) -> Claim | None:
        """Atomically claim the first runnable step in queue order for `worker`, with a lease
        of `lease_seconds` (a job whose lease ran out is taken over); `steps` and `episode_id`
        narrow the choice, `failed_before` passes over steps that failed since then."""
        ...

    def renew_lease(self, claim: Claim, lease_seconds: float) -> bool:
        """Extend a held job's lease; False when the claim lost it."""
        ...

    def expire_lease(self, episode_id: int, step: str, worker: str) -> bool:
        """End the lease of a running job whose worker is known to be dead."""
        ...

    def start_job(self, episode_id: int, step: str, lease_seconds: float = 3600) -> int:
        """Mark a step running and count the attempt, whoever holds it (claim_job is how
        workers take jobs); return the attempt number."""
        ...

    def finish_job(self, episode_id: int, step: str, claim: Claim | None = None) -> bool:
        """Mark a step done (with `claim`: only while the job is still that claim's)."""
        ...

    def fail_job(
        self,
        episode_id: int,
        step: str,
        error: str,
        *,
        park: bool,
        max_attempts: int,
        charge: bool = True,
        claim: Claim | None = None,
    ) -> bool:
        """Record a failed attempt; `park` stops retries at once (the input itself is bad);
        `charge=False` gives the attempt back (a full disk is not the episode's fault); with
        `claim`, only while the job is still that claim's."""
        ...

    def retry_failed(self) -> int:
        """Give parked steps a fresh set of attempts; return how many."""
        ...

    def requeue_transcription(self, episode_ids: Sequence[int], model: str) -> int:
        """Record `model` on the episodes and put their transcribe, speakers and index steps
        back to pending with fresh attempts, in one transaction; return how many episodes."""
        ...

    def release_job(self, episode_id: int, step: str, claim: Claim | None = None) -> bool:
        """Give back a started attempt that was not the episode's fault (e.g. no model); with
        `claim`, only while the job is still that claim's."""
        ...

    def park_abandoned(self, max_attempts: int) -> int:
        """Fail, parked, running jobs whose worker died in every one of `max_attempts`."""
        ...

    def jobs(self, episode_id: int | None = None) -> list[Job]:
        """Job rows (optionally for one episode)."""
        ...

    def job_counts(self) -> dict[str, int]:
        """How many job steps are pending, running, done and failed in the whole library."""
        ...

    def status_counts(self) -> list[ShowCounts]:
        """Per show: episode counts by status."""
        ...

    def failures(self) -> list[Failure]:
        """Failed steps with their episode, attempts and last error."""
        ...

    def running_jobs(self, *, expired: bool = False) -> list[RunningJob]:
        """Steps a worker holds a live lease on (with `expired`, also those whose lease ran
        out): worker, start and lease of each."""
        ...


class Store(Catalog, Transcripts, Speakers, SearchIndex, Vectors, JobQueue, Protocol):
    """A library's store: all the ports, plus where it is and how to hold a transaction."""

    kind: str  # "sqlite" | "postgresql"

    @property
    def location(self) -> str:
        """Where the library lives, as shown to the user (a path, or a URL without password)."""
        ...

    @property
    def schema_version(self) -> int:
        """The migration version this database is at."""
        ...

    def stats(self) -> StoreStats:
        """What `podgrep db status` prints."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Run a block atomically: all its writes land, or none."""
        ...

    def close(self) -> None:
        """Let go of the connection(s)."""
        ...

    def for_thread(self) -> Store:
        """This store for use on another thread: SQLite opens a connection of its own (its
        connections stay in their thread; the caller closes it), PostgreSQL returns itself
        (its pool is shared by threads)."""
        ...

    def bulk_load(self) -> AbstractContextManager[None]:
        """Load much at once: a store may put off index upkeep till the block ends."""
        ...

    def sync_lock(
        self, on_wait: Callable[[], None] | None = None
    ) -> AbstractContextManager[bool]:
        """Hold the library's feed-check lock for the block (PostgreSQL: a session advisory
        lock, so syncs from other machines wait for it; SQLite: nothing, the home's file lock
        does it); yields True when it had to wait for another sync's check of the feeds
        (`on_wait` is told before it waits)."""
        ...

    def __enter__(self) -> Store: ...

    def __exit__(self, *exc: object) -> None: ...
