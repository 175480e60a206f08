"""The JSON API under /api: library, episodes, transcripts, search, sources, sync and jobs."""

from __future__ import annotations

import mimetypes
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from podgrep import net, retention
from podgrep.errors import InvalidInput, NotFoundError, PodgrepError, QueryError, SourceError
from podgrep.formats import EXTENSIONS, FORMATS, render
from podgrep.library import add_source, http_client
from podgrep.web import views
from podgrep.web.safety import check_write, is_loopback, safe_url, sanitize_notes
from podgrep.web.schemas import (
    ChapterOut,
    EpisodeDetail,
    EpisodePage,
    HitOut,
    JobsOut,
    RemovedOut,
    SearchOut,
    ShowOut,
    SourceIn,
    SourceOut,
    SpeakerOut,
    SpeakerRenameIn,
    SyncIn,
    SyncOut,
    TranscriptInfo,
    UploadOut,
)
from podgrep.web.search_view import Filters, check_mode, default_mode, find, parse_day
from podgrep.web.state import WebState
from podgrep.web.uploads import save_upload, scrub_paths

CONTENT_TYPES = {
    "json": "application/json",
    "podcast-json": "application/json",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown id"},
}
ID_MIN, ID_MAX = -(2**63), 2**63 - 1  # what SQLite can hold; any id beyond is unknown (404)
Id = Annotated[int, PathParam(ge=ID_MIN, le=ID_MAX, description="An id (see the listings)")]


def web_state(request: Request) -> WebState:
    """The app's shared state."""
    return request.app.state.web  # type: ignore[no-any-return]


State = Annotated[WebState, Depends(web_state)]


def writer(request: Request) -> None:
    """Guard of the write endpoints: same-site requests only, and the token when required."""
    state = web_state(request)
    check_write(request, state.token, state.hosts)


WRITE = [Depends(writer)]
AUDIO_HEADERS = {
    "Cache-Control": "private, max-age=3600",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Token required (given at start, or generated off loopback)"},
    403: {"description": "Request from another site's page"},
}

router = APIRouter(prefix="/api", tags=["api"])


@router.get("/shows", response_model=list[ShowOut], summary="Every show with episode counts")
def list_shows(state: State) -> list[ShowOut]:
    """Shows in the order added, with how many episodes each has, transcribed and failed."""
    with state.store() as store:
        return [views.show_out(s, c) for s, c in views.shows_with_counts(store)]


@router.get("/shows/{show_id}", response_model=ShowOut, responses=ERRORS, summary="One show")
def get_show(show_id: Id, state: State) -> ShowOut:
    """A show with its episode counts."""
    with state.store() as store:
        show = store.get_show(show_id)
        counts = views.counts_of(store, show_id)
        return views.show_out(show, counts)


@router.get("/shows/{show_id}/overview", responses=ERRORS, summary="A show at a glance")
def show_overview(show_id: Id, state: State) -> dict[str, Any]:
    """Totals, cadence, episodes per month, most-said words and the feed health checks."""
    with state.store() as store:
        show = store.get_show(show_id)
        episodes = store.list_episodes(show_id)
        g = views.glance(state, store, show, episodes)
        counts = views.counts_of(store, show_id)
    health = views.health(state, show, episodes, counts.last_error if counts else None)
    o = g.overview
    return {
        "episodes": o.episodes,
        "hours": round(o.seconds / 3600, 2),
        "unknown_durations": o.unknown_durations,
        "cadence": o.cadence,
        "first_published": o.first,
        "last_published": o.last,
        "per_month": [{"month": m, "episodes": n} for m, n in o.months],
        "top_words": [{"word": w, "count": n} for w, n in g.words],
        "health": None
        if health is None
        else {
            "score": health.score,
            "note": health.note,
            "checks": [
                {"name": c.name, "ok": c.ok, "detail": c.detail, "examples": c.examples}
                for c in health.checks
            ],
        },
    }


