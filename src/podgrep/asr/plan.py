"""Planning the work: audio streams into windows cut in pauses, and windows into chunks of speech.

A *window* (a few minutes) is what is committed to the store and where a resumed run restarts.
A *chunk* is up to 30 s (`chunk_seconds`) of VAD speech from one window, its regions joined end
to end, that the model decodes in one pass. Both depend only on the audio, the window target and
`chunk_seconds`, so a resumed run with the same settings plans exactly what an uninterrupted one
did.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from podgrep import audio
from podgrep.audio import SAMPLE_RATE

CHUNK_SECONDS = 30.0  # Whisper's window, and the default longest chunk
MARGIN_SECONDS = 1.0  # silence a chunk keeps in its window (ctranslate: ENCODE_MARGIN_FRAMES)
FIRST_WINDOW_SECONDS = 120.0  # a short first window: decoding starts sooner (see plan_windows)


@dataclass
class Chunk:
    """Speech regions of one window, joined into at most 30 s of audio."""

    regions: list[tuple[int, int]]  # absolute sample ranges, in order
    audio: np.ndarray

    @property
    def seconds(self) -> float:
        """Length of the joined speech."""
        return sum(b - a for a, b in self.regions) / SAMPLE_RATE

    def to_absolute(self, start: float, end: float) -> tuple[float, float]:
        """Map a span in the joined audio (seconds) to the episode's timeline (seconds).

        A word the aligner stretched over the seam between two regions is moved to the region
        that holds most of it, so it never starts inside the pause that was cut out.
        """
        s, e = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
        offset = 0
        for i, (a, b) in enumerate(self.regions):
            length = b - a
            last = i == len(self.regions) - 1
            if s < offset + length or last:
                if e > offset + length and not last:
                    inside, beyond = offset + length - s, e - (offset + length)
                    if beyond > inside:  # mostly in the next region: start there
                        na, _ = self.regions[i + 1]
                        return na / SAMPLE_RATE, (na + e - offset - length) / SAMPLE_RATE
                    e = offset + length
                abs_s = a + min(max(s - offset, 0), length)
                abs_e = a + min(max(e - offset, 0), length)
                return abs_s / SAMPLE_RATE, max(abs_e, abs_s) / SAMPLE_RATE
            offset += length
        return 0.0, 0.0  # no regions

    def offset_of(self, moment: float) -> int:
        """The sample of the joined audio at `moment` on the episode's timeline (seconds);
        a moment in a pause that was cut out maps to the start of the region after it."""
        at, offset = int(moment * SAMPLE_RATE), 0
        for a, b in self.regions:
            if at < b:
                return offset + max(0, at - a)
            offset += b - a
        return offset

    def cut(self, at: int) -> tuple[Chunk, Chunk]:
        """The chunk split at sample `at` of its joined audio: what is before, what is after."""
        before: list[tuple[int, int]] = []
        after: list[tuple[int, int]] = []
        offset = 0
        for a, b in self.regions:
            if offset + b - a <= at:
                before.append((a, b))
            elif offset >= at:
                after.append((a, b))
            else:
                before.append((a, a + at - offset))
                after.append((a + at - offset, b))
            offset += b - a
        return Chunk(before, self.audio[:at]), Chunk(after, self.audio[at:])


@dataclass
class Window:
    """A stretch of the episode, cut in a pause, and the chunks of speech inside it."""

    index: int
    start: int  # samples
    end: int
    chunks: list[Chunk] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Length of the window."""
        return (self.end - self.start) / SAMPLE_RATE


def chunk_limit(window_seconds: float) -> float:
    """The longest chunk of speech read in a model window of `window_seconds`: the whole of
    Whisper's 30 s, or a shorter window less MARGIN_SECONDS, so that the chunk is encoded at
    that window's length (`ctranslate.encode_frames`) and not at the next one up."""
    if window_seconds >= CHUNK_SECONDS:
        return CHUNK_SECONDS
    return max(1.0, window_seconds - MARGIN_SECONDS)


