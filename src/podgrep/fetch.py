"""Downloads into a content-addressed media cache: resumable, retried, size-limited, deduped."""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import mimetypes
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import httpx

from podgrep import net
from podgrep.errors import DiskFullError, FetchError, MediaError, free_bytes, is_disk_full

if TYPE_CHECKING:
    from podgrep.config import Settings

try:  # POSIX only; elsewhere concurrent fetches of one URL are simply not serialised
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

Progress = Callable[[int, int | None], None]

MEDIA_EXTENSIONS = frozenset(
    {".mp3", ".m4a", ".mp4", ".aac", ".ogg", ".opus", ".oga", ".wav", ".flac", ".webm", ".mkv"}
    | {".mov", ".m4v", ".mpga", ".mpeg"}
)
# Statuses worth another try: the server is busy, throttling or briefly broken.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Types that mean the link points at a page or a feed rather than at the media itself.
NOT_MEDIA_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "text/xml",
        "application/xml",
        "application/rss+xml",
        "application/atom+xml",
        "application/json",
    }
)
# mimetypes depends on the host's tables and misses common podcast spellings; these win.
_TYPE_EXTENSIONS = {
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/mpeg3": ".mp3",
    "audio/x-mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/x-m4a": ".m4a",
    "audio/m4a": ".m4a",
    "audio/aac": ".aac",
    "audio/x-aac": ".aac",
    "audio/ogg": ".ogg",
    "audio/opus": ".opus",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/flac": ".flac",
    "audio/x-flac": ".flac",
    "audio/webm": ".webm",
    "video/mp4": ".mp4",
    "video/x-m4v": ".m4v",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
    "video/x-matroska": ".mkv",
    "application/octet-stream": ".bin",
}
_MAX_DELAY = 10.0  # cap on one back-off sleep
_MAX_RETRY_AFTER = 30.0  # a longer Retry-After is ignored: better to fail and retry next sync
_SIDECAR_EVERY = 1 << 20  # refresh the sidecar's byte count this often while streaming
_SPACE_EVERY = 1 << 20  # check free disk space this often while streaming (one statvfs call)
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)", re.IGNORECASE)
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class FetchResult:
    """Where a download (or a local file) lies, and what it is."""

    sha256: str  # hex of the bytes
    path: Path  # final path inside the cache: <cache>/<sha[:2]>/<sha><ext>
    size: int
    content_type: str | None
    reused: bool  # True when the same bytes were already in the cache (nothing stored twice)


