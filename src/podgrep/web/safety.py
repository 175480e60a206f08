"""What keeps a hostile feed and a hostile network out: sanitised notes, safe links, tokens,
the Host names the server answers to and the origins it takes writes from."""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import nh3
from fastapi import Request
from markupsafe import Markup
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podgrep.errors import PodgrepError

NOTE_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "small", "strong", "sub",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
NOTE_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"colspan"}, "th": {"colspan"}}
LINK_SCHEMES = {"http", "https", "mailto"}
LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
WILDCARD_BINDS = {"", "0.0.0.0", "::", "[::]"}  # noqa: S104 - names, not a bind
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?:\*\.)?{_LABEL}(?:\.{_LABEL})*$")
_TAG = re.compile(r"<[A-Za-z!/]")

# Inline script and styles are never needed by our own pages, so none may run at all.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' http: https:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class AuthError(PodgrepError):
    """A write request came without the token this server requires."""


class ForbiddenOrigin(PodgrepError):
    """A write request came from a page on another site."""


class BadHostName(PodgrepError):
    """A name given to --allow-host or PODGREP_ALLOWED_HOSTS is not a host name."""


def sanitize_notes(html: str | None) -> Markup:
    """Show notes as safe HTML: formatting and http(s)/mailto links only, links opening apart."""
    if not html:
        return Markup("")
    if not _TAG.search(html):  # plain-text notes: keep their line breaks
        html = "<br>".join(Markup.escape(line) for line in html.splitlines())
    cleaned = nh3.clean(
        html,
        tags=NOTE_TAGS,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "template", "svg"},
        attributes=NOTE_ATTRIBUTES,
        url_schemes=LINK_SCHEMES,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
        url_relative="deny",  # relative links would point into podgrep itself
    )
    return Markup(cleaned)  # noqa: S704 - nh3 produced it


def safe_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) address, else None (no javascript:, data:, file:)."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server reachable from this machine only."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A fresh random token for write access."""
    return secrets.token_urlsafe(24)


def presented_token(request: Request) -> str | None:
    """The token a request carries: `Authorization: Bearer …` or `X-Podgrep-Token`."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-podgrep-token")


def _canonical(name: str) -> str:
    """A host name or address as compared: lower case, no trailing dot, IPs in one spelling."""
    name = name.strip().lower().rstrip(".")
    bare = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        return name
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:  # a dual-stack socket's view
        ip = ip.ipv4_mapped
    return f"[{ip.compressed}]" if ip.version == 6 else ip.compressed


def split_host(value: str) -> tuple[str, int | None] | None:
    """A Host header (or the netloc of an Origin) as (canonical name, port), None if malformed."""
    value = value.strip()
    if not value or any(c in value for c in "/\\@?# \t") or len(value) > 300:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1 :]
        try:
            ipaddress.IPv6Address(name[1:-1])
        except ValueError:
            return None
    else:
        name, colon, rest = value.partition(":")
        rest = colon + rest
        if not name:
            return None
    if not rest:
        return _canonical(name), None
    if not rest.startswith(":") or not rest[1:].isascii() or not rest[1:].isdigit():
        return None
    port = int(rest[1:])
    return (_canonical(name), port) if 0 < port < 65536 else None


def _is_host_name(name: str) -> bool:
    """Whether a canonical `name` is a DNS name (or `*.domain`) or an IP address."""
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True
    except ValueError:
        return bool(_HOST_NAME.match(name)) and len(name) <= 253


def parse_host_names(values: Iterable[str], where: str = "--allow-host") -> list[str]:
    """User-given Host names (comma-separated too) in canonical form; `*.lan` allows a domain."""
    names: list[str] = []
    for value in values:
        for raw in value.split(","):
            raw = raw.strip()
            if not raw:
                continue
            parts = split_host(raw) if not raw.startswith("*.") else (_canonical(raw), None)
            name = parts[0] if parts else ""
            if not _is_host_name(name):
                raise BadHostName(
                    f"{where} {raw!r} is not a host name: give a name such as podgrep.lan, "
                    "*.home.lan or an address such as 192.168.1.5 (no scheme, path or '*' alone)"
                )
            names.append(name)
    return names


@dataclass(frozen=True)
class HostRule:
    """Which Host names the server answers to (any port): loopback names and addresses, the
    address it is bound to, the names the user allowed, and for a bind to every address (0.0.0.0,
    ::) also the literal address each request connected to. A literal address cannot be rebound
    (a rebinding page's origin is a name), so only names need listing."""

    names: frozenset[str]
    bind: str | None = None
    server_address: bool = False

    def allows(self, name: str, server: str | None = None) -> bool:
        """Whether the canonical host `name` is answered (`server`: the local address used)."""
        if name in self.names or is_loopback_address(name):
            return True
        if any(n.startswith("*.") and name.endswith(n[1:]) for n in self.names):
            return True
        return self.server_address and server is not None and name == _canonical(server)

    def shown(self) -> str:
        """The accepted names, for the start-up message."""
        names = sorted(n for n in self.names if not is_loopback_address(n))
        text = ", ".join(["localhost", "127.0.0.1", "[::1]", *names])
        return text + (" and this machine's addresses" if self.server_address else "")


