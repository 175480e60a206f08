"""The FastAPI app over one library: pages, the JSON API, static files and error answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from podgrep import __version__
from podgrep.config import Settings
from podgrep.errors import PodgrepError
from podgrep.web import api, pages, word_views
from podgrep.web.render import page
from podgrep.web.safety import HostGuard, ResponseHeaders, host_rule
from podgrep.web.state import DEFAULT_UPLOAD_MB, WebState
from podgrep.web.sync import SyncRunner
from podgrep.web.uploads import UploadLimit

STATIC = Path(__file__).parent / "static"
DESCRIPTION = """podgrep's library over HTTP: shows, episodes, transcripts in every export format,
full-text search with the second each hit was said, adding sources, uploads and sync.

Errors are JSON `{"detail": "…"}`: 400 bad query or a Host name the server does not answer
to, 401 token missing, 403 cross-site write, 404 unknown id, 409 sync already running, 413 upload
too large, 415 not audio, 422 invalid body, 503 the library's store cannot be reached (try again
later). When the server is bound to an address other than loopback, or was given a token, the
write endpoints (POST, DELETE) need `Authorization: Bearer TOKEN`."""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    schedule = app.state.schedule  # serve --sync-every: scheduled syncs while the app runs
    if schedule is not None:
        schedule.start()
    yield
    if schedule is not None:
        schedule.stop()
    # the server is stopping (SIGTERM, Ctrl-C): a sync running (scheduled or from the page)
    # gives its step back to the queue, as `podgrep sync` does on Ctrl-C
    app.state.web.sync.stop()
    feeds = app.state.web.feeds
    if feeds is not None:
        feeds.close()


def create_app(
    settings: Settings,
    *,
    token: str | None = None,
    max_upload_bytes: int | None = None,
    hosts: list[str] | None = None,
    bind: str | None = None,
    sync_every: float | None = None,
) -> FastAPI:
    """The web app for the library in `settings.home`; `token` guards the write endpoints.

    Requests are answered only for loopback Host names, the address `bind` (the one the server
    listens on; for 0.0.0.0 or :: the address each request reached), and the names in `hosts`
    and `settings.allowed_hosts`. `sync_every` (seconds): scheduled syncs while it runs (see
    web.schedule)."""
    rule = host_rule(bind, hosts or [], settings.allowed_hosts)
    app = FastAPIOffline(
        title="podgrep",
        version=__version__,
        description=DESCRIPTION,
        static_url="/static/docs",
        redoc_url=None,  # ReDoc's bundle loads its logo from a CDN; /docs covers the same
        swagger_ui_parameters={"validatorUrl": None},  # never send the spec to swagger.io
        lifespan=_lifespan,
    )
    app.state.web = WebState(
        settings=settings,
        token=token,
        max_upload_bytes=max_upload_bytes or DEFAULT_UPLOAD_MB * 1024 * 1024,
        sync=SyncRunner(settings),
        hosts=rule,
    )
    app.state.schedule = None
    if sync_every is not None:
        from podgrep.web.schedule import SyncScheduler

        app.state.schedule = SyncScheduler(settings, app.state.web.sync, sync_every)
    app.add_middleware(UploadLimit, max_bytes=app.state.web.max_upload_bytes)
    app.add_middleware(ResponseHeaders)
    app.add_middleware(HostGuard, rule=rule)  # outermost: before anything else reads the request
    app.mount("/static/app", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(word_views.api_router)
    app.include_router(word_views.page_router)
    _errors(app)
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def _error_page(request: Request, status: int, message: str) -> Response:
    return page(request, "error.html", status=status, title=f"Error {status}", message=message)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(PodgrepError)
    async def user_error(request: Request, exc: PodgrepError) -> Response:
        status = api.error_status(exc)
        if _wants_json(request):
            headers = (
                {"WWW-Authenticate": "Bearer"}
                if status == 401
                else {"Retry-After": "5"}
                if status == 503
                else None
            )
            return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)
        return _error_page(request, status, str(exc))

    @app.exception_handler(OverflowError)
    async def out_of_range(request: Request, exc: OverflowError) -> Response:
        message = "No such item: the id is out of range"  # beyond what SQLite holds
        if _wants_json(request):
            return JSONResponse({"detail": message}, status_code=404)
        return _error_page(request, 404, message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        where = {str(e.get("loc", ("",))[0]) for e in errors}
        status = 422 if "body" in where else 404 if where == {"path"} else 400
        message = "; ".join(_describe(e) for e in errors)
        if _wants_json(request):
            return JSONResponse({"detail": message, "errors": _plain(errors)}, status_code=status)
        return _error_page(request, status, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = (
            str(exc.detail)
            if exc.status_code != 404 or exc.detail != "Not Found"
            else (f"Nothing at {request.url.path}")
        )
        if _wants_json(request) or request.url.path.startswith("/static/"):
            return JSONResponse(
                {"detail": message}, status_code=exc.status_code, headers=exc.headers
            )
        return _error_page(request, exc.status_code, message)


def _describe(error: dict) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
    name = ".".join(loc)
    msg = str(error.get("msg", "invalid"))
    if error.get("loc", ("",))[0] == "path":
        what = name.removesuffix("_id") or "item"
        if error.get("type") in ("less_than_equal", "greater_than_equal"):
            return f"No {what} with id {error.get('input')}"
        return f"No such {what}: {error.get('input')!r} is not an id"
    return f"{name}: {msg}" if name else msg


def _plain(errors: list) -> list[dict]:
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in errors
    ]
