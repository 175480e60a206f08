"""The JSON shapes of the API (they also document it at /docs)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ShowOut(BaseModel):
    """A show with its episode counts."""

    id: int
    title: str
    kind: str
    feed_url: str
    author: str | None = None
    description: str | None = None
    image: str | None = None
    link: str | None = None
    language: str | None = None
    episodes: int = 0
    transcribed: int = 0
    failed: int = 0
    last_error: str | None = None
    paused: bool = Field(False, description="Paused (`podgrep pause`): not checked or synced")
    url: str


class EpisodeOut(BaseModel):
    """An episode's metadata and where its audio and transcript are."""

    id: int
    show_id: int
    show: str | None = None
    title: str
    published: float | None = Field(None, description="Unix seconds, UTC")
    published_iso: str | None = None
    duration: float | None = None
    status: str
    error: str | None = None
    media_url: str | None = None
    audio_url: str | None = None
    link: str | None = None
    url: str


class EpisodePage(BaseModel):
    """One page of a show's episodes, newest first."""

    show_id: int
    total: int
    limit: int
    offset: int
    episodes: list[EpisodeOut]


class ChapterOut(BaseModel):
    """A chapter: title and start second."""

    start: float
    title: str
    end: float | None = None
    url: str | None = None


class TranscriptInfo(BaseModel):
    """Which transcript an episode has."""

    source: str
    model: str | None
    language: str | None
    complete: bool
    segments: int


class EpisodeDetail(EpisodeOut):
    """An episode with sanitised show notes, chapters, transcript summary and export links."""

    show_notes_html: str = Field("", description="Sanitised HTML: no scripts or handlers")
    chapters: list[ChapterOut] = []
    transcript: TranscriptInfo | None = None
    exports: dict[str, str] = {}


class HitOut(BaseModel):
    """Where a query was said."""

    episode_id: int
    show_id: int | None
    show: str
    episode: str
    published: float | None
    start: float
    end: float
    text: str
    marks: list[tuple[int, int]] = Field(description="Character spans of text that matched")
    before: str | None = Field(None, description="The end of the segment before")
    after: str | None = Field(None, description="The start of the segment after")
    url: str = Field(description="The episode page opened at this second")
    speaker: str | None = Field(
        None, description="Who said it: the speaker's name, else its label (S1); none if unknown"
    )
    match: str = Field(
        "words",
        description='"words": the hit holds the query\'s words; "meaning": it does not, but its'
        " meaning is near the query's (above the relevance floor)",
    )


class SearchOut(BaseModel):
    """One page of search hits."""

    query: str
    mode: str  # the search mode that ran: keyword, semantic or hybrid
    limit: int
    offset: int
    has_more: bool
    count: int = Field(0, description="How many hits this page holds")
    hits: list[HitOut]


class SourceIn(BaseModel):
    """A feed URL or media URL to add."""

    url: str = Field(min_length=1, max_length=4000, description="http(s) feed, media or page URL")


class SourceOut(BaseModel):
    """What adding a source did."""

    show: ShowOut
    kind: str
    created: bool
    new_episodes: list[int]


class UploadOut(BaseModel):
    """Where an uploaded file went."""

    show: ShowOut
    episode_ids: list[int]
    file: str


class SyncIn(BaseModel):
    """Options of a sync."""

    retry: bool = Field(False, description="Also retry steps parked after repeated failures")
    refresh: bool = Field(True, description="Check feeds for new episodes first")


class SyncOut(BaseModel):
    """Whether a sync was started, and its progress."""

    started: bool
    sync: dict[str, Any]
    retried: int = 0


class RemovedOut(BaseModel):
    """What a removal took (`podgrep remove`)."""

    removed: str = Field(
        description="What was removed: show 3 'Title' or episode 12 'Title' (the title quoted"
        ' as Python writes a string: "It\'s" when it holds an apostrophe)'
    )
    episodes: int
    transcripts: int
    media_files: int = Field(
        description="Media files deleted (those no episode left in the library points at)"
    )
    bytes_freed: int


class JobsOut(BaseModel):
    """The state of work: the web sync's progress, job counts, running steps, failures."""

    sync: dict[str, Any]
    counts: dict[str, int]
    running: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    shows: list[dict[str, Any]]


class SpeakerOut(BaseModel):
    """One voice of an episode: its label (S1, S2, … by speech time) and, when known, its name."""

    id: int
    label: str
    name: str | None = None
    name_source: str | None = Field(
        None, description="user, feed, intro, address, notes or voiceprint"
    )
    role: str | None = None
    seconds: float = Field(0.0, description="Seconds of speech")
    share: float = Field(0.0, description="Share of the episode's speech, 0–1")
    segments: int = 0


class SpeakerRenameIn(BaseModel):
    """A new name for one speaker of an episode; an empty or null name clears it."""

    label: str = Field(
        ..., min_length=1, max_length=32, pattern=r"^\s*[A-Za-z0-9_-]+\s*$", examples=["S1"]
    )
    name: str | None = Field(None, max_length=200, examples=["Jane Doe"])
