"""No orphan worker ever spends money: a worker never outlives its host, nothing it started outlives
it (daemons that left its session included), and it enforces its own timeout and budget when its
host is frozen. Real hosts throughout: a ``jupyter server``, a kernel, a host script; real kills."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from cmbjupyter import IsolatedTaskExecutor, SessionManager
from cmbjupyter.backends.process_tree import identity
from cmbjupyter.errors import SessionError, TaskCancelled, TaskTimeout
from cmbjupyter.remote.client import ServerClient
from cmbjupyter.testing.jupyter_server import free_port
from tests.processes import alive, processes_of
from tests.server.test_restart import _jupyter_server
from tests.waiting import wait_until

#: Generous bound for a whole tree to disappear on a loaded 2-core machine.
GONE_WITHIN = 60.0

#: A daemon: setsid(), then the grandchild writes its pid to argv[1] and stays; the child exits.
DAEMON = """
import os, sys, time
os.setsid()
if os.fork() == 0:
    open(sys.argv[1] + ".tmp", "w").write(str(os.getpid()))
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(600)
"""

#: A task that starts DAEMON, writes {"task_id", "daemon", "host"} to INFO once the grandchild runs,
#: then does ``tail``.
DAEMONISING = """
import json, os, subprocess, sys, time
INFO = {info!r}
subprocess.Popen([sys.executable, "-c", {daemon!r}, INFO + ".daemon"]).wait()
while not os.path.exists(INFO + ".daemon"):
    time.sleep(0.02)
info = {{"task_id": os.environ["CMBJUPYTER_TASK_ID"], "host": os.getppid()}}
info["daemon"] = int(open(INFO + ".daemon").read())
open(INFO + ".tmp", "w").write(json.dumps(info))
os.replace(INFO + ".tmp", INFO)
{tail}
"""
SLEEP = "time.sleep(600)"
PRINT_FOREVER = "while True:\n    print('tick')\n    time.sleep(0.01)"


def daemonising(info: Path, tail: str = SLEEP) -> str:
    return DAEMONISING.format(info=str(info), daemon=DAEMON, tail=tail)


def started(info: Path) -> dict:
    """The INFO of a daemonising task, once its daemon runs."""
    text = wait_until(lambda: info.exists() and info.read_text(), what=f"{info.name} to be written")
    return json.loads(text)


def assert_all_gone(task_ids: list[str], pids: list[int] = ()) -> None:
    def gone() -> bool:
        return not any(processes_of(t) for t in task_ids) and not any(alive(p) for p in pids)

    wait_until(gone, within=GONE_WITHIN, what=f"every process of {task_ids} to end")


@pytest.fixture
def leftovers():
    """Task ids of the test; whatever a failing test leaves of them is killed afterwards."""
    task_ids: list[str] = []
    yield task_ids
    for task_id in task_ids:
        for pid in processes_of(task_id):
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()


# ---------------------------------------------------------------------- the host dies


def test_kill_9_of_the_jupyter_server_ends_its_workers_and_their_daemons(tmp_path, leftovers):
    port, token = free_port(), "orphans-token"
    server = _jupyter_server(tmp_path, tmp_path / "sessions", port, token)
    try:
        client = ServerClient(f"http://127.0.0.1:{port}/", token)
        wait_until(client.ping, what="the server")
        printer = client.submit(
            "import time\n" + PRINT_FOREVER, {"engine": "python", "session_id": "printer"}
        )
        info = tmp_path / "daemon.json"
        daemon_task = client.submit(daemonising(info), {"engine": "python", "session_id": "daemon"})
        leftovers += [printer.task_id, daemon_task.task_id]
        daemon = started(info)
        assert daemon["host"] == server.pid and alive(daemon["daemon"])
        wait_until(lambda: processes_of(printer.task_id), what="the printing worker")
        server.send_signal(signal.SIGKILL)
        server.wait(30)
        assert_all_gone(leftovers, [daemon["daemon"]])
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(30)


@pytest.mark.parametrize("ending", ["SIGKILL", "shutdown"])
def test_a_kernel_that_dies_or_shuts_down_takes_its_kernel_mode_tasks_with_it(tmp_path, leftovers, ending):
    from jupyter_client.manager import start_new_kernel

    info = tmp_path / "kernel-task.json"
    env = {**os.environ, "CMBJUPYTER_SERVER": "off"}
    manager, client = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        code = "import cmbjupyter\n" + "\n".join(
            f"run_{n} = cmbjupyter.run({source!r}, engine='python', display=False, force_kernel=True)"
            for n, source in (("daemon", daemonising(info)), ("printer", "import time\n" + PRINT_FOREVER))
        )
        code += "\nprint(run_printer.task_id)"
        lines: list[str] = []
        reply = client.execute_interactive(
            code, timeout=120, output_hook=lambda m: lines.append(m["content"].get("text", ""))
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        printer_id = "".join(lines).strip()
        daemon = started(info)
        leftovers += [daemon["task_id"], printer_id]
        assert daemon["host"] == manager.provisioner.pid
        wait_until(lambda: processes_of(printer_id), what="the printing worker")
        if ending == "SIGKILL":
            os.kill(daemon["host"], signal.SIGKILL)
        else:
            manager.shutdown_kernel(now=False)
        assert_all_gone(leftovers, [daemon["daemon"]])
    finally:
        client.stop_channels()
        if manager.is_alive():
            manager.shutdown_kernel(now=True)
        manager.cleanup_resources()


async def test_a_worker_started_through_a_wrapper_script_that_does_not_exec_runs(executor, tmp_path):
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\n"{sys.executable}" "$@"\n')  # the host is the worker's grandparent
    wrapper.chmod(0o755)
    source = "import os\nresult = os.getppid() != int(os.environ['HOST_PID'])"
    config = {"engine": "python", "python": str(wrapper), "env": {"HOST_PID": str(os.getpid())}}
    assert (await executor.execute("wrapped", source, config))["result"] is True


# ---------------------------------------------------------------------- every ending of a run


@pytest.mark.parametrize("ending", ["success", "failure", "cancel", "timeout"])
async def test_every_ending_ends_a_daemonised_grandchild(executor, tmp_path, leftovers, ending):
    info = tmp_path / "daemon.json"
    tail = {"success": "result = 1", "failure": "raise ValueError('boom')"}.get(ending, SLEEP)
    config = {"engine": "python", **({"timeout": 3} if ending == "timeout" else {})}
    run = asyncio.create_task(executor.execute("daemoniser", daemonising(info, tail), config))
    leftovers.append("daemoniser")
    daemon = await asyncio.to_thread(started, info)
    if ending == "cancel":
        await executor.cancel("daemoniser")
    expected = {"failure": Exception, "cancel": TaskCancelled, "timeout": TaskTimeout}.get(ending)
    if expected is None:
        assert (await run)["result"] == 1
    else:
        with pytest.raises(expected):
            await run
    await asyncio.to_thread(assert_all_gone, leftovers, [daemon["daemon"]])


# ---------------------------------------------------------------------- a frozen host

HOST = """
import asyncio, sys, json
from cmbjupyter import IsolatedTaskExecutor

