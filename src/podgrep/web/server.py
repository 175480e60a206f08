"""`podgrep serve`: pick the token and Host rules for the address, say where to go, run uvicorn."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn

from podgrep.config import Settings
from podgrep.errors import PodgrepError
from podgrep.runtime import Runtime
from podgrep.web.app import create_app
from podgrep.web.safety import host_rule, is_loopback, new_token


def write_token(host: str, given: str | None) -> tuple[str | None, bool]:
    """The token writes need on `host` and whether it was generated: a token given is always
    required; otherwise none on loopback and a generated one elsewhere."""
    if given:
        return given, False
    if is_loopback(host):
        return None, False
    return new_token(), True


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    allow_hosts: list[str] | None = None,
    say: Callable[[str], None] = print,
    sync_every: float | None = None,
) -> None:
    """Serve the web app and API on host:port until interrupted; `sync_every` (seconds):
    check the feeds due and sync on that schedule meanwhile."""
    if not 0 < port < 65536:
        raise PodgrepError(f"--port {port} is not a TCP port (1–65535)")
    token, generated = write_token(host, token)
    rule = host_rule(host, allow_hosts or [], settings.allowed_hosts)  # checks the names
    # the store opened once now: one that cannot be used (a wrong password, a server that is
    # down) is the usual one line before anything listens, not an error on every request
    with Runtime(settings).open_store() as store:
        where = str(settings.home) if store.kind == "sqlite" else store.location
    app = create_app(settings, token=token, hosts=allow_hosts, bind=host, sync_every=sync_every)
    shown = f"[{host}]" if ":" in host else host
    say(f"podgrep: library in {where}")
    say(f"Serving on http://{shown}:{port}/  (API docs at /docs; Ctrl-C stops)")
    say(f"Answers to the Host names {rule.shown()} (more with --allow-host NAME)")
    if sync_every is not None:
        from podgrep.jobs.schedule import format_interval

        every = format_interval(sync_every)
        say(f"Syncing on a schedule: each feed checked every {every} (or as it asks)")
    if token:
        source = "generated for this run" if generated else "from PODGREP_TOKEN / --token"
        say(f"Changes (add, upload, sync, retry, pause, remove) need the token ({source}): {token}")
        say(f"Open http://{shown}:{port}/#token={token} to use it in this browser.")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