@router.get(
    "/shows/{show_id}/episodes",
    response_model=EpisodePage,
    responses=ERRORS,
    summary="A show's episodes, newest first",
)
def show_episodes(
    show_id: Id,
    state: State,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> EpisodePage:
    """One page of a show's episodes with date, duration and transcript status."""
    with state.store() as store:
        show = store.get_show(show_id)
        episodes = store.list_episodes(show_id)
    page = episodes[offset : offset + limit]
    return EpisodePage(
        show_id=show_id,
        total=len(episodes),
        limit=limit,
        offset=offset,
        episodes=[views.episode_out(e, show.title) for e in page],
    )


@router.get(
    "/episodes/{episode_id}", response_model=EpisodeDetail, responses=ERRORS, summary="One episode"
)
def get_episode(episode_id: Id, state: State) -> EpisodeDetail:
    """An episode with sanitised show notes, chapters, its transcript's summary and exports."""
    with state.store() as store:
        ep = store.get_episode(episode_id)
        show = store.get_show(ep.show_id or 0)
        transcript = store.transcript_for(episode_id)
    chapters = views.chapters_for(state, ep)
    base = views.episode_out(ep, show.title).model_dump()
    info = None
    exports: dict[str, str] = {}
    if transcript is not None:
        info = TranscriptInfo(
            source=transcript.source,
            model=transcript.model,
            language=transcript.language,
            complete=transcript.complete,
            segments=len(transcript.segments),
        )
        exports = {f: f"/api/episodes/{episode_id}/transcript?format={f}" for f in FORMATS}
    return EpisodeDetail(
        **base,
        show_notes_html=str(sanitize_notes(ep.show_notes_html)),
        chapters=[
            ChapterOut(start=c.start, title=c.title, end=c.end, url=safe_url(c.url))
            for c in chapters
        ],  # fmt: skip
        transcript=info,
        exports=exports,
    )


@router.get(
    "/episodes/{episode_id}/transcript",
    responses={
        **ERRORS,
        200: {"content": {t.split(";")[0]: {} for t in CONTENT_TYPES.values()}},
        400: {"description": "Unknown format"},
    },
    response_class=Response,
    summary="An episode's transcript in one format",
)
def get_transcript(
    episode_id: Id,
    state: State,
    format: Annotated[  # noqa: A002 - the parameter's public name
        str, Query(description=f"One of {', '.join(FORMATS)}")
    ] = "json",
    download: Annotated[bool, Query(description="Send as a file to save")] = False,
) -> Response:
    """The transcript as json, srt, vtt, txt or podcast-json (Podcasting 2.0)."""
    if format not in FORMATS:
        raise QueryError(f"Unknown format {format!r}: use one of {', '.join(FORMATS)}")
    with state.store() as store:
        ep = store.get_episode(episode_id)
        show = store.get_show(ep.show_id or 0)
        transcript = store.transcript_for(episode_id)
    if transcript is None or (not transcript.segments and not transcript.complete):
        raise NotFoundError(
            f"Episode {episode_id} has no transcript yet (status {ep.status}): sync it first"
        )
    body = render(format, transcript, title=ep.title, show=show.title)
    headers = {}
    if download:
        name = views.download_name(ep.title, EXTENSIONS[format])
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(body, media_type=CONTENT_TYPES[format], headers=headers)


@router.get(
    "/episodes/{episode_id}/chapters",
    responses={**ERRORS, 200: {"content": {"application/json+chapters": {}}}},
    response_class=Response,
    summary="An episode's chapters as Podcasting 2.0 chapters JSON (version 1.2.0)",
)
def get_chapters(episode_id: Id, state: State) -> Response:
    """The chapters stored for the episode (feed, show notes, transcript or generated)."""
    from podgrep.enrich.episode import stored_chapters
    from podgrep.formats.chapters_json import write_chapters_json

    with state.store() as store:
        ep = store.get_episode(episode_id)
        show = store.get_show(ep.show_id or 0)
        chapters = stored_chapters(store, episode_id)
    body = write_chapters_json(chapters, title=ep.title, podcast=show.title, author=show.author)
    return Response(body, media_type="application/json+chapters")


@router.get("/episodes/{episode_id}/links", responses=ERRORS, summary="An episode's links")
def get_links(episode_id: Id, state: State) -> list[dict[str, Any]]:
    """Links from the show notes (with titles) and web addresses said in the episode."""
    with state.store() as store:
        store.get_episode(episode_id)
        return [
            {"url": lk.url, "title": lk.title, "origin": lk.origin, "start": lk.start}
            for lk in store.link_rows(episode_id)
        ]


@router.get("/shows/{show_id}/links", responses=ERRORS, summary="Links shared across a show")
def get_shared_links(
    show_id: Id,
    state: State,
    minimum: Annotated[int, Query(alias="min", ge=1, le=1000)] = 2,
) -> list[dict[str, Any]]:
    """Links found in at least `min` episodes of the show, with how many episodes share each."""
    with state.store() as store:
        store.get_show(show_id)
        return [asdict(lk) for lk in store.shared_links(show_id, minimum)]


@router.get(
    "/episodes/{episode_id}/speakers",
    response_model=list[SpeakerOut],
    responses=ERRORS,
    summary="An episode's speakers",
)
def get_speakers(episode_id: Id, state: State) -> list[SpeakerOut]:
    """The voices found in the episode, most speech first, with their names when known."""
    from podgrep.speakers.cli import speaker_rows

    with state.store() as store:
        store.get_episode(episode_id)
        return [SpeakerOut(**row) for row in speaker_rows(store, episode_id)]


@router.post(
    "/episodes/{episode_id}/speakers",
    response_model=list[SpeakerOut],
    dependencies=WRITE,
    responses={
        **ERRORS,
        **WRITE_ERRORS,
        422: {"description": "A label the episode does not have, or a malformed label or name"},
    },
    summary="Name (or rename) a speaker of an episode",
)
def rename_speaker_api(episode_id: Id, body: SpeakerRenameIn, state: State) -> list[SpeakerOut]:
    """Give the speaker `label` the name `name` (empty or null clears it), as `podgrep speakers
    EPISODE --rename S1="Jane Doe"` does: transcripts and exports show the name at once, and
    the show's voiceprints learn the voice. Answers the episode's speakers."""
    from podgrep.speakers.cli import apply_renames, speaker_rows

    label = body.label.strip()
    name = " ".join("".join(c if c.isprintable() else " " for c in body.name or "").split())
    with state.store() as store:
        store.get_episode(episode_id)
        known = sorted(s.label for s in store.list_speakers(episode_id))
        if label.lower() not in {k.lower() for k in known}:
            raise InvalidInput(
                f"Episode {episode_id} has no speaker {label!r} "
                f"(speakers: {', '.join(known) or 'none yet'}): "
                f"GET /api/episodes/{episode_id}/speakers lists them"
            )
        apply_renames(store, episode_id, [(label, name or None)])
        return [SpeakerOut(**row) for row in speaker_rows(store, episode_id)]


def _playable_remotely(state: WebState, ep: Any, url: str) -> bool:
    """Whether the browser may be sent to the feed's own media URL: only where podgrep would
    fetch it itself, so a hostile enclosure cannot aim visitors' browsers at their network."""
    with state.store() as store:
        show = store.get_show(ep.show_id)
    if show.kind not in ("feed", "playlist"):  # a URL the user added: theirs to play from anywhere
        return True
    rules = net.content_guard(state.settings, show.feed_url, remote=not show.chosen_by_user)
    return net.may_reach(rules, url)


@router.get(
    "/episodes/{episode_id}/audio",
    responses={**ERRORS, 206: {"description": "Partial content (Range)"}},
    response_class=FileResponse,
    summary="An episode's audio, with Range support",
)
def get_audio(episode_id: Id, state: State) -> Response:
    """The cached audio (206 for a Range request), or a redirect to the publisher's file."""
    with state.store() as store:
        ep = store.get_episode(episode_id)
    if ep.media_path and Path(ep.media_path).is_file():
        path = Path(ep.media_path)
        ctype = ep.media_type if (ep.media_type or "").startswith(("audio/", "video/")) else None
        ctype = retention.content_type(ep) or ctype  # a kept Opus copy: audio/ogg; codecs=opus
        ctype = ctype or mimetypes.guess_type(path.name)[0] or ""
        if not ctype.startswith(("audio/", "video/")):
            ctype = "application/octet-stream"  # never text/html or SVG from a feed's file
        return FileResponse(path, media_type=ctype, headers=AUDIO_HEADERS)
    remote = safe_url(ep.media_url)
    if remote and _playable_remotely(state, ep, remote):
        return RedirectResponse(remote, status_code=307)
    if ep.media_kept == "none":
        raise NotFoundError(
            f"The audio of episode {episode_id} is not kept (keep_media = none) and its"
            " enclosure cannot be played from here"
        )
    raise NotFoundError(f"The audio of episode {episode_id} is not downloaded yet: sync it first")


def audio_src(state: WebState, ep: Any) -> str:
    """What the episode page's player plays: podgrep's copy, or, once `keep_media = none` has
    dropped it, the enclosure itself (an http(s) URL the browser may be sent to, never a path)."""
    if ep.media_kept == "none" and not (ep.media_path and Path(ep.media_path).is_file()):
        remote = safe_url(ep.media_url)
        if remote and _playable_remotely(state, ep, remote):
            return remote
    return f"/api/episodes/{ep.id}/audio"


@router.get(
    "/search",
    response_model=SearchOut,
    responses={400: {"description": "Malformed query or filter"}},
    summary="Search every transcript",
)
def search_api(
    state: State,
    q: Annotated[str, Query(description='Words, "a phrase", prefix*, -exclude, a OR b')],
    show: Annotated[str | None, Query(description="Show id or part of its title")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10000)] = 0,
    since: Annotated[str | None, Query(description="Published on or after YYYY-MM-DD")] = None,
    until: Annotated[str | None, Query(description="Published on or before YYYY-MM-DD")] = None,
    mode: Annotated[
        str | None,
        Query(description="keyword, semantic or hybrid (default: hybrid once indexed)"),
    ] = None,
) -> SearchOut:
    """Ranked hits with a little context: keyword hits at the second their words begin,
    semantic and hybrid hits as the passage that answers."""
    mode = check_mode(mode)
    filters = Filters(show or None, parse_day(since, "since"), parse_day(until, "until"))
    with state.store() as store:
        mode = mode or default_mode(store)
        hits, more = find(store, q, filters, limit=limit, offset=offset, mode=mode)
    return SearchOut(
        query=q,
        mode=mode,
        limit=limit,
        offset=offset,
        has_more=more,
        count=len(hits),
        hits=[
            HitOut(
                episode_id=v.hit.episode_id,
                show_id=v.episode.show_id,
                show=v.hit.show,
                episode=v.hit.episode,
                published=v.episode.published,
                start=round(v.hit.start, 2),
                end=round(v.hit.end, 2),
                text=v.hit.text,
                marks=v.hit.marks,
                before=v.before,
                after=v.after,
                url=f"/episodes/{v.hit.episode_id}?t={v.hit.start:.1f}",
                speaker=v.hit.speaker,
                match=v.hit.match,
            )
            for v in hits
        ],
    )


