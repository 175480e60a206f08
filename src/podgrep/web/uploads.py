"""Uploads: size-limited while the bytes arrive, then checked to really be audio or video."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import HTTPException, UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podgrep import audio
from podgrep.errors import DiskFullError, MediaError, is_disk_full
from podgrep.sources.local import MEDIA_SUFFIXES

UPLOAD_PATH = "/api/uploads"
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and headers around the file
CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
_ABSOLUTE = re.compile(r"(?<![\w.:/])/(?:[^\s'\"/:]+/)+[^\s'\":]*")  # /any/absolute/path


def _too_large(max_bytes: int) -> HTTPException:
    return HTTPException(
        413, f"The upload is larger than the limit of {max_bytes // (1024 * 1024)} MB"
    )


class UploadLimit:
    """Refuses an upload body over the limit with 413, before or while it is received."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != UPLOAD_PATH:
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes + FORM_OVERHEAD
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _send_413(send, self.max_bytes)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _too_large(self.max_bytes)  # FastAPI passes HTTPException through
            return message

        await self.app(scope, limited, send)


async def _send_413(send: Send, max_bytes: int) -> None:
    body = (
        b'{"detail":"The upload is larger than the limit of '
        + str(max_bytes // (1024 * 1024)).encode()
        + b' MB"}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def safe_name(filename: str | None) -> str:
    """A plain file name from an uploaded one: no folders, no odd characters."""
    name = Path((filename or "").replace("\\", "/")).name
    name = _UNSAFE.sub("_", name).strip(" ._")
    return name[-120:] or "upload"


def scrub_paths(message: str, path: Path, folder: Path, name: str | None = None) -> str:
    """`message` naming the uploaded file by its name only: no server folder in it."""
    name = name or path.name
    for p in (path, path.with_name(path.name + ".part")):
        for spelled in {str(p), str(p.resolve()), p.as_posix()}:
            message = message.replace(spelled, name)
    for f in {str(folder.resolve()), str(folder), folder.as_posix()}:
        message = message.replace(f + "/", "").replace(f, "uploads")
    message = message.replace(name + ".part", name)
    return _ABSOLUTE.sub(name, message)  # any other server path the message may hold


def _unique(folder: Path, name: str) -> Path:
    path = folder / name
    stem, suffix = path.stem, path.suffix
    n = 1
    while path.exists():
        path = folder / f"{stem}-{n}{suffix}"
        n += 1
    return path


def check_type(filename: str | None, content_type: str | None) -> str:
    """The safe name of an upload whose name and type say audio or video, else 415."""
    name = safe_name(filename)
    suffix = Path(name).suffix.lower()
    if suffix not in MEDIA_SUFFIXES:
        raise HTTPException(
            415,
            f"{name} is not an audio or video file name (suffix {suffix or 'none'}): "
            f"podgrep takes {', '.join(sorted(MEDIA_SUFFIXES))}",
        )
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype and not ctype.startswith(("audio/", "video/")) and ctype != "application/octet-stream":
        raise HTTPException(415, f"{name} was sent as {ctype}, not audio or video")
    return name


async def save_upload(upload: UploadFile, folder: Path, max_bytes: int) -> Path:
    """Write an upload into `folder` (413 over the limit, 415 when it is not decodable audio)."""
    name = check_type(upload.filename, upload.content_type)
    folder.mkdir(parents=True, exist_ok=True)
    path = _unique(folder, name)
    part = path.with_name(path.name + ".part")
    size = 0
    try:
        try:
            with part.open("wb") as fh:
                while chunk := await upload.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise _too_large(max_bytes)
                    fh.write(chunk)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            full = DiskFullError.about(
                folder, at_least=size, what="this upload", then="upload it again"
            )
            message = scrub_paths(str(full), part, folder, name)  # no server folder in it
            raise DiskFullError(message, directory=folder) from exc
        if size == 0:
            raise HTTPException(415, f"{name} is empty")
        try:
            audio.check(part, name, seconds=2.0)
        except MediaError as exc:
            raise HTTPException(415, scrub_paths(str(exc), part, folder, name)) from exc
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
    return path