def pack(
    samples: np.ndarray, offset: int, regions: list[tuple[int, int]], limit: float = CHUNK_SECONDS
) -> list[Chunk]:
    """Join consecutive speech regions into chunks of at most `limit` seconds.

    `regions` are relative to `samples`; the chunks hold absolute positions (`offset` added).
    """
    chunks: list[Chunk] = []
    current: list[tuple[int, int]] = []
    length = 0
    cap = int(limit * SAMPLE_RATE)

    def close() -> None:
        parts = [samples[a:b] for a, b in current]
        chunks.append(Chunk([(a + offset, b + offset) for a, b in current], np.concatenate(parts)))

    for a, b in regions:
        b = min(b, a + cap)
        if current and length + (b - a) > cap:
            close()
            current, length = [], 0
        current.append((a, b))
        length += b - a
    if current:
        close()
    return chunks


class _Buffer:
    """Samples from a block iterator, with an absolute position for the first one held."""

    def __init__(self, blocks: Iterable[np.ndarray], start: int) -> None:
        self._blocks = iter(blocks)
        self._parts: list[np.ndarray] = []
        self._held = 0
        self.start = start
        self.ended = False

    def fill(self, samples: int) -> np.ndarray:
        """Up to `samples` samples from the current start (fewer only at the end of the audio)."""
        while self._held < samples and not self.ended:
            try:
                block = next(self._blocks)
            except StopIteration:
                self.ended = True
                break
            self._parts.append(block)
            self._held += len(block)
        if len(self._parts) > 1:
            self._parts = [np.concatenate(self._parts)]
        return self._parts[0][:samples] if self._parts else np.zeros(0, np.float32)

    def drop(self, samples: int) -> None:
        """Forget the first `samples` samples."""
        if self._parts:
            self._parts = [self._parts[0][samples:]]
        self._held -= samples
        self.start += samples


def plan_windows(
    blocks: Iterable[np.ndarray],
    target_seconds: float,
    *,
    known: list[tuple[int, int]] | None = None,
    first: int = 0,
    vad: bool = True,
    chunk_seconds: float = CHUNK_SECONDS,
) -> Iterator[Window]:
    """Cut streamed audio into windows of about `target_seconds` and plan their chunks.

    `blocks` must start at the first sample of window `first`. Windows whose cuts are `known`
    (fixed by an earlier run) keep them; later ones are cut in the quietest moment between half
    and 1.25 times the target, preferring the target. The first window is at most
    FIRST_WINDOW_SECONDS long: the model waits for its VAD, not a whole window's (measured: about
    a second less idle at the start of every episode). Without `vad` every window is cut into
    plain chunks of the longest length. `chunk_seconds` is the model's window a chunk is read in
    (30 or 20: `chunk_limit`).
    """
    limit = chunk_limit(chunk_seconds)
    known = list(known or [])  # a copy: the caller keeps appending cuts as windows arrive
    full = int(target_seconds * SAMPLE_RATE)
    start = known[first][0] if first < len(known) else (known[-1][1] if known else 0)
    buffer = _Buffer(blocks, start)
    index = first
    while True:
        if index < len(known):
            samples = buffer.fill(known[index][1] - buffer.start)
            cut = len(samples)
        else:
            target = min(full, int(FIRST_WINDOW_SECONDS * SAMPLE_RATE)) if index == 0 else full
            longest = int(target * 1.25)
            samples = buffer.fill(longest + 1)
            if len(samples) <= longest:  # the rest of the audio fits in one window
                cut = len(samples)
            else:
                cut = audio.quietest(samples[:longest], target // 2, longest, target)
        if cut == 0:
            return
        part = samples[:cut]
        if vad:
            regions = audio.speech_regions(part, max_seconds=limit)
        else:
            step = int(limit * SAMPLE_RATE)
            regions = [(a, min(a + step, cut)) for a in range(0, cut, step)]
        chunks = pack(part, buffer.start, regions, limit)
        yield Window(index, buffer.start, buffer.start + cut, chunks)
        buffer.drop(cut)
        index += 1