@router.post(
    "/sources",
    response_model=SourceOut,
    status_code=201,
    dependencies=WRITE,
    responses={**WRITE_ERRORS, 422: {"description": "Not a URL, or not a feed or media"}},
    summary="Add a feed or media URL",
)
def add_source_api(body: SourceIn, state: State) -> SourceOut:
    """Add a podcast feed, a direct media URL or a page yt-dlp can read; sync to transcribe.

    On a server others can reach (bound to an address other than loopback) the address
    must be public or in allow_networks: a remote caller cannot make podgrep probe this
    machine or its network, and the answer is the same whether a port is open or closed."""
    target = body.url.strip()
    if not target.lower().startswith(("http://", "https://")):
        raise SourceError(f"{target!r} is not an http(s) URL: give a feed or media address")
    remote = not is_loopback(state.hosts.bind or "127.0.0.1")
    guard = net.Guard.from_settings(state.settings, restricted=True) if remote else None
    with (
        state.store() as store,
        http_client(state.settings.http_timeout, state.settings, guard=guard) as client,
    ):
        result = add_source(store, target, client=client, guard=guard, local_paths=False)
        if remote:  # every later fetch of what this caller added keeps to the same rules
            store.mark_remote(
                result.show.id if result.created and result.kind == "feed" else None,
                result.new_episodes,
            )
        counts = views.counts_of(store, result.show.id)
    return SourceOut(
        show=views.show_out(result.show, counts),
        kind=result.kind,
        created=result.created,
        new_episodes=result.new_episodes,
    )


