"""Server restart: sessions of a server that died are listed; the ones it was running are suspended.

Phase 1 (a fixture, before the test's server starts): a real ``jupyter server`` process runs one
quick task to completion and one long task, and is killed with SIGKILL mid-run. Phase 2: a new
server on the same sessions folder lists both sessions, the interrupted one ``suspended`` with the
reason, and can resume it.
"""

from __future__ import annotations

import signal
import subprocess

import psutil
import pytest

import cmbjupyter
from cmbjupyter import TaskFailed
from cmbjupyter.remote.client import ServerClient
from cmbjupyter.session import SessionManager
from cmbjupyter.testing.jupyter_server import free_port, start_jupyter_server
from tests.waiting import wait_until

LONG = """
import time
if config.get("resume"):
    result = {"resumed_at": config["resume"]["phase"], "context": dict(context)}
else:
    phase("analysis", context={"done": 3})
    time.sleep(120)
"""


def _jupyter_server(tmp_path, sessions_dir, port: int, token: str) -> subprocess.Popen:
    return start_jupyter_server(tmp_path / "server", sessions_dir=sessions_dir, port=port, token=token)


@pytest.fixture
def crashed_server(tmp_path, sessions_dir, monkeypatch):
    """Run phase 1 and return what it left: ids of the completed and the interrupted session, and
    the server-mode Run (``cmbjupyter.run``) that was following the interrupted one."""
    port, token = free_port(), "phase-one-token"
    server = _jupyter_server(tmp_path, sessions_dir, port, token)
    workers: list[psutil.Process] = []
    monkeypatch.setenv("CMBJUPYTER_SERVER_URL", f"http://127.0.0.1:{port}/")
    monkeypatch.setenv("CMBJUPYTER_SERVER_TOKEN", token)
    monkeypatch.setattr("cmbjupyter.remote.client._cached", None)
    try:
        client = ServerClient(f"http://127.0.0.1:{port}/", token)
        wait_until(client.ping, what="the phase-1 server")
        quick = client.submit("phase('only')\nresult = 7", {"engine": "python", "session_id": "s-finished"})
        followed = cmbjupyter.run(LONG, display=False, engine="python", session_id="s-interrupted")
        assert followed.where == "server"
        wait_until(lambda: client.task(quick.task_id)["status"] == "completed", what="the quick task")
        wait_until(lambda: followed.state.phase == "analysis", what="the long task, seen by the Run")
        workers = psutil.Process(server.pid).children(recursive=True)
        assert workers, "the long task's worker should be a child of the server"
        server.send_signal(signal.SIGKILL)
        server.wait(30)
        with pytest.raises(TaskFailed, match="lost the Jupyter server") as lost:
            followed.wait(60)  # the stream's reconnects give up after ~9 s
        assert lost.value.error_type == "ServerUnreachable" and followed.status == "failed"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(30)
        for worker in workers:  # a killed server cannot stop its workers: they are orphans now
            if worker.is_running():
                worker.kill()
    # a kernel-mode run still in progress elsewhere (no server origin): not the server's to judge
    SessionManager(sessions_dir).create_session("s-kernel-mode", mode="one-shot", task="x", config={})
    return {"finished": "s-finished", "interrupted": "s-interrupted"}


@pytest.fixture
def jp_server_config(sessions_dir, crashed_server):  # phase 1 runs before this test's server starts
    return {
        "ServerApp": {"jpserver_extensions": {"cmbjupyter.server": True}},
        "CmbJupyter": {"sessions_dir": str(sessions_dir)},
    }


async def test_restart_lists_sessions_and_suspends_interrupted_ones(api, crashed_server):
    sessions = {s["session_id"]: s for s in (await api.get("sessions"))["sessions"]}
    assert set(sessions) == {"s-finished", "s-interrupted", "s-kernel-mode"}
    assert sessions["s-finished"]["status"] == "completed"
    interrupted = sessions["s-interrupted"]
    assert interrupted["status"] == "suspended"
    assert interrupted["run_status"] == "interrupted"
    assert "interrupted: the Jupyter server that ran it" in interrupted["suspend_reason"]
    assert interrupted["phase"] == "analysis"
    assert "live" not in interrupted  # nothing runs it on this server
    assert sessions["s-kernel-mode"]["status"] == "active"

    state = await api.get("sessions", "s-interrupted", view="state")  # drawn from its event log
    assert state["status"] == "suspended" and state["phase"] == "analysis"
    assert "interrupted" in state["message"]

    code, resumed = await api.call("POST", "sessions", "s-interrupted", "resume")
    assert code == 201, resumed
    snapshot = await api.wait(resumed["task_id"])
    assert snapshot["result"]["result"] == {"resumed_at": "analysis", "context": {"done": 3}}
    assert (await api.get("sessions", "s-interrupted"))["status"] == "completed"


def test_sigterm_stops_workers_and_suspends_running_sessions(tmp_path, sessions_dir):
    port, token = free_port(), "term-token"
    server = _jupyter_server(tmp_path, sessions_dir, port, token)
    try:
        client = ServerClient(f"http://127.0.0.1:{port}/", token)
        wait_until(client.ping, what="the server")
        long = client.submit(LONG, {"engine": "python", "session_id": "s-term"})
        wait_until(lambda: client.task(long.task_id)["phase"] == "analysis", what="the long task")
        workers = psutil.Process(server.pid).children(recursive=True)
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    finally:
        if server.poll() is None:
            server.kill()
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
    record = SessionManager(sessions_dir).load_session("s-term")
    assert record["status"] == "suspended"
    assert "shut down while the task was running" in record["suspend_reason"]
