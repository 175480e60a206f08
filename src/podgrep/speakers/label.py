"""The speakers step of an episode: diarize its transcript, name the voices, store it all."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from podgrep import audio
from podgrep.domain import Episode, Speaker
from podgrep.errors import MediaError
from podgrep.speakers.carry import carry_user_names
from podgrep.speakers.diarize import Diarization, diarize
from podgrep.speakers.names import candidates, name_speakers
from podgrep.store import Store


def label_episode(
    store: Store, ep: Episode, progress: Callable[[float], None] | None = None
) -> Diarization | None:
    """Give every segment of the episode's transcript a speaker; None when already done.

    `progress` is told the seconds of audio listened to so far (voices are embedded as the
    audio streams in)."""
    assert ep.id is not None and ep.show_id is not None
    transcript = store.transcript_for(ep.id)
    if transcript is None or transcript.id is None or not transcript.segments:
        return None
    if store.labelled(transcript.id):
        return None  # a run killed after writing: nothing left to do
    if not ep.media_path or not Path(ep.media_path).is_file():
        raise MediaError(f"The media of episode {ep.id} is missing from the cache: run sync again")
    blocks = audio.stream(Path(ep.media_path), ep.media_url)
    result = diarize(_told(blocks, progress) if progress else blocks, transcript.segments)
    show = store.get_show(ep.show_id)
    known = candidates(show.persons, ep.persons, ep.show_notes_html, ep.title)
    namings = name_speakers(
        result.segments, result.count, known, result.centroids, store.voiceprints(ep.show_id)
    )
    speakers = [
        (
            Speaker(
                ep.id,
                f"S{k + 1}",
                n.name,
                n.source,
                n.role,
                round(result.seconds[k], 2),
                confidence=n.confidence,
            ),
            result.centroids[k],
        )
        for k, n in enumerate(namings)
    ]
    windows = store.segment_windows(transcript.id)
    rows = [(seg, windows.get(seg.idx, 0), k) for seg, k in result.segments]
    # the speakers replaced (a retranscription's old ones): names a user gave stay with voices
    before = store.list_speakers(ep.id)
    carry_user_names(before, store.speaker_vectors(ep.id), speakers)
    store.save_diarization(ep.id, transcript.id, speakers, rows)
    if any(s.name for s, _ in speakers) or any(s.name for s in before):
        store.refresh_voiceprints(ep.show_id)
    return result


TELL_EVERY = 5.0  # seconds of audio between two reports of progress (blocks are short)


def _told(blocks: Iterable[np.ndarray], progress: Callable[[float], None]) -> Iterator[np.ndarray]:
    """The blocks, telling `progress` the seconds passed on every TELL_EVERY seconds."""
    samples = told = 0
    step = int(TELL_EVERY * audio.SAMPLE_RATE)
    for block in blocks:
        yield block
        samples += len(block)
        if samples - told >= step:
            told = samples
            progress(samples / audio.SAMPLE_RATE)
    if samples > told:
        progress(samples / audio.SAMPLE_RATE)
