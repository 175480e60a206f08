"""Every HTTP request podgrep makes: where it may go, how long it may take, how much it may read.

Three rules hold for every client made here:

- **Where.** A `Guard` decides which addresses a request may reach. The check runs when the
  connection is made, on the addresses DNS answered (IPv4 and IPv6, mapped and embedded forms
  included), and again on every redirect hop, so a name that resolves to 127.0.0.1 or a
  redirect into the local network is refused before a byte is sent. Refusals look the same
  whether a port is open or closed: no connection is attempted.
- **How long.** Besides the per-read timeout, each request has a `Deadline`: a total for feeds,
  transcripts, chapters and pages; a minimum rate for media. Every socket read (headers and
  body, TLS handshake included) is bounded by what is left of it, so a server that drips one
  byte a second cannot hold a request past its deadline.
- **How much.** `read_capped` reads a body with a limit on its decoded size, so a gzip bomb
  stops at the limit instead of filling memory.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import ipaddress
import re
import socket
import ssl
import threading
import time
import urllib.parse
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpcore
import httpx

from podgrep import __version__
from podgrep.errors import PodgrepError

USER_AGENT = f"podgrep/{__version__} (+https://github.com/podgrep)"
FEED_MAX_BYTES = 32 * 1024 * 1024  # a feed (RSS/Atom/OPML) or a page
TEXT_MAX_BYTES = 16 * 1024 * 1024  # a transcript file
MEDIA_GRACE_SECONDS = 30.0  # a download may start slowly before its minimum rate applies
_DEADLINE_KEY = "podgrep_deadline"  # a request's own deadline rule (a template)
_LIVE_KEY = "podgrep_deadline_live"  # the deadline running for a request and its redirects
_GUARD_KEY = "podgrep_guard"  # a request's own guard, in place of its client's
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Names that are loopback wherever they are looked up (RFC 6761), refused without asking DNS.
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


# What a request can raise besides PodgrepError: the network, and URLs no request can be made
# to (httpx.InvalidURL for `http://[::1/`, UnicodeError from IDNA for `http://xn--/` or a label
# over 63 characters) — a feed's links are hostile spelling included.
REQUEST_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, httpx.InvalidURL, UnicodeError)
# ... and with podgrep's own refusals (blocked address, too large, bad encoding, deadline)
FETCH_ERRORS: tuple[type[Exception], ...] = (*REQUEST_ERRORS, PodgrepError)


class BlockedAddress(PodgrepError):
    """A request would reach a loopback, private, link-local or reserved address."""


class TooLarge(PodgrepError):
    """A body was larger (once decoded) than podgrep reads for its kind."""


class DeadlineExceeded(httpcore.ReadTimeout):
    """A request ran past its total deadline or fell below its minimum rate."""


# -- where a request may go ---------------------------------------------------------------------


def _embedded_v4(ip: _Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    packed = int(ip)
    if ip in ipaddress.IPv6Network("64:ff9b::/96") or (packed >> 32 == 0 and packed > 1):
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)  # NAT64 or IPv4-compatible
    return None


def is_public(ip: _Address) -> bool:
    """Whether an address is on the public internet (not loopback, private, link-local,
    shared, multicast, reserved or unspecified), looking through IPv6 forms of IPv4."""
    inner = _embedded_v4(ip)
    if inner is not None and not is_public(inner):
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:  # fec0::/10, deprecated
        return False
    return bool(
        ip.is_global
        and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_link_local)
    )


def _parse_networks(text: str) -> tuple[list[_Network], set[str]]:
    networks: list[_Network] = []
    names: set[str] = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
        except ValueError:
            names.add(item.lower().rstrip("."))
    return networks, names


def parse_resolve(text: str) -> dict[str, str]:
    """`host=address,…` pairs (the `resolve` setting) as a lookup table; bad pairs refused."""
    table: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        host, sep, address = item.partition("=")
        try:
            ipaddress.ip_address(address.strip().strip("[]"))
        except ValueError:
            sep = ""
        if not sep or not host.strip():
            raise PodgrepError(f"Setting resolve: {item!r} is not host=address (an IP address)")
        table[host.strip().lower().rstrip(".")] = address.strip().strip("[]")
    return table


@dataclass(frozen=True)
class Guard:
    """Which addresses one client may reach.

    `restricted` clients may reach only public addresses, the networks and names the user
    allowed (`allow_networks`), and the `trusted` addresses (the non-public machine a feed the
    user named by address is served from). Unrestricted clients reach anything: they serve
    what the user typed on the command line.
    """

    restricted: bool = False
    networks: tuple[_Network, ...] = ()
    names: frozenset[str] = frozenset()
    trusted: frozenset[_Address] = frozenset()
    resolve: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_settings(
        cls, settings: Any | None, *, restricted: bool, trusted: Iterable[_Address] = ()
    ) -> Guard:
        """A guard with the user's allow-list and resolver overrides from `settings`."""
        networks, names = _parse_networks(getattr(settings, "allow_networks", "") or "")
        resolve = parse_resolve(getattr(settings, "resolve", "") or "")
        return cls(
            restricted=restricted,
            networks=tuple(networks),
            names=frozenset(names),
            trusted=frozenset(trusted),
            resolve=tuple(sorted(resolve.items())),
        )

    def allows_name(self, host: str) -> bool:
        """Whether the user allowed this host name outright."""
        return host.lower().rstrip(".") in self.names

    def check(self, host: str, ip: _Address) -> None:
        """Raise BlockedAddress when `ip` (what `host` resolved to) may not be reached."""
        if not self.restricted or is_public(ip) or ip in self.trusted:
            return
        if self.allows_name(host) or any(ip in net for net in self.networks):
            return
        what = "is" if host.strip("[]") == str(ip) else "resolves to"
        raise BlockedAddress(
            f"{host} {what} a loopback, private or reserved address, which podgrep does not fetch "
            "for feed content or remote requests: add it to allow_networks in podgrep.toml "
            "(PODGREP_ALLOW_NETWORKS) if it is yours"
        )


