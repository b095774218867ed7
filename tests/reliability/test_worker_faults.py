"""Every way a task can fail: an error event naming the cause, a TaskFailed subclass, a suspended
session whose sidecar is still readable, and no process left behind."""

from __future__ import annotations

import asyncio
import os

import psutil
import pytest

from cmbjupyter.errors import (
    BudgetExceeded,
    MemoryLimitExceeded,
    TaskCancelled,
    TaskFailed,
    TaskTimeout,
    WorkerCrashed,
)
from tests.processes import alive
from tests.waiting import until, wait_until


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.fixture(autouse=True)
def no_leaked_processes():
    before = _children()
    yield

    def leaked() -> set[int]:
        return {pid for pid in _children() - before if alive(pid)}

    wait_until(lambda: not leaked(), what="every process of the test to end")


async def _fail(run_python, collected, sessions, source: str, expected: type[TaskFailed], **config):
    with pytest.raises(expected) as info:
        await run_python(source, session_id="failing", **config)
    error = collected.of("error")
    assert len(error) == 1, "exactly one error event"
    assert error[0]["message"] == info.value.message
    assert error[0]["error_type"] == info.value.error_type
    types = collected.types()
    assert types.index("error") < types.index("complete") == len(types) - 1
    record = sessions.load_session("failing")
    assert record["status"] == "suspended"
    assert record["suspend_reason"] == info.value.message
    return info.value, error[0]


async def test_a_worker_killed_by_sigkill(run_python, collected, sessions):
    exc, error = await _fail(
        run_python,
        collected,
        sessions,
        "import os, signal\nphase('planning')\nos.kill(os.getpid(), signal.SIGKILL)",
        WorkerCrashed,
    )
    assert error["signal"] == "SIGKILL" and error["exit_code"] == -9
    assert "killed by SIGKILL" in exc.message


async def test_a_worker_that_segfaults_reports_the_signal_and_the_fault_trace(
    run_python, collected, sessions
):
    _, error = await _fail(
        run_python, collected, sessions, "import ctypes\nctypes.string_at(0)", WorkerCrashed
    )
    assert error["signal"] == "SIGSEGV"
    assert "Segmentation fault" in error["traceback"]  # faulthandler's report, from the worker's stderr


async def test_a_worker_that_calls_os_exit(run_python, collected, sessions):
    exc, error = await _fail(run_python, collected, sessions, "import os\nos._exit(3)", WorkerCrashed)
    assert error["exit_code"] == 3
    assert exc.message == "the worker exited with code 3 before reporting a result"


async def test_an_infinite_loop_past_the_timeout(run_python, collected, sessions):
    exc, _ = await _fail(run_python, collected, sessions, "while True: pass", TaskTimeout, timeout=0.5)
    assert isinstance(exc, TimeoutError)
    assert "timeout of 0.5 s" in exc.message


async def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace_period(
    run_python, collected, sessions
):
    source = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)"
    await _fail(run_python, collected, sessions, source, TaskTimeout, timeout=0.5)


async def test_memory_above_the_limit_stops_the_worker(run_python, collected, sessions):
    source = "\n".join(
        [
            "import time",
            "blocks = []",
            "while True:",
            "    blocks.append(bytearray(20 * 2**20))",
            "    time.sleep(0.01)",
        ]
    )
    exc, _ = await _fail(run_python, collected, sessions, source, MemoryLimitExceeded, memory_limit_mb=200)
    assert isinstance(exc, MemoryError) and isinstance(exc, WorkerCrashed)
    assert "memory_limit_mb of 200" in exc.message


async def test_cancel_ends_the_whole_process_group_including_forked_children(executor, collected, sessions):
    source = """
import os, subprocess, sys, time
children = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(2)]
if os.fork() == 0:
    time.sleep(60)
emit.event("children", {"pids": [c.pid for c in children]})
time.sleep(60)
"""
    task = asyncio.create_task(
        executor.execute("cancel-me", source, {"engine": "python", "session_id": "failing"}, collected)
    )
    await until(lambda: collected.of("children"), what="the worker's children")
    pids = collected.of("children")[0]["pids"]
    assert await executor.cancel("cancel-me") is True
    with pytest.raises(TaskCancelled):
        await task
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids)
    assert collected.of("complete") == [{"status": "cancelled"}]
    assert "cancelling" in [d["status"] for d in collected.of("status")]
    assert sessions.load_session("failing")["status"] == "suspended"
    assert await executor.cancel("cancel-me") is False


async def test_cancelling_the_awaiting_coroutine_stops_the_worker_too(executor, collected):
    task = asyncio.create_task(
        executor.execute(
            "t", "import time\nemit.event('up', {})\ntime.sleep(60)", {"engine": "python"}, collected
        )
    )
    await until(lambda: collected.of("up"), what="the worker")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert collected.of("complete") == [{"status": "cancelled"}]


async def test_a_worker_that_closes_its_event_pipe_early(run_python, collected, sessions):
    source = "\n".join(
        [
            "import os, time",
            "for fd in range(3, 64):",
            "    try: os.close(fd)",
            "    except OSError: pass",
            "time.sleep(60)",
        ]
    )
    exc, _ = await _fail(run_python, collected, sessions, source, WorkerCrashed)
    assert "closed its event channel before reporting a result" in exc.message


async def test_budget_exceeded_stops_the_worker_after_a_warning_at_80_percent(
    run_python, collected, sessions
):
    source = """
import time
while True:  # only the budget stops it
    record_usage("gpt-4o", 100_000, 1_000, agent="engineer")  # $0.26 each
    time.sleep(0.05)
"""
    exc, _ = await _fail(run_python, collected, sessions, source, BudgetExceeded, budget_usd=1.0)
    warnings = collected.of("budget_warning")
    assert [w["exceeded"] for w in warnings] == [False, True]
    assert warnings[0]["fraction"] >= 0.8
    assert "budget of $1.00" in exc.message
    assert len(collected.of("cost_update")) >= 4  # it ran until the 4th crossed $1.00, then stopped


async def test_a_crash_marks_running_nodes_failed_and_keeps_completed_ones(run_python, collected, sessions):
    source = "phase('planning')\nphase('execution')\nimport os\nos._exit(1)"
    await _fail(run_python, collected, sessions, source, WorkerCrashed, mode="planning-control")
    statuses = collected.node_statuses()
    assert statuses["planning"][-1] == "completed"
    assert statuses["execution"][-1] == "failed"
    assert statuses["end"] == ["failed"]
    assert sessions.load_session("failing")["dag"]["nodes"][2]["status"] == "failed"


async def test_a_worker_that_cannot_start_is_a_clear_error(executor, collected, tmp_path):
    with pytest.raises(WorkerCrashed, match="could not start the worker"):
        await executor.execute("t", "pass", {"engine": "python", "python": _broken(tmp_path)}, collected)


def _broken(tmp_path) -> str:
    path = tmp_path / "python"
    path.write_text("#!/nonexistent/interpreter\n")
    path.chmod(0o755)
    return str(path)


async def test_host_file_descriptors_return_to_baseline_after_many_runs(executor):
    process = psutil.Process()
    await executor.execute("warm", "pass", {"engine": "python"})
    before = process.num_fds()
    for i in range(10):
        with pytest.raises(TaskFailed):
            await executor.execute(f"t{i}", "import os\nos._exit(2)", {"engine": "python"})
        await executor.execute(f"ok{i}", "print('x')", {"engine": "python"})
    assert process.num_fds() <= before + 2
    assert os.getpid() == process.pid
