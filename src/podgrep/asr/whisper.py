"""The Whisper engine: streamed audio in, timed segments out, over a `Transcriber` port.

This module is the windowed, resumable loop: planning, batching, retries, rereads, guards,
languages and segments. Decoding itself is behind `asr.transcriber.Transcriber`; the default one
is CTranslate2 through faster-whisper (`asr.ctranslate`), on CPU or CUDA.

How it gets the speed of batching with the accuracy of careful decoding:

- Audio is decoded block by block and cut into windows in pauses (`plan.py`); VAD speech of a
  window is packed into chunks of up to 30 s (19 s with `chunk_seconds = 20`), so the model never
  decodes silence.
- First stage, per batch of a window: every chunk is encoded and decoded with beam search of
  FIRST_BEAM (3: on the tuning conversations as accurate as 5, at two thirds of its cost;
  greedy was less accurate). A chunk whose result looks wrong (a loop: high compression ratio;
  or a low log-probability) is decoded again with the full beam, and if it still looks wrong,
  as halves (twice at most). Chunks that are done are aligned for word times.
- Reading on: without timestamps Whisper often ends a chunk's text at a change of speaker and
  drops the rest of the chunk, however long (far fewer tokens than its speech could hold is
  how that looks). The aligned words show where it stopped: speech after the last word
  (READ_ON_SECONDS or more) is read as a piece of its own, and so on (see `_read_on`); a rest
  that reads wrong is retried and halved as a chunk is. This took deletions on
  conversation_four from 56 to 15 words, where a whole turn had gone, and reads nothing twice
  (halving a chunk that stopped early read its start again).
- Second stage, per window: the chunks the model was unsure of (average log-probability under
  REREAD_BELOW) are read again, batched, prompted with the text said before them (across
  batches, and from the previous window), as Whisper was trained; batching alone loses that
  context, and with it names, terms and accuracy on hard audio. Confident chunks rarely
  change when read again, so they are not.
- On CPU several model replicas with one thread each decode different batches at once: the
  decoder barely speeds up with more threads, so replicas use the cores far better. Encoding and
  word alignment run one chunk at a time, where CTranslate2 is fastest per chunk. Two windows are
  in flight, so one window's second stage overlaps the next one's first.
- Languages: with no language given, an English-only model's chunk that reads badly (a loop,
  or an average log-probability under LANGUAGE_CHECK_BELOW, as English-only models read other
  languages) has its language detected by the multilingual model, which reads it when it is
  not English; a multilingual model detects every chunk's language from its own encoder
  output, almost for free. So a recording that switches language is read in each language,
  and an English one costs nothing extra.
- Results are deterministic: a window's chunks are batched the same way on every run, no
  sampling is used, and a resumed run prompts its first window from the stored text of the one
  before, so it writes what an uninterrupted run would.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any

import numpy as np

from podgrep import audio
from podgrep.asr import malloc, plan, segments
from podgrep.asr.ctranslate import CTranslate2Transcriber
from podgrep.asr.plan import Chunk, Window
from podgrep.asr.timings import Timings
from podgrep.asr.transcriber import Encoded, Transcriber
from podgrep.config import Settings
from podgrep.domain import Segment, Word
from podgrep.errors import ModelError

LOOP_RATIO = 2.4  # compression ratio above which text is a repetition loop (Whisper's own)
LOW_LOGPROB = -0.6  # average log-probability below which a chunk is decoded again
MIN_TOKENS_PER_SECOND = 2.0  # fewer tokens than this per second of speech: decoding gave up
# (English speech runs at 3-4 tokens a second of VAD speech; at 1.2, a 30 s chunk decoded as
# its first sentence only went unnoticed: benchmarks/names.py names_three lost 12-28 s of its
# opening, WER 18.96% -> 10.61% at 2.0, no change on the other five benchmark files)
CONTEXT_TOKENS = 96  # tokens of the previous chunk's text given as the prompt
MIN_CONTEXT_TOKENS = 16  # fewer tokens of context (after a change of language) are none
HOTWORD_TOKENS = 64  # tokens of hotwords at most (with the context, far under Whisper's 223)
REREAD_BELOW = -0.25  # chunks read with an average log-probability under this are read again
REREAD_BEAM = 3  # the beam they are read again with
FIRST_BEAM = 3  # the first pass's beam (beam 5 reads no better here, greedy reads worse)
WINDOWS_IN_FLIGHT = 2  # windows decoded at once (the second stage of one, the first of the next)
READ_ON_SECONDS = 2.5  # speech left after a chunk's last word that is read on its own
READ_ON_TIMES = 3  # reading on from a piece read on, at most
READ_ON_FROM = 1.0  # seconds a piece's words must cover before it is read on from (progress)
NO_SPEECH = 0.6  # with a log-probability under -1: the chunk holds no speech
# An English-only model reading another language: measured on tests/data/multilingual.mp3, the
# German half reads at -0.57 (and loops); English chunks of the benchmark conversations at
# -0.07 to -0.24 (a loop can be confident: the German of multilingual.mp3 from 10 s on reads at
# -0.26, looping). Chunks under LANGUAGE_CHECK_SECONDS (a laugh, a word) read badly in any
# language and are not checked (on conversation_four a 3 s one loaded the multilingual model for
# nothing); the check itself reads the chunk's first seconds only (`detect_language`).
LANGUAGE_CHECK_BELOW = -0.4
LANGUAGE_CHECK_SECONDS = 5.0
LANGUAGE_SURE = 0.5  # a detected language below this probability is not trusted over English


@dataclass(eq=False)
class _Reader:
    """Who reads a chunk: a transcriber, its tokenizer for one language (with the hotwords)."""

    transcriber: Transcriber
    tokenizer: Any
    language: str
    hotword_tokens: list[int] = field(default_factory=list)


@dataclass(eq=False)
class _Piece:
    """A chunk (or half of one) with its encoder output and decoded tokens."""

    chunk: Chunk
    frames: int  # mel frames of the chunk's audio (the aligner needs the count)
    reader: _Reader
    features: np.ndarray | None = None  # dropped once encoded
    encoded: Encoded | None = None
    tokens: list[int] | None = None
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    text: str = ""
    compression_ratio: float = 0.0
    language_prob: float | None = None  # when the chunk's language was detected
    read_on: bool = False  # the speech after its last word was read as pieces of its own

    @property
    def silent(self) -> bool:
        return self.no_speech_prob > NO_SPEECH and self.avg_logprob < -1.0

    def problems(self) -> list[str]:
        """Why this result looks wrong; empty when it looks fine."""
        if self.silent:
            return []
        found = []
        if self.compression_ratio > LOOP_RATIO:
            found.append("loop")
        if self.avg_logprob < LOW_LOGPROB:
            found.append("unsure")
        if (
            not self.read_on
            and self.chunk.seconds >= 6
            and len(self.tokens or []) < MIN_TOKENS_PER_SECOND * self.chunk.seconds
        ):
            found.append("short")
        return found


def _retry(piece: _Piece) -> bool:
    """Whether a first reading is read again with the full beam (then in halves): a loop, an
    unsure result, or no text at all. One that is only short is read on after its last word
    instead (`WhisperEngine._read_on`), where halves would read its start a second time."""
    problems = piece.problems()
    return bool({"loop", "unsure"} & set(problems)) or (bool(problems) and not piece.tokens)


def _soundness(pieces: list[_Piece]) -> int:
    """Tokens of text that does not loop, minus tokens that do: more is better."""
    return sum(
        -len(p.tokens or []) if "loop" in p.problems() else len(p.tokens or []) for p in pieces
    )


def _unread(piece: _Piece, said: list[Word]) -> int:
    """Samples of the piece's audio after its last aligned word."""
    return len(piece.chunk.audio) - piece.chunk.offset_of(said[-1].end)


