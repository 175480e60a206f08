"""The Whisper engine on faster-whisper (CTranslate2): streamed audio in, timed segments out.

How it gets the speed of batching with the accuracy of careful decoding:

- Audio is decoded block by block and cut into windows in pauses (`plan.py`); VAD speech of a
  window is packed into chunks of up to 30 s, so the model never decodes silence.
- First stage, per batch of a window: every chunk is encoded and decoded greedily. A chunk whose
  result looks wrong (a loop: high compression ratio; low log-probability; far fewer tokens than
  its speech could hold, which is how a decoder that gave up early looks) is decoded again with
  beam search, and if it still looks wrong, as halves (twice at most). Chunks that are done are
  aligned for word times.
- Second stage, per window: the chunks the model was unsure of (average log-probability under
  REREAD_BELOW) are read again, greedily and batched, prompted with the text said before them
  (across batches, and from the previous window), as Whisper was trained; batching alone loses
  that context, and with it names, terms and accuracy on hard audio. Confident chunks rarely
  change when read again, so they are not.
- On CPU several model replicas with one thread each decode different batches at once: the
  decoder barely speeds up with more threads, so replicas use the cores far better. Encoding and
  word alignment run one chunk at a time, where CTranslate2 is fastest per chunk. Two windows are
  in flight, so one window's second stage overlaps the next one's first.
- Results are deterministic: a window's chunks are batched the same way on every run, no
  sampling is used, and a resumed run prompts its first window from the stored text of the one
  before, so it writes what an uninterrupted run would.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial

import numpy as np

from podgrep import audio
from podgrep.asr import device as devices
from podgrep.asr import engine, plan, segments
from podgrep.asr.plan import Chunk, Window
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
HOTWORD_TOKENS = 64  # tokens of hotwords at most (with the context, far under Whisper's 223)
REREAD_BELOW = -0.15  # chunks read with an average log-probability under this are read again
WINDOWS_IN_FLIGHT = 2  # windows decoded at once (the second stage of one, the first of the next)
NO_SPEECH = 0.6  # with a log-probability under -1: the chunk holds no speech


@dataclass
class _Piece:
    """A chunk (or half of one) with its encoder output and decoded tokens."""

    chunk: Chunk
    frames: int  # mel frames of the chunk's audio (the aligner needs the count)
    features: np.ndarray | None = None  # dropped once encoded
    encoded: np.ndarray | None = None
    tokens: list[int] | None = None
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    text: str = ""
    compression_ratio: float = 0.0

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
        if self.chunk.seconds >= 6 and len(self.tokens or []) < MIN_TOKENS_PER_SECOND * (
            self.chunk.seconds
        ):
            found.append("short")
        return found


def _soundness(pieces: list[_Piece]) -> int:
    """Tokens of text that does not loop, minus tokens that do: more is better."""
    return sum(
        -len(p.tokens or []) if "loop" in p.problems() else len(p.tokens or []) for p in pieces
    )


def _split(chunk: Chunk) -> list[Chunk]:
    """Two halves of a chunk: at the region seam nearest the middle, else its quietest moment."""
    half = len(chunk.audio) / 2
    if len(chunk.regions) >= 2:
        sizes = np.cumsum([b - a for a, b in chunk.regions])[:-1]
        k = int(np.argmin(np.abs(sizes - half))) + 1
        cut = int(sizes[k - 1])
        return [
            Chunk(chunk.regions[:k], chunk.audio[:cut]),
            Chunk(chunk.regions[k:], chunk.audio[cut:]),
        ]
    (a, b), n = chunk.regions[0], len(chunk.audio)
    cut = audio.quietest(chunk.audio, n // 3, 2 * n // 3, n // 2)
    return [Chunk([(a, a + cut)], chunk.audio[:cut]), Chunk([(a + cut, b)], chunk.audio[cut:])]


class WhisperEngine:
    """A loaded Whisper model that turns streamed 16 kHz audio into segments."""

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
    ) -> None:
        self.info = engine.resolve(model)
        self.name = self.info.name
        self.beam_size = max(1, beam_size)
        self.reread = reread
        self.vad = vad
        _cap_malloc_arenas()
        choice = devices.choose(device, compute_type)
        self.notes: list[str] = [choice.note] if choice.note else []
        try:
            self._load(choice, cpu_threads, workers, batch_size)
        except ModelError:
            raise
        except Exception as exc:  # CUDA present but unusable: say why, then run on CPU
            if choice.device != "cuda":
                raise self._load_error(model, exc) from exc
            self.notes.append(
                f"CUDA failed ({type(exc).__name__}: {str(exc)[:160]}); running on CPU"
            )
            cpu = devices.DeviceChoice("cpu", "int8")
            self._load(cpu, cpu_threads, workers, batch_size)

    def _load_error(self, model: str, exc: Exception) -> ModelError:
        hint = (
            "no network to download it: install it locally and pass its directory"
            if self.info.path is None
            else "the model files may be damaged"
        )
        return ModelError(
            f"Could not load model {model!r} ({type(exc).__name__}: {str(exc)[:160]}); {hint}"
        )

    def _load(
        self, choice: devices.DeviceChoice, cpu_threads: int, workers: int, batch_size: int
    ) -> None:
        from faster_whisper import WhisperModel

        cores = os.cpu_count() or 1
        if choice.device == "cuda":
            self.workers = workers or 1
            self.threads = cpu_threads or min(4, cores)
            self.batch_size = batch_size or 16
        else:
            self.workers = workers or min(4, cores)
            self.threads = cpu_threads or max(1, cores // self.workers)
            self.batch_size = batch_size or 8
        self.device, self.compute_type = choice.device, choice.compute_type
        source = str(self.info.path) if self.info.path else self.info.name
        try:
            self.model = WhisperModel(
                source,
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=self.threads,
                num_workers=self.workers,
            )
        except Exception as exc:
            if self.device == "cuda":
                raise
            raise self._load_error(source, exc) from exc
        if self.device == "cuda":  # cuBLAS/cuDNN load lazily: fail here, not mid-episode
            self.model.encode(np.zeros((1, self.model.model.n_mels, 3000), np.float32))

    @classmethod
    def from_settings(cls, settings: Settings, model: str | None = None) -> WhisperEngine:
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
        )

    @property
    def english_only(self) -> bool:
        """True for `.en` models that cannot detect or speak other languages."""
        return not self.model.model.is_multilingual

    # -- language --------------------------------------------------------------------------

    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        """The language spoken in the first 30 s of speech of `samples`, with its probability."""
        if self.english_only:
            return "en", 1.0
        regions = audio.speech_regions(samples) if self.vad else [(0, len(samples))]
        speech = np.concatenate([samples[a:b] for a, b in regions] or [samples])
        speech = speech[: 30 * audio.SAMPLE_RATE]
        if len(speech) < audio.SAMPLE_RATE:  # under a second of speech: nothing to go on
            return "en", 0.0
        language, prob, _ = self.model.detect_language(speech)
        return language, float(prob)

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

        `blocks` start at window `first` (see `plan.plan_windows`). `on_window` is called when a
        window is planned, before any of it is decoded, so its cut can be stored first.
        `before` are the segments of the window before `first` (when resuming): a window's
        first chunk is read with the text of the window before it, as every other chunk is.
        `on_progress` is called on this thread with the seconds of audio decoded so far (from
        the start of window `first`) each time a batch of chunks is decoded: a window's length
        is shared out over its chunks by their speech.
        `hotwords` (names and terms the episode's metadata spells, see `asr.hotwords`) lead
        every chunk's prompt, as faster-whisper's `hotwords` do: the same for every chunk, so
        batched prompts still line up and a resumed run prompts as the first did.
        """
        tokenizer = self._tokenizer(language, hotwords)
        decoded = _Decoded(on_progress)
        windows: queue.Queue = queue.Queue(maxsize=1)
        stop = threading.Event()

        def produce() -> None:
            try:
                for window in plan.plan_windows(
                    blocks, window_seconds, known=known_windows, first=first, vad=self.vad
                ):
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
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="podgrep-asr")
        # a window waits on its batches in a thread of its own, so that while one window's
        # second stage runs, the next window's first stage keeps the other workers busy
        coordinators = ThreadPoolExecutor(WINDOWS_IN_FLIGHT, thread_name_prefix="podgrep-win")
        pending: deque[tuple[Window, Future]] = deque()
        resumed = self._context_tokens(before, tokenizer) if before else None
        previous: Future | None = None
        try:
            while True:
                item = windows.get()
                if isinstance(item, BaseException):
                    raise item
                if item is None:
                    break
                if on_window:
                    on_window(item)
                text_before: Callable[[], list[int]] | None = None
                if previous is not None:  # the text of the window before, once it is done
                    text_before = partial(self._context_tokens_of, previous, tokenizer)
                elif resumed is not None:
                    text_before = partial(list, resumed)
                previous = coordinators.submit(
                    self._decode_window,
                    item.chunks,
                    tokenizer,
                    pool.submit,
                    text_before,
                    decoded.share(item.seconds) if on_progress else None,
                )
                pending.append((item, previous))
                while len(pending) >= WINDOWS_IN_FLIGHT:
                    window, future = pending.popleft()
                    yield window, decoded.wait(future)
            while pending:
                window, future = pending.popleft()
                yield window, decoded.wait(future)
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)  # a waiting window then gives up
            coordinators.shutdown(wait=True, cancel_futures=True)
            while producer.is_alive():  # unblock a producer waiting on a full queue
                with contextlib.suppress(queue.Empty):
                    windows.get(timeout=0.1)

    def _decode_window(
        self,
        chunks: list[Chunk],
        tokenizer,
        submit: Callable[..., Future],
        before: Callable[[], list[int]] | None = None,
        progress: Callable[[float | None], None] | None = None,
    ) -> list[Segment]:
        """All segments of one window, from batches decoded on the worker pool.

        First stage: every batch is encoded, decoded greedily, retried where it looks wrong,
        and the chunks that are done are aligned. Second stage: the chunks the model was unsure
        of are read again with the text before them as the prompt (it may come from another
        batch, or for the first chunk from `before`: the text of the previous window), batched
        again, and aligned. `progress` is given each batch's share of the window (0 to 1) as
        it is decoded.
        """
        speech = sum(c.seconds for c in chunks) or 1.0
        batches = self._even_parts(chunks, self._batch_count(chunks))
        stage = [
            submit(self._first_stage, batch, tokenizer, first=k == 0 and before is None)
            for k, batch in enumerate(batches)
        ]
        if progress is not None:
            for batch, future in zip(batches, stage, strict=True):
                future.add_done_callback(partial(_batch_decoded, progress, batch, speech))
        done = [item for future in stage for item in future.result()]
        targets = [i for i, (_, segs) in enumerate(done) if segs is None]
        before = cache(before) if before else None  # waits for the window before once
        contexts = {i: self._text_before(i, done, before) for i in targets}
        parts = self._even_parts(targets, max(self._batch_count(targets), self.workers))
        second = [
            submit(
                self._second_stage,
                [done[i][0][0] for i in part],
                [contexts[i] for i in part],
                tokenizer,
            )
            for part in parts
        ]
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
        before: Callable[[], list[int]] | None,
    ) -> list[int]:
        """The prompt for chunk i: the last CONTEXT_TOKENS tokens said before it.

        Taken across chunks (and from the previous window) when the chunk before is short:
        prompts in one batch must have the same length, so one short prompt would cut all.
        """
        tokens: list[int] = []
        for group, _ in reversed(done[:i]):
            tokens = [t for p in group for t in p.tokens or []] + tokens
            if len(tokens) >= CONTEXT_TOKENS:
                return tokens[-CONTEXT_TOKENS:]
        if before is not None:
            tokens = before() + tokens
        return tokens[-CONTEXT_TOKENS:]

    @staticmethod
    def _context_tokens(segments: list[Segment], tokenizer) -> list[int]:
        """The prompt a window's text gives the next one: its last words, as tokens.

        Made from the segments' text, so that a resumed run, which reads the previous window
        from the store, prompts exactly as an uninterrupted one.
        """
        said = [s.text for s in segments if not {"hallucination", "no_speech"} & set(s.flags)]
        text = " ".join(" ".join(said).split()[-CONTEXT_TOKENS:])
        return tokenizer.encode(" " + text)[-CONTEXT_TOKENS:] if text else []

    def _context_tokens_of(self, window: Future, tokenizer) -> list[int]:
        return self._context_tokens(window.result(), tokenizer)

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
        return self._decode_window(chunks, self._tokenizer(language, hotwords), _run_now)

    def transcribe(
        self, samples: np.ndarray, *, language: str | None, hotwords: str | None = None
    ) -> list[Segment]:
        """All segments of a clip already in memory (short audio, tests, the `transcribe` verb)."""
        step = 10 * audio.SAMPLE_RATE
        blocks = (samples[i : i + step] for i in range(0, len(samples), step))
        stream = self.transcribe_stream(blocks, language=language, hotwords=hotwords)
        return [s for _, segs in stream for s in segs]

    # -- one batch -------------------------------------------------------------------------

    def _tokenizer(self, language: str | None, hotwords: str | None = None):  # -> Tokenizer
        """faster-whisper's tokenizer, carrying the tokens of the hotwords (`hotword_tokens`:
        at most HOTWORD_TOKENS, cut at a word) that lead every prompt."""
        from faster_whisper.tokenizer import Tokenizer

        multilingual = self.model.model.is_multilingual
        tokenizer = Tokenizer(
            self.model.hf_tokenizer,
            multilingual,
            task="transcribe",
            language=(language or "en") if multilingual else "en",
        )
        tokens: list[int] = []
        words = (hotwords or "").split()
        for n in range(1, len(words) + 1):  # whole words only, up to the cap
            more = tokenizer.encode(" " + " ".join(words[:n]))
            if len(more) > HOTWORD_TOKENS:
                break
            tokens = more
        setattr(tokenizer, "hotword_tokens", tokens)  # noqa: B010  # a faster-whisper class
        return tokenizer

    def _encode(self, pieces: list[_Piece]) -> None:
        from faster_whisper.audio import pad_or_trim

        if self.device == "cuda":  # one call for the batch
            out = self.model.encode(np.stack([pad_or_trim(p.features) for p in pieces]))
            for p, enc in zip(pieces, np.asarray(out.to_device(_cpu())), strict=True):
                p.encoded, p.features = enc, None
            return
        for p in pieces:  # on CPU one at a time is the fastest per chunk
            p.encoded = np.asarray(self.model.encode(pad_or_trim(p.features)[None]))[0]
            p.features = None

    def _generate(
        self, pieces: list[_Piece], tokenizer, beam: int, context: list[list[int]] | None = None
    ) -> None:
        import ctranslate2
        from faster_whisper.transcribe import get_suppressed_tokens

        context = context or [[] for _ in pieces]
        if any(context) and not all(context):  # prompts must line up: two calls
            bare = [i for i, c in enumerate(context) if not c]
            rest = [i for i, c in enumerate(context) if c]
            self._generate([pieces[i] for i in bare], tokenizer, beam)
            self._generate([pieces[i] for i in rest], tokenizer, beam, [context[i] for i in rest])
            return
        length = min(CONTEXT_TOKENS, *(len(c) for c in context))
        hot = list(getattr(tokenizer, "hotword_tokens", []))  # before the text said before
        prompts = [
            self.model.get_prompt(
                tokenizer, hot + (c[len(c) - length :] if length else []), without_timestamps=True
            )
            for c in context
        ]
        features = [p.encoded for p in pieces if p.encoded is not None]
        assert len(features) == len(pieces), "every piece is encoded before it is decoded"
        encoded = ctranslate2.StorageView.from_array(np.stack(features))
        results = self.model.model.generate(
            encoded,
            prompts,
            beam_size=beam,
            max_length=self.model.max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
        )
        for p, r in zip(pieces, results, strict=True):
            tokens = [t for t in r.sequences_ids[0] if t < tokenizer.eot]
            p.tokens = tokens
            p.avg_logprob = float(r.scores[0]) * len(tokens) / (len(tokens) + 1)
            p.no_speech_prob = float(r.no_speech_prob)
            p.text = tokenizer.decode(tokens)
            p.compression_ratio = segments.compression_ratio(p.text)

    def _piece(self, chunk: Chunk) -> _Piece:
        features = self.model.feature_extractor(chunk.audio)[..., :-1]
        return _Piece(chunk, features.shape[-1], features)

    def _first_stage(
        self, chunks: list[Chunk], tokenizer, *, first: bool
    ) -> list[tuple[list[_Piece], list[Segment] | None]]:
        """Encode and decode a batch greedily, retry what looks wrong, and align what is done.

        Each chunk comes back with its pieces and its segments; segments are None for a chunk
        left for the second stage (see `_wants_context`).
        """
        pieces = [self._piece(c) for c in chunks]
        self._encode(pieces)
        self._generate(pieces, tokenizer, 1)
        outcome: list[list[_Piece]] = [[p] for p in pieces]
        retry = [i for i, p in enumerate(pieces) if p.problems()] if self.beam_size > 1 else []
        if retry:
            self._generate([pieces[i] for i in retry], tokenizer, self.beam_size)
        for i in retry:
            outcome[i] = self._split_until_sound(pieces[i], tokenizer)
        done: list[tuple[list[_Piece], list[Segment] | None]] = []
        for i, group in enumerate(outcome):
            if self._wants_context(group, first=first and i == 0):
                done.append((group, None))
            else:
                done.append((group, self._segments(group, tokenizer)))
                for p in group:
                    p.encoded = None  # done with it: keep the window's memory small
        return done

    def _wants_context(self, group: list[_Piece], *, first: bool) -> bool:
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
        )

    def _second_stage(
        self, pieces: list[_Piece], contexts: list[list[int]], tokenizer
    ) -> list[list[Segment]]:
        """Read chunks again, batched, prompted with the text before each; align them.

        The encoder output is reused, so this costs one greedy decode. A chunk keeps its first
        reading when the second looks worse or loses text.
        """
        again = [_Piece(p.chunk, p.frames, encoded=p.encoded) for p in pieces]
        prompted = [i for i, c in enumerate(contexts) if c]
        if prompted:
            self._generate(
                [again[i] for i in prompted], tokenizer, 1, [contexts[i] for i in prompted]
            )
        result = []
        for i, (first, piece) in enumerate(zip(pieces, again, strict=True)):
            worse = len(piece.problems()) > len(first.problems())
            lost = len(piece.tokens or []) < 0.8 * len(first.tokens or [])
            keep = first if i not in prompted or worse or lost else piece
            result.append(self._segments([keep], tokenizer))
        return result

    def _split_until_sound(self, piece: _Piece, tokenizer, depth: int = 0) -> list[_Piece]:
        """A piece that still looks wrong after beam search, decoded again in halves.

        Whisper without timestamps tends to stop at a change of speaker or topic and drop the
        rest of a 30 s chunk, or to loop; shorter pieces rarely do. Halves that still look wrong
        are halved again (down to about 8 s); the split is kept when it recovers more sound text.
        """
        if not piece.problems() or piece.chunk.seconds < 8 or depth >= 2:
            return [piece]
        halves = [self._piece(c) for c in _split(piece.chunk)]
        self._encode(halves)
        self._generate(halves, tokenizer, self.beam_size)
        parts = [p for h in halves for p in self._split_until_sound(h, tokenizer, depth + 1)]
        return parts if _soundness(parts) > _soundness([piece]) else [piece]

    # -- words and segments ----------------------------------------------------------------

    def _align(self, piece: _Piece, tokenizer) -> list[Word]:
        import ctranslate2
        from faster_whisper.transcribe import merge_punctuations

        if not piece.tokens or piece.encoded is None:
            return []
        encoded = ctranslate2.StorageView.from_array(piece.encoded[None])
        alignment = self.model.find_alignment(tokenizer, [piece.tokens], encoded, [piece.frames])[0]
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
        words = []
        for w in alignment:
            if not w["word"]:
                continue
            start, end = piece.chunk.to_absolute(float(w["start"]), float(w["end"]))
            words.append(
                Word(
                    start=round(start, 3),
                    end=round(end, 3),
                    word=w["word"],
                    probability=round(float(w["probability"]), 4),
                )
            )
        return words

    def _segments(self, pieces: list[_Piece], tokenizer) -> list[Segment]:
        found: list[Segment] = []
        for p in pieces:
            flags = ["no_speech", "hallucination"] if p.silent else []
            if p.problems():
                flags.append("low_confidence")
            found.extend(
                segments.build(
                    self._align(p, tokenizer),
                    avg_logprob=p.avg_logprob,
                    no_speech_prob=p.no_speech_prob,
                    extra_flags=flags,
                )
            )
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

    def __call__(self, model: str | None = None) -> WhisperEngine:
        name = model or self.settings.model
        if name not in self._loaded:
            self._loaded[name] = WhisperEngine.from_settings(self.settings, name)
            for note in self._loaded[name].notes:
                if self.notify:
                    self.notify(note)
        return self._loaded[name]


def _cap_malloc_arenas(arenas: int = 2) -> None:
    """Limit glibc to a few malloc arenas before the worker threads start.

    Each thread that allocates (numpy, CTranslate2, ONNX Runtime) otherwise gets an arena of
    its own that keeps freed memory: measured here, ~100 MB less resident on a long episode.
    No effect (and no error) outside glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def _run_now(fn: Callable[..., object], *args: object, **kwargs: object) -> Future:
    """Run `fn` at once and hand back its result as a finished future."""
    future: Future = Future()
    try:
        future.set_result(fn(*args, **kwargs))
    except Exception as exc:
        future.set_exception(exc)
    return future


def _cpu():  # -> ctranslate2.Device
    import ctranslate2

    return ctranslate2.Device.cpu
