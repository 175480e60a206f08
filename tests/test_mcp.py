"""`podgrep mcp` with the official MCP SDK's own client: over stdio (spawning `python -m podgrep
mcp`) and over streamable HTTP (`podgrep mcp --http` as a subprocess), on a real library: a
Whisper transcript (jfk.flac) and a publisher's WebVTT transcript with named speakers and
chapters in its show notes, synced by the real pipeline."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from podgrep.config import load_settings
from podgrep.runtime import open_store
from tests.conftest import Served, invoke

READ_TOOLS = {"search", "read_transcript", "list_shows", "list_episodes", "chapters"}
WRITE_TOOLS = {"add", "sync"}
BASE = "http://podgrep.test:8765"

VTT = """WEBVTT

00:00:01.000 --> 00:00:11.500
<v Jon Krohn>Yannic Kilcher, welcome to the Super Data Science podcast. Where are you calling from?

00:00:12.000 --> 00:00:14.500
<v Yannic Kilcher>In Zurich, thanks for having me.

00:00:15.000 --> 00:00:30.000
<v Jon Krohn>I had a couple of Zurich trips earlier this year, one for skiing in Davos.

00:00:31.000 --> 00:00:45.000
<v Yannic Kilcher>Open Assistant is a chat model trained on conversations that volunteers wrote.

00:00:46.000 --> 00:01:02.000
<v Jon Krohn>How many volunteers contributed to the data set?

00:01:03.000 --> 00:01:20.000
<v Yannic Kilcher>Thousands of people wrote and ranked replies in many languages.
"""

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel><title>{title}</title><link>{base}/</link><language>en</language>
<description>Test show</description>
{items}
</channel></rss>"""
JFK = """<item><title>Ask Not</title><guid isPermaLink="false">mcp-jfk</guid>
<pubDate>Mon, 10 Jul 2023 10:00:00 GMT</pubDate>
<enclosure url="{base}/jfk.flac" type="audio/flac" length="1000"/>
<description>A speech</description></item>"""
TALK = """<item><title>Open Assistant</title><guid isPermaLink="false">mcp-talk</guid>
<pubDate>Tue, 11 Jul 2023 10:00:00 GMT</pubDate>
<enclosure url="{base}/conversation_a.mp3#old" type="audio/mpeg" length="1000"/>
<podcast:transcript url="{base}/mcp-talk.vtt" type="text/vtt" language="en"/>
<description><![CDATA[<p>00:00 Welcome</p><p>00:31 Open Assistant</p>
<p>01:03 Volunteers</p><script>alert(1)</script>]]></description></item>"""


@pytest.fixture(scope="module")
def home(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library of two episodes synced by the real pipeline (~5 s)."""
    base = served.url("").rstrip("/")
    (served.root / "mcp-talk.vtt").write_text(VTT, encoding="utf-8")
    items = JFK.format(base=base) + TALK.format(base=base)
    (served.root / "mcp-feed.xml").write_text(
        FEED.format(title="MCP Speeches", base=base, items=items), encoding="utf-8"
    )
    lib = tmp_path_factory.mktemp("mcp-library")
    code, _, err = invoke(["add", served.url("mcp-feed.xml")], lib)
    assert code == 0, err
    code, _, err = invoke(["sync"], lib)
    assert code == 0, err
    return lib


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODGREP_")}
    return {**env, "PODGREP_WINDOW_SECONDS": "60", **extra}


def over_stdio(home: Path, body: Callable[[ClientSession], Awaitable[Any]], *args: str) -> Any:
    """Run `body` with a ClientSession over stdio to `python -m podgrep mcp --home HOME`."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "podgrep", "mcp", "--home", str(home), "--base-url", BASE + "/", *args],
        env=_env(),
    )

    async def run() -> Any:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await body(session)

    return anyio.run(run)


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool's structured result; the call must have succeeded."""
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    text = result.content[0]
    assert getattr(text, "text", None) and json.loads(text.text) == result.structured_content
    return result.structured_content