@router.post(
    "/uploads",
    response_model=UploadOut,
    status_code=201,
    dependencies=WRITE,
    responses={
        **WRITE_ERRORS,
        413: {"description": "Larger than the upload limit"},
        415: {"description": "Not an audio or video file"},
    },
    summary="Upload an audio or video file",
)
async def upload(
    file: Annotated[UploadFile, File(description="An audio or video file")], state: State
) -> UploadOut:
    """Store an uploaded file under <home>/uploads and add it to the library's local files."""
    folder = state.settings.home / "uploads"
    path = await save_upload(file, folder, state.max_upload_bytes)

    def add() -> UploadOut:
        with state.store() as store:
            try:
                result = add_source(store, str(path))
            except PodgrepError as exc:  # its message names the file where it was saved
                raise _retold(exc, scrub_paths(str(exc), path, folder)) from exc
            counts = views.counts_of(store, result.show.id)
        return UploadOut(
            show=views.show_out(result.show, counts),
            episode_ids=result.new_episodes,
            file=path.name,
        )

    return await run_in_threadpool(add)


@router.post(
    "/sync",
    response_model=SyncOut,
    status_code=202,
    dependencies=WRITE,
    responses={**WRITE_ERRORS, 409: {"description": "A sync is already running"}},
    summary="Start a sync",
)
def start_sync(state: State, body: SyncIn | None = None) -> SyncOut | JSONResponse:
    """Check feeds, then fetch, transcribe and index what is pending, in the background."""
    body = body or SyncIn(retry=False, refresh=True)
    if not state.sync.start(retry=body.retry, refresh=body.refresh):
        return _busy(state)
    return SyncOut(started=True, sync=state.sync.snapshot())


