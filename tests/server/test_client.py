"""The kernel-side client: discovery, "no server" fallback, REST calls, events() with reconnects."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

import cmbjupyter.server.websocket as websocket_module
from cmbjupyter.errors import ConfigError, NotFound, ServerUnreachable
from cmbjupyter.remote import client as client_module
from cmbjupyter.remote.client import ServerClient, connect, update_state
from cmbjupyter.remote.discovery import candidates, running_servers
from cmbjupyter.state import RunState

CHATTY = """
import time
phase("talk")
for i in range(300):
    emit.output(f"line {i}")
    if i % 30 == 0:
        time.sleep(0.02)
result = "done"
"""


def _server_file(folder, pid, port, **extra):
    info = {
        "url": f"http://localhost:{port}/base/",
        "token": f"t{port}",
        "pid": pid,
        "root_dir": "/",
        **extra,
    }
    (folder / f"jpserver-{pid}-{port}.json").write_text(json.dumps(info))


def test_discovery_reads_runtime_files_of_live_servers(tmp_path):
    _server_file(tmp_path, os.getpid(), 1111, root_dir=str(tmp_path))
    _server_file(tmp_path, 2**22 + 12345, 2222)  # no such process
    _server_file(tmp_path, os.getpid(), 3333, sock="/tmp/jupyter.sock")  # UNIX socket only
    (tmp_path / "jpserver-bad.json").write_text("{not json")
    servers = running_servers(tmp_path)
    assert [(s.url, s.token) for s in servers] == [("http://localhost:1111/base/", "t1111")]


def test_discovery_keeps_only_servers_holding_the_kernel_folder(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _server_file(tmp_path, os.getpid(), 1111, root_dir="/elsewhere")
    _server_file(tmp_path, os.getpid(), 2222, root_dir=str(tmp_path))
    environ = {"JUPYTER_RUNTIME_DIR": str(tmp_path)}
    assert [s.token for s in candidates(environ, cwd=str(notebooks))] == ["t2222"]
    assert candidates(environ, cwd="/elsewhere-too") == []


def test_environment_overrides(tmp_path):
    _server_file(tmp_path, os.getpid(), 1111)
    runtime = {"JUPYTER_RUNTIME_DIR": str(tmp_path)}
    assert candidates({**runtime, "CMBJUPYTER_SERVER": "off"}) == []
    [info] = candidates({**runtime, "CMBJUPYTER_SERVER_URL": "http://h:9/x", "CMBJUPYTER_SERVER_TOKEN": "s"})
    assert (info.url, info.token, info.source) == ("http://h:9/x/", "s", "env")


def test_connect_returns_none_without_a_reachable_server(tmp_path, monkeypatch):
    monkeypatch.setattr(client_module, "_cached", None)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    monkeypatch.delenv("CMBJUPYTER_SERVER_URL", raising=False)
    monkeypatch.delenv("CMBJUPYTER_SERVER", raising=False)
    assert connect() is None  # no runtime files
    _server_file(tmp_path, os.getpid(), 1)  # a live pid, but nothing listens on port 1
    assert connect(timeout=0.5) is None
    monkeypatch.setenv("CMBJUPYTER_SERVER_URL", "http://127.0.0.1:1/")
    assert connect(refresh=True, timeout=0.5) is None
    with pytest.raises(ServerUnreachable):
        ServerClient("http://127.0.0.1:1/", timeout=0.5).tasks()


@pytest.fixture
def server_client(jp_serverapp, http_server, jp_base_url):
    port = jp_serverapp.port
    return ServerClient(f"http://127.0.0.1:{port}{jp_base_url}", jp_serverapp.identity_provider.token)


async def test_connect_finds_the_test_server_through_its_runtime_file(jp_serverapp, http_server, monkeypatch):
    monkeypatch.setattr(client_module, "_cached", None)
    monkeypatch.chdir(jp_serverapp.root_dir)  # a kernel of this server runs in its root_dir
    monkeypatch.delenv("CMBJUPYTER_SERVER_URL", raising=False)
    monkeypatch.delenv("CMBJUPYTER_SERVER", raising=False)
    found = await asyncio.to_thread(connect)
    assert found is not None and found.url == jp_serverapp.connection_url
    assert await asyncio.to_thread(connect) is found  # cached


async def test_client_round_trip(server_client):
    c = server_client
    submission = await asyncio.to_thread(c.submit, CHATTY, {"engine": "python", "session_id": "s-client"})
    assert str(submission) == submission.task_id and submission.session_id == "s-client"
    state = RunState()
    async for message in c.events(submission.task_id):
        update_state(state, message)
    assert state.status == "completed" and state.result["result"] == "done"
    snapshot = await asyncio.to_thread(c.task, submission.task_id)
    assert state.snapshot()["dag"] == snapshot["dag"] and state.output_count == 300
    assert [t["task_id"] for t in await asyncio.to_thread(c.tasks)] == [submission.task_id]
    assert (await asyncio.to_thread(c.sessions))[0]["session_id"] == "s-client"
    assert (await asyncio.to_thread(c.session, "s-client"))["status"] == "completed"
    assert await asyncio.to_thread(c.cancel, submission.task_id) == "completed"
    with pytest.raises(ConfigError, match="unknown mode"):
        await asyncio.to_thread(c.submit, "x", {"mode": "nonsense"})
    with pytest.raises(NotFound):
        await asyncio.to_thread(c.task, "nope")
    with pytest.raises(NotFound):
        async for _ in c.events("nope"):
            pass


async def test_events_reconnect_after_a_dropped_connection(server_client, monkeypatch):
    real = websocket_module.follow_events
    drops = []

    async def flaky(buffer, state, since, send):
        if len(drops) < 3:  # the first three connections end early, as if the network dropped them
            sent = 0

            async def counting_send(messages):
                nonlocal sent
                await send(messages)
                sent += len(messages)
                if sent >= 25:
                    raise ConnectionResetError

            drops.append(since)
            try:
                await real(buffer, state, since, counting_send)
            except ConnectionResetError:
                return
        else:
            await real(buffer, state, since, send)

    monkeypatch.setattr(websocket_module, "follow_events", flaky)
    submission = await asyncio.to_thread(server_client.submit, CHATTY, {"engine": "python"})
    seqs = [m["seq"] async for m in server_client.events(submission.task_id)]
    assert len(drops) >= 2 and drops[0] == 0 and drops[1] > 0
    assert seqs == list(range(1, len(seqs) + 1))  # nothing missed, nothing twice


async def test_following_a_task_that_already_ended_finishes_at_once(server_client):
    """A quick task can end before the kernel looks: its Run must not wait for events never coming."""
    from cmbjupyter.remote.runs import follow

    c = server_client
    submission = await asyncio.to_thread(c.submit, "result = 5", {"engine": "python"})
    while (await asyncio.to_thread(c.task, submission.task_id))["status"] != "completed":
        await asyncio.sleep(0.05)
    run = await asyncio.to_thread(follow, c, submission)
    assert (await asyncio.to_thread(run.wait, 10))["result"] == 5 and run.where == "server"
