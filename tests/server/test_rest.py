"""REST round trip and error statuses of /cmbagent/api (400 with a message, 404, 409)."""

from __future__ import annotations

import pytest

QUICK = """
phase("compute", context={"n": 10})
record_usage("gpt-4o-mini", 1000, 200, agent="engineer", cost=0.25)
result = sum(range(10))
"""


async def test_status_says_extension_is_here(api):
    status = await api.get("status")
    assert status["name"] == "cmbjupyter"
    assert status["max_concurrent_tasks"] == 2
    assert status["running"] == 0


async def test_submit_list_snapshot_session_round_trip(api, sessions_dir):
    created = await api.submit(QUICK, session_id="s-round-trip")
    assert created["session_id"] == "s-round-trip"
    assert created["status"] in ("starting", "running")
    assert created["sidecar"] == str(sessions_dir / "s-round-trip.json")
    task_id = created["task_id"]

    snapshot = await api.wait(task_id)
    assert snapshot["task_id"] == task_id
    assert snapshot["result"]["result"] == 45
    assert snapshot["phase"] == "compute"
    assert snapshot["cost"]["total_usd"] == pytest.approx(0.25)
    assert snapshot["dag"]["nodes"]["end"]["status"] == "completed"

    summary = await api.get("tasks", task_id, view="summary")
    assert summary["status"] == "completed" and summary["where"] == "server"
    assert summary["nodes"]["end"] == "completed" and summary["cost"]["total_usd"] == pytest.approx(0.25)
    assert summary["sidecar"] == created["sidecar"] and summary["prices"]

    listed = (await api.get("tasks"))["tasks"]
    assert [t["task_id"] for t in listed] == [task_id]
    assert listed[0]["status"] == "completed"
    assert listed[0]["progress"]["done"] == listed[0]["progress"]["total"] > 0
    assert "nodes" not in listed[0]  # the listing stays small; the snapshot has the DAG

    sessions = (await api.get("sessions"))["sessions"]
    assert [s["session_id"] for s in sessions] == ["s-round-trip"]
    assert sessions[0]["status"] == "completed"
    assert sessions[0]["total_usd"] == pytest.approx(0.25)
    assert sessions[0]["live"]["task_id"] == task_id

    state = await api.get("sessions", "s-round-trip", view="state")  # rebuilt from the event log
    assert state["dag"] == snapshot["dag"] and state["cost"] == snapshot["cost"]
    assert state["status"] == "completed" and state["last_seq"] == snapshot["last_seq"]

    record = await api.get("sessions", "s-round-trip")
    assert record["status"] == "completed"
    assert record["result"]["result"] == 45
    assert record["config"]["origin"]["server_pid"] > 0


async def test_server_defaults_fill_the_config(api, registry):
    registry.defaults["budget_usd"] = 7.5
    created = await api.submit("result = 1")
    snapshot = await api.wait(created["task_id"])
    assert snapshot["cost"]["budget_usd"] == 7.5
    assert created["session_id"].startswith("s-")  # every server task is a session


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ({"config": {}}, "needs 'task'"),
        ({"task": 42}, "task must be a string"),
        ({"task": "x", "config": [1]}, "config must be an object"),
        ({"task": "x", "config": {"mode": "telepathy"}}, "unknown mode"),
        ({"task": "x", "config": {"timeout": -1}}, "timeout"),
        ({"task": "x", "config": {"session_id": "../../etc"}}, "invalid session id"),
        ({"task": "x", "config": {"backend": "cloud"}}, "backend"),
        ({"task": "x", "task_id": "a/b"}, "invalid task id"),
    ],
)
async def test_invalid_submissions_are_400_with_a_message(api, body, fragment):
    code, reply = await api.call("POST", "tasks", body=body)
    assert code == 400, reply
    assert fragment in reply["message"]


async def test_unknown_ids_are_404(api):
    for method, path in [
        ("GET", ("tasks", "nope")),
        ("DELETE", ("tasks", "nope")),
        ("POST", ("tasks", "nope", "input")),
        ("GET", ("sessions", "nope")),
        ("POST", ("sessions", "nope", "resume")),
    ]:
        body = {"request_id": "r", "text": "t"} if path[-1] == "input" else None
        code, reply = await api.call(method, *path, body=body)
        assert code == 404, (method, path, reply)
        assert "nope" in reply["message"]


async def test_conflicts_are_409(api):
    created = await api.submit("result = 1", session_id="s-done")
    await api.wait(created["task_id"])
    code, reply = await api.call(
        "POST", "tasks", body={"task": "x", "task_id": created["task_id"], "config": {"engine": "python"}}
    )
    assert code == 409 and "already exists" in reply["message"]
    code, reply = await api.call(
        "POST", "tasks", created["task_id"], "input", body={"request_id": "r", "text": "t"}
    )
    assert code == 409 and "not waiting for input" in reply["message"]
    code, reply = await api.call("POST", "sessions", "s-done", "resume")
    assert code == 409 and "completed" in reply["message"]
    # cancelling a finished task changes nothing
    code, reply = await api.call("DELETE", "tasks", created["task_id"])
    assert code == 202 and reply["status"] == "completed"
