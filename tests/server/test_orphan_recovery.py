"""Server start: a worker that a dead server's session recorded, and that still runs, is ended (with
the processes that carry its tree id) before the session is marked suspended and can be resumed; a
process that only reuses a recorded pid (another start time) is never touched."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil
import pytest

from cmbjupyter.backends.process_tree import TREE_VAR, identity
from cmbjupyter.session import SessionManager
from tests.processes import alive
from tests.reliability.test_orphans import _dead_pid, _sleeper


def _sleeper_with(tree_id: str) -> subprocess.Popen:
    env = {**os.environ, TREE_VAR: tree_id}
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"], env=env, start_new_session=True
    )


@pytest.fixture
def left_by_a_dead_server(sessions_dir):
    """Two active sessions of a dead server: one whose worker (and a daemon it left, outside its
    tree) still run, one whose recorded pid now belongs to another process."""
    sessions = SessionManager(sessions_dir)
    origin = {"server_pid": _dead_pid(), "server_started": 1.0}
    worker, daemon, stranger = _sleeper_with("orphan-tree"), _sleeper_with("orphan-tree"), _sleeper()
    recorded = {
        "s-orphan": identity(worker.pid, "orphan-tree"),
        "s-reused": {**identity(stranger.pid, "stranger-tree"), "started": 1.0},
    }
    for session_id, record in recorded.items():
        config = {"engine": "python", "origin": origin}
        sessions.create_session(session_id, mode="one-shot", task="result = 'again'", config=config)
        sessions.save_session_state(session_id, worker=record)
    yield {"worker": worker, "daemon": daemon, "stranger": stranger}
    for process in (worker, daemon, stranger):
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.fixture
def jp_server_config(sessions_dir, left_by_a_dead_server):  # the sidecars exist before the server starts
    return {
        "ServerApp": {"jpserver_extensions": {"cmbjupyter.server": True}},
        "CmbJupyter": {"sessions_dir": str(sessions_dir)},
    }


async def test_server_start_ends_recorded_workers_and_only_them(api, left_by_a_dead_server):
    processes = left_by_a_dead_server
    sessions = {s["session_id"]: s for s in (await api.get("sessions"))["sessions"]}
    assert sessions["s-orphan"]["status"] == sessions["s-reused"]["status"] == "suspended"
    # recovery ran before the server answered: the worker and its daemon were already gone
    assert processes["worker"].poll() == processes["daemon"].poll() == -9
    assert alive(processes["stranger"].pid)
    assert psutil.Process(processes["stranger"].pid).status() != psutil.STATUS_ZOMBIE

    code, resumed = await api.call("POST", "sessions", "s-orphan", "resume")
    assert code == 201, resumed
    assert (await api.wait(resumed["task_id"]))["result"]["result"] == "again"
