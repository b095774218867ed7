"""Bad events and bad input end cleanly: never a stack trace in the host, never an active sidecar.

* a bad Emitter call raises a TypeError inside the engine: the task's error, a suspended session;
* a malformed known event written raw to the pipe is dropped with a ``warning`` (kind ``protocol``)
  and the run goes on;
* a host-side exception (here: a raising output callback) still ends with ``error`` + ``complete``
  and a suspended session;
* what cannot be spawned (``=`` or NUL in the env) or encoded (a lone surrogate) is a ConfigError
  before anything starts.
"""

from __future__ import annotations

import json

import pytest

import cmbjupyter
from cmbjupyter.errors import ConfigError, TaskFailed
from cmbjupyter.state import RunState

BAD_CALLS = {
    "node status as a list": ('emit.node("execute", ["running"])', "'status' must be one of"),
    "node status unknown": ('emit.node("execute", "done")', "'status' must be one of"),
    "dag nodes an int": ("emit.dag_created(5, [])", "'nodes' must be a list"),
    "dag edge without target": ('emit.dag_created([{"id": "a"}], [{"source": "a"}])', "'edges' must be"),
    "node id a list": ('emit.add_node(["x"], "X")', "'node_id' must be a node id"),
    "phase an int": ("emit.phase(3)", "phase must be a string"),
    "phase context a list": ('emit.phase("p", context=[1])', "'context' must be an object"),
    "output stream an int": ('emit.output("hi", stream=5)', "stream and agent must be strings"),
    "cost tokens a string": ('emit.cost("gpt-4o", "many", 1)', "input_tokens must be a number"),
    "event data a list": ('emit.event("status", [1])', "data must be a dict"),
    "raw event bad status": ('emit.event("dag_node_update", {"node_id": "x", "status": 1})', "'status'"),
}


@pytest.mark.parametrize("call", list(BAD_CALLS), ids=list(BAD_CALLS))
async def test_a_bad_emitter_call_is_the_tasks_clear_type_error(run_python, collected, executor, call):
    source, expected = BAD_CALLS[call]
    with pytest.raises(TaskFailed, match=expected) as raised:
        await run_python(source, session_id="bad-call")
    assert raised.value.error_type == "TypeError"
    assert [e["type"] for e in collected.events][-1] == "complete"
    assert collected.of("complete") == [{"status": "failed"}]
    assert executor.session_manager.load_session("bad-call")["status"] == "suspended"


RAW = {
    "dag_created nodes 5": ({"type": "dag_created", "data": {"nodes": 5}}, "'nodes' must be a list"),
    "node update status list": (
        {"type": "dag_node_update", "data": {"node_id": "execute", "status": ["running"]}},
        "'status' must be one of",
    ),
    "node update id object": ({"type": "dag_node_update", "data": {"node_id": {}}}, "'node_id'"),
    "node update cost text": (
        {"type": "dag_node_update", "data": {"node_id": "execute", "cost_usd": "lots"}},
        "'cost_usd' must be a number",
    ),
    "node add after object": ({"type": "dag_node_add", "data": {"node_id": "n", "after": {}}}, "'after'"),
    "phase step text": ({"type": "phase_change", "data": {"phase": "p", "step": "2"}}, "'step'"),
    "phase context list": ({"type": "phase_change", "data": {"phase": "p", "context": [1]}}, "'context'"),
    "input request no id": ({"type": "input_request", "data": {"prompt": "?"}}, "'request_id' is missing"),
    "status not a string": ({"type": "status", "data": {"status": 5}}, "'status' must be a string"),
    "output stream list": ({"type": "output", "data": {"message": "m", "stream": []}}, "'stream'"),
    "cost step list": ({"type": "cost_update", "data": {"model": "gpt-4o", "step": []}}, "'step'"),
    "error type list": ({"type": "error", "data": {"message": "m", "error_type": []}}, "'error_type'"),
}


@pytest.mark.parametrize("case", list(RAW), ids=list(RAW))
async def test_a_malformed_raw_event_is_dropped_with_a_protocol_warning(run_python, collected, case):
    event, expected = RAW[case]
    line = json.dumps(event).encode() + b"\n"
    result = await run_python(f"import os\nos.write(emit._fd, {line!r})\nresult = 'went on'")
    assert result["result"] == "went on"
    warnings = [w for w in collected.of("warning") if w["kind"] == "protocol"]
    assert len(warnings) == 1 and expected in warnings[0]["message"], warnings
    assert f"malformed {event['type']!r} event" in warnings[0]["message"]
    assert collected.of("complete") == [{"status": "success"}]
    assert not [d for d in collected.of(event["type"]) if d == event["data"]]  # it never reached a sink


async def test_a_host_side_exception_ends_with_error_complete_and_a_suspended_session(executor):
    seen: list[str] = []

    def failing(event_type: str, data: dict) -> None:
        seen.append(event_type)
        if event_type == "phase_change":
            raise KeyError("a bug in a sink")

    with pytest.raises(TaskFailed, match="failed on the host side: KeyError") as raised:
        await executor.execute(
            "host-bug", "phase('p')\nresult = 1", {"engine": "python", "session_id": "hb"}, failing
        )
    assert raised.value.error_type == "KeyError"
    assert seen[-2:] == ["error", "complete"]
    record = executor.session_manager.load_session("hb")
    assert record["status"] == "suspended" and "KeyError" in record["suspend_reason"]


@pytest.mark.parametrize(
    ("config", "task", "expected"),
    [
        ({"env": {"A=B": "x"}}, "pass", "invalid variable name 'A=B'"),
        ({"env": {"A\0B": "x"}}, "pass", "invalid variable name"),
        ({"env": {"": "x"}}, "pass", "invalid variable name"),
        ({"env": {"KEY": "x\0y"}}, "pass", "contains a NUL character"),
        ({}, "print('\ud800')", "the task text cannot be encoded as UTF-8"),
        ({"context": {"k": "\udcff"}}, "pass", "the config cannot be encoded as UTF-8"),
    ],
)
async def test_what_cannot_be_spawned_or_encoded_is_refused_before_anything_starts(
    executor, sessions, config, task, expected
):
    with pytest.raises(ConfigError, match=expected):
        await executor.execute("refused", task, {"engine": "python", "session_id": "refused", **config})
    assert not sessions.path("refused").exists()


def test_a_bad_emitter_call_in_kernel_mode_fails_the_run_cleanly(tmp_path, monkeypatch):
    monkeypatch.setenv("CMBJUPYTER_SESSIONS_DIR", str(tmp_path / "sessions"))
    run = cmbjupyter.run(
        'emit.node("execute", ["running"])', engine="python", display=False, force_kernel=True, session_id="k"
    )
    with pytest.raises(TaskFailed, match="'status' must be one of"):
        run.wait(timeout=60)
    assert run.status == "failed" and run.state.counts["complete"] == 1
    assert cmbjupyter.runs.local_sessions().load_session("k")["status"] == "suspended"


def test_the_reducer_keeps_what_it_cannot_fold_instead_of_raising():
    state = RunState("t")
    for event in (e for e, _ in RAW.values()):
        state.apply(event)
    assert state.nodes == {} and state.status == "queued" and state.phase is None
    assert len(state.other_events) == len(RAW) - 1  # an output folds whatever its fields
