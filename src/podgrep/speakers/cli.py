"""What `podgrep speakers` does, apart from printing: parse renames, apply them, list speakers."""

from __future__ import annotations

from typing import Any

from podgrep.errors import PodgrepError
from podgrep.store import Store


def parse_rename(text: str) -> tuple[str, str | None]:
    """`S1="Jane Doe"` (or S1=Jane, or S1= to clear) as (label, name)."""
    label, sep, name = text.partition("=")
    label, name = label.strip(), " ".join(name.strip().strip("\"'").split())
    if not sep or not label:
        raise PodgrepError(f'--rename {text!r} is not LABEL=NAME: write it as S1="Jane Doe"')
    return label, name or None


def rename_and_list(store: Store, episode_id: int, renames: list[str]) -> list[dict[str, Any]]:
    """Apply `--rename` arguments (all or none), then the episode's speakers as rows."""
    apply_renames(store, episode_id, [parse_rename(r) for r in renames])
    return speaker_rows(store, episode_id)


def apply_renames(store: Store, episode_id: int, renames: list[tuple[str, str | None]]) -> None:
    """Give speakers names, (label, name or None to clear), all or none; then refresh the
    show's voiceprints so the new names teach (or stop teaching) their voices at once."""
    if not renames:
        return
    with store.transaction():
        for label, name in renames:
            store.rename_speaker(episode_id, label, name)
    show_id = store.get_episode(episode_id).show_id
    if show_id is not None:
        store.refresh_voiceprints(show_id)


def speaker_rows(store: Store, episode_id: int) -> list[dict[str, Any]]:
    """The episode's speakers as rows, most speech first, with their share and segments."""
    found = store.list_speakers(episode_id)
    counts = store.speaker_segments(episode_id)
    total = sum(s.seconds for s in found) or 1.0
    return [
        {
            "id": s.id,
            "label": s.label,
            "name": s.name,
            "name_source": s.name_source,
            "role": s.role,
            "seconds": round(s.seconds, 2),
            "share": round(s.seconds / total, 4),
            "segments": counts.get(s.id or 0, 0),
        }
        for s in found
    ]
