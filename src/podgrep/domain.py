"""Plain dataclasses shared by every layer. Times are float seconds everywhere."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Person:
    """A `podcast:person` entry: a named host, guest or other contributor."""

    name: str
    role: str = "host"
    group: str = "cast"
    img: str | None = None
    href: str | None = None


@dataclass
class TranscriptRef:
    """A `podcast:transcript` link a publisher put on an episode."""

    url: str
    type: str
    language: str | None = None
    rel: str | None = None


@dataclass
class Show:
    """A podcast (or a pseudo-show grouping single URLs or a local folder)."""

    id: int | None
    feed_url: str
    title: str
    kind: str = "feed"  # feed | url | local
    author: str | None = None
    description: str | None = None
    image: str | None = None
    language: str | None = None
    link: str | None = None
    persons: list[Person] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    last_checked: float | None = None
    new_feed_url: str | None = None  # the feed's <itunes:new-feed-url>: it has moved there
    remote: bool = False  # added by a remote API caller: every fetch held to the content rules
    typed: bool = True  # feed_url is what the user typed (not where the feed moved itself)
    paused: bool = False  # neither checked nor synced until resumed
    keep_media: str | None = None  # original | opus | none; None: the `keep_media` setting
    check_every: float | None = None  # seconds the feed asks between checks (ttl, updateFrequency)
    check_failures: int = 0  # failed checks in a row (a failing feed is backed off)

    @property
    def chosen_by_user(self) -> bool:
        """Whether the user chose `feed_url` themselves: added here (not by a remote caller)
        and not moved since by the feed. Only such an address is fetched wherever it is."""
        return bool(self.typed) and not self.remote


@dataclass
class Episode:
    """One episode: metadata from the source plus where its media lives."""

    id: int | None
    show_id: int | None
    guid: str
    title: str
    media_url: str | None = None
    media_type: str | None = None
    media_length: int | None = None
    published: float | None = None  # unix seconds, UTC
    duration: float | None = None
    link: str | None = None
    show_notes_html: str | None = None
    image: str | None = None
    transcripts: list[TranscriptRef] = field(default_factory=list)
    chapters_url: str | None = None
    persons: list[Person] = field(default_factory=list)
    media_sha256: str | None = None
    media_path: str | None = None
    status: str = "new"
    error: str | None = None
    remote: bool = False  # added by a remote API caller: its media held to the content rules
    model: str | None = None  # the model a retranscription asked for (None: the setting)
    # original | opus | none once retention ran (None: not yet); copy-failed: the original,
    # its Opus copy failed (not tried again until `podgrep keep-media SHOW opus`)
    media_kept: str | None = None
    added: float | None = None  # when the library recorded it (unix seconds), read back


@dataclass
class Word:
    """A word with its timing and the model's confidence."""

    start: float
    end: float
    word: str
    probability: float = 1.0


@dataclass
class Segment:
    """A stretch of transcript text with its timing, words and quality flags."""

    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    speaker: str | None = None  # the speaker's name, else their label (S1, S2, …)
    flags: list[str] = field(default_factory=list)
    idx: int = 0
    id: int | None = None
    speaker_id: int | None = None
    language: str | None = None  # the language it was read in (None: the transcript's)
    # how sure the detector was of that language, when it was detected (not stored)
    language_prob: float | None = None


@dataclass
class Speaker:
    """One voice of an episode: its label (S1, S2, … by speech time) and, when known, its name."""

    episode_id: int
    label: str
    name: str | None = None
    name_source: str | None = None  # user | feed | intro | address | notes | voiceprint
    role: str | None = None
    seconds: float = 0.0
    id: int | None = None
    confidence: float | None = None  # evidence score of an automatic name

    @property
    def display(self) -> str:
        """What transcripts show: the name, else the label."""
        return self.name or self.label


@dataclass
class Transcript:
    """All segments of one episode from one source (`whisper` or `publisher`)."""

    episode_id: int | None
    source: str
    model: str | None
    language: str | None
    segments: list[Segment] = field(default_factory=list)
    language_prob: float | None = None
    id: int | None = None
    complete: bool = False


