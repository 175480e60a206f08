"""What a user does to the shows they have: name one (id, feed URL or exact title), pause and
resume it, remove it or one episode with everything of it (`podgrep remove`, `pause`,
`resume`, and the web app's DELETE and pause endpoints).

The store removes the rows in one transaction (store/removal.py) and answers the media files
no episode left uses; this module deletes those files afterwards, and only inside podgrep's
own folders (the media cache and web uploads): a local file added from the user's disk is
theirs, never deleted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from podgrep.config import Settings
from podgrep.domain import Episode, Show
from podgrep.errors import NotFoundError
from podgrep.store import Store
from podgrep.store.removal import Removal

CANDIDATES_SHOWN = 8


def find_show(store: Store, ref: str, *, partial: bool = False) -> Show:
    """The show `ref` names: its id, its feed URL, or its exact title (case ignored when no
    title matches exactly); with `partial`, also a part of exactly one title (never for
    what deletes). NotFoundError when none does, or when a title is ambiguous (listing the
    candidates with their ids)."""
    ref = ref.strip()
    if ref.isdigit():
        try:
            return store.get_show(int(ref))
        except NotFoundError:
            pass  # a title made of digits, perhaps
    by_url = store.show_by_url(ref)
    if by_url is not None:
        return by_url
    shows = store.list_shows()
    exact = [s for s in shows if s.title == ref] or [
        s for s in shows if s.title.casefold() == ref.casefold()
    ]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise NotFoundError(
            f"{ref!r} is the title of {len(exact)} shows ({_listed(exact)}): give the id"
        )
    near = [s for s in shows if ref.casefold() in s.title.casefold()] if ref else []
    if partial and len(near) == 1:
        return near[0]
    if partial and near:
        raise NotFoundError(f"{ref!r} is part of {len(near)} titles ({_listed(near)}): give the id")
    hint = f" (did you mean {_listed(near)}?)" if near else ""
    raise NotFoundError(
        f"No show is {ref!r}{hint}: give an id, feed URL or exact title (`podgrep status`"
        " lists them)"
    )


def find_episode(store: Store, ref: str) -> Episode:
    """The episode `ref` names: its id, guid, or a part of exactly one title."""
    if ref.strip().isdigit():
        return store.get_episode(int(ref))
    found = store.find_episodes(ref)
    if not found:
        raise NotFoundError(f"No episode matches {ref!r}: `podgrep episodes` lists ids and titles")
    if len(found) > 1:
        names = "; ".join(f"{e.id}: {e.title}" for e in found[:5])
        raise NotFoundError(f"{ref!r} matches {len(found)} episodes ({names}): give the id")
    return found[0]


def _listed(shows: list[Show]) -> str:
    names = "; ".join(f"{s.id}: {s.title}" for s in shows[:CANDIDATES_SHOWN])
    more = len(shows) - CANDIDATES_SHOWN
    return names + (f"; and {more} more" if more > 0 else "")


def set_paused(store: Store, ref: str, paused: bool) -> Show:
    """Pause (or resume) the show `ref` names; the show as it is now."""
    show = find_show(store, ref)
    assert show.id is not None
    store.set_paused(show.id, paused)
    return store.get_show(show.id)


# -- removal -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemovalPlan:
    """What a removal will take, told to the user before it happens."""

    what: str  # "show 3 'Title'" or "episode 12 'Title'" (the title as repr() quotes it)
    show: Show | None
    episode: Episode | None
    removal: Removal
    files: list[Path]  # the media files that will be deleted
    media_bytes: int  # their size

    def summary(self) -> str:
        """One line: N episodes, M transcripts, media files and MB."""
        r, n = self.removal, len(self.files)
        return (
            f"{self.what}: {r.episodes} episode{'s' if r.episodes != 1 else ''},"
            f" {r.transcripts} transcript{'s' if r.transcripts != 1 else ''},"
            f" {n} media file{'s' if n != 1 else ''} ({self.media_bytes / 1e6:.1f} MB)"
        )


def owned_roots(settings: Settings) -> tuple[Path, ...]:
    """The folders whose files are podgrep's own to delete: the media cache and uploads."""
    return (settings.media_dir, settings.home / "uploads")


def deletable(roots: tuple[Path, ...], paths: list[str]) -> list[Path]:
    """The paths that lie inside one of `roots` (resolved, so `..` or a link cannot lead
    out) and are files now."""
    resolved = [r.expanduser().resolve() for r in roots]
    out = []
    for p in paths:
        path = Path(p).expanduser().resolve()
        if any(path.is_relative_to(r) and path != r for r in resolved) and path.is_file():
            out.append(path)
    return out


def plan_removal(
    store: Store, settings: Settings, *, show: str | None = None, episode: int | None = None
) -> RemovalPlan:
    """What removing the show `show` names (or the episode with id `episode`) will take;
    NotFoundError when it does not exist. Changes nothing."""
    roots = owned_roots(settings)
    if show is not None:
        found = find_show(store, show)
        assert found.id is not None
        removal = store.removal_preview(show_id=found.id)
        what = f"show {found.id} {found.title!r}"
        ep = None
    else:
        assert episode is not None
        ep = store.get_episode(episode)
        removal = store.removal_preview(episode_id=episode)
        what = f"episode {episode} {ep.title!r}"
        found = None
    files = deletable(roots, removal.media)
    return RemovalPlan(what, found, ep, removal, files, sum(_size(p) for p in files))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@dataclass(frozen=True)
class Removed:
    """What a removal did."""

    what: str
    episodes: int
    transcripts: int
    files: int  # media files deleted
    bytes_freed: int


def carry_out(store: Store, settings: Settings, plan: RemovalPlan) -> Removed:
    """Remove what `plan` names (rows in one transaction), then delete the media files no
    episode left uses, inside podgrep's own folders only."""
    if plan.show is not None:
        assert plan.show.id is not None
        media = store.remove_show(plan.show.id)
    else:
        assert plan.episode is not None and plan.episode.id is not None
        media = store.remove_episode(plan.episode.id)
    files = freed = 0
    for path in deletable(owned_roots(settings), media):
        if store.episodes_using(str(path)):
            continue  # an episode fetched the same bytes since the removal: it needs them
        size = _size(path)
        try:
            path.unlink()
        except OSError:
            continue  # gone already, or not ours to delete after all: the rows are gone
        files += 1
        freed += size
        _drop_empty(path.parent, settings.media_dir)
    return Removed(plan.what, plan.removal.episodes, plan.removal.transcripts, files, freed)


def _drop_empty(folder: Path, root: Path) -> None:
    """The cache's two-letter folder once its last file went."""
    try:
        if folder.resolve() != root.expanduser().resolve() and not any(folder.iterdir()):
            os.rmdir(folder)
    except OSError:
        pass


def remove(
    store: Store, settings: Settings, *, show: str | None = None, episode: int | None = None
) -> Removed:
    """Plan and carry out a removal at once (the web API: its page asked already)."""
    return carry_out(store, settings, plan_removal(store, settings, show=show, episode=episode))