def is_loopback_address(name: str) -> bool:
    """Whether `name` (canonical) is localhost or a literal loopback address."""
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def host_rule(bind: str | None = None, extra: Iterable[str] = (), configured: str = "") -> HostRule:
    """The Host rule for a server bound to `bind` (None: loopback only) with the names given
    as `--allow-host` (`extra`) and in the allowed_hosts setting (`configured`)."""
    names = set(LOOPBACK_NAMES) | set(parse_host_names(extra))
    names |= set(parse_host_names([configured], "PODGREP_ALLOWED_HOSTS (allowed_hosts) entry"))
    wildcard = bind is not None and bind.strip() in WILDCARD_BINDS
    if bind and bind.strip():
        names.add(_canonical(bind))  # also 0.0.0.0: browsers reach it as this machine
    return HostRule(frozenset(names), bind, wildcard)


def refused_host(host: str | None, rule: HostRule) -> str:
    """The one line a request for an unknown Host gets."""
    if not host:
        return "The request has no Host header: podgrep answers only requests that name it"
    shown = ascii(host[:100])
    name = split_host(host)
    hint = name[0] if name and _is_host_name(name[0]) else "NAME"
    return (
        f"Host {shown} is not a name this podgrep server answers to "
        f"(it answers to {rule.shown()}): if you reach it by that name, start it with "
        f"`podgrep serve --allow-host {hint}` or set PODGREP_ALLOWED_HOSTS={hint}"
    )


class HostGuard:
    """Answers 400 to every request whose Host is not one the server is bound to or was told
    about, so a page whose name resolves to this machine (DNS rebinding) cannot reach it."""

    def __init__(self, app: ASGIApp, rule: HostRule) -> None:
        self.app = app
        self.rule = rule

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = None
        for key, value in scope.get("headers", []):
            if key == b"host":
                host = value.decode("latin-1")
                break
        parts = split_host(host) if host else None
        server = (scope.get("server") or (None,))[0]
        if parts is not None and self.rule.allows(parts[0], server):
            await self.app(scope, receive, send)
            return
        message = refused_host(host, self.rule)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope.get("path", "").startswith("/api"):
            body, ctype = json.dumps({"detail": message}).encode(), b"application/json"
        else:
            body, ctype = (message + "\n").encode(), b"text/plain; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", ctype),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def origin_allowed(origin: str, request: Request, rule: HostRule) -> bool:
    """Whether a write's Origin is one of this server's own: http(s), an allowed name, and the
    port the request itself was sent to (so another server on localhost is another origin)."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or parts.path or parts.query:
        return False
    origin_host = split_host(parts.netloc)
    host = split_host(request.headers.get("host") or "")
    if origin_host is None or host is None or origin_host[1] != host[1]:
        return False
    server = request.scope.get("server")
    return rule.allows(origin_host[0], server[0] if server else None)


def check_write(request: Request, token: str | None, rule: HostRule | None = None) -> None:
    """Refuse a write from another site's page, or without the token when one is required."""
    rule = rule or host_rule()
    origin = request.headers.get("origin")
    if origin and not origin_allowed(origin, request, rule):
        shown = ascii(origin[:100])
        raise ForbiddenOrigin(f"Writes from {shown} are refused: use podgrep's own pages")
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise ForbiddenOrigin("Writes from another site are refused: use podgrep's own pages")
    if token is None:
        return
    given = presented_token(request)
    if not given or not hmac.compare_digest(given.encode(), token.encode()):
        raise AuthError(
            "This server needs a token for changes: send 'Authorization: Bearer TOKEN' "
            "(the token was printed when `podgrep serve` started, or set PODGREP_TOKEN)"
        )


DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)  # the interactive API docs: their own inline start-up script, nothing from elsewhere


class ResponseHeaders:
    """Safety headers on every answer: no sniffing, no framing, no referrer abroad; library data
    (pages and API) is never stored by caches; the API docs may load nothing from elsewhere."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = {
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"same-origin",
                }
                if not path.startswith("/static/"):
                    extra[b"cache-control"] = b"no-store"
                if path.startswith("/docs"):
                    extra[b"content-security-policy"] = DOCS_CSP.encode()
                headers += [(k, v) for k, v in extra.items() if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
