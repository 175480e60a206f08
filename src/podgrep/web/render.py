"""Jinja2 set-up: autoescaped templates, filters for times and dates, safe page headers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from podgrep import __version__
from podgrep.web.safety import PAGE_CSP, SECURITY_HEADERS

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def clock(seconds: float | None) -> str:
    """Seconds as `M:SS` or `H:MM:SS`."""
    total = max(0, int(seconds or 0))
    h, m, s = total // 3600, total % 3600 // 60, total % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def day(ts: float | None) -> str:
    """Unix seconds as a date like `12 Jul 2023` (UTC)."""
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%-d %b %Y")


def iso_day(ts: float | None) -> str:
    """Unix seconds as `2023-07-12` (for <time datetime>)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d") if ts else ""


def hours(seconds: float | None) -> str:
    """A long duration in hours, or minutes when under two hours."""
    s = seconds or 0
    return f"{s / 3600:.1f} h" if s >= 7200 else f"{round(s / 60)} min"


def plural(n: int, word: str) -> str:
    """`1 episode`, `2 episodes`."""
    return f"{n} {word}{'' if n == 1 else 's'}"


TEMPLATES.env.filters.update(clock=clock, day=day, iso_day=iso_day, hours=hours)
TEMPLATES.env.globals.update(plural=plural, version=__version__)


def page(request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a template as a page, with the content security policy and safety headers."""
    state = request.app.state.web
    response = TEMPLATES.TemplateResponse(
        request,
        name,
        {"token_required": state.token_required, **context},
        status_code=status,
    )
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers.update(SECURITY_HEADERS)
    return response