class _Retry(Exception):
    """One attempt failed in a way another attempt may fix."""

    def __init__(self, cause: str, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.cause = cause
        self.retry_after = retry_after


class _Restart(Exception):
    """The partial file cannot be resumed; start again from byte zero."""


@dataclass
class _Job:
    """State of one URL's download, mirrored in the sidecar so a later run can resume."""

    url: str
    part: Path
    sidecar: Path
    etag: str | None = None
    last_modified: str | None = None
    total: int | None = None
    content_type: str | None = None
    reached: int = 0  # how far into the file the current attempt got (resumed offset included)
    announced: int | None = None  # the full size the current attempt's answer announced


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class MediaCache:
    """A content-addressed store of media files under `root`, filled by resumable downloads."""

    def __init__(
        self,
        root: Path,
        *,
        max_bytes: int | None = 2 * 1024**3,
        retries: int = 4,
        backoff: float = 0.5,
        timeout: float = 30.0,
        client: httpx.Client | None = None,
        user_agent: str = "podgrep/0.1 (+https://github.com/podgrep)",
        settings: object | None = None,
        reserve_bytes: int | None = None,
    ) -> None:
        self.root = Path(root)
        # Space a download must leave free on the cache's disk; None: settings.disk_reserve_mb.
        if reserve_bytes is None:
            reserve_bytes = int(getattr(settings, "disk_reserve_mb", 0) or 0) * 1024 * 1024
        self.reserve_bytes = max(0, reserve_bytes)
        self.max_bytes = max_bytes
        self.retries = max(0, retries)
        self.backoff = backoff
        self.timeout = timeout
        self.user_agent = user_agent
        self._owns_client = client is None
        # media gets a minimum-rate rule rather than a total deadline (see podgrep.net)
        self._settings = settings
        self._client = client or net.client(settings, media=True, timeout=timeout)
        self._guarded_clients: dict[net.Guard, httpx.Client] = {}  # one per feed's rules
        # Indirection so tests can observe back-off without waiting for it.
        self._sleep: Callable[[float], None] = time.sleep

    @classmethod
    def for_settings(cls, settings: Settings) -> MediaCache:
        """The cache a sync or a worker fetches into: `media_dir`, with the settings' size
        limit, retries, timeout and network rules."""
        return cls(
            settings.media_dir,
            max_bytes=settings.max_download_mb * 1024 * 1024,
            retries=settings.fetch_retries,
            timeout=settings.http_timeout,
            settings=settings,
        )

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP clients this cache created."""
        if self._owns_client:
            self._client.close()
        for client in self._guarded_clients.values():
            client.close()
        self._guarded_clients.clear()

    def _guarded(self, guard: net.Guard) -> httpx.Client:
        """The client for downloads under `guard`, made once (a client costs an SSL context)."""
        client = self._guarded_clients.get(guard)
        if client is None:
            if len(self._guarded_clients) >= 64:  # many feeds: keep the number of pools small
                for old in self._guarded_clients.values():
                    old.close()
                self._guarded_clients.clear()
            client = net.client(self._settings, guard=guard, media=True, timeout=self.timeout)
            self._guarded_clients[guard] = client
        return client

    def __enter__(self) -> MediaCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- public API ------------------------------------------------------------------------

    def fetch(
        self, url: str, *, progress: Progress | None = None, guard: net.Guard | None = None
    ) -> FetchResult:
        """Download url into the cache (resuming a partial download), return where it lies.

        `guard` limits where the download (and its redirects) may connect: an enclosure is
        content of its feed, held to the feed's rules (see net.content_guard)."""
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
        part = self.root / "partial" / f"{key}.part"
        job = _Job(url=url, part=part, sidecar=part.with_name(part.name + ".json"))
        try:
            part.parent.mkdir(parents=True, exist_ok=True)
            with _locked(part.with_name(part.name + ".lock")):
                client = self._client if guard is None else self._guarded(guard)
                return self._fetch_with_retries(job, progress, client)
        except OSError as exc:  # no room even for the lock file or the partial folder
            if not is_disk_full(exc):
                raise
            raise DiskFullError.about(self.root, reserve=self.reserve_bytes) from exc

    def ensure_space(self, needed: int | None = None) -> None:
        """Raise DiskFullError unless the cache's disk has `needed` bytes (when known) to spare
        above the reserve: for downloads made by other tools (yt-dlp)."""
        self.root.mkdir(parents=True, exist_ok=True)
        free = free_bytes(self.root)
        if free is not None and free - (needed or 0) < self.reserve_bytes:
            raise DiskFullError.about(self.root, needed=needed, reserve=self.reserve_bytes)

    def add_file(self, path: Path) -> FetchResult:
        """Hash a local file that stays where it is: nothing is copied into the cache."""
        path = Path(path)
        if not path.is_file():
            raise MediaError(f"{path} is not a readable file")
        try:
            sha = sha256_file(path)
            size = path.stat().st_size
        except OSError as exc:
            raise MediaError(f"{path} could not be read: {exc.strerror or exc}") from exc
        ctype = mimetypes.guess_type(path.name)[0]
        return FetchResult(sha256=sha, path=path, size=size, content_type=ctype, reused=False)

    def ingest(self, path: Path) -> FetchResult:
        """Move a file downloaded by another tool (yt-dlp) into the cache, deduplicated."""
        found = self.add_file(path)
        existing = self.path_for(found.sha256)
        if existing is not None:
            Path(path).unlink(missing_ok=True)
            return FetchResult(found.sha256, existing, found.size, found.content_type, reused=True)
        dest = self.root / found.sha256[:2] / f"{found.sha256}{Path(path).suffix.lower()}"
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), dest)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            dest.unlink(missing_ok=True)  # a half-copied file across filesystems
            raise DiskFullError.about(
                self.root, needed=found.size, reserve=self.reserve_bytes
            ) from exc
        return FetchResult(found.sha256, dest, found.size, found.content_type, reused=False)

    def path_for(self, sha256: str) -> Path | None:
        """The cached file holding these bytes, if any."""
        sha = sha256.lower()
        if not _SHA256.fullmatch(sha):
            return None
        folder = self.root / sha[:2]
        if not folder.is_dir():
            return None
        for candidate in sorted(folder.glob(sha + "*")):
            # Only `<sha>` or `<sha>.<ext>`; anything else is not ours.
            if candidate.is_file() and (candidate.name == sha or candidate.name[64] == "."):
                return candidate
        return None

    # -- the download loop -----------------------------------------------------------------

    def _fetch_with_retries(
        self, job: _Job, progress: Progress | None, client: httpx.Client
    ) -> FetchResult:
        """Run attempts until one succeeds, a permanent error occurs, or retries run out."""
        failures = 0  # attempts that failed without getting the file further than before
        shorts = 0  # of those, answers that ended before the size they announced
        attempts = 0
        restarted = False
        # How far any attempt has got into the file: a resumable partial left by an earlier
        # run counts, a fresh download starts at nothing to improve on.
        best = job.part.stat().st_size if job.part.exists() else 0
        # Attempts that got the file further than any before them (a resumed range that adds
        # bytes) are free, but not endlessly: a server that drops every connection after a
        # few bytes must still end in an error. retries=0 means one attempt.
        max_attempts = 1 + 10 * self.retries
        while True:
            attempts += 1
            job.reached = 0
            job.announced = None
            retry_after: float | None = None
            try:
                try:
                    return self._attempt(job, progress, client)
                except (DiskFullError, OSError) as exc:
                    if isinstance(exc, OSError) and not is_disk_full(exc):
                        raise
                    # no retry: another attempt would only fill the disk again
                    total = job.total
                    self._keep_if_resumable(job)
                    raise self._disk_full(job, total) from exc  # told after the clean-up
            except _Restart:
                # At most one free restart per call, so a server that keeps answering oddly
                # cannot loop us forever.
                self._discard(job)  # the next attempt then asks for the whole file
                if restarted:
                    cause = "the server kept answering range requests inconsistently"
                    failures += 1
                else:
                    restarted = True
                    continue
            except _Retry as exc:
                cause, retry_after = exc.cause, exc.retry_after
            except httpx.TimeoutException as exc:
                if "podgrep deadline:" in str(exc):
                    # below the minimum rate: another attempt now would crawl the same way;
                    # a resumable partial is kept for the next sync
                    raise FetchError(
                        f"Download of {job.url} stopped: {net.reason(exc)}", transient=True
                    ) from exc
                cause = f"timed out ({_describe(exc)})"
            except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
                cause = f"connection failed ({_describe(exc)})"
            except httpx.TooManyRedirects as exc:
                raise FetchError(f"{job.url} redirects too many times: check the link") from exc
            except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError) as exc:
                raise FetchError(f"{job.url} is not a valid http(s) URL: {exc}") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"Download of {job.url} failed: {_describe(exc)}") from exc
            # A restart from byte zero that ends where an earlier attempt ended (a server
            # whose Content-Length promises more than it ever sends) is no progress at all.
            if best > 0 and job.reached > best:
                best = job.reached
            else:
                best = max(best, job.reached)
                failures += 1
                short = job.announced is not None and job.reached < job.announced
                shorts = shorts + 1 if short else 0
            if failures > self.retries or attempts >= max_attempts:
                if shorts and shorts == failures and job.announced is not None:
                    cause = (
                        f"the server sent fewer bytes than it announced ({best} of "
                        f"{job.announced}) and closed the connection"
                        + (" each time" if attempts > 1 else "")
                    )
                raise FetchError(
                    f"Download of {job.url} failed after {attempts} attempts: {cause}",
                    transient=True,
                )
            delay = min(self.backoff * 2 ** max(failures - 1, 0), _MAX_DELAY)
            if retry_after is not None and retry_after <= _MAX_RETRY_AFTER:
                delay = max(delay, retry_after)
            self._sleep(delay)

    def _attempt(self, job: _Job, progress: Progress | None, client: httpx.Client) -> FetchResult:
        """One HTTP request: resume or start the download, stream it, and file it in the cache."""
        offset = self._resume_offset(job)
        validator = job.etag or job.last_modified
        headers = {
            "User-Agent": self.user_agent,
            # Range offsets count encoded bytes; asking for none keeps them equal to file bytes.
            "Accept-Encoding": "identity",
        }
        if offset and validator:
            headers["Range"] = f"bytes={offset}-"
            # If the file changed, a server that honours If-Range answers 200 with all of it.
            headers["If-Range"] = validator
        else:
            offset = 0
        with client.stream(
            "GET", job.url, headers=headers, follow_redirects=True, timeout=self.timeout
        ) as resp:
            status = resp.status_code
            if status in TRANSIENT_STATUSES:
                raise _Retry(_status_text(resp), _retry_after(resp.headers.get("Retry-After")))
            if status == 416 and offset:
                return self._finish_unsatisfiable(job, resp, offset, progress)
            if status >= 400:
                raise FetchError(f"{_status_text(resp)} for {job.url}: check the link")
            if status not in (200, 206):
                raise FetchError(
                    f"{_status_text(resp)} for {job.url}: not a downloadable file, check the link"
                )
            ctype = _media_type(resp.headers.get("Content-Type"))
            if ctype in NOT_MEDIA_TYPES:
                raise MediaError(
                    f"{job.url} answers {ctype}, not audio or video: "
                    "point podgrep at the media file or the episode's feed"
                )
            if status == 206:
                total = self._check_partial_answer(job, resp, offset)
            else:
                offset = 0
                total = _int_header(resp.headers.get("Content-Length"))
            self._check_size(job, total)
            if not offset:
                self._discard(job)  # a stale partial is overwritten: its space counts as free
            job.total = total
            self._check_space(job, None if total is None else total - offset)
            if offset:  # same file as before (checked above): keep what we knew if unsent
                job.etag = resp.headers.get("ETag") or job.etag
                job.last_modified = resp.headers.get("Last-Modified") or job.last_modified
            else:
                job.etag = resp.headers.get("ETag")
                job.last_modified = resp.headers.get("Last-Modified")
            job.total = total
            job.content_type = ctype
            job.announced = total
            digest = self._prefix_digest(job.part, offset)
            done = job.reached = offset
            with open(job.part, "r+b" if offset else "wb") as fh:
                fh.seek(offset)
                fh.truncate()
                self._write_sidecar(job, done)
                if progress is not None:
                    progress(done, total)
                since_sidecar = since_space = 0
                try:
                    for chunk in net.iter_body(resp, 1 << 62, job.url):  # bounded inflation
                        if not chunk:
                            continue
                        done += len(chunk)
                        if self.max_bytes is not None and done > self.max_bytes:
                            fh.close()
                            self._discard(job)
                            raise FetchError(_too_big(job.url, done, self.max_bytes, streamed=True))
                        fh.write(chunk)
                        digest.update(chunk)
                        job.reached = done
                        since_sidecar += len(chunk)
                        since_space += len(chunk)
                        if since_space >= _SPACE_EVERY:
                            self._check_space(job, None if total is None else total - done)
                            since_space = 0
                        if since_sidecar >= _SIDECAR_EVERY:
                            fh.flush()
                            self._write_sidecar(job, done)
                            since_sidecar = 0
                        if progress is not None:
                            progress(done, total)
                finally:
                    if not fh.closed:
                        fh.flush()
                        if job.sidecar.exists():
                            self._write_sidecar(job, done)
                if total is not None and done < total:
                    raise _Retry(f"the connection closed after {done} of {total} bytes")
                fh.flush()
                os.fsync(fh.fileno())
            return self._store(job, digest, done, resp.url)

    # -- helpers ---------------------------------------------------------------------------

    def _resume_offset(self, job: _Job) -> int:
        """Bytes already on disk for this URL that a range request can build on, else 0."""
        if not job.part.exists():
            job.etag = job.last_modified = None
            return 0
        try:
            meta = json.loads(job.sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = None
        if not isinstance(meta, dict) or meta.get("url") != job.url:
            self._discard(job)
            return 0
        etag = meta.get("etag")
        # Weak ETags may not be used with If-Range (RFC 9110 13.1.5).
        job.etag = etag if isinstance(etag, str) and not etag.startswith("W/") else None
        lm = meta.get("last_modified")
        job.last_modified = lm if isinstance(lm, str) else None
        total = meta.get("total")
        job.total = total if isinstance(total, int) else None
        ctype = meta.get("content_type")
        job.content_type = ctype if isinstance(ctype, str) else None
        if not (job.etag or job.last_modified):
            self._discard(job)
            return 0
        # The file, not the sidecar, is the truth: a killed run may have written past the
        # sidecar's last update, and every byte in the file arrived in order.
        return job.part.stat().st_size

    def _check_partial_answer(self, job: _Job, resp: httpx.Response, offset: int) -> int | None:
        """Validate a 206 answer against what we asked for; return the full size if known."""
        match = _CONTENT_RANGE.fullmatch((resp.headers.get("Content-Range") or "").strip())
        if not match or int(match.group(1)) != offset:
            raise _Restart
        # Some servers ignore If-Range; a changed validator means the prefix is stale.
        new_etag = resp.headers.get("ETag")
        if job.etag and new_etag and new_etag != job.etag:
            raise _Restart
        new_lm = resp.headers.get("Last-Modified")
        if not job.etag and job.last_modified and new_lm and new_lm != job.last_modified:
            raise _Restart
        if match.group(3) != "*":
            return int(match.group(3))
        length = _int_header(resp.headers.get("Content-Length"))
        return offset + length if length is not None else None

    def _finish_unsatisfiable(
        self, job: _Job, resp: httpx.Response, offset: int, progress: Progress | None
    ) -> FetchResult:
        """A 416 to our resume: the partial may already be complete (killed before filing)."""
        match = _UNSATISFIED_RANGE.fullmatch((resp.headers.get("Content-Range") or "").strip())
        if not match or int(match.group(1)) != offset:
            raise _Restart
        if progress is not None:
            progress(offset, offset)
        return self._store(job, self._prefix_digest(job.part, offset), offset, resp.url)

    def _check_space(self, job: _Job, left: int | None) -> None:
        """Stop before the cache's disk would hold less than the reserve (`left`: bytes still to
        come, when known)."""
        free = free_bytes(job.part.parent)
        if free is None:
            return
        if free - max(left or 0, 0) < self.reserve_bytes:
            raise self._disk_full(job, job.total)

    def _disk_full(self, job: _Job, total: int | None) -> DiskFullError:
        """The one-line error for a download (of `total` bytes, when known) that does not fit
        on the cache's disk, as things stand (a partial that cannot be resumed is gone)."""
        have = job.part.stat().st_size if job.part.exists() else 0
        what = "the rest of this download" if have else "this download"
        if total is not None:
            needed = max(total - have, 0)
            return DiskFullError.about(
                self.root, needed=needed, reserve=self.reserve_bytes, what=what
            )
        # length unknown: all we know is that what arrived did not fit
        at_least = job.reached if not have and job.reached else None
        return DiskFullError.about(
            self.root, at_least=at_least, reserve=self.reserve_bytes, what=what
        )

    def _keep_if_resumable(self, job: _Job) -> None:
        """After a full disk: keep a partial a range request can resume, drop any other."""
        job.sidecar.with_name(job.sidecar.name + ".tmp").unlink(missing_ok=True)
        try:
            meta = json.loads(job.sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = None
        resumable = (
            isinstance(meta, dict)
            and meta.get("url") == job.url
            and bool(meta.get("etag") or meta.get("last_modified"))
            and job.part.exists()
            and job.part.stat().st_size > 0
        )
        if not resumable:
            self._discard(job)

    def _check_size(self, job: _Job, total: int | None) -> None:
        """Refuse before streaming when the announced size is over the limit."""
        if self.max_bytes is not None and total is not None and total > self.max_bytes:
            self._discard(job)
            raise FetchError(_too_big(job.url, total, self.max_bytes, streamed=False))

    def _prefix_digest(self, part: Path, offset: int) -> hashlib._Hash:
        """A SHA-256 already fed with the first `offset` bytes of the partial file."""
        digest = hashlib.sha256()
        if offset:
            with open(part, "rb") as fh:
                left = offset
                while left > 0 and (block := fh.read(min(1 << 20, left))):
                    digest.update(block)
                    left -= len(block)
        return digest

    def _store(
        self, job: _Job, digest: hashlib._Hash, size: int, final_url: httpx.URL
    ) -> FetchResult:
        """Move the finished partial to its content address, or drop it when already cached."""
        sha = digest.hexdigest()
        existing = self.path_for(sha)
        if existing is not None:
            job.part.unlink(missing_ok=True)
            job.sidecar.unlink(missing_ok=True)
            return FetchResult(sha, existing, size, job.content_type, reused=True)
        ext = _extension(job.url, str(final_url), job.content_type)
        dest = self.root / sha[:2] / f"{sha}{ext}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(job.part, dest)  # same filesystem: atomic, readers never see half a file
        job.sidecar.unlink(missing_ok=True)
        return FetchResult(sha, dest, size, job.content_type, reused=False)

    def _write_sidecar(self, job: _Job, done: int) -> None:
        """Record what a later run needs to resume; written atomically so it is never torn."""
        meta = {
            "url": job.url,
            "etag": job.etag,
            "last_modified": job.last_modified,
            "bytes": done,
            "total": job.total,
            "content_type": job.content_type,
        }
        tmp = job.sidecar.with_name(job.sidecar.name + ".tmp")
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, job.sidecar)

    def _discard(self, job: _Job) -> None:
        """Forget a partial download."""
        job.part.unlink(missing_ok=True)
        job.sidecar.unlink(missing_ok=True)
        job.etag = job.last_modified = None
        job.total = None


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock so two processes never write one partial file at once."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _media_type(header: str | None) -> str | None:
    """The bare lower-case media type of a Content-Type header, without parameters."""
    if not header:
        return None
    return header.split(";", 1)[0].strip().lower() or None


def _status_text(resp: httpx.Response) -> str:
    """ "HTTP 404 Not Found", or just "HTTP 404" when the server sent no reason."""
    return f"HTTP {resp.status_code} {resp.reason_phrase}".rstrip()


def _int_header(value: str | None) -> int | None:
    """A non-negative integer header value, or None when absent or malformed."""
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _extension(url: str, final_url: str, content_type: str | None) -> str:
    """A file extension from the URL (original, then after redirects), else the type."""
    for candidate in (url, final_url):
        suffix = Path(unquote(urlsplit(candidate).path)).suffix.lower()
        if suffix in MEDIA_EXTENSIONS:
            return suffix
    if content_type:
        ext = _TYPE_EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type)
        if ext:
            return ext
    return ".bin"


def _too_big(url: str, size: int, limit: int, *, streamed: bool) -> str:
    """The one-line message for a download over the size limit."""
    what = f"sent more than {_mb(limit)}" if streamed else f"is {_mb(size)}"
    return (
        f"{url} {what}, over the download limit of {_mb(limit)}: raise max_download_mb "
        "in podgrep.toml or PODGREP_MAX_DOWNLOAD_MB"
    )


def _mb(n: int) -> str:
    """Bytes as a short human size in MB."""
    return f"{n / 1024**2:.1f} MB"


def _describe(exc: BaseException) -> str:
    """A short description of an exception for a one-line message."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
