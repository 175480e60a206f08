"""No connections nobody asked for: add → sync → search → serve reach the test's servers only.

Every `podgrep` command runs as a user would run it, in a subprocess whose HTTP(S)_PROXY and
ALL_PROXY (both cases) point at a proxy that refuses and records every connection, with the
test's own servers in NO_PROXY. A dependency that ignores proxy settings and dials out directly
is caught too: where strace can trace the subprocesses, every connect() (and addressed send) to
an Internet address, DNS to any resolver included, fails the test.

onnxruntime's telemetry, the one found phoning home, first dials out about 10 s after it is
imported (then every 5-8 s), so `podgrep serve` is kept running LINGER_SECONDS after the request
that loads the sentence-vector model; without `podgrep.offline` this test fails on
`CONNECT mobile.events.data.microsoft.com:443`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from podgrep.offline import TELEMETRY_OFF, quiet_dependencies
from tests.conftest import DATA, feed_xml
from tests.support.server import LocalServer

pytestmark = pytest.mark.fault("telemetry")

LINGER_SECONDS = 16.0  # onnxruntime's first attempt came 9-10 s after its import (measured)
# CI markers onnxruntime reads to keep quiet on its own: removed, or the test would prove nothing
CI_MARKERS = (
    "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "TRAVIS", "JENKINS_URL",
    "CODEBUILD_BUILD_ID", "BUILDKITE", "TEAMCITY_VERSION", "APPVEYOR", "BITBUCKET_BUILD_NUMBER",
)  # fmt: skip
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
LOCAL = "127.0.0.1,localhost,::1"


class RefusingProxy:
    """A proxy on 127.0.0.1 that answers every connection with 403 and records what it asked."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._refuse, args=(conn,), daemon=True).start()

    def _refuse(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(3)
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            # CONNECT host:443 or GET http://host/...; SOCKS clients send bytes, shown raw
            first = data.split(b"\r\n", 1)[0][:200]
            self.seen.append(first.decode("latin-1") if first else "(connected, sent nothing)")
            with contextlib.suppress(OSError):
                conn.sendall(
                    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )

    def __enter__(self) -> RefusingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(timeout=2)


# -- direct connections, seen by strace ----------------------------------------------------------

_INET = re.compile(
    r"sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\(\"([^\"]+)\"\)"
)
_INET6 = re.compile(
    r"sa_family=AF_INET6, sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, \"([^\"]+)\""
)
# systemd's resolver answers getaddrinfo over a local socket: a name lookup all the same
_RESOLVER_SOCKET = re.compile(r"sa_family=AF_UNIX, sun_path=\"[^\"]*io\.systemd\.Resolve")


def _strace_command() -> list[str] | None:
    """strace's prefix tracing connect()s of a command and its children, or None where it can't."""
    strace = shutil.which("strace")
    if strace is None:
        return None
    base = [strace, "-f", "-qq", "-e", "signal=none", "-e", "trace=connect,sendto,sendmsg"]
    # --seccomp-bpf stops only on traced calls: without it every futex of Whisper's threads stops
    for prefix in ([*base, "--seccomp-bpf"], base):
        probe = subprocess.run([*prefix, "-o", os.devnull, "true"], capture_output=True)
        if probe.returncode == 0:
            return prefix
    return None


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def unasked_connects(trace: str, allowed_ports: set[int]) -> list[str]:
    """Lines of an strace log that reach anything but the test's own servers on loopback."""
    bad = []
    for line in trace.splitlines():
        if _RESOLVER_SOCKET.search(line):
            bad.append(line.strip())
            continue
        for pattern in (_INET, _INET6):
            for port, address in pattern.findall(line):
                if not (_loopback(address) and int(port) in allowed_ports):
                    bad.append(line.strip())
    return bad


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class Run:
    """What a whole add → sync → search → serve session did, and where it tried to connect."""

    proxy_seen: list[str]
    direct: list[str] | None  # None: strace could not run here
    home: Path
    outputs: dict[str, str] = field(default_factory=dict)


def _env(tmp: Path, proxy: RefusingProxy, library: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CI_MARKERS}
    # the switches podgrep sets itself must come from podgrep, not from the test's environment
    for name in (*TELEMETRY_OFF, "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "CI"):
        env.pop(name, None)
    for name in PROXY_VARS:
        env[name] = env[name.lower()] = proxy.url
    env["NO_PROXY"] = env["no_proxy"] = LOCAL
    env["HOME"] = str(tmp / "user")  # a telemetry device id would land in ~/.cache
    env.pop("XDG_CACHE_HOME", None)
    env["PODGREP_HOME"] = str(library)
    env["PODGREP_ALLOW_NETWORKS"] = "127.0.0.1/32"  # the test's feed server is on loopback
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> str:
    # the test's own requests go direct, whatever the environment says about proxies
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=60) as response:
        return response.read().decode("utf-8", "replace")


def _stop(proc: subprocess.Popen[str], traced: bool) -> str:
    """SIGTERM podgrep serve (the tracee, where strace runs it) and return its stderr."""
    target = proc.pid
    if traced:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        with contextlib.suppress(OSError):
            target = int(children.read_text().split()[0])
    with contextlib.suppress(ProcessLookupError):
        os.kill(target, signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
    return err


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """One whole session as a user would run it, behind the refusing proxy."""
    tmp = tmp_path_factory.mktemp("unasked")
    www = tmp / "www"
    www.mkdir()
    shutil.copy(DATA / "jfk.flac", www / "jfk.flac")
    (tmp / "user").mkdir()
    library = tmp / "library"
    strace = _strace_command()
    trace_log = tmp / "connect.log"
    with LocalServer(www) as server, RefusingProxy() as proxy:
        base = server.url("").rstrip("/")
        (www / "feed.xml").write_text(
            feed_xml(base, "Quiet Show", [("Ask Not", "ep-jfk", "jfk.flac", "audio/flac")]),
            encoding="utf-8",
        )
        env = _env(tmp, proxy, library)
        port = _free_port()
        prefix = [*strace, "-o", str(trace_log), "-A"] if strace else []
        podgrep = [*prefix, sys.executable, "-m", "podgrep"]
        outputs: dict[str, str] = {}

        def cli(*args: str) -> str:
            done = subprocess.run(
                [*podgrep, *args], env=env, capture_output=True, text=True, timeout=600
            )
            outputs[args[0]] = done.stdout + done.stderr
            assert done.returncode == 0, f"podgrep {' '.join(args)}: {done.stderr}"
            return done.stdout

        cli("add", server.url("feed.xml"))
        cli("sync")
        hits = cli("search", "ask not what your country", "--json")
        assert "country" in hits.lower()
        serve = subprocess.Popen(
            [*podgrep, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    _get(url + "/api/jobs")
                    break
                except OSError:
                    if serve.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            # hybrid search loads the sentence-vector model (onnxruntime) inside the server
            found = json.loads(_get(url + "/api/search?q=ask+not+what+your+country"))
            outputs["serve search"] = json.dumps(found)[:500]
            assert "country" in json.dumps(found).lower()
            assert "Quiet Show" in _get(url + "/")
            time.sleep(LINGER_SECONDS)
            assert serve.poll() is None, serve.stderr.read() if serve.stderr else ""
        finally:
            outputs["serve"] = _stop(serve, bool(strace))
        time.sleep(0.5)  # a refused attempt at the very end still reaches the log
        direct = None
        if strace:
            allowed = {server.port, proxy.port, port}
            direct = unasked_connects(trace_log.read_text(errors="replace"), allowed)
        yield Run(list(proxy.seen), direct, tmp / "user", outputs)


def test_no_connection_through_the_proxy(run: Run):
    assert run.proxy_seen == [], f"podgrep or a dependency asked the proxy for: {run.proxy_seen}"


def test_no_direct_connection(run: Run):
    if run.direct is None:
        pytest.skip("strace is not installed or cannot trace here: direct connections unchecked")
    assert run.direct == [], "connections to hosts the test did not run:\n" + "\n".join(run.direct)


def test_no_telemetry_state_left_in_home(run: Run):
    # onnxruntime's telemetry keeps a device id and an event store under ~/.cache/Microsoft
    left = sorted(str(p.relative_to(run.home)) for p in run.home.rglob("*") if p.is_file())
    assert not [p for p in left if "Microsoft" in p or "onnxruntime" in p], left


# -- the switches themselves ----------------------------------------------------------------------


def test_switches_keep_what_the_user_set(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ORT_DISABLE_TELEMETRY", "0")  # the user asked for it: theirs to decide
    monkeypatch.setenv("DO_NOT_TRACK", "")  # empty counts as unset
    monkeypatch.delenv("HF_HUB_DISABLE_TELEMETRY", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    quiet_dependencies()
    assert os.environ["ORT_DISABLE_TELEMETRY"] == "0"
    assert os.environ["DO_NOT_TRACK"] == "1"
    assert os.environ["HF_HUB_DISABLE_TELEMETRY"] == "1"
    assert "HF_HUB_OFFLINE" not in os.environ  # a model the user names must still download


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in TELEMETRY_OFF}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "entry",
    [
        "podgrep.cli",
        "podgrep.web.app",
        "podgrep.asr.whisper",
        "podgrep.semantic.embed",
        "podgrep.speakers.encoder",
        "podgrep.audio",
    ],
)
def test_every_way_in_switches_telemetry_off_before_onnxruntime(entry: str):
    code = (
        "import sys, os\n"
        f"import {entry}\n"
        "before = 'onnxruntime' in sys.modules\n"
        "import onnxruntime, faster_whisper, huggingface_hub\n"
        "print(before, *(os.environ.get(k) for k in ('ORT_DISABLE_TELEMETRY',"
        " 'HF_HUB_DISABLE_TELEMETRY', 'DO_NOT_TRACK')))\n"
    )
    done = _python(code)
    assert done.returncode == 0, done.stderr
    # set before onnxruntime could be imported: podgrep/__init__ runs first on every path
    assert done.stdout.split()[1:] == ["1", "1", "1"], done.stdout


def test_onnxruntime_imported_first_is_told():
    done = _python("import onnxruntime\nimport podgrep\n")
    assert done.returncode == 0, done.stderr
    assert "ORT_DISABLE_TELEMETRY=1" in done.stderr and "RuntimeWarning" in done.stderr


def _v4(fd: int, port: int, ip: str) -> str:
    return (
        f"1 connect({fd}, {{sa_family=AF_INET, sin_port=htons({port}), "
        f'sin_addr=inet_addr("{ip}")}}, 16) = 0'
    )


def _v6(fd: int, port: int, ip: str) -> str:
    return (
        f"1 connect({fd}, {{sa_family=AF_INET6, sin6_port=htons({port}), sin6_flowinfo=htonl(0), "
        f'inet_pton(AF_INET6, "{ip}", &sin6_addr), sin6_scope_id=0}}, 28) = 0'
    )


def test_trace_reader_flags_every_address_but_the_test_servers():
    resolver = '{sa_family=AF_UNIX, sun_path="/run/systemd/resolve/io.systemd.Resolve"}'
    trace = [
        _v4(3, 8000, "127.0.0.1"),  # the test's server
        _v4(4, 53, "127.0.0.53"),  # a local resolver: a name lookup all the same
        _v4(5, 443, "13.107.5.93"),
        _v4(6, 53, "10.0.0.2").replace("connect(6,", 'sendto(6, "x", 1, 0,'),
        _v6(7, 8000, "::ffff:127.0.0.1"),
        _v6(8, 443, "2606:4700::1"),
        f"1 connect(9, {resolver}, 42) = 0",
        '1 connect(9, {sa_family=AF_UNIX, sun_path="/tmp/x.sock"}, 14) = 0',
        '1 connect(3, {sa_family=AF_UNSPEC, sa_data="\\0\\0"}, 16) = 0',
    ]
    flagged = unasked_connects("\n".join(trace), {8000})
    assert flagged == [trace[i] for i in (1, 2, 3, 5, 6)]
