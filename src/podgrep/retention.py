"""Media retention (`keep_media`): what stays in the media cache once an episode no longer
needs its audio (transcribed, and its speakers step has listened to it).

- `original`: the downloaded file stays (the default).
- `opus`: a 16 kHz mono Ogg Opus copy at about 16 kbps replaces it (`encode_opus`); the copy is
  filed in the content-addressed cache under its own SHA-256 (`<sha[:2]>/<sha>.opus`), written
  to a temporary file, fsynced and renamed, so a reader never sees half of it.
- `none`: the file is deleted; the player streams the enclosure URL, and a step that needs the
  audio again (a retranscription) fetches the enclosure again (`jobs.steps.local_media`).

`episodes.media_sha256` keeps naming the original's bytes (what a later fetch is checked
against); `episodes.media_path` names the file now kept (NULL once dropped), and
`episodes.media_kept` what was done. A cache file another episode still points at (the same
bytes, deduplicated by fetch.py) is never deleted; files outside the cache (added from this
machine with `podgrep add FILE`) are the user's and never touched. A copy that fails (corrupt
media, a full disk) keeps the original and says so in one note, and is recorded
(`media_kept = 'copy-failed'`) so that later syncs do not encode it again each time: `podgrep
keep-media SHOW opus` tries again (`none` still drops it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from podgrep.errors import PodgrepError

if TYPE_CHECKING:
    from podgrep.config import Settings
    from podgrep.domain import Episode, Show
    from podgrep.store import Store

CHOICES = ("original", "opus", "none")
COPY_FAILED = "copy-failed"  # media_kept of an original kept because its Opus copy failed
_STRICTNESS = {"original": 0, COPY_FAILED: 0, "opus": 1, "none": 2}
OPUS_TYPE = "audio/ogg; codecs=opus"  # what the web app serves a kept copy as
OPUS_RATE = 16000
OPUS_BITRATE = 16000  # bits per second (VBR, so about this)
DURATION_SLACK = 0.25  # seconds the copy's duration may differ from the original's


def check_choice(value: str | None, what: str = "keep_media") -> str:
    """`value` as one of CHOICES, or a PodgrepError naming them."""
    choice = (value or "").strip().lower()
    if choice not in CHOICES:
        raise PodgrepError(f"{what} must be original, opus or none, not {value!r}")
    return choice


def effective(settings: Settings, show: Show | None) -> str:
    """What an episode of `show` keeps: the show's own choice, else the `keep_media` setting."""
    if show is not None and show.keep_media in CHOICES:
        return str(show.keep_media)
    return settings.keep_media if settings.keep_media in CHOICES else "original"


def stricter(keep: str, than: str | None) -> bool:
    """Whether `keep` keeps less than `than` (None: nothing applied yet, the original)."""
    return _STRICTNESS[keep] > _STRICTNESS.get(than or "original", 0)


# -- the Opus copy ---------------------------------------------------------------------------


def encode_opus(source: Path, dest: Path, *, bitrate: int = OPUS_BITRATE) -> None:
    """Write `source`'s first audio stream to `dest` as 16 kHz mono Ogg Opus at about
    `bitrate` bits per second (libopus, VBR, the speech tuning); raises MediaError or OSError."""
    import av
    import numpy as np

    from podgrep import audio
    from podgrep.errors import MediaError

    try:
        # bitexact: a fixed Ogg serial and no version tag, so the same audio makes the same
        # bytes (and so one cache file however many episodes share it)
        with av.open(str(dest), "w", format="ogg", options={"fflags": "+bitexact"}) as out:
            stream = out.add_stream("libopus", rate=OPUS_RATE, layout="mono")
            stream.bit_rate = bitrate
            stream.codec_context.options = {"application": "voip", "vbr": "on"}
            pts = 0
            for block in audio.stream(source, source.name):
                samples = np.ascontiguousarray(block, dtype=np.float32).reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
                frame.sample_rate = OPUS_RATE
                frame.pts = pts
                pts += samples.shape[1]
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
    except av.error.FFmpegError as exc:
        raise MediaError(f"{source.name} could not be encoded as Opus: {exc}") from exc
    if pts == 0:
        raise MediaError(f"{source.name} holds no audio to keep")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def opus_copy(cache_root: Path, source: Path, duration: float | None = None) -> Path:
    """File an Opus copy of `source` in the cache under its own SHA-256 (atomically: a
    temporary file, fsync, rename) and return its path; the copy's duration is checked against
    `duration` (else the source's), so a copy that lost audio never replaces anything."""
    from podgrep import audio
    from podgrep.errors import MediaError

    partial = cache_root / "partial"
    partial.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="opus-", suffix=".opus.tmp", dir=partial)
    os.close(fd)
    tmp = Path(name)
    try:
        encode_opus(source, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        want = duration or audio.probe(source, source.name).duration
        got = audio.probe(tmp, source.name).duration
        if want and (got is None or abs(got - want) > max(DURATION_SLACK, want * 0.002)):
            raise MediaError(
                f"the Opus copy of {source.name} lasts {got or 0:.2f} s, not {want:.2f} s"
            )
        sha = _sha256(tmp)
        dest = cache_root / sha[:2] / f"{sha}.opus"
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)  # the same bytes already there: replaced by themselves
        _fsync_dir(dest.parent)
        return dest
    finally:
        tmp.unlink(missing_ok=True)


