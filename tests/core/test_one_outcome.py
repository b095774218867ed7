"""One outcome everywhere: a cancelled run is "cancelled" in every state a sink sees and in its
session, never "failed" on the way (the cell once said "failed" while the sidebar said "cancelled")."""

from __future__ import annotations

import asyncio

import pytest

from cmbjupyter.errors import TaskCancelled
from cmbjupyter.state import RunState
from tests.waiting import until


async def test_a_cancelled_run_is_cancelled_in_every_state_and_in_its_session(executor, sessions):
    task = "import time\nphase('execution')\nfor _ in range(600): time.sleep(0.1)"
    prepared = executor.prepare("t-cancel", task, {"engine": "python", "session_id": "s1"})
    seen: list[str] = []
    prepared.subscribe(lambda _event: seen.append(prepared.state.status))
    run = asyncio.ensure_future(prepared.start())
    execute = lambda: prepared.state.nodes.get("execute", {}).get("status")  # noqa: E731
    await until(lambda: execute() == "running", what="the run's execute node to run")
    await prepared.cancel()
    with pytest.raises(TaskCancelled):
        await run
    assert seen[-1] == "cancelled"
    assert "failed" not in seen, seen
    assert sessions.load_session("s1")["run_status"] == "cancelled"
    nodes = prepared.state.nodes
    assert "failed" not in {n["status"] for n in nodes.values()}, "a cancelled run's DAG says cancelled"
    assert nodes["end"]["status"] == "cancelled" and nodes["execute"]["status"] == "cancelled"
    assert nodes["execute"].get("ended_at")


@pytest.mark.parametrize(
    ("error_type", "status"), [("TaskCancelled", "cancelled"), ("TaskTimeout", "failed"), (None, "failed")]
)
def test_the_error_event_decides_the_status_the_complete_event_confirms(error_type, status):
    state = RunState("t1")
    state.apply({"type": "status", "seq": 1, "ts": 1.0, "data": {"status": "running"}})
    state.apply({"type": "error", "seq": 2, "ts": 2.0, "data": {"message": "x", "error_type": error_type}})
    assert state.status == status
    state.apply({"type": "complete", "seq": 3, "ts": 3.0, "data": {"status": status}})
    assert state.status == status