@router.post(
    "/retry",
    response_model=SyncOut,
    status_code=202,
    dependencies=WRITE,
    responses={**WRITE_ERRORS, 409: {"description": "A sync is already running"}},
    summary="Retry failed steps",
)
def retry(state: State) -> SyncOut | JSONResponse:
    """Give parked steps new attempts and start a sync (without checking feeds) to run them."""
    if state.sync.snapshot()["running"]:
        return _busy(state)
    with state.store() as store:
        n = store.retry_failed()
    if not state.sync.start(refresh=False):
        return _busy(state)
    return SyncOut(started=True, sync=state.sync.snapshot(), retried=n)


def _removed(state: WebState, *, show_id: int | None = None, episode_id: int | None = None
             ) -> RemovedOut:  # fmt: skip
    from podgrep.shows import carry_out, plan_removal

    with state.store() as store:
        if show_id is not None:
            store.get_show(show_id)  # an unknown id: 404
        plan = plan_removal(
            store, state.settings, show=None if show_id is None else str(show_id),
            episode=episode_id,
        )  # fmt: skip
        done = carry_out(store, state.settings, plan)
    return RemovedOut(
        removed=done.what, episodes=done.episodes, transcripts=done.transcripts,
        media_files=done.files, bytes_freed=done.bytes_freed,
    )  # fmt: skip


