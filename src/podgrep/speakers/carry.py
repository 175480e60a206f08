"""Names a user gave to an episode's speakers, kept when its speakers are found again.

The speakers step replaces an episode's speakers (a retranscription's new transcript, or the
step run again): each speaker a user named (`name_source` 'user') whose voice matches one of
the new speakers passes that speaker its name. Voices are matched as show voiceprints are
(speakers/names.py): the cosine of the two voice centroids, at least VOICE_MATCH; the best
pair first, each speaker old or new used once (with a handful of speakers a greedy best-first
matching is the optimal one whenever the voices are told apart at all).
"""

from __future__ import annotations

import numpy as np

from podgrep.domain import Speaker
from podgrep.speakers.names import VOICE_MATCH


def _unit(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32).ravel()
    return v / max(float(np.linalg.norm(v)), 1e-8)


def carry_user_names(
    old: list[Speaker],
    old_voices: dict[str, np.ndarray],
    new: list[tuple[Speaker, np.ndarray | None]],
    threshold: float = VOICE_MATCH,
) -> list[tuple[str, str]]:
    """Give each new speaker the name a user gave to the old speaker whose voice it matches;
    a name given automatically to another new speaker that a user's name now takes is cleared
    (one name, one voice). Changes `new` in place; return (old label, new label) per name
    carried."""
    named = [
        (spk, _unit(old_voices[spk.label]))
        for spk in old
        if spk.name_source == "user" and spk.name and spk.label in old_voices
    ]
    voices = [(k, _unit(v)) for k, (_, v) in enumerate(new) if v is not None and np.any(v)]
    pairs = sorted(
        ((float(np.dot(ov, nv)), i, k) for i, (_, ov) in enumerate(named) for k, nv in voices),
        reverse=True,
    )
    taken_old: set[int] = set()
    taken_new: set[int] = set()
    carried: list[tuple[str, str]] = []
    for sim, i, k in pairs:
        if sim < threshold:
            break
        if i in taken_old or k in taken_new:
            continue
        taken_old.add(i)
        taken_new.add(k)
        spk, name = new[k][0], named[i][0].name
        spk.name, spk.name_source, spk.confidence = name, "user", None
        carried.append((named[i][0].label, spk.label))
    names = {new[k][0].name for k in taken_new}
    for k, (spk, _) in enumerate(new):
        if k not in taken_new and spk.name in names:
            spk.name, spk.name_source, spk.confidence = None, None, None
    return carried
