"""What only the Dask backend can meet: the worker runs under a Dask worker, a crash leaves the Dask
worker alive, a Dask worker lost mid-task suspends the run, a queued run can be cancelled, a run
whose host died is ended by the cluster, and a run is never started twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from distributed import Client

from cmbjupyter.errors import ConfigError, TaskCancelled, WorkerCrashed
from tests.processes import alive, processes_of
from tests.waiting import until

SLEEPER = (
    "import os, time\nemit.event('up', {'pid': os.getpid(), 'dask_worker': os.getppid()})\ntime.sleep(60)"
)


@pytest.fixture
def backend() -> str:
    return "dask"


@pytest.fixture
async def client(cluster):
    async with Client(cluster.scheduler_address, asynchronous=True, set_as_default=False) as client:
        yield client


async def test_the_worker_runs_as_a_subprocess_of_a_dask_worker(run_python, client):
    result = await run_python("import os\nresult = os.getppid()")
    dask_worker_pids = set((await client.run(os.getpid)).values())
    assert result["result"] in dask_worker_pids


async def test_a_crashing_task_never_takes_its_dask_worker_down(run_python, client):
    before = await client.run(os.getpid)
    for source in (
        "import ctypes\nctypes.string_at(0)",
        "import os\nos.kill(os.getpid(), 9)",
        "import os\nos._exit(7)",
    ):
        with pytest.raises(WorkerCrashed):
            await run_python(source)
    assert await client.run(os.getpid) == before


async def test_a_dask_worker_lost_mid_task_is_an_error_and_a_suspended_session(
    executor, collected, sessions, client
):
    run = asyncio.create_task(
        executor.execute("lost-task", SLEEPER, {"engine": "python", "session_id": "lost"}, collected)
    )
    await until(lambda: collected.of("up"))
    up = collected.of("up")[0]
    os.kill(up["dask_worker"], signal.SIGKILL)
    with pytest.raises(WorkerCrashed) as info:
        await asyncio.wait_for(run, 30)
    error = collected.of("error")
    assert len(error) == 1 and error[0]["message"] == info.value.message
    assert "Dask worker tcp://" in info.value.message and "was lost mid-run" in info.value.message
    assert collected.types()[-1] == "complete" and collected.of("complete") == [{"status": "failed"}]
    record = sessions.load_session("lost")
    assert record["status"] == "suspended" and record["suspend_reason"] == info.value.message
    await until(lambda: not alive(up["pid"]), what="the guard to kill the orphan")
    await client.wait_for_workers(2, timeout=60)
    await asyncio.sleep(1.0)  # Dask restarts the task elsewhere; the relay refuses to run it twice
    assert processes_of("lost-task") == []


async def test_a_run_waiting_for_a_free_dask_worker_is_cancelled_at_once(executor, collected):
    busy = [
        asyncio.create_task(executor.execute(f"busy-{i}", SLEEPER, {"engine": "python"}, collected))
        for i in range(2)
    ]
    await until(lambda: len(collected.of("up")) == 2)
    waiting: list[tuple[str, dict]] = []
    queued = asyncio.create_task(
        executor.execute("queued", "result = 1", {"engine": "python"}, lambda t, d: waiting.append((t, d)))
    )
    await asyncio.sleep(0.5)
    assert ("status", {"status": "running"}) not in [(t, {"status": d.get("status")}) for t, d in waiting]
    started = time.monotonic()
    assert await executor.cancel("queued")
    with pytest.raises(TaskCancelled):
        await queued
    assert time.monotonic() - started < 30  # the busy runs hold both workers for 60 s: it did not wait
    for i in range(2):
        await executor.cancel(f"busy-{i}")
    for task in busy:
        with pytest.raises(TaskCancelled):
            await task
    await asyncio.sleep(0.5)
    assert processes_of("queued") == []
    assert [d["status"] for t, d in waiting if t == "status"] == ["starting", "cancelling"]


HOST = """
import asyncio, sys
from cmbjupyter import IsolatedTaskExecutor

