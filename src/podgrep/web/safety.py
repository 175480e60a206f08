"""What keeps a hostile feed and a hostile network out: sanitised notes, safe links, tokens."""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from urllib.parse import urlsplit

import nh3
from fastapi import Request
from markupsafe import Markup

from podgrep.errors import PodgrepError

NOTE_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "small", "strong", "sub",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
NOTE_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"colspan"}, "th": {"colspan"}}
LINK_SCHEMES = {"http", "https", "mailto"}
LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
_TAG = re.compile(r"<[A-Za-z!/]")

# Inline script and styles are never needed by our own pages, so none may run at all.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' http: https: data:; "
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


def check_write(request: Request, token: str | None) -> None:
    """Refuse a write from another site's page, or without the token when one is required."""
    origin = request.headers.get("origin")
    if origin:
        if urlsplit(origin).netloc.lower() != (request.headers.get("host") or "").lower():
            raise ForbiddenOrigin(f"Writes from {origin} are refused: use podgrep's own pages")
    elif request.headers.get("sec-fetch-site") == "cross-site":
        raise ForbiddenOrigin("Writes from another site are refused: use podgrep's own pages")
    if token is None:
        return
    given = presented_token(request)
    if not given or not hmac.compare_digest(given.encode(), token.encode()):
        raise AuthError(
            "This server needs a token for changes: send 'Authorization: Bearer TOKEN' "
            "(the token was printed when `podgrep serve` started, or set PODGREP_TOKEN)"
        )
