"""Bad events and bad input in server mode: a clear ``error`` (or a 400 before anything starts), a
``complete``, a suspended session; never "server error", never an active sidecar for a dead task."""

from __future__ import annotations

import json

import pytest


async def test_a_bad_emitter_call_fails_the_task_and_suspends_its_session(api):
    created = await api.submit('emit.node("execute", ["running"])', session_id="bad-node")
    snapshot = await api.wait(created["task_id"], ("failed",), timeout=60)
    assert snapshot["error"]["error_type"] == "TypeError"
    assert "'status' must be one of" in snapshot["error"]["message"]
    assert snapshot["counts"]["complete"] == 1
    assert (await api.get("sessions", "bad-node"))["status"] == "suspended"


async def test_a_raw_malformed_event_is_a_protocol_warning_and_the_task_completes(api):
    line = json.dumps({"type": "dag_created", "data": {"nodes": 5}}).encode() + b"\n"
    created = await api.submit(f"import os\nos.write(emit._fd, {line!r})\nresult = 1", session_id="raw")
    snapshot = await api.wait(created["task_id"], ("completed",), timeout=60)
    assert "execute" in snapshot["dag"]["nodes"]  # the template DAG is intact
    assert (await api.get("sessions", "raw"))["status"] == "completed"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"task": "pass", "config": {"engine": "python", "env": {"A=B": "1"}}}, "invalid variable name"),
        ({"task": "pass", "config": {"engine": "python", "env": {"A": "1\u0000"}}}, "NUL character"),
        ({"task": "print('\ud800')", "config": {"engine": "python"}}, "cannot be encoded as UTF-8"),
        ("[" * 10_000 + "]" * 10_000, "nested too deeply"),
        ('{"task": "pass", "config": {"a": ' + "[" * 10_000 + "]" * 10_000 + "}}", "nested too deeply"),
    ],
    ids=["env-name", "env-nul", "surrogate", "deep-body", "deep-config"],
)
async def test_bad_input_is_a_400_before_anything_starts(api, registry, sessions_dir, body, expected):
    raw = body if isinstance(body, str) else json.dumps(body)  # json.dumps escapes the surrogate
    code, reply = await api.call("POST", "tasks", body=raw)
    assert code == 400 and expected in reply["message"], (code, reply)
    assert registry.tasks == {} and not list(sessions_dir.glob("*.json"))