async def main():
    executor = IsolatedTaskExecutor(cancel_grace=1.0)
    try:
        await executor.execute("frozen-host", sys.argv[1], json.loads(sys.argv[2]))
    except Exception as exc:
        print(type(exc).__name__, exc, flush=True)

asyncio.run(main())
"""

SPEND_WHEN_TOLD = """
while not os.path.exists(INFO + ".go"):
    time.sleep(0.02)
record_usage("m", 100_000, 1_000)  # $1.01 at the prices below
time.sleep(600)
"""


@pytest.mark.parametrize("limit", ["timeout", "budget"])
def test_the_worker_enforces_its_own_limits_while_its_host_is_frozen(tmp_path, leftovers, limit):
    info = tmp_path / "frozen.json"
    if limit == "timeout":
        source, config = daemonising(info), {"engine": "python", "timeout": 2}
    else:
        source = daemonising(info, SPEND_WHEN_TOLD)
        config = {"engine": "python", "budget_usd": 0.5, "prices": {"m": {"input": 10, "output": 10}}}
    host = subprocess.Popen(
        [sys.executable, "-c", HOST, source, json.dumps(config)], stdout=subprocess.PIPE, text=True
    )
    leftovers.append("frozen-host")
    try:
        daemon = started(info)
        host.send_signal(signal.SIGSTOP)
        if limit == "budget":
            (tmp_path / "frozen.json.go").touch()
        assert_all_gone(leftovers, [daemon["daemon"]])
        host.send_signal(signal.SIGCONT)
        outcome = host.communicate(timeout=60)[0]
    finally:
        host.send_signal(signal.SIGCONT)
        if host.poll() is None:
            host.kill()
            host.wait(30)
    if limit == "timeout":
        assert outcome.startswith("TaskTimeout"), outcome
    else:
        assert outcome.startswith("BudgetExceeded"), outcome  # the worker's or, once awake, the host's


# ---------------------------------------------------------------------- one session, one worker


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _record_worker(sessions: SessionManager, session_id: str, worker: dict) -> None:
    sessions.create_session(
        session_id, mode="one-shot", task="result = 'resumed'", config={"engine": "python"}
    )
    sessions.suspend_session(session_id, reason="test", worker=worker)


async def test_resume_refuses_a_session_whose_recorded_worker_runs_for_a_live_host(sessions):
    sleeper = _sleeper()
    try:
        _record_worker(sessions, "busy", identity(sleeper.pid, "no-tree"))  # this process is its host
        with pytest.raises(SessionError, match=f"still running in worker pid {sleeper.pid}"):
            await IsolatedTaskExecutor(session_manager=sessions).resume("busy")
        assert sleeper.poll() is None, "a live host's worker is never touched"
    finally:
        sleeper.kill()
        sleeper.wait()


async def test_resume_first_ends_an_orphaned_worker_of_the_session(sessions):
    sleeper, dead_host = _sleeper(), _dead_pid()
    try:
        worker = {**identity(sleeper.pid, "no-tree"), "host_pid": dead_host, "host_started": 1.0}
        _record_worker(sessions, "orphaned", worker)
        result = await IsolatedTaskExecutor(session_manager=sessions).resume("orphaned")
        assert result["result"] == "resumed"
        assert sleeper.wait(GONE_WITHIN) == -signal.SIGKILL
        assert sessions.load_session("orphaned")["worker"] is None
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()


async def test_a_session_records_its_running_worker_until_the_run_ends(
    executor, sessions, tmp_path, leftovers
):
    info = tmp_path / "recorded.json"
    config = {"engine": "python", "session_id": "recorded"}
    run = asyncio.create_task(executor.execute("recorded", daemonising(info), config))
    leftovers.append("recorded")
    daemon = await asyncio.to_thread(started, info)
    worker = sessions.load_session("recorded")["worker"]
    assert abs(psutil.Process(worker["pid"]).create_time() - worker["started"]) < 0.01
    assert worker["host_pid"] == os.getpid()
    assert daemon["daemon"] in {p.pid for p in psutil.Process(worker["pid"]).children(recursive=True)}
    await executor.cancel("recorded")
    with pytest.raises(TaskCancelled):
        await run
    assert sessions.load_session("recorded")["worker"] is None