def _split(chunk: Chunk) -> list[Chunk]:
    """Two halves of a chunk: at the region seam nearest the middle, else its quietest moment."""
    half = len(chunk.audio) / 2
    if len(chunk.regions) >= 2:
        sizes = np.cumsum([b - a for a, b in chunk.regions])[:-1]
        k = int(np.argmin(np.abs(sizes - half))) + 1
        return list(chunk.cut(int(sizes[k - 1])))
    n = len(chunk.audio)
    return list(chunk.cut(audio.quietest(chunk.audio, n // 3, 2 * n // 3, n // 2)))


def _by_reader(pieces: list[_Piece]) -> list[list[_Piece]]:
    """The pieces grouped by who reads them, in order of first appearance."""
    groups: dict[int, list[_Piece]] = {}
    for p in pieces:
        groups.setdefault(id(p.reader), []).append(p)
    return list(groups.values())


class _Readers:
    """The readers of one transcription: the primary one (the engine's model in the language
    given, English if none) and, made on first need, one per other (transcriber, language)."""

    def __init__(
        self,
        primary: Transcriber,
        language: str | None,
        hotwords: str | None,
        multilingual: Callable[[], Transcriber | None] | None,
    ) -> None:
        self.given = language
        self.hotwords = hotwords
        self._multilingual = multilingual
        self._lock = threading.Lock()
        self._made: dict[tuple[int, str], _Reader] = {}
        self.primary = self.get(primary, language or "en")

    def get(self, transcriber: Transcriber, language: str) -> _Reader:
        key = (id(transcriber), language)
        with self._lock:
            if key not in self._made:
                tokenizer = transcriber.tokenizer(language)
                self._made[key] = _Reader(
                    transcriber, tokenizer, language, _hotword_tokens(tokenizer, self.hotwords)
                )
            return self._made[key]

    @property
    def detect_own(self) -> bool:
        """Whether every chunk's language is detected by the primary model (multilingual,
        and no language given)."""
        return self.given is None and self.primary.transcriber.multilingual

    def checker(self) -> Transcriber | None:
        """The multilingual model that checks the language of chunks an English-only primary
        reads badly, when no language was given (None: not wanted, or not installed)."""
        if self.given is not None or self.primary.transcriber.multilingual:
            return None
        if self._multilingual is None:
            return None
        with self._lock:
            return self._multilingual()


def _hotword_tokens(tokenizer: Any, hotwords: str | None) -> list[int]:
    """The tokens of the hotwords that lead every prompt: at most HOTWORD_TOKENS, cut at a
    word."""
    tokens: list[int] = []
    words = (hotwords or "").split()
    for n in range(1, len(words) + 1):  # whole words only, up to the cap
        more = tokenizer.encode(" " + " ".join(words[:n]))
        if len(more) > HOTWORD_TOKENS:
            break
        tokens = more
    return tokens


class WhisperEngine:
    """A Whisper model behind a `Transcriber`, turning streamed 16 kHz audio into segments."""

    def __init__(
        self,
        model: str = "tiny.en",
        *,
        device: str = "auto",
        compute_type: str = "auto",
        cpu_threads: int = 0,
        workers: int = 0,
        batch_size: int = 0,
        beam_size: int = 5,
        vad: bool = True,
        reread: bool = True,
        chunk_seconds: float = plan.CHUNK_SECONDS,
        transcriber: Transcriber | None = None,
        multilingual: Callable[[], Transcriber | None] | None = None,
    ) -> None:
        self.beam_size = max(1, beam_size)
        self.reread = reread
        self.vad = vad
        self.chunk_seconds = chunk_seconds
        self.timings = Timings()
        # when an English-only model meets a chunk that may be in another language
        self.multilingual = multilingual
        malloc.tune()  # before the worker threads start
        with self.timings.phase("model_load"):
            self.transcriber: Transcriber = transcriber or CTranslate2Transcriber(
                model,
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                workers=workers,
                batch_size=batch_size,
            )
        self.timings.mark("model_loaded")

    @property
    def name(self) -> str:
        return self.transcriber.name

    @property
    def device(self) -> str:
        return self.transcriber.device

    @property
    def compute_type(self) -> str:
        return self.transcriber.compute_type

    @property
    def workers(self) -> int:
        return self.transcriber.workers

    @property
    def threads(self) -> int:
        return self.transcriber.threads

    @property
    def batch_size(self) -> int:
        return self.transcriber.batch_size

    @property
    def notes(self) -> list[str]:
        return self.transcriber.notes

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        model: str | None = None,
        multilingual: Callable[[], Transcriber | None] | None = None,
    ) -> WhisperEngine:
        """The engine the settings ask for (model, device, threads, workers, batch, beam, VAD)."""
        return cls(
            model or settings.model,
            device=settings.device,
            compute_type=settings.compute_type,
            cpu_threads=settings.cpu_threads,
            workers=settings.workers,
            batch_size=settings.batch_size,
            beam_size=settings.beam_size,
            vad=settings.vad,
            reread=settings.reread,
            chunk_seconds=settings.chunk_seconds,
            multilingual=multilingual,
        )

    # -- transcription ---------------------------------------------------------------------

    def transcribe_stream(
        self,
        blocks: Iterable[np.ndarray],
        *,
        language: str | None,
        window_seconds: float = 600.0,
        known_windows: list[tuple[int, int]] | None = None,
        first: int = 0,
        on_window: Callable[[Window], None] | None = None,
        before: list[Segment] | None = None,
        on_progress: Callable[[float], None] | None = None,
        hotwords: str | None = None,
    ) -> Iterator[tuple[Window, list[Segment]]]:
        """Transcribe streamed audio window by window, in order.

        `blocks` start at window `first` (see `plan.plan_windows`). `language` None: each chunk's
        language is found as it is read (see the module's notes) and written on its segments.
        `on_window` is called when a window is planned, before any of it is decoded, so its cut
        can be stored first. `before` are the segments of the window before `first` (when
        resuming): a window's first chunk is read with the text of the window before it, as
        every other chunk is.
        `on_progress` is called on this thread with the seconds of audio decoded so far (from
        the start of window `first`) each time a batch of chunks is decoded: a window's length
        is shared out over its chunks by their speech.
        `hotwords` (names and terms the episode's metadata spells, see `asr.hotwords`) lead
        every chunk's prompt, as faster-whisper's `hotwords` do: the same for every chunk, so
        batched prompts still line up and a resumed run prompts as the first did.
        """
        readers = _Readers(self.transcriber, language, hotwords, self.multilingual)
        decoded = _Decoded(on_progress)
        windows: queue.Queue = queue.Queue(maxsize=1)
        stop = threading.Event()

        def produce() -> None:
            try:
                planned = plan.plan_windows(
                    blocks,
                    window_seconds,
                    known=known_windows,
                    first=first,
                    vad=self.vad,
                    chunk_seconds=self.chunk_seconds,
                )
                while True:
                    with self.timings.phase("plan"):  # decoding the audio and its VAD
                        window = next(planned, None)
                    if window is None:
                        break
                    while not stop.is_set():
                        try:
                            windows.put(window, timeout=0.2)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                windows.put(None)
            except BaseException as exc:  # handed to the consumer, raised there
                windows.put(exc)

        producer = threading.Thread(target=produce, name="podgrep-plan", daemon=True)
        producer.start()
        pool = _PriorityPool(self.workers)
        # a window waits on its batches in a thread of its own, so that while one window's
        # second stage runs, the next window's first stage keeps the other workers busy
        coordinators = ThreadPoolExecutor(WINDOWS_IN_FLIGHT, thread_name_prefix="podgrep-win")
        pending: deque[tuple[Window, Future]] = deque()
        resumed = list(before) if before else None  # the stored window before the first
        previous: Future | None = None
        handed_out: threading.Event | None = None  # the window before's second stage
        try:
            while True:
                item = windows.get()
                if isinstance(item, BaseException):
                    raise item
                if item is None:
                    break
                if on_window:
                    on_window(item)
                text_before: Callable[[_Reader], list[int]] | None = None
                if previous is not None:  # the text of the window before, once it is done
                    text_before = partial(self._context_tokens_of, previous)
                elif resumed is not None:
                    text_before = partial(self._context_tokens, resumed)
                staged = threading.Event()
                previous = coordinators.submit(
                    self._decode_window,
                    item.chunks,
                    readers,
                    partial(pool.submit, item.index),
                    text_before,
                    decoded.share(item.seconds) if on_progress else None,
                    handed_out,
                    staged,
                )
                handed_out = staged
                pending.append((item, previous))
                while len(pending) >= WINDOWS_IN_FLIGHT:
                    window, future = pending.popleft()
                    yield window, self._window_done(decoded.wait(future))
            while pending:
                window, future = pending.popleft()
                yield window, self._window_done(decoded.wait(future))
        finally:
            stop.set()
            pool.shutdown()  # a waiting window then gives up
            coordinators.shutdown(wait=True, cancel_futures=True)
            while producer.is_alive():  # unblock a producer waiting on a full queue
                with contextlib.suppress(queue.Empty):
                    windows.get(timeout=0.1)
            malloc.give_back()

    def _window_done(self, found: list[Segment]) -> list[Segment]:
        self.timings.mark("first_window")
        return found

    def _decode_window(
        self,
        chunks: list[Chunk],
        readers: _Readers,
        submit: Callable[..., Future],
        before: Callable[[_Reader], list[int]] | None = None,
        progress: Callable[[float | None], None] | None = None,
        after: threading.Event | None = None,
        staged: threading.Event | None = None,
    ) -> list[Segment]:
        """All segments of one window, from batches decoded on the worker pool.

        First stage: every batch is encoded, decoded (beam FIRST_BEAM), retried where it looks
        wrong, read on after its last word where it stopped early,
        and the chunks that are done are aligned. Second stage: the chunks the model was unsure
        of are read again with the text before them as the prompt (it may come from another
        batch, or for the first chunk from `before`: the text of the previous window), batched
        again, and aligned. `progress` is given each batch's share of the window (0 to 1) as
        it is decoded. The first stage waits for `after` (the window before has handed out its
        second stage, which then runs first: workers cannot drop a batch they hold), and `staged`
        is set once this window's second stage is handed out.
        """
        try:
            if after is not None:
                after.wait()
            return self._decode_window_now(chunks, readers, submit, before, progress, staged)
        finally:
            if staged is not None:
                staged.set()

    def _decode_window_now(
        self,
        chunks: list[Chunk],
        readers: _Readers,
        submit: Callable[..., Future],
        before: Callable[[_Reader], list[int]] | None,
        progress: Callable[[float | None], None] | None,
        staged: threading.Event | None,
    ) -> list[Segment]:
        speech = sum(c.seconds for c in chunks) or 1.0
        batches = self._even_parts(chunks, max(self._batch_count(chunks), self.workers))
        stage = [
            submit(self._first_stage, batch, readers, first=k == 0 and before is None)
            for k, batch in enumerate(batches)
        ]
        if progress is not None:
            for batch, future in zip(batches, stage, strict=True):
                future.add_done_callback(partial(_batch_decoded, progress, batch, speech))
        done = [item for future in stage for item in future.result()]
        targets = [i for i, (_, segs) in enumerate(done) if segs is None]
        before = cache(before) if before else None  # waits for the window before once a reader
        contexts = {i: self._text_before(i, done, before) for i in targets}
        parts = self._even_parts(targets, max(self._batch_count(targets), self.workers))
        second = [
            submit(
                self._second_stage,
                [done[i][0][0] for i in part],
                [contexts[i] for i in part],
                readers,
            )
            for part in parts
        ]
        if staged is not None:
            staged.set()
        for part, future in zip(parts, second, strict=True):
            for i, segs in zip(part, future.result(), strict=True):
                done[i] = (done[i][0], segs)
            if progress is not None:
                progress(sum(0.5 * chunks[i].seconds for i in part) / speech)
        if progress is not None:
            progress(None)  # the window is done: whatever of it is left
        return [seg for _, segs in done for seg in segs or []]

    @staticmethod
    def _text_before(
        i: int,
        done: list[tuple[list[_Piece], list[Segment] | None]],
        before: Callable[[_Reader], list[int]] | None,
    ) -> list[int]:
        """The prompt for chunk i: the last CONTEXT_TOKENS tokens said before it.

        Taken across chunks (and from the previous window) when the chunk before is short:
        prompts in one batch must have the same length, so one short prompt would cut all.
        Only text read by the same reader counts (another model's tokens, another language's
        words): the context ends where the language changed, and a few tokens of it are none
        (they would cut every prompt of the batch to their length).
        """
        reader = done[i][0][0].reader
        tokens: list[int] = []
        for group, _ in reversed(done[:i]):
            if any(p.reader is not reader for p in group):
                return tokens[-CONTEXT_TOKENS:] if len(tokens) >= MIN_CONTEXT_TOKENS else []
            tokens = [t for p in group for t in p.tokens or []] + tokens
            if len(tokens) >= CONTEXT_TOKENS:
                return tokens[-CONTEXT_TOKENS:]
        if before is not None:
            tokens = before(reader) + tokens
        return tokens[-CONTEXT_TOKENS:]

    @staticmethod
    def _context_tokens(segments: list[Segment], reader: _Reader) -> list[int]:
        """The prompt a window's text gives the next one: its last words, as tokens.

        Made from the segments' text, so that a resumed run, which reads the previous window
        from the store, prompts exactly as an uninterrupted one. Only the window's last
        stretch in the reader's language counts: text before a change of language is not what
        was just said.
        """
        said: list[str] = []
        for seg in reversed(segments):
            if {"hallucination", "no_speech"} & set(seg.flags):
                continue
            if (seg.language or reader.language) != reader.language:
                break
            said.insert(0, seg.text)
        text = " ".join(" ".join(said).split()[-CONTEXT_TOKENS:])
        return reader.tokenizer.encode(" " + text)[-CONTEXT_TOKENS:] if text else []

    def _context_tokens_of(self, window: Future, reader: _Reader) -> list[int]:
        """The prompt the window before gives `reader`, once that window is done."""
        return self._context_tokens(window.result(), reader)

    def _batch_count(self, items: list) -> int:
        """How many batches of at most `batch_size` the items need."""
        return -(-len(items) // self.batch_size)

    @staticmethod
    def _even_parts(items: list, count: int) -> list[list]:
        """The items in order, in at most `count` parts of near-equal size.

        A window's chunks go in `_batch_count` parts; the second stage's few chunks are spread
        over the workers as well, so a small reread does not wait on one replica.
        """
        if not items:
            return []
        size = -(-len(items) // min(count, len(items)))
        return [items[i : i + size] for i in range(0, len(items), size)]

    def decode_chunks(
        self, chunks: list[Chunk], *, language: str | None, hotwords: str | None = None
    ) -> list[Segment]:
        """Segments of planned chunks decoded as one window, on the calling thread."""
        readers = _Readers(self.transcriber, language, hotwords, self.multilingual)
        return self._decode_window(chunks, readers, _run_now)

    def transcribe(
        self, samples: np.ndarray, *, language: str | None, hotwords: str | None = None
    ) -> list[Segment]:
        """All segments of a clip already in memory (short audio, tests, the `transcribe` verb)."""
        step = 10 * audio.SAMPLE_RATE
        blocks = (samples[i : i + step] for i in range(0, len(samples), step))
        stream = self.transcribe_stream(blocks, language=language, hotwords=hotwords)
        return [s for _, segs in stream for s in segs]

    # -- one batch -------------------------------------------------------------------------

    def _encode(self, pieces: list[_Piece]) -> None:
        """Encoder output of each piece (grouped by transcriber), features dropped."""
        for group in _by_reader(pieces):
            transcriber = group[0].reader.transcriber
            with self.timings.phase("encode"):
                encoded = transcriber.encode([p.features for p in group if p.features is not None])
            assert len(encoded) == len(group), "every piece has features before it is encoded"
            for p, enc in zip(group, encoded, strict=True):
                p.encoded, p.features = enc, None

    def _generate(
        self,
        pieces: list[_Piece],
        beam: int,
        context: list[list[int]] | None = None,
        phase: str = "first_pass",
    ) -> None:
        """Decode pieces (one call per reader, and per prompt length)."""
        context = context or [[] for _ in pieces]
        if len(_by_reader(pieces)) > 1:
            for group in _by_reader(pieces):
                at = [i for i, p in enumerate(pieces) if p in group]
                self._generate(group, beam, [context[i] for i in at], phase)
            return
        if any(context) and not all(context):  # prompts must line up: two calls
            bare = [i for i, c in enumerate(context) if not c]
            rest = [i for i, c in enumerate(context) if c]
            self._generate([pieces[i] for i in bare], beam, phase=phase)
            self._generate([pieces[i] for i in rest], beam, [context[i] for i in rest], phase)
            return
        reader = pieces[0].reader
        length = min(CONTEXT_TOKENS, *(len(c) for c in context))
        hot = list(reader.hotword_tokens)  # before the text said before
        prompts = [
            reader.transcriber.prompt(
                reader.tokenizer, hot + (c[len(c) - length :] if length else [])
            )
            for c in context
        ]
        encoded = [p.encoded for p in pieces if p.encoded is not None]
        assert len(encoded) == len(pieces), "every piece is encoded before it is decoded"
        with self.timings.phase(phase):
            results = reader.transcriber.generate(
                encoded, prompts, beam=beam, tokenizer=reader.tokenizer
            )
        for p, r in zip(pieces, results, strict=True):
            p.tokens = r.tokens
            p.avg_logprob = r.avg_logprob
            p.no_speech_prob = r.no_speech_prob
            p.text = reader.tokenizer.decode(r.tokens)
            p.compression_ratio = segments.compression_ratio(p.text)

    def _piece(self, chunk: Chunk, reader: _Reader) -> _Piece:
        with self.timings.phase("features"):
            features = reader.transcriber.features(chunk.audio)
        return _Piece(chunk, features.shape[-1], reader, features)

    def _first_stage(
        self, chunks: list[Chunk], readers: _Readers, *, first: bool
    ) -> list[tuple[list[_Piece], list[Segment] | None]]:
        """Encode and decode a batch, retry what looks wrong, and align what is done.

        Each chunk comes back with its pieces and its segments; segments are None for a chunk
        left for the second stage (see `_wants_context`).
        """
        pieces = [self._piece(c, readers.primary) for c in chunks]
        self._encode(pieces)
        if readers.detect_own:
            self._detect_own(pieces, readers)
        self._generate(pieces, min(FIRST_BEAM, self.beam_size))
        pieces = self._check_languages(pieces, readers)
        outcome: list[list[_Piece]] = [[p] for p in pieces]
        retry = [i for i, p in enumerate(pieces) if _retry(p)] if self.beam_size > 1 else []
        again = self._read_again([pieces[i] for i in retry], "retries")
        for i, parts in zip(retry, again, strict=True):
            outcome[i] = parts
        done: list[tuple[list[_Piece], list[Segment] | None]] = []
        ready: list[_Piece] = []
        for i, group in enumerate(outcome):
            if self._wants_context(group, readers, first=first and i == 0):
                done.append((group, None))
            else:
                done.append((group, []))
                ready += group
        words = self._align(ready)
        became = self._complete(ready, words, readers)
        for group, segs in done:
            if segs is not None:
                group[:] = [q for p in group for q in became[id(p)]]
                segs.extend(self._segments(group, [words[id(p)] for p in group]))
        for p in ready:
            p.encoded = None  # done with it: keep the window's memory small
        self.timings.mark("first_batch")
        return done

    def _detect_own(self, pieces: list[_Piece], readers: _Readers) -> None:
        """Each piece's language, from the multilingual primary's own encoder output."""
        transcriber = readers.primary.transcriber
        with self.timings.phase("language"):
            found = transcriber.languages([p.encoded for p in pieces if p.encoded is not None])
        for p, (language, prob) in zip(pieces, found, strict=True):
            if p.chunk.seconds < LANGUAGE_CHECK_SECONDS:  # a laugh, a word: no switch on it
                continue
            p.language_prob = prob
            if language != p.reader.language and prob >= LANGUAGE_SURE:
                p.reader = readers.get(transcriber, language)

    def _check_languages(self, pieces: list[_Piece], readers: _Readers) -> list[_Piece]:
        """Pieces an English-only primary read badly, checked for another language by the
        multilingual model and read by it in the language it hears (see the module's notes)."""
        suspects = [
            i
            for i, p in enumerate(pieces)
            if not p.silent
            and (p.avg_logprob < LANGUAGE_CHECK_BELOW or p.compression_ratio > LOOP_RATIO)
            and p.chunk.seconds >= LANGUAGE_CHECK_SECONDS
        ]
        if not suspects:
            return pieces
        checker = readers.checker()
        if checker is None:
            return pieces
        result = list(pieces)
        moved = []
        for i in suspects:
            with self.timings.phase("language"):
                language, prob = checker.detect_language(pieces[i].chunk.audio)
            if language == "en" or prob < LANGUAGE_SURE:
                result[i].language_prob = prob if language == "en" else None
                continue
            piece = self._piece(pieces[i].chunk, readers.get(checker, language))
            piece.language_prob = prob
            result[i] = piece
            moved.append(piece)
        self._encode(moved)
        if moved:
            self._generate(moved, 1)
        return result

    def _wants_context(self, group: list[_Piece], readers: _Readers, *, first: bool) -> bool:
        """Whether a chunk is read again with the text before it as the prompt.

        The first pass decodes chunks side by side, blind to each other. Given the words just
        said, as in training, Whisper spells names and terms consistently and follows the
        thread. That only changes chunks the model was unsure of, so only those (average
        log-probability under REREAD_BELOW) are read again: measured on the benchmark
        conversations, that keeps the accuracy of rereading all of them at a third of the cost.
        """
        return (
            self.reread
            and not first
            and len(group) == 1
            and group[0].avg_logprob < REREAD_BELOW
            and not group[0].silent
            and group[0].reader.transcriber is readers.primary.transcriber
        )

    def _second_stage(
        self, pieces: list[_Piece], contexts: list[list[int]], readers: _Readers
    ) -> list[list[Segment]]:
        """Read chunks again, batched, prompted with the text before each; align them.

        The encoder output is reused, so this costs one decode. A chunk keeps its first
        reading when the second looks worse or loses text.
        """
        again = [
            _Piece(p.chunk, p.frames, p.reader, encoded=p.encoded, language_prob=p.language_prob)
            for p in pieces
        ]
        prompted = [i for i, c in enumerate(contexts) if c]
        if prompted:
            self._generate(
                [again[i] for i in prompted],
                min(REREAD_BEAM, self.beam_size),
                [contexts[i] for i in prompted],
                phase="reread",
            )
        kept = []
        for i, (first, piece) in enumerate(zip(pieces, again, strict=True)):
            worse = len(piece.problems()) > len(first.problems())
            lost = len(piece.tokens or []) < 0.8 * len(first.tokens or [])
            kept.append(first if i not in prompted or worse or lost else piece)
        words = self._align(kept)
        became = self._complete(kept, words, readers)
        found = []
        for p in kept:
            group = became[id(p)]
            found.append(self._segments(group, [words[id(q)] for q in group]))
        return found

    def _complete(
        self, pieces: list[_Piece], words: dict[int, list[Word]], readers: _Readers
    ) -> dict[int, list[_Piece]]:
        """What each aligned piece becomes, in time order, by its id: itself (or its halves,
        when its few words were stretched over it: `_halve_stretched`) and the pieces read on
        after its last word (`_read_on`); `words` gets the new pieces' words."""
        after = self._read_on(pieces, words, readers)
        halved = self._halve_stretched(pieces, words)
        return {id(p): [*halved.get(id(p), [p]), *after.get(id(p), [])] for p in pieces}

    def _read_on(
        self, pieces: list[_Piece], words: dict[int, list[Word]], readers: _Readers
    ) -> dict[int, list[_Piece]]:
        """Pieces for the speech each decoding left unread after its last word.

        Decoding without timestamps, Whisper often ends a chunk's text at a change of speaker
        and drops the rest, however long; the aligned words show where it stopped. The speech
        after the last word (READ_ON_SECONDS or more, once the words cover READ_ON_FROM) is
        read as a piece of its own (beam FIRST_BEAM, the full beam when it looks wrong),
        aligned, and read on from again, at most READ_ON_TIMES times; what reads as no speech
        or a loop is left out; a rest that reads wrong is retried with the full beam and in
        halves (`_split_until_sound`) first. A rest of 5 s or more is read by the primary
        reader first and its language found as a chunk's is, so a speaker back in English
        after a German stretch is read in English. Returns the new pieces by the id of the
        piece they follow; `words` gets their words.
        """
        found: dict[int, list[_Piece]] = {}
        todo = [(p, p) for p in pieces]  # (the piece read first, the last piece read)
        for _ in range(READ_ON_TIMES):
            tails = []  # (the piece read first, the piece read on from, the rest)
            for origin, p in todo:
                said = words.get(id(p))
                if not said or p.silent:
                    continue
                at = p.chunk.offset_of(said[-1].end)
                rest = _unread(p, said)
                if at >= READ_ON_FROM * audio.SAMPLE_RATE and (
                    rest >= READ_ON_SECONDS * audio.SAMPLE_RATE
                ):
                    left = p.chunk.cut(at)[1]
                    # long enough for its language to be checked: the primary reads it first
                    checked = left.seconds >= LANGUAGE_CHECK_SECONDS
                    reader = readers.primary if checked else p.reader
                    tails.append((origin, p, self._piece(left, reader)))
            if not tails:
                break
            new = [t for _, _, t in tails]
            self._encode(new)
            if readers.detect_own:
                self._detect_own(new, readers)
            self._generate(new, min(FIRST_BEAM, self.beam_size), phase="read_on")
            new = self._check_languages(new, readers)  # a change of language stops Whisper too
            tails = [(o, p, t) for (o, p, _), t in zip(tails, new, strict=True)]
            wrong = [t for t in new if t.problems()]
            again = dict(zip(map(id, wrong), self._read_again(wrong, "read_on"), strict=True))
            todo = []
            read: list[_Piece] = []
            for origin, p, t in tails:
                parts = again.get(id(t), [t])
                good = [
                    q for q in parts if q.tokens and not q.silent and "loop" not in q.problems()
                ]
                if good:
                    p.read_on = True
                    found.setdefault(id(origin), []).extend(good)
                    todo.append((origin, good[-1]))
                    read += good
            words.update(self._align(read))
            for q in read:
                q.encoded = None
        return found

    def _halve_stretched(
        self, pieces: list[_Piece], words: dict[int, list[Word]]
    ) -> dict[int, list[_Piece]]:
        """Halves of each piece whose text is too short for its speech although its words
        reach its end: Whisper stopped early, and the aligner stretched the few words it wrote
        over the whole chunk, so there is no rest to read on from (conversation_seven: a 27 s chunk
        read as its first speaker's two sentences, placed over all 27 s; the next speaker's
        17 s turn, 69 words, lost). Read in halves (`_split_until_sound`, kept when they read
        more sound text) and aligned; `words` gets their words. By the id of the piece."""
        stretched = []
        for p in pieces:
            said = words.get(id(p))
            if not said or p.read_on or "short" not in p.problems():
                continue
            if _unread(p, said) < READ_ON_SECONDS * audio.SAMPLE_RATE:
                stretched.append(p)
        found: dict[int, list[_Piece]] = {}
        for p in stretched:
            parts = self._split_until_sound(p)
            if parts != [p]:
                found[id(p)] = parts
        new = [q for parts in found.values() for q in parts]
        words.update(self._align(new))
        for q in new:
            q.encoded = None
        return found

    def _read_again(self, wrong: list[_Piece], phase: str) -> list[list[_Piece]]:
        """What each piece that looks wrong becomes: read again with the full beam (when it is
        wider than the first reading's: the same beam would read the same), then in halves
        while it still looks wrong (`_split_until_sound`)."""
        if wrong and self.beam_size > FIRST_BEAM:
            self._generate(wrong, self.beam_size, phase=phase)
        return [self._split_until_sound(p) for p in wrong]

    def _split_until_sound(self, piece: _Piece, depth: int = 0) -> list[_Piece]:
        """A piece that still looks wrong after beam search, decoded again in halves.

        Whisper without timestamps tends to stop at a change of speaker or topic and drop the
        rest of a 30 s chunk, or to loop; shorter pieces rarely do. Halves that still look wrong
        are halved again (down to about 8 s); the split is kept when it recovers more sound text.
        """
        if not piece.problems() or piece.chunk.seconds < 8 or depth >= 2:
            return [piece]
        halves = [self._piece(c, piece.reader) for c in _split(piece.chunk)]
        for h in halves:
            h.language_prob = piece.language_prob
        self._encode(halves)
        self._generate(halves, self.beam_size, phase="retries")
        parts = [p for h in halves for p in self._split_until_sound(h, depth + 1)]
        return parts if _soundness(parts) > _soundness([piece]) else [piece]

    # -- words and segments ----------------------------------------------------------------

    def _align(self, pieces: list[_Piece]) -> dict[int, list[Word]]:
        """Word timings of each piece (by id), one call per reader."""
        words: dict[int, list[Word]] = {id(p): [] for p in pieces}
        for group in _by_reader([p for p in pieces if p.tokens and p.encoded is not None]):
            reader = group[0].reader
            with self.timings.phase("align"):
                found = reader.transcriber.align(
                    [p.encoded for p in group if p.encoded is not None],
                    [p.tokens or [] for p in group],
                    [p.frames for p in group],
                    reader.tokenizer,
                )
            for p, alignment in zip(group, found, strict=True):
                words[id(p)] = self._words(p, alignment)
        return words

    @staticmethod
    def _words(piece: _Piece, alignment: list[dict]) -> list[Word]:
        from faster_whisper.transcribe import merge_punctuations

        durations = np.array([w["end"] - w["start"] for w in alignment])
        durations = durations[durations.nonzero()]
        median = min(0.7, float(np.median(durations))) if len(durations) else 0.0
        longest = 2 * median
        for i, w in enumerate(alignment):  # words stretched over a pause (as faster-whisper)
            if longest and w["end"] - w["start"] > longest:
                if i == 0 or alignment[i - 1]["word"].strip().endswith(segments.SENTENCE_END):
                    w["start"] = w["end"] - longest
                elif w["word"].strip().endswith(segments.SENTENCE_END):
                    w["end"] = w["start"] + longest
        merge_punctuations(alignment, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、")
        found = []
        for w in alignment:
            if not w["word"]:
                continue
            start, end = piece.chunk.to_absolute(float(w["start"]), float(w["end"]))
            found.append(
                Word(
                    start=round(start, 3),
                    end=round(end, 3),
                    word=w["word"],
                    probability=round(float(w["probability"]), 4),
                )
            )
        return found

    def _segments(self, pieces: list[_Piece], words: list[list[Word]]) -> list[Segment]:
        found: list[Segment] = []
        for p, said in zip(pieces, words, strict=True):
            flags = ["no_speech", "hallucination"] if p.silent else []
            if p.problems():
                flags.append("low_confidence")
            built = segments.build(
                said,
                avg_logprob=p.avg_logprob,
                no_speech_prob=p.no_speech_prob,
                extra_flags=flags,
            )
            for seg in built:
                seg.language = p.reader.language
                seg.language_prob = p.language_prob
            found.extend(built)
        return found


def _batch_decoded(
    progress: Callable[[float | None], None], batch: list[Chunk], speech: float, future: Future
) -> None:
    """Tell the share of its window a first-stage batch decoded (a chunk left for the second
    stage counts half until then)."""
    if future.cancelled() or future.exception() is not None:
        return
    said = zip(batch, future.result(), strict=True)
    progress(sum(c.seconds * (1.0 if segs is not None else 0.5) for c, (_, segs) in said) / speech)


class _Decoded:
    """Seconds of audio decoded, told by the threads decoding windows and passed on, summed, on
    the thread reading the results (the caller's: a progress bar or a store is used there)."""

    def __init__(self, report: Callable[[float], None] | None) -> None:
        self.report = report
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.seconds = 0.0

    def share(self, span: float) -> Callable[[float | None], None]:
        """What a window of `span` seconds tells: a share of it decoded (None: the rest)."""
        told = [0.0]
        lock = threading.Lock()

        def tell(part: float | None) -> None:
            with lock:
                part = 1.0 - told[0] if part is None else min(part, 1.0 - told[0])
                told[0] += part
            if part > 0:
                self.events.put(part * span)

        return tell

    def wait(self, future: Future) -> list[Segment]:
        """The future's result, passing on progress told while it is worked on."""
        if self.report is None:
            return future.result()
        future.add_done_callback(lambda _: self.events.put(None))  # wakes the wait below
        while True:
            self._tell(self.events.get())
            if future.done():
                break
        with contextlib.suppress(queue.Empty):
            while True:
                self._tell(self.events.get_nowait())
        return future.result()

    def _tell(self, seconds: float | None) -> None:
        if seconds and self.report is not None:
            self.seconds += seconds
            self.report(self.seconds)


class Engines:
    """Whisper engines by model name, each loaded on first use and then reused.

    Loading notes (e.g. CUDA asked for but unusable) go to `notify` once per engine.
    """

    def __init__(self, settings: Settings, notify: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.notify = notify
        self._loaded: dict[str, WhisperEngine] = {}
        self._lock = threading.RLock()
        self._no_multilingual = False

    def __call__(self, model: str | None = None) -> WhisperEngine:
        name = model or self.settings.model
        with self._lock:
            if name not in self._loaded:
                engine = WhisperEngine.from_settings(self.settings, name, self._multilingual)
                self._loaded[name] = engine
                for note in engine.notes:
                    if self.notify:
                        self.notify(note)
            return self._loaded[name]

    def timings(self) -> dict[str, float]:
        """Where the time went in every engine loaded: busy phases summed, each mark the
        earliest (`startup`: the first engine loaded, seconds from process start)."""
        found: dict[str, float] = {}
        loaded = list(self._loaded.values())
        for engine in loaded:
            for name, seconds in engine.timings.busy.items():
                found[name] = round(found.get(name, 0.0) + seconds, 3)
            for name, moment in engine.timings.marks.items():
                found[name] = round(min(found.get(name, moment), moment), 3)
        if "model_loaded" in found:
            found["startup"] = found.pop("model_loaded")
        return found

    def _multilingual(self) -> Transcriber | None:
        """The multilingual model that reads what an English-only one cannot (None, said once,
        when it is not installed)."""
        if self._no_multilingual:
            return None
        try:
            return self(self.settings.multilingual_model).transcriber
        except ModelError as exc:
            self._no_multilingual = True
            if self.notify:
                self.notify(f"other languages are read as English: {exc}")
            return None


class _PriorityPool:
    """Worker threads that run the earliest window's work first.

    Two windows are in flight; with a plain queue the second window's first stage would run
    before the first window's second stage, and the first window (the first search hit of an
    episode) would come out with the last. Work is ordered by window, then by submission.
    """

    def __init__(self, workers: int) -> None:
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"podgrep-asr-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, priority: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._closed:  # as ThreadPoolExecutor: a window still submitting gives up
                raise RuntimeError("cannot schedule new work after shutdown")
            self._queue.put((priority, next(self._order), future, partial(fn, *args, **kwargs)))
        return future

    def _work(self) -> None:
        while True:
            _, _, future, call = self._queue.get()
            if future is None:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:
                future.set_exception(exc)

    def shutdown(self) -> None:
        """Cancel what has not started, let what runs finish, and stop the threads."""
        with self._lock:
            self._closed = True
        while True:
            try:
                _, _, future, _ = self._queue.get_nowait()
            except queue.Empty:
                break
            if future is not None:
                future.cancel()
        for _ in self._threads:
            self._queue.put((float("inf"), next(self._order), None, None))
        for thread in self._threads:
            thread.join()


def _run_now(fn: Callable[..., object], *args: object, **kwargs: object) -> Future:
    """Run `fn` at once and hand back its result as a finished future."""
    future: Future = Future()
    try:
        future.set_result(fn(*args, **kwargs))
    except Exception as exc:
        future.set_exception(exc)
    return future