# -- applying a choice to episodes -----------------------------------------------------------


@dataclass
class Applied:
    """What retention did to one episode's media."""

    episode_id: int
    kept: str  # what the episode keeps now (original | opus | none)
    before: int = 0  # bytes of the cache file it pointed at before
    after: int = 0  # bytes of the cache file it points at now
    note: str | None = None  # why nothing changed (a failed copy), for a `note:` line


def _in_cache(path: Path, cache_root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(cache_root.resolve())
    except OSError:
        return False


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path is not None else 0
    except OSError:
        return 0


def _drop_if_unused(store: Store, path: Path, cache_root: Path) -> None:
    """Delete a cache file no episode points at any more (another episode with the same bytes
    keeps it)."""
    if _in_cache(path, cache_root) and not store.episodes_using(str(path)):
        path.unlink(missing_ok=True)


def apply(
    store: Store, cache_root: Path, ep: Episode, keep: str, *, retry: bool = False
) -> Applied | None:
    """Make `ep` keep `keep`, if that keeps less than it keeps now; None when nothing was to do.
    Never raises for the media itself: a copy that fails keeps the original (`Applied.note`)
    and is recorded as COPY_FAILED, tried again only with `retry` (`podgrep keep-media`)."""
    from podgrep.errors import MediaError

    assert ep.id is not None
    current = ep.media_kept or "original"
    if current == COPY_FAILED and keep == "opus" and not retry:
        return None  # failed before: not encoded again at every sync
    path = Path(ep.media_path) if ep.media_path else None
    if path is not None and not _in_cache(path, cache_root):
        return None  # a file of this machine the user added: theirs, not the cache's
    if not stricter(keep, current):
        if ep.media_kept is None and path is not None and path.is_file():
            store.set_media_kept(ep.id, "original", str(path))  # recorded: nothing to do
        return None
    if path is None or not path.is_file():
        if keep == "none":  # nothing here to delete (another machine's cache, or gone)
            store.set_media_kept(ep.id, "none", None)
            return Applied(ep.id, "none")
        return None  # no audio here to copy from: the worker holding it does it
    before = _size(path)
    if keep == "none":
        store.set_media_kept(ep.id, "none", None)
        _drop_if_unused(store, path, cache_root)
        return Applied(ep.id, "none", before, 0)
    try:
        copy = opus_copy(cache_root, path, ep.duration)
    except (MediaError, OSError) as exc:
        reason = str(exc) if isinstance(exc, MediaError) else (exc.strerror or str(exc))
        store.set_media_kept(ep.id, COPY_FAILED, str(path))  # the original, as it was
        again = f"podgrep keep-media {ep.show_id} opus" if ep.show_id is not None else None
        return Applied(
            ep.id,
            COPY_FAILED,
            before,
            before,
            note=f"episode {ep.id}: kept its original media (no Opus copy: {reason})"
            + (f"; `{again}` tries again" if again else ""),
        )
    store.set_media_kept(ep.id, "opus", str(copy))
    if copy != path:
        _drop_if_unused(store, path, cache_root)
    return Applied(ep.id, "opus", before, _size(copy))


def apply_all(
    store: Store,
    settings: Settings,
    show_id: int | None = None,
    notify: Callable[[str], None] | None = None,
    *,
    retry: bool = False,
) -> list[Applied]:
    """Apply each show's choice to its episodes that no longer need their audio (the
    speakers step done): `podgrep keep-media` for one show (with `retry`: Opus copies that
    failed before are tried again), every sync for the library (they are not)."""
    shows = {s.id: s for s in store.list_shows()}
    choices = {sid: effective(settings, s) for sid, s in shows.items()}
    if show_id is None and all(c == "original" for c in choices.values()):
        return []  # nothing is kept less than the original: nothing to look at
    done: list[Applied] = []
    for ep in store.listened_episodes(show_id):
        keep = choices.get(ep.show_id, "original")
        if not stricter(keep, ep.media_kept) and ep.media_kept is not None:
            continue
        applied = apply(store, settings.media_dir, ep, keep, retry=retry)
        if applied is None:
            continue
        if applied.note and notify is not None:
            notify(applied.note)
        done.append(applied)
    return done


def after_listening(
    store: Store,
    settings: Settings,
    cache_root: Path,
    ep: Episode,
    notify: Callable[[str], None] | None,
) -> None:
    """The hook at the end of the speakers step (the last one that listens to the audio)."""
    assert ep.id is not None
    if any(j.step in ("fetch", "transcribe") and j.state != "done" for j in store.jobs(ep.id)):
        return  # queued again meanwhile (a retranscription): it needs the audio
    fresh = store.get_episode(ep.id)
    show = store.get_show(fresh.show_id) if fresh.show_id is not None else None
    applied = apply(store, cache_root, fresh, effective(settings, show))
    if applied is not None and applied.note and notify is not None:
        notify(applied.note)


# -- the player, status ----------------------------------------------------------------------


def content_type(ep: Episode) -> str | None:
    """The type to serve a kept Opus copy as (None: not a copy, the episode's own type)."""
    if ep.media_kept == "opus" and ep.media_path and ep.media_path.endswith(".opus"):
        return OPUS_TYPE
    return None


@dataclass
class MediaUse:
    """Bytes of the media cache the library's episodes point at."""

    total: int
    by_show: dict[int, int]


def media_use(store: Store, cache_root: Path, *more_roots: Path) -> MediaUse:
    """Disk used by the files the library points at inside podgrep's own folders (the media
    cache, and `more_roots` such as the web uploads), in all and per show (a file shared by
    two shows counts once in the total, and in each show's)."""
    sizes: dict[str, int] = {}
    by_show: dict[int, int] = {}
    seen: set[tuple[int, str]] = set()
    roots = [r.resolve() for r in (cache_root, *more_roots)]
    for show_id, path in store.media_files():
        if (show_id, path) in seen:
            continue
        seen.add((show_id, path))
        if path not in sizes:
            p = Path(path)
            try:
                inside = any(p.resolve().is_relative_to(r) for r in roots)
            except OSError:
                inside = False
            sizes[path] = _size(p) if inside else 0
        by_show[show_id] = by_show.get(show_id, 0) + sizes[path]
    return MediaUse(sum(sizes.values()), by_show)


def total_bytes(applied: Iterable[Applied]) -> tuple[int, int]:
    """Bytes before and after, over what retention did."""
    items = list(applied)
    return sum(a.before for a in items), sum(a.after for a in items)


def set_show_keep(
    store: Store,
    settings: Settings,
    ref: str,
    keep: str,
    notify: Callable[[str], None] | None = None,
) -> tuple[Show, list[Applied]]:
    """`podgrep keep-media SHOW KEEP`: the show's choice recorded, and applied at once to its
    episodes that no longer need their audio (a looser choice applies to episodes to come: an
    original already replaced is not fetched back until a step needs the audio). An Opus
    copy that failed before is tried again."""
    keep = check_choice(keep)
    from podgrep.shows import find_show

    show = find_show(store, ref)
    assert show.id is not None
    store.set_keep_media(show.id, keep)
    applied = apply_all(store, settings, show.id, notify, retry=True)
    return store.get_show(show.id), applied
