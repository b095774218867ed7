"""The warm worker pool (cmbjupyter/backends/warm.py): real pre-started worker processes.

A warm worker is used when one matches, replaced after use, never shared; each task gets its own
environment and folder; the pool's workers end on shutdown and when their host dies. The engine is
``python`` (fast); tests/engines/test_warm_cmbagent.py runs the real cmbagent in a warm worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable

import psutil
import pytest

from cmbjupyter import TaskFailed
from cmbjupyter.backends.warm import WarmPool, install, uninstall
from cmbjupyter.errors import TaskTimeout
from tests.processes import alive

#: Generous bound for a condition on a loaded 2-core machine (never a fixed sleep).
WAIT: float = 60.0

REPORT = """
import os
result = {
    "pid": os.getpid(),
    "cwd": os.getcwd(),
    "key": os.environ.get("OPENAI_API_KEY"),
    "url": os.environ.get("OPENAI_BASE_URL"),
    "task_id": os.environ.get("CMBJUPYTER_TASK_ID"),
}
"""


async def until(condition: Callable[[], object], what: str) -> object:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if value := condition():
            return value
        await asyncio.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def ready_pids(pool: WarmPool) -> list[int]:
    return [row["pid"] for row in pool.status() if row["state"] == "ready"]


@pytest.fixture(autouse=True)
async def no_pool_left():
    yield
    await uninstall()


async def started(**options: object) -> WarmPool:
    """A pool warming the python engine, started in the test itself: the pool matches tasks whose
    environment is this process's (pytest changes PYTEST_CURRENT_TEST between setup and call)."""
    pool = install(WarmPool(**{"size": 1, "idle_timeout": None, **options}), ["python"])  # type: ignore[arg-type]
    await until(lambda: len(ready_pids(pool)) == pool.size, "warm workers")
    return pool


async def test_a_task_takes_the_warm_worker_and_a_new_one_replaces_it(run_python):
    pool = await started()
    (idle,) = ready_pids(pool)
    result = await run_python(REPORT, task_id="warm-1")
    assert result["result"]["pid"] == idle
    assert pool.taken == 1
    replacement = await until(lambda: ready_pids(pool), "the replacement")
    assert idle not in replacement
    await until(lambda: not alive(idle), "the used worker to end")


async def test_a_warm_worker_serves_one_task_only(run_python):
    pool = await started()
    first = await run_python(REPORT, task_id="one")
    await until(lambda: ready_pids(pool), "the replacement")
    second = await run_python(REPORT, task_id="two")
    assert pool.taken == 2
    assert first["result"]["pid"] != second["result"]["pid"]
    assert (first["result"]["task_id"], second["result"]["task_id"]) == ("one", "two")


async def test_each_task_gets_its_own_environment_and_folder(run_python, tmp_path):
    pool = await started()
    runs = []
    for name in ("first", "second"):
        await until(lambda: ready_pids(pool), "a warm worker")
        env = {"OPENAI_API_KEY": f"sk-{name}-0123456789", "OPENAI_BASE_URL": f"http://{name}.invalid/v1"}
        result = await run_python(REPORT, task_id=name, env=env, work_dir=str(tmp_path / name))
        runs.append(result["result"])
    assert pool.taken == 2
    assert [r["key"] for r in runs] == ["sk-first-0123456789", "sk-second-0123456789"]
    assert [r["url"] for r in runs] == ["http://first.invalid/v1", "http://second.invalid/v1"]
    assert [r["cwd"] for r in runs] == [str(tmp_path / "first"), str(tmp_path / "second")]
    # A warm worker never starts with a task's variables: they arrive with its task.
    (idle,) = await until(lambda: ready_pids(pool), "the replacement")
    launched = psutil.Process(idle).environ()
    assert not {"OPENAI_API_KEY", "OPENAI_BASE_URL", "CMBJUPYTER_TASK_ID"} & set(launched)


async def test_a_task_whose_interpreter_settings_differ_starts_cold(run_python):
    pool = await started()
    (idle,) = ready_pids(pool)
    result = await run_python(REPORT, task_id="other", env={"PYTHONHASHSEED": "7"})
    assert result["result"]["pid"] != idle
    assert pool.taken == 0 and ready_pids(pool) == [idle]


async def test_limits_apply_to_a_warm_worker(run_python):
    pool = await started()
    with pytest.raises(TaskTimeout):
        await run_python("import time\ntime.sleep(60)\n", task_id="slow", timeout=1)
    assert pool.taken == 1
    await until(lambda: ready_pids(pool), "the replacement")
    with pytest.raises(TaskFailed, match="boom"):
        await run_python("raise ValueError('boom')\n", task_id="fails")
    assert pool.taken == 2


async def test_an_engine_that_does_not_import_is_not_warmed():
    # cmbagent is not installed in this environment: its warm worker says "cold" and is ended.
    pool = install(WarmPool(size=1, idle_timeout=None), ["cmbagent"], python=sys.executable)
    await until(lambda: pool.refused, "the environment to be refused")
    assert pool.status() == []


async def test_shutdown_ends_every_warm_worker():
    pool = await started(size=2)
    pids = ready_pids(pool)
    await uninstall()
    await until(lambda: not any(alive(pid) for pid in pids), "the warm workers to end")


async def test_an_idle_environment_is_ended_after_its_timeout():
    pool = install(WarmPool(size=1, idle_timeout=0.5), ["python"])
    (idle,) = await until(lambda: ready_pids(pool), "a warm worker")
    await until(lambda: not alive(idle) and not pool.status(), "the idle worker to end")


HOST = textwrap.dedent(
    """
    import asyncio, sys
    from cmbjupyter.backends.warm import WarmPool, install

    async def main():
        pool = install(WarmPool(size=2, idle_timeout=None), ["python"])
        while len([r for r in pool.status() if r["state"] == "ready"]) < 2:
            await asyncio.sleep(0.05)
        print(*pool.pids(), flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


def test_warm_workers_end_when_their_host_is_killed():
    host = subprocess.Popen([sys.executable, "-c", HOST], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(pid) for pid in host.stdout.readline().split()]  # type: ignore[union-attr]
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        os.kill(host.pid, signal.SIGKILL)
        host.wait()
        deadline = time.monotonic() + WAIT
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in pids)
    finally:
        host.kill()
        host.wait()


def test_kernel_mode_warm_is_off_until_asked_then_used(tmp_path, monkeypatch):
    import cmbjupyter
    from cmbjupyter.backends.warm import active_pool

    monkeypatch.chdir(tmp_path)
    assert active_pool() is None  # off by default in a kernel
    try:
        cmbjupyter.warm("python")
        pool = active_pool()
        assert pool is not None
        deadline = time.monotonic() + WAIT
        while not ready_pids(pool):
            assert time.monotonic() < deadline, "no warm worker in kernel mode"
            time.sleep(0.05)
        (idle,) = ready_pids(pool)
        run = cmbjupyter.run("import os\nresult = os.getpid()\n", engine="python", force_kernel=True)
        assert run.wait(WAIT)["result"] == idle
        while not (spare := pool.pids()):  # the replacement
            assert time.monotonic() < deadline + WAIT, "the warm worker was not replaced"
            time.sleep(0.05)
    finally:
        assert cmbjupyter.warm(size=0) == []
    assert active_pool() is None and spare and not any(alive(pid) for pid in spare)