def literal_host(url: str) -> _Address | None:
    """The IP address a URL names literally (`http://192.168.1.5/feed.xml`), else None."""
    try:
        host = urllib.parse.urlsplit(url).hostname or ""
    except ValueError:
        return None
    if host.lower() in _LOCAL_NAMES:
        return ipaddress.IPv4Address("127.0.0.1")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _own_machine(url: str | None) -> list[_Address]:
    """The non-public machine a URL names by address (loopback: both families), else none."""
    ip = literal_host(url) if url else None
    if ip is None or is_public(ip):
        return []
    if ip.is_loopback:  # "localhost" may answer on either family
        return [ip, ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")]
    return [ip]


def content_rules(base: Guard, source_url: str | None, *, remote: bool = False) -> Guard:
    """`base`'s allow-list and resolver, restricted for what a source links to (see
    content_guard); a `remote` caller's source gets no trust from its own address."""
    trusted = base.trusted if remote else base.trusted | frozenset(_own_machine(source_url))
    return replace(base, restricted=True, trusted=trusted)


def source_rules(base: Guard, url: str, *, remote: bool = False) -> Guard:
    """The rules for fetching a source itself (a feed on add, refresh or health check): the
    host the user typed is reached wherever it is, by name or address; where it redirects to
    is held to the content rules. A source a remote API caller added gets no exemption."""
    if remote or base.restricted:
        return content_rules(base, None, remote=True) if remote else base
    rules = content_rules(base, url)
    host = (urllib.parse.urlsplit(url).hostname or "").lower().rstrip(".")
    return replace(rules, names=rules.names | ({host} if host else set()))


def content_guard(settings: Any | None, source_url: str | None, *, remote: bool = False) -> Guard:
    """The guard for what a source links to (transcripts, chapters, media, redirects).

    Content may reach public addresses; a source the user named by a non-public address
    (`http://127.0.0.1:8080/feed.xml`, a NAS by its IP) may also reach that same machine, as
    its own files. A name is never trusted this way: DNS can point a public name anywhere.
    """
    return content_rules(Guard.from_settings(settings, restricted=True), source_url, remote=remote)


def guard_of(client: httpx.Client) -> Guard:
    """The guard a client made by `client()` applies (an unrestricted one for other clients)."""
    transport = getattr(client, "_transport", None)
    return transport.guard if isinstance(transport, _Transport) else Guard()


def with_guard(guard: Guard, extensions: dict[str, Any] | None = None) -> dict[str, Any]:
    """Request extensions giving one request (and its redirects) its own guard."""
    return {**(extensions or {}), _GUARD_KEY: guard}


# -- how long a request may take --------------------------------------------------------------


@dataclass
class Deadline:
    """A total time limit for one request, or a minimum average rate after a grace period."""

    total: float | None = None  # seconds for the whole request
    min_rate: float | None = None  # bytes per second, averaged from the start
    grace: float = MEDIA_GRACE_SECONDS
    start: float = field(default_factory=time.monotonic)
    received: int = 0

    def remaining(self) -> float:
        """Seconds left before this request must give up."""
        now = time.monotonic()
        left = float("inf")
        if self.total is not None:
            left = self.start + self.total - now
        if self.min_rate:
            left = min(left, self.start + self.grace + self.received / self.min_rate - now)
        return left

    def describe(self) -> str:
        """Why a request that ran out of time was stopped."""
        if self.min_rate and (self.total is None or self.remaining() > -1):
            return (
                f"the server sent {self.received / 1024:.0f} KB in "
                f"{time.monotonic() - self.start:.0f} s, slower than the "
                f"{self.min_rate / 1024:.0f} KB/s podgrep waits for (min_download_kbps)"
            )
        return f"no complete answer within {self.total:.0f} s (http_deadline)"


@dataclass
class _Call:
    deadline: Deadline
    guard: Guard


_CALL: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("podgrep_call", default=None)


def _bounded(timeout: float | None) -> float | None:
    """A socket timeout cut to what the current request's deadline leaves."""
    call = _CALL.get()
    if call is None:
        return timeout
    left = call.deadline.remaining()
    if left <= 0:
        raise DeadlineExceeded(f"podgrep deadline: {call.deadline.describe()}")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    """A socket stream whose every read and write is bounded by the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            data = self._inner.read(max_bytes, _bounded(timeout))
        except httpcore.ReadTimeout:
            call = _CALL.get()
            if call is not None and call.deadline.remaining() <= 0.05:
                raise DeadlineExceeded(f"podgrep deadline: {call.deadline.describe()}") from None
            raise
        call = _CALL.get()
        if call is not None:
            call.deadline.received += len(data)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.SyncBackend):
    """Resolves names itself, checks every address against the guard, then connects to the
    address it checked (never asking DNS a second time, which a rebinding name would exploit)."""

    def __init__(self, guard: Guard, *, proxied: bool) -> None:
        self.guard = guard
        self.proxied = proxied  # connections go to the user's proxy, checked per request instead

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if self.proxied:
            return _Stream(
                super().connect_tcp(host, port, _bounded(timeout), local_address, socket_options)
            )
        call = _CALL.get()
        guard = call.guard if call is not None else self.guard
        addresses = resolve(guard, host, port, _bounded(timeout))
        for ip in addresses:
            guard.check(host, ip)
        last: Exception | None = None
        for ip in addresses:
            try:
                stream = super().connect_tcp(
                    str(ip), port, _bounded(timeout), local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            return _Stream(stream)
        assert last is not None
        raise last


def resolve(guard: Guard, host: str, port: int, timeout: float | None) -> list[_Address]:
    """The addresses `host` stands for: an IP literal, the resolve setting, else DNS (bounded
    by `timeout`, since getaddrinfo itself has none)."""
    name = host.strip("[]").lower().rstrip(".")
    try:
        return [ipaddress.ip_address(name)]
    except ValueError:
        pass
    table = dict(guard.resolve)
    if name in table:
        return [ipaddress.ip_address(table[name])]
    local = name in _LOCAL_NAMES or name.endswith(".localhost")
    if guard.restricted and local and not guard.allows_name(name):
        loop = ipaddress.IPv4Address("127.0.0.1")
        guard.check(name, loop)
        return [loop]
    # getaddrinfo cannot be cancelled: each lookup gets a thread of its own, so one name whose
    # DNS never answers holds no other lookup up (a shared pool would be starved by a few)
    future: concurrent.futures.Future[list[Any]] = concurrent.futures.Future()

    def lookup() -> None:
        try:
            future.set_result(socket.getaddrinfo(name, port, 0, socket.SOCK_STREAM))
        except BaseException as exc:  # handed to the waiting caller
            future.set_exception(exc)

    threading.Thread(target=lookup, name="podgrep-dns", daemon=True).start()
    try:
        infos = future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        raise httpcore.ConnectTimeout(f"looking up {host} timed out") from None
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise httpcore.ConnectError(f"{host} could not be found ({reason})") from exc
    found: list[_Address] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if ip not in found:
            found.append(ip)
    if not found:
        raise httpcore.ConnectError(f"{host} could not be found")
    return found


def may_reach(guard: Guard, url: str, timeout: float = 2.0) -> bool:
    """Whether `guard` lets a request to `url` through, resolving its host now (for links
    podgrep hands to a browser rather than fetching itself)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        for ip in resolve(guard, host, port, timeout):
            guard.check(host, ip)
    except (ValueError, PodgrepError, httpcore.ConnectError, httpcore.ConnectTimeout):
        return False
    return bool(host)


class _DeadlineBody(httpx.SyncByteStream):
    """The response body, read under its request's deadline."""

    def __init__(self, inner: httpx.SyncByteStream, call: _Call) -> None:
        self._inner = inner
        self._call = call

    def __iter__(self) -> Iterator[bytes]:
        it = iter(self._inner)
        while True:
            token = _CALL.set(self._call)
            try:
                chunk = next(it)
            except StopIteration:
                return
            finally:
                _CALL.reset(token)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _Transport(httpx.BaseTransport):
    """httpx's transport with the guard at connect time and the deadline on every read."""

    def __init__(
        self,
        guard: Guard,
        deadline: Deadline | None,
        *,
        proxy: str | None = None,
    ) -> None:
        self.guard = guard
        self.deadline = deadline
        self.proxied = proxy is not None
        self._inner = httpx.HTTPTransport(proxy=proxy, verify=_tls())
        pool = getattr(self._inner, "_pool", None)
        if pool is None or not hasattr(pool, "_network_backend"):  # pragma: no cover
            raise RuntimeError("this httpx version hides its connection pool: update podgrep")
        pool._network_backend = _Backend(guard, proxied=self.proxied)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # httpx copies a request's extensions onto each redirect it follows, so the deadline
        # started by the first hop is the one every later hop runs under
        live = request.extensions.get(_LIVE_KEY)
        if isinstance(live, Deadline):
            deadline = live
        else:
            template = request.extensions.get(_DEADLINE_KEY) or self.deadline or Deadline()
            deadline = Deadline(template.total, template.min_rate, template.grace)
            request.extensions[_LIVE_KEY] = deadline
        if deadline.remaining() <= 0:
            raise httpx.ReadTimeout(f"podgrep deadline: {deadline.describe()}", request=request)
        given = request.extensions.get(_GUARD_KEY)
        guard = given if isinstance(given, Guard) else self.guard
        call = _Call(deadline, guard)
        host = request.url.host
        if guard.restricted and (self.proxied or guard is not self.guard):
            # through a proxy the connection goes to the proxy, and a pooled connection made
            # under the client's own guard is not checked again: check where it is asked to go
            try:
                found = resolve(guard, host, request.url.port or 443, _bounded_by(deadline))
            except httpcore.ConnectTimeout as exc:
                raise httpx.ConnectTimeout(str(exc), request=request) from exc
            except httpcore.ConnectError as exc:
                raise httpx.ConnectError(str(exc), request=request) from exc
            for ip in found:
                guard.check(host, ip)
        token = _CALL.set(call)
        try:
            response = self._inner.handle_request(request)
        finally:
            _CALL.reset(token)
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _DeadlineBody(response.stream, call)
        return response

    def close(self) -> None:
        self._inner.close()


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client (making one reads the CA bundle: about 20 ms)."""
    return httpx.create_ssl_context()


def _bounded_by(deadline: Deadline) -> float:
    return max(0.01, min(30.0, deadline.remaining()))


def _proxy_mounts(guard: Guard, deadline: Deadline | None) -> dict[str, httpx.BaseTransport | None]:
    """Transports for the proxies the environment names (HTTP_PROXY, NO_PROXY, …)."""
    try:
        from httpx._utils import get_environment_proxies
    except ImportError:  # pragma: no cover
        return {}
    mounts: dict[str, httpx.BaseTransport | None] = {}
    for pattern, proxy in get_environment_proxies().items():
        mounts[pattern] = None if proxy is None else _Transport(guard, deadline, proxy=proxy)
    return mounts


def feed_deadline(settings: Any | None) -> Deadline:
    """The total deadline for a feed, transcript, chapters file or page."""
    return Deadline(total=float(getattr(settings, "http_deadline", 120.0) or 120.0))


def media_deadline(settings: Any | None) -> Deadline:
    """The minimum-rate rule for a media download."""
    kbps = float(getattr(settings, "min_download_kbps", 8.0) or 0.0)
    return Deadline(min_rate=kbps * 1024 if kbps > 0 else None, grace=MEDIA_GRACE_SECONDS)


def client(
    settings: Any | None = None,
    *,
    guard: Guard | None = None,
    media: bool = False,
    timeout: float | None = None,
    deadline: float | None = None,
) -> httpx.Client:
    """An HTTP client under podgrep's rules: `guard` (default: unrestricted, with the user's
    resolve setting), a total deadline (a minimum rate when `media`), capped redirects."""
    guard = guard or Guard.from_settings(settings, restricted=False)
    rule = media_deadline(settings) if media else feed_deadline(settings)
    if deadline is not None:
        rule = Deadline(total=deadline)
    read = timeout if timeout is not None else float(getattr(settings, "http_timeout", 30.0))
    return httpx.Client(
        transport=_Transport(guard, rule),
        mounts=_proxy_mounts(guard, rule),
        follow_redirects=True,
        max_redirects=10,
        timeout=httpx.Timeout(read, connect=min(read, 15.0)),
        # only codings iter_body decodes a bounded piece at a time
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
    )


def with_deadline(seconds: float) -> dict[str, Any]:
    """Request extensions giving one request its own total deadline."""
    return {_DEADLINE_KEY: Deadline(total=seconds)}


# -- how much a request may read -----------------------------------------------------------------


class BadEncoding(PodgrepError):
    """A body came in a content-coding podgrep does not decode (or in several layered)."""


_PIECE = 1 << 20  # most bytes one decompression call may produce: memory stays bounded


class _Inflater:
    """gzip or deflate decoding that never produces more than `_PIECE` bytes per step, so a
    body that inflates a thousandfold is stopped at the cap, not after filling memory."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._z: Any = None
        self._held = b""  # deflate's first bytes, until there are two to tell its kind by

    def _start(self, first: bytes) -> None:
        if self.coding == "deflate":  # zlib-wrapped as the RFC says, or raw as some servers do
            head = first[:2]
            wrapped = len(head) == 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
            self._z = zlib.decompressobj(15 if wrapped else -15)
        else:
            self._z = zlib.decompressobj(31)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decoded pieces of `data`, each at most `_PIECE` bytes."""
        data, self._held = self._held + data, b""
        if self._z is None and self.coding == "deflate" and len(data) < 2:
            self._held = data
            return
        while data:
            if self._z is None:
                self._start(data)
            if self._z.eof:  # a gzip body may hold several members one after another
                data = self._z.unused_data + data
                self._z = None
                continue
            try:
                out = self._z.decompress(data, _PIECE)
            except zlib.error as exc:
                raise httpx.DecodingError(f"the {self.coding} body is corrupt: {exc}") from exc
            data = self._z.unconsumed_tail
            if self._z.eof and self._z.unused_data:
                data = self._z.unused_data + data
                self._z = None
            if out:
                yield out
            elif not data:
                return


def iter_body(response: httpx.Response, limit: int, what: str) -> Iterator[bytes]:
    """The body of a streamed response, decoded (identity, gzip or deflate) a bounded piece at
    a time; TooLarge once the decoded bytes pass `limit`, BadEncoding for other codings."""
    codings = [
        c.strip().lower()
        for c in response.headers.get("content-encoding", "").split(",")
        if c.strip() and c.strip().lower() != "identity"
    ]
    if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
        raise BadEncoding(
            f"{what} came encoded as {', '.join(codings)}, which podgrep does not read "
            "(it asks for gzip or deflate)"
        )
    inflater = _Inflater("deflate" if codings == ["deflate"] else "gzip") if codings else None
    total = 0
    for raw in response.iter_raw():
        pieces = inflater.feed(raw) if inflater is not None else (raw,)
        for piece in pieces:
            total += len(piece)
            if total > limit:
                raise TooLarge(f"{what} is larger than the {_mb(limit)} podgrep reads for it")
            yield piece


def read_capped(response: httpx.Response, limit: int, what: str) -> bytes:
    """The decoded body of a streamed response, refusing it once it passes `limit` bytes."""
    declared = response.headers.get("content-length", "")
    encoded = response.headers.get("content-encoding", "identity").lower() not in ("", "identity")
    if declared.isdigit() and not encoded and int(declared) > limit:
        raise TooLarge(f"{what} is {_mb(int(declared))}, more than the {_mb(limit)} podgrep reads")
    return b"".join(iter_body(response, limit, what))


def reason(exc: BaseException) -> str:
    """A short reason for a failed request, for one-line messages."""
    text = str(exc).strip()
    if "podgrep deadline:" in text:
        return text.split("podgrep deadline:", 1)[1].strip().splitlines()[0]
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if not text:
        return type(exc).__name__
    first = text.splitlines()[0]
    return re.sub(r"^\[Errno -?\d+\]\s*", "", first)


def _mb(n: int) -> str:
    return f"{n / 1024**2:.1f} MB"
