"""No cancel is lost in server mode: DELETE right after POST, a cancel before the task's runner starts,
once its result is in, and ``Run.cancel()`` at once through the kernel-side client (20 times each)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from cmbjupyter.errors import TaskCancelled
from cmbjupyter.remote.runs import start_on_server
from tests.reliability.test_cancel_race import QUICK, SLEEPY, TRIES
from tests.server.test_client import server_client  # noqa: F401 - pytest fixture


async def test_delete_right_after_post_cancels(api, registry):
    for i in range(TRIES):
        created = await api.submit(SLEEPY, session_id=f"rest-{i}")
        code, reply = await api.call("DELETE", "tasks", created["task_id"])
        assert code == 202 and reply["status"] in ("cancelling", "cancelled"), reply
        snapshot = await api.wait(created["task_id"], ("cancelled",), timeout=30)
        assert snapshot["error"]["error_type"] == "TaskCancelled"
        assert (await api.get("sessions", f"rest-{i}"))["status"] == "suspended"
    assert registry.running == 0


async def test_a_cancel_before_the_runner_starts_never_spawns(api, registry):
    entry = await registry.submit(SLEEPY, {"engine": "python", "session_id": "unstarted"})
    assert await registry.cancel(entry.task_id) in ("cancelling", "cancelled")  # before _run's first step
    snapshot = await api.wait(entry.task_id, ("cancelled",), timeout=30)
    assert snapshot["counts"].get("dag_created") is None
    assert (await api.get("sessions", "unstarted"))["status"] == "suspended"


async def test_a_cancel_once_the_result_is_in_leaves_the_server_task_completed(api, registry):
    entry = await registry.submit(QUICK, {"engine": "python"})
    replies: list[str] = []

    async def on_result(event: dict[str, Any]) -> None:
        if event["type"] == "result":
            replies.append(await registry.cancel(entry.task_id))

    entry.run.subscribe(on_result)
    snapshot = await api.wait(entry.task_id, ("completed",), timeout=30)
    assert snapshot["result"]["result"] == "finished" and len(replies) == 1


async def test_server_mode_run_cancel_at_once(server_client):  # noqa: F811 - the imported fixture
    for i in range(TRIES):
        run = await asyncio.to_thread(start_on_server, server_client, SLEEPY, {"engine": "python"})
        await asyncio.to_thread(run.cancel)
        deadline = time.monotonic() + 30
        while not run.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert run.status == "cancelled", f"try {i}: ended {run.status}"
        assert isinstance(run.error, TaskCancelled)
