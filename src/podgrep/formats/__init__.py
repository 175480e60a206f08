"""Transcript exports: a writer for every format we export.

Reading transcripts (SRT, WebVTT, SBV, TTML, JSON, text) is `podgrep.transcripts`' job; only
our own JSON is read back here (`read_json`), as its writer wrote it.
"""

from __future__ import annotations

from podgrep.domain import Transcript
from podgrep.errors import PodgrepError
from podgrep.formats.native_json import read_json, write_json
from podgrep.formats.podcast_json import write_podcast_json
from podgrep.formats.srt import write_srt
from podgrep.formats.text import timestamp, write_txt
from podgrep.formats.vtt import write_vtt

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "read_json",
    "render",
    "timestamp",
    "write_json",
    "write_podcast_json",
    "write_srt",
    "write_txt",
    "write_vtt",
]

FORMATS = ("srt", "vtt", "txt", "json", "podcast-json")
EXTENSIONS = {"srt": ".srt", "vtt": ".vtt", "txt": ".txt", "json": ".json", "podcast-json": ".json"}


def render(
    fmt: str, transcript: Transcript, *, title: str | None = None, show: str | None = None
) -> str:
    """Write a transcript in one of FORMATS (invented-text segments only in our own JSON)."""
    if fmt == "json":
        return write_json(transcript, title=title, show=show)
    # segments the guards flagged as hallucinated are kept for the record, never shown
    segments = [s for s in transcript.segments if "hallucination" not in s.flags]
    if fmt == "srt":
        return write_srt(segments)
    if fmt == "vtt":
        return write_vtt(segments)
    if fmt == "txt":
        return write_txt(segments)
    if fmt == "podcast-json":
        return write_podcast_json(segments)
    raise PodgrepError(f"Unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