@dataclass
class Chapter:
    """A stretch of an episode, from `start` seconds (chapters JSON 1.2: the title is optional,
    "" when there is none)."""

    start: float
    title: str
    end: float | None = None
    url: str | None = None
    img: str | None = None
    toc: bool = True  # false: a chapter kept out of the table of contents (still in exports)
    source: str = "feed"  # feed | notes | transcript | generated
    location: dict[str, str] | None = None  # chapters JSON `location`: name, geo, osm


@dataclass
class Hit:
    """A search result: where in which episode the query was said."""

    episode_id: int
    show: str
    episode: str
    start: float
    end: float
    text: str
    segment_id: int
    score: float
    marks: list[tuple[int, int]] = field(default_factory=list)  # matched spans of `text`
    speaker: str | None = None  # who said it: the speaker's name, else its label (S1)
    match: str = "words"  # "words": it holds the query's words; "meaning": only its meaning is near


@dataclass
class SegmentMatch:
    """A segment the full-text index matched, with what a hit needs to be drawn from it."""

    segment_id: int
    transcript_id: int
    idx: int
    start: float
    end: float
    text: str
    search_text: str
    words: list[Word]
    episode_id: int
    episode: str
    show: str
    speaker: str | None
    score: float  # lower is better (BM25 on SQLite, negated ts_rank_cd on PostgreSQL)


@dataclass
class Job:
    """One step of one episode in the job queue."""

    episode_id: int
    step: str
    state: str  # pending | running | done | failed
    attempts: int = 0
    lease_until: float | None = None
    error: str | None = None
    updated: float = 0.0
    id: int | None = None
    worker: str | None = None  # who claimed it last ("host:pid/lane")
    started: float | None = None  # when that claim began


@dataclass
class ShowCounts:
    """A show with its episodes counted by status (what `podgrep status` prints)."""

    id: int
    title: str
    kind: str
    feed_url: str
    last_error: str | None
    episodes: int = 0
    new: int = 0
    fetched: int = 0
    transcribed: int = 0
    failed: int = 0
    paused: bool = False  # `podgrep pause`: neither checked nor synced
    held: int = 0  # recorded by `add --latest/--since`, not queued (`podgrep queue`)


@dataclass
class Failure:
    """A step that failed, with its episode and last error."""

    episode_id: int
    title: str
    show: str
    step: str
    attempts: int
    error: str | None


@dataclass
class RunningJob:
    """A step a worker has claimed: who, since when, and till when its lease holds (a lease
    in the past means the worker stopped renewing it: it died, and the step is free again)."""

    episode_id: int
    step: str
    attempts: int
    title: str
    show_id: int
    worker: str | None = None
    started: float | None = None
    lease_until: float | None = None


@dataclass(frozen=True)
class Claim:
    """A job a worker claimed from the queue: it holds the step until it finishes, fails,
    gives it back, or stops renewing the lease."""

    job_id: int
    episode_id: int
    step: str
    attempt: int  # this claim's attempt number (1 for the first)
    worker: str
    started: float
    lease_until: float


@dataclass
class TranscriptSource:
    """One of an episode's transcripts: where it came from and how much it holds."""

    id: int
    source: str
    model: str | None
    language: str | None
    complete: bool
    segments: int


@dataclass
class PassageInfo:
    """A passage of a transcript found by meaning: its span, text, episode and show."""

    id: int
    transcript_id: int
    first_idx: int
    last_idx: int
    start: float
    end: float
    episode_id: int
    episode: str
    show: str
    show_id: int
    text: str
    segment_id: int | None


@dataclass
class StoredLink:
    """A link of an episode: from its notes, or said in it."""

    url: str
    title: str | None
    origin: str  # notes | spoken
    start: float | None = None
    episode_id: int | None = None


@dataclass
class SharedLink:
    """A link several episodes of a show give: in how many, its most given title, and the
    first episode (lowest id) that has it."""

    url: str
    episodes: int
    title: str | None
    first_episode: int