@router.delete(
    "/shows/{show_id}",
    response_model=RemovedOut,
    dependencies=WRITE,
    responses={**ERRORS, **WRITE_ERRORS},
    summary="Remove a show and everything of it",
)
def remove_show_api(show_id: Id, state: State) -> RemovedOut:
    """What `podgrep remove SHOW --yes` does: the show, its episodes, transcripts, search
    entries, vectors, speakers, chapters, links, jobs, and media files no other show uses."""
    return _removed(state, show_id=show_id)


@router.delete(
    "/episodes/{episode_id}",
    response_model=RemovedOut,
    dependencies=WRITE,
    responses={**ERRORS, **WRITE_ERRORS},
    summary="Remove an episode and everything of it",
)
def remove_episode_api(episode_id: Id, state: State) -> RemovedOut:
    """What `podgrep remove --episode ID --yes` does."""
    return _removed(state, episode_id=episode_id)


def _paused(state: WebState, show_id: int, paused: bool) -> ShowOut:
    with state.store() as store:
        store.set_paused(show_id, paused)
        return views.show_out(store.get_show(show_id), views.counts_of(store, show_id))


@router.post(
    "/shows/{show_id}/pause",
    response_model=ShowOut,
    dependencies=WRITE,
    responses={**ERRORS, **WRITE_ERRORS},
    summary="Pause a show",
)
def pause_show_api(show_id: Id, state: State) -> ShowOut:
    """Its feed is no longer checked and its episodes' steps are not run (`podgrep pause`)."""
    return _paused(state, show_id, True)


@router.post(
    "/shows/{show_id}/resume",
    response_model=ShowOut,
    dependencies=WRITE,
    responses={**ERRORS, **WRITE_ERRORS},
    summary="Resume a paused show",
)
def resume_show_api(show_id: Id, state: State) -> ShowOut:
    """Checked and synced again (`podgrep resume`)."""
    return _paused(state, show_id, False)


def _retold(exc: PodgrepError, message: str) -> PodgrepError:
    """The same kind of error with another message."""
    try:
        return type(exc)(message)
    except TypeError:
        return PodgrepError(message)


def _busy(state: WebState) -> JSONResponse:
    return JSONResponse(
        {"detail": "A sync is already running: watch GET /api/jobs", "sync": state.sync.snapshot()},
        status_code=409,
    )


@router.get("/jobs", response_model=JobsOut, summary="Sync progress and the state of every job")
def jobs(state: State) -> JobsOut:
    """The web sync's progress, job counts by state, running steps, failures, per-show counts."""
    with state.store() as store:
        return JobsOut(
            sync=state.sync.snapshot(),
            counts=store.job_counts(),
            running=[asdict(r) for r in store.running_jobs()],
            failures=[asdict(f) for f in store.failures()],
            shows=[
                {k: getattr(c, k) for k in ("id", "title", "episodes", "transcribed", "failed")}
                for c in store.status_counts()
            ],
        )


def error_status(exc: PodgrepError) -> int:
    """The HTTP status of a user error (or of a store that cannot answer: not the request's
    fault either)."""
    from podgrep.errors import DiskFullError, FeedError, StoreError
    from podgrep.web.safety import AuthError, ForbiddenOrigin

    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, ForbiddenOrigin):
        return 403
    if isinstance(exc, SourceError | FeedError | InvalidInput | net.BlockedAddress):
        return 422
    if isinstance(exc, DiskFullError):
        return 507  # Insufficient Storage: not the request's fault
    if isinstance(exc, StoreError):
        return 503  # the library's store went away or cannot be used: try again later
    return 400