def callback(event_type, data):
    if event_type == "up":
        print(data["pid"], flush=True)

config = {"engine": "python", "backend": "dask", "scheduler_address": sys.argv[1], "dask_host_timeout": 1.5}
asyncio.run(IsolatedTaskExecutor().execute("orphan", sys.argv[2], config, callback))
"""


async def test_a_run_whose_host_died_is_ended_by_the_cluster(cluster):
    host = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOST, cluster.scheduler_address, SLEEPER, stdout=subprocess.PIPE
    )
    try:
        assert host.stdout is not None
        pid = int(await asyncio.wait_for(host.stdout.readline(), 30))
        assert alive(pid)
    finally:
        host.kill()
        await host.wait()
    await until(lambda: not alive(pid), what="the worker to end")


async def test_a_failing_dask_task_is_a_clear_error(run_python, collected, monkeypatch):
    from cmbjupyter.backends import dask as dask_backend

    from .remote_helpers import broken_relay

    monkeypatch.setattr(dask_backend, "forward", broken_relay)
    with pytest.raises(
        WorkerCrashed, match=r"the Dask task of this run failed: RuntimeError\('the relay broke'\)"
    ):
        await run_python("result = 1")
    assert "broken_relay" in collected.of("error")[0]["traceback"]


@pytest.mark.parametrize("backend", ["local", "dask"])
async def test_a_flood_arrives_complete_and_in_order_through_a_slow_callback(executor, backend):
    seen: list[int] = []

    async def slow(event_type, data):
        if event_type == "output" and data["stream"] == "agent":
            seen.append(int(data["message"]))
            if len(seen) % 2000 == 0:
                await asyncio.sleep(0.02)

    await executor.execute(
        "flood", "for i in range(30_000):\n    emit.output(str(i))", {"engine": "python"}, slow
    )
    assert seen == list(range(30_000))


async def test_config_errors_are_raised_before_anything_starts(executor, monkeypatch):
    from cmbjupyter.backends import dask_clients

    monkeypatch.setattr(dask_clients, "_registered", None)
    with pytest.raises(ConfigError, match="needs a scheduler"):
        await executor.execute("t", "pass", {"engine": "python", "scheduler_address": None})
    with pytest.raises(ConfigError, match="dask_resources"):
        await executor.execute("t", "pass", {"engine": "python", "dask_resources": ["gpu"]})


async def test_an_unreachable_scheduler_is_a_worker_that_could_not_start(run_python):
    import dask

    with (
        dask.config.set({"distributed.comm.timeouts.connect": "0.5s"}),
        pytest.raises(WorkerCrashed, match="could not start the worker: cannot reach the Dask scheduler"),
    ):
        await run_python("pass", scheduler_address="tcp://127.0.0.1:1")


async def test_the_scheduler_can_be_registered_or_taken_from_the_default_client(cluster, monkeypatch):
    from cmbjupyter.backends import dask_clients

    monkeypatch.setattr(dask_clients, "_registered", None)
    dask_clients.set_scheduler(cluster)
    assert dask_clients.resolve_scheduler({}) == (cluster.scheduler_address, cluster.security)
    dask_clients.set_scheduler("tcp://elsewhere:8786")
    assert dask_clients.resolve_scheduler({})[0] == "tcp://elsewhere:8786"
    assert dask_clients.resolve_scheduler({"scheduler_address": "tcp://a:1"})[0] == "tcp://a:1"
    dask_clients.set_scheduler(None)
    with Client(cluster.scheduler_address) as default:  # a notebook's `client = Client(...)`
        assert dask_clients.resolve_scheduler({})[0] == default.scheduler.address


def test_importing_the_executor_does_not_import_distributed():
    code = "import sys, cmbjupyter.executor, cmbjupyter.backends; print('distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