async def fails(session: ClientSession, tool: str, **arguments: Any) -> str:
    """The message of a tool call that must fail as a tool error (isError), not a crash."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result
    [content] = result.content
    message = getattr(content, "text", "")
    assert "Traceback" not in message and "executing tool" in message
    return message


def cli_search(home: Path, *args: str) -> list[dict[str, Any]]:
    code, out, err = invoke(["search", *args, "--json"], home)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


CLI_FIELDS = ("episode_id", "show", "episode", "start", "end", "text", "speaker", "match")


def test_stdio_tools_on_a_real_library(home: Path, served: Served) -> None:
    async def body(s: ClientSession) -> dict[str, Any]:
        tools = {t.name: t for t in (await s.list_tools()).tools}
        got: dict[str, Any] = {"tools": tools}
        got["default"] = await call(s, "search", query="volunteers")
        got["keyword"] = await call(s, "search", query="country", mode="keyword", limit=5)
        got["semantic"] = await call(s, "search", query="how many people helped with the data",
                                     mode="semantic")  # fmt: skip
        got["only_jfk"] = await call(s, "search", query="Zurich OR country", until="2023-07-10")
        got["later"] = await call(s, "search", query="Zurich OR country", since="2023-07-11")
        got["none_after"] = await call(s, "search", query="Zurich", since="2024-01-01")
        got["by_show"] = await call(s, "search", query="Zurich", show="no such show")
        got["range"] = await call(s, "read_transcript", episode_id=2, start=12, end=30)
        got["whole"] = await call(s, "read_transcript", episode_id=1)
        got["chapters"] = await call(s, "chapters", episode_id=2)
        got["no_chapters"] = await call(s, "chapters", episode_id=1)
        got["shows"] = await call(s, "list_shows")
        got["episodes"] = await call(s, "list_episodes", show="MCP Speeches", limit=1)
        got["bad_id"] = await fails(s, "read_transcript", episode_id=999999)
        got["bad_chapters"] = await fails(s, "chapters", episode_id=999999)
        got["empty"] = await fails(s, "search", query="   ")
        got["bad_mode"] = await fails(s, "search", query="x", mode="psychic")
        got["bad_range"] = await fails(s, "read_transcript", episode_id=2, start=30, end=12)
        got["bad_show"] = await fails(s, "list_episodes", show="no such show")
        return got

    got = over_stdio(home, body)
    tools = got["tools"]
    assert set(tools) == READ_TOOLS  # the write tools only with --allow-writes
    for tool in tools.values():
        assert tool.description and tool.output_schema
        assert tool.annotations and tool.annotations.read_only_hint
    schema = tools["search"].input_schema["properties"]
    assert {"query", "mode", "show", "since", "until", "limit"} <= set(schema)

    # the same hits, in the same order, as `podgrep search --json`
    same = {
        "default": ["volunteers"],
        "keyword": ["country", "-n", "5", "--mode", "keyword"],
        "semantic": ["how many people helped with the data", "--mode", "semantic"],
    }
    for key, args in same.items():
        cli = cli_search(home, *args)
        mine = got[key]["hits"]
        assert [{f: h[f] for f in CLI_FIELDS} for h in mine] == cli, key
        assert cli, key
    default = got["default"]
    assert default["mode"] == "hybrid" and default["count"] == len(default["hits"]) == 2
    hit = default["hits"][0]
    assert hit["speaker"] == "Yannic Kilcher" and hit["published"] == "2023-07-11"
    assert hit["link"] == f"{BASE}/episodes/2#t=31"  # the --base-url, trailing slash dropped
    # the enclosure at that second: its own fragment replaced by the media fragment
    assert hit["media_link"] == served.url("conversation_a.mp3") + "#t=31"
    assert got["keyword"]["hits"][0]["episode"] == "Ask Not"

    # dates and shows filter as the web app's search does
    assert {h["episode_id"] for h in got["only_jfk"]["hits"]} == {1}
    assert {h["episode_id"] for h in got["later"]["hits"]} == {2}
    assert got["none_after"]["hits"] == [] and got["by_show"]["hits"] == []

    # a time range: the segments overlapping 12..30 s, with speakers and links
    r = got["range"]
    assert [(s["start"], s["speaker"]) for s in r["segments"]] == [
        (12.0, "Yannic Kilcher"),
        (15.0, "Jon Krohn"),
    ]
    assert r["segments"][0]["text"] == "In Zurich, thanks for having me."
    assert r["segments"][1]["link"] == f"{BASE}/episodes/2#t=15"
    assert r["source"] != "whisper" and r["complete"] and not r["truncated"]
    whole = got["whole"]
    assert whole["source"] == "whisper" and whole["episode"] == "Ask Not"
    assert "country" in " ".join(s["text"] for s in whole["segments"])

    chapters = got["chapters"]["chapters"]
    assert [(c["start"], c["title"]) for c in chapters] == [
        (0.0, "Welcome"),
        (31.0, "Open Assistant"),
        (63.0, "Volunteers"),
    ]
    assert chapters[2]["link"] == f"{BASE}/episodes/2#t=63"
    assert got["no_chapters"]["chapters"] == []

    [show] = got["shows"]["shows"]
    assert show["title"] == "MCP Speeches" and show["episodes"] == 2 == show["transcribed"]
    assert show["link"] == f"{BASE}/shows/{show['id']}"
    eps = got["episodes"]
    assert eps["total"] == 2 and [e["title"] for e in eps["episodes"]] == ["Open Assistant"]

    # user errors: a tool error with podgrep's one line
    assert "No episode with id 999999" in got["bad_id"]
    assert "No episode with id 999999" in got["bad_chapters"]
    assert "Nothing to search for" in got["empty"]
    assert "psychic" in got["bad_mode"]
    assert "must be after start" in got["bad_range"]
    assert "no such show" in got["bad_show"]


def test_stdio_carries_only_the_protocol(home: Path) -> None:
    """Every line the server writes on stdout is a JSON-RPC message, even while a tool runs
    search (models load, libraries log)."""
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "search", "arguments": {"query": "skiing", "mode": "hybrid"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "read_transcript", "arguments": {"episode_id": 424242}}},
    ]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "podgrep", "mcp", "--home", str(home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert proc.stdin and proc.stdout
    replies: dict[int, dict[str, Any]] = {}
    try:
        for m in messages:
            proc.stdin.write((json.dumps(m) + "\n").encode())
            proc.stdin.flush()
            if "id" in m:  # one reply per request, in order
                reply = json.loads(proc.stdout.readline())
                assert reply["jsonrpc"] == "2.0"
                replies[reply["id"]] = reply
        rest, err = proc.communicate(timeout=30)  # stdin closed: the server ends
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    for line in rest.decode().splitlines():
        assert json.loads(line)["jsonrpc"] == "2.0"
    assert replies[2]["result"]["structuredContent"]["hits"][0]["episode_id"] == 2
    assert replies[3]["result"]["isError"] is True
    assert b"Traceback" not in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_http_with_writes(home: Path, served: Served, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    shutil.copytree(home, lib)  # the writes change a copy, not the module's library
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "podgrep", "mcp", "--http", "--port", str(port),
         "--allow-writes", "--home", str(lib)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(PODGREP_ALLOW_NETWORKS="127.0.0.1/32"),  # the test server is the user's
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "podgrep mcp --http did not start"
                time.sleep(0.2)

        base = served.url("").rstrip("/")
        (served.root / "mcp-new.vtt").write_text(
            "WEBVTT\n\n00:00:00.500 --> 00:00:09.000\n<v Ann Lee>Tidal energy is underrated.\n",
            encoding="utf-8",
        )
        (served.root / "mcp-new.xml").write_text(
            FEED.format(title="Energy Talk", base=base, items=(
                '<item><title>Tides</title><guid>tides</guid><enclosure url="'
                f'{base}/jfk.flac" type="audio/flac" length="1000"/><podcast:transcript'
                f' url="{base}/mcp-new.vtt" type="text/vtt"/></item>')),
            encoding="utf-8",
        )  # fmt: skip

        async def body(s: ClientSession) -> dict[str, Any]:
            got: dict[str, Any] = {"tools": {t.name for t in (await s.list_tools()).tools}}
            got["search"] = await call(s, "search", query="Zurich", mode="keyword")
            got["private"] = await fails(s, "add", url="http://10.255.255.1/feed.xml")
            got["file"] = await fails(s, "add", url="file:///etc/passwd")
            got["add"] = await call(s, "add", url=served.url("mcp-new.xml"))
            got["sync"] = await call(s, "sync", refresh=False)
            got["found"] = await call(s, "search", query="tidal", mode="keyword")
            return got

        async def run() -> dict[str, Any]:
            async with (
                streamable_http_client(url) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                return await body(session)

        got = anyio.run(run)
        # a page elsewhere cannot drive it through the browser (DNS rebinding, another Origin)
        rebound = httpx.post(url, json={}, headers={"Host": "evil.example"}, timeout=10)
        elsewhere = httpx.post(url, json={}, headers={"Origin": "http://evil.example"}, timeout=10)
        taken = invoke(["mcp", "--http", "--port", str(port)], lib)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert got["tools"] == READ_TOOLS | WRITE_TOOLS
    assert [h["start"] for h in got["search"]["hits"]] == [
        h["start"] for h in cli_search(lib, "Zurich", "--mode", "keyword")
    ]
    assert "loopback, private or reserved" in got["private"]
    assert "not an http(s) URL" in got["file"]
    added = got["add"]
    assert added["show"] == "Energy Talk" and added["created"] and len(added["new_episodes"]) == 1
    assert got["sync"]["episodes_done"] == added["new_episodes"] and not got["sync"]["failures"]
    [hit] = got["found"]["hits"]
    assert hit["speaker"] == "Ann Lee" and hit["show"] == "Energy Talk"
    with open_store(load_settings(lib).db_path) as store:  # added as remote content
        assert store.get_show(added["show_id"]).remote
    assert (rebound.status_code, elsewhere.status_code) == (421, 403)
    assert taken[0] == 1 and f"Cannot listen on 127.0.0.1:{port}" in taken[2]
    assert b"podgrep MCP server on http://127.0.0.1:" in err and b"Traceback" not in err


def test_cli_refuses_a_bad_base_url(home: Path) -> None:
    code, _, err = invoke(["mcp", "--base-url", "javascript:alert(1)"], home)
    assert code == 1 and "--base-url 'javascript:alert(1)' is not an http(s) URL" in err


def test_read_transcript_leaves_out_hidden_segments(home: Path, tmp_path: Path) -> None:
    """A segment flagged a hallucination is kept for the record but never shown: the
    transcript the assistant reads leaves it out, as search and the web app do."""
    import sqlite3

    from podgrep.mcp_server import Library

    lib = tmp_path / "lib"
    shutil.copytree(home, lib)
    with sqlite3.connect(lib / "podgrep.db") as db:
        db.execute("UPDATE segments SET flags = 'hallucination' WHERE text LIKE '%Davos%'")
    library = Library(load_settings(lib), BASE)
    got = library.read_transcript(2, None, None)
    texts = [s.text for s in got.segments]
    assert len(texts) == 5 and not any("Davos" in t for t in texts), texts
    assert any("Zurich, thanks" in t for t in texts)
    ranged = library.read_transcript(2, 12, 45)
    assert [s.start for s in ranged.segments] == [12.0, 31.0]
