"""Cancel (running and queued), human input, resume, and shutdown of the server's tasks."""

from __future__ import annotations

import asyncio

from tests.processes import alive, processes_of

SLEEPER = """
import time
phase("waiting", context={"stage": 1})
print("sleeping", flush=True)
time.sleep(60)
result = "never"
"""

ASKER = """
phase("asking")
answer = ask("What is the budget?")
result = f"got {answer}"
"""


async def test_cancel_a_running_task_suspends_its_session(api, sessions_dir):
    created = await api.submit(SLEEPER, session_id="s-cancel")
    await api.wait(created["task_id"], ("running",))
    while not (await api.get("tasks", created["task_id"]))["phase"]:
        await asyncio.sleep(0.05)
    worker_pids = processes_of(created["task_id"])
    assert worker_pids
    code, reply = await api.call("DELETE", "tasks", created["task_id"])
    assert code == 202 and reply["status"] == "cancelling"
    snapshot = await api.wait(created["task_id"], ("cancelled",), timeout=20)
    assert snapshot["error"]["error_type"] == "TaskCancelled"
    record = await api.get("sessions", "s-cancel")
    assert record["status"] == "suspended"
    assert record["current_phase"] == "waiting"
    assert not [pid for pid in worker_pids if alive(pid)]


async def test_cancel_a_queued_task_never_starts_it(api, registry):
    first = [await api.submit(SLEEPER) for _ in range(2)]  # max_concurrent_tasks = 2
    queued = await api.submit("result = 'ran'", session_id="s-queued")
    assert queued["status"] == "queued" and queued["queued_position"] == 1
    code, reply = await api.call("DELETE", "tasks", queued["task_id"])
    assert code == 202 and reply["status"] == "cancelled"
    snapshot = await api.get("tasks", queued["task_id"])
    assert snapshot["status"] == "cancelled" and snapshot["result"] is None
    assert snapshot["counts"].get("dag_created") is None  # never started
    record = await api.get("sessions", "s-queued")
    assert record["status"] == "suspended" and "while queued" in record["suspend_reason"]
    for task in first:
        await api.call("DELETE", "tasks", task["task_id"])
    for task in first:
        await api.wait(task["task_id"], ("cancelled",), timeout=20)
    assert registry.running == 0


async def test_input_request_is_answered_over_rest(api):
    created = await api.submit(ASKER)
    snapshot = await api.wait(created["task_id"], ("running",))
    while snapshot["input_request"] is None:
        await asyncio.sleep(0.05)
        snapshot = await api.get("tasks", created["task_id"])
    request_id = snapshot["input_request"]["request_id"]
    assert snapshot["input_request"]["prompt"] == "What is the budget?"
    code, reply = await api.call(
        "POST", "tasks", created["task_id"], "input", body={"request_id": "wrong", "text": "x"}
    )
    assert code == 409 and request_id in reply["message"]
    code, reply = await api.call(
        "POST", "tasks", created["task_id"], "input", body={"request_id": request_id}
    )
    assert code == 400 and "strings" in reply["message"]
    code, _ = await api.call(
        "POST", "tasks", created["task_id"], "input", body={"request_id": request_id, "text": "$5"}
    )
    assert code == 202
    done = await api.wait(created["task_id"])
    assert done["result"]["result"] == "got $5"


#: Resumed, it runs until the test creates the file ``go`` (so it is still running when asked to).
RESUMABLE = """
import os, time
if config.get("resume"):
    while not os.path.exists(go):
        time.sleep(0.01)
    result = {"resumed_from": config["resume"]["phase"], "context": dict(context)}
else:
    phase("waiting", context={"stage": 1})
    time.sleep(60)
"""


async def test_resume_a_cancelled_session_continues_from_its_phase(api, tmp_path):
    go = tmp_path / "go"
    created = await api.submit(f"go = {str(go)!r}\n{RESUMABLE}", session_id="s-resume")
    await api.wait(created["task_id"], ("running",))
    while not (await api.get("tasks", created["task_id"]))["phase"]:
        await asyncio.sleep(0.05)
    await api.call("DELETE", "tasks", created["task_id"])
    await api.wait(created["task_id"], ("cancelled",), timeout=20)
    assert (await api.get("sessions", "s-resume"))["status"] == "suspended"

    code, resumed = await api.call(
        "POST", "sessions", "s-resume", "resume", body={"config": {"budget_usd": 3}}
    )
    assert code == 201, resumed
    assert resumed["session_id"] == "s-resume" and resumed["task_id"] != created["task_id"]
    code, reply = await api.call("POST", "sessions", "s-resume", "resume")
    assert code == 409 and "already running" in reply["message"]
    go.touch()
    snapshot = await api.wait(resumed["task_id"])
    assert snapshot["result"]["result"] == {"resumed_from": "waiting", "context": {"stage": 1}}
    assert snapshot["cost"]["budget_usd"] == 3
    record = await api.get("sessions", "s-resume")
    assert record["status"] == "completed" and record["resumed"] == 1


async def test_shutdown_stops_workers_and_suspends_sessions(api, registry):
    running = await api.submit(SLEEPER, session_id="s-shut-1")
    await api.submit(SLEEPER, session_id="s-shut-2")
    queued = await api.submit(SLEEPER, session_id="s-shut-3")
    assert queued["status"] == "queued"
    await api.wait(running["task_id"], ("running",))
    await registry.shutdown()
    assert registry.running == 0 and registry.queued == 0
    sessions = {s["session_id"]: s for s in (await api.get("sessions"))["sessions"]}
    assert {sessions[f"s-shut-{n}"]["status"] for n in (1, 2, 3)} == {"suspended"}
    assert "shut down" in sessions["s-shut-1"]["suspend_reason"]
    code, reply = await api.call("POST", "tasks", body={"task": "x", "config": {"engine": "python"}})
    assert code == 409 and "shutting down" in reply["message"]
