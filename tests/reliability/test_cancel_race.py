"""No cancel is lost: a cancel at any stage of a run (queued, before the spawn, during it, with the
worker up, while finishing) ends the run ``cancelled``, or leaves the outcome that was already final.

Each stage is reached by a condition (an event seen by a sink), never by sleeping; the at-once loops
repeat the race 20 times in kernel mode (server mode: tests/server/test_cancel_race.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import cmbjupyter
from cmbjupyter.errors import TaskCancelled
from tests.processes import processes_of

#: Runs long enough that only a cancel can end it quickly; a lost cancel shows as "completed".
SLEEPY = "import time\nphase('work')\ntime.sleep(1)\nresult = 'finished'"
SLEEPER = "import time\nphase('work')\ntime.sleep(60)\nresult = 'never'"
QUICK = "result = 'finished'"
TRIES = 20


# --------------------------------------------------------------------------- kernel-side executor


def _stage(name: str):
    """(predicate on an event, cancel inline?) for each stage a cancel is injected at."""
    stages = {
        # the DAG template is out, nothing spawned yet
        "created": (lambda e: e["type"] == "dag_created", True),
        # the run said "starting": the spawn is next
        "starting": (lambda e: e["type"] == "status" and e["data"]["status"] == "starting", True),
        # scheduled from "starting": lands while the spawn is under way (or right after it)
        "spawning": (lambda e: e["type"] == "status" and e["data"]["status"] == "starting", False),
        # the worker is up
        "running": (lambda e: e["type"] == "status" and e["data"]["status"] == "running", False),
        # the engine is working
        "working": (lambda e: e["type"] == "phase_change", False),
    }
    return stages[name]


class CancelAt:
    """An output callback that records every event and cancels the task at the first matching one."""

    def __init__(self, executor: Any, task_id: str, when: Any, inline: bool) -> None:
        self.executor, self.task_id, self.when, self.inline = executor, task_id, when, inline
        self.events: list[dict[str, Any]] = []
        self.answer: list[bool] = []
        self.fired = False
        self.pending: asyncio.Future[None] | None = None

    async def __call__(self, event_type: str, data: dict[str, Any], event: dict[str, Any]) -> None:
        self.events.append(event)
        if self.fired or not self.when(event):
            return
        self.fired = True
        if self.inline:
            self.answer.append(await self.executor.cancel(self.task_id))
        else:

            async def later() -> None:
                self.answer.append(await self.executor.cancel(self.task_id))

            self.pending = asyncio.ensure_future(later())

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [e["data"] for e in self.events if e["type"] == event_type]


@pytest.mark.parametrize("stage", ["created", "starting", "spawning", "running", "working"])
async def test_a_cancel_at_any_stage_ends_the_run_cancelled(executor, sessions, stage):
    when, inline = _stage(stage)
    task_id = f"cancel-{stage}"
    sink = CancelAt(executor, task_id, when, inline)
    with pytest.raises(TaskCancelled):
        await executor.execute(task_id, SLEEPER, {"engine": "python", "session_id": task_id}, sink)
    assert sink.answer == [True]
    assert sink.of("complete") == [{"status": "cancelled"}]
    assert sink.of("error")[0]["error_type"] == "TaskCancelled"
    assert sink.events[-1]["type"] == "complete"
    assert sessions.load_session(task_id)["status"] == "suspended"
    assert processes_of(task_id) == []
    if stage in ("created", "starting"):  # cancelled before the spawn: no worker ever ran
        assert not [d for d in sink.of("status") if d["status"] == "running"]


async def test_a_cancel_once_the_result_is_in_leaves_the_run_completed(executor, sessions):
    sink = CancelAt(executor, "finishing", lambda e: e["type"] == "result", True)
    result = await executor.execute("finishing", QUICK, {"engine": "python", "session_id": "fin"}, sink)
    assert result["result"] == "finished"
    assert sink.of("complete") == [{"status": "success"}]
    assert sink.events[-1]["type"] == "complete"
    assert sessions.load_session("fin")["status"] == "completed"


async def test_a_cancel_after_the_outcome_is_decided_changes_nothing(executor):
    sink = CancelAt(executor, "ended", lambda e: e["type"] == "complete", True)
    result = await executor.execute("ended", QUICK, {"engine": "python"}, sink)
    assert result["result"] == "finished"
    assert sink.answer == [False]
    assert sink.events[-1]["type"] == "complete"  # no "cancelling" after the end
    assert [e["type"] for e in sink.events].count("complete") == 1


# --------------------------------------------------------------------------- kernel mode Run


def test_run_cancel_at_once_in_kernel_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("CMBJUPYTER_SESSIONS_DIR", str(tmp_path / "sessions"))
    for i in range(TRIES):
        run = cmbjupyter.run(SLEEPY, engine="python", display=False, force_kernel=True, session_id=f"k{i}")
        run.cancel()
        assert run.done(), f"try {i}: still {run.status}"
        assert run.status == "cancelled", f"try {i}: ended {run.status}"
        assert isinstance(run.error, TaskCancelled)
