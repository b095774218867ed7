"""The real cmbagent's transcript, from AG2's structured events (offline, the scripted server): the
engineer's code as a ``code_execution`` with its exit code and real output, messages with their
agents, the control agent's tool calls, counts that match what the server answered; and a run
whose code fails ends "completed with errors", pointing at it."""

from __future__ import annotations

import contextlib
import json

import pytest

from cmbjupyter import IsolatedTaskExecutor, SessionManager
from cmbjupyter.testing.llm_server import Rule
from tests.engines.test_cmbagent_engine import Collected, run_cmbagent


@pytest.fixture
def executor(tmp_path):
    return IsolatedTaskExecutor(session_manager=SessionManager(tmp_path / "sessions"))


def _answered_code(server) -> list[str]:
    """The code the scripted engineer's formatter answered (each becomes one execution)."""
    code = []
    for answer in server.answers:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            code.append(json.loads(answer.get("content") or "")["python_code"])
    return code


def _answered_calls(server) -> dict[str, str]:
    """Every tool call the scripted server answered: id -> function name."""
    return {c["id"]: c["function"]["name"] for a in server.answers for c in a.get("tool_calls") or ()}


async def test_a_one_shot_transcript_holds_the_engineers_code_its_output_and_the_agents_messages(
    seed_engine_env, executor
):
    seed_engine_env.script.append(Rule(match="engineer", content="I will compute it in Python.", times=1))
    collected = Collected()
    await run_cmbagent(executor, collected, session_id="said")
    executions = collected.of("code_execution")
    answered = _answered_code(seed_engine_env)
    assert len(executions) == len(answered) >= 1, "each code the engineer wrote ran once"
    for ran, code in zip(executions, answered, strict=True):
        assert ran["exit_code"] == 0 and ran["language"] == "python" and ran["agent"] == "engineer"
        assert code in ran["code"] and "scripted answer: 4" in ran["output"] and ran["duration_s"] > 0
    messages = collected.of("message")
    assert {"role": "user", "agent": "_User", "content": "Compute 2 + 2 in Python."}.items() <= messages[
        0
    ].items()
    said = {(m["agent"], m["content"]) for m in messages}
    assert ("engineer", "I will compute it in Python.") in said, "the scripted answer, said by its agent"
    assert all(m["content_type"] == "markdown" and m["recipient"] for m in messages)
    calls = collected.of("tool_call")
    assert {c["call_id"]: c["name"] for c in calls} == _answered_calls(seed_engine_env), "every call, once"
    assert len(calls) == len(_answered_calls(seed_engine_env))
    results = {r["call_id"] for r in collected.of("tool_result")}
    assert results == {c["call_id"] for c in calls}, "each call's result, said by the agent that called"
    assert "engineer" in {s["agent"] for s in collected.of("speaker")}
    assert collected.of("termination"), "AG2's chat endings"
    ids = [data["message_id"] for kind, data in collected if "message_id" in data]
    assert ids == list(range(1, len(ids) + 1))
    printed = " ".join(o["message"] for o in collected.of("output"))
    assert "Execution results" not in printed and "I will compute it" not in printed, "no messages as prints"
    record = executor.session_manager.load_session("said")
    assert record["outcome"]["status"] == "completed" and record["outcome"]["failed_executions"] == []
    transcript = record["transcript"]
    assert transcript["count"] == len(ids) and transcript["by_kind"]["code_execution"] == len(executions)
    assert transcript["by_kind"]["tool_call"] == len(calls)


async def test_planning_control_records_the_control_agents_tool_calls_and_each_steps_code(
    seed_engine_env, executor
):
    collected = Collected()
    await run_cmbagent(
        executor, collected, task="Compute 2 + 2 in two steps.", mode="planning-control", session_id="plan"
    )
    calls = collected.of("tool_call")
    assert {c["call_id"]: c["name"] for c in calls} == _answered_calls(seed_engine_env)
    statuses = [c for c in calls if c["agent"] == "control" and c["name"] == "record_status"]
    assert [
        (c["arguments"]["current_plan_step_number"], c["arguments"]["current_status"]) for c in statuses
    ] == [
        (1, "in progress"),
        (1, "completed"),
        (2, "in progress"),
        (2, "completed"),
    ]
    assert all(isinstance(c["step"], int) and c["node_id"] for c in statuses), "each said in a step"
    ran = collected.of("code_execution")
    assert [(c["step"], c["node_id"], c["exit_code"], c["agent"]) for c in ran] == [
        (1, "step_1", 0, "engineer"),
        (2, "step_2", 0, "engineer"),
    ]
    assert all("scripted answer: 4" in c["output"] for c in ran)
    agents = {m["agent"] for m in collected.of("message")}
    assert {"planner", "plan_reviewer", "engineer", "executor"} <= agents
    record = executor.session_manager.load_session("plan")
    assert record["outcome"]["label"] == "completed"
    assert set(record["transcript"]["by_agent"]) >= {"control", "planner", "engineer"}


async def test_code_that_fails_to_import_ends_completed_with_errors_pointing_at_it(seed_engine_env, executor):
    code = "import camb_is_not_installed\nprint('never printed')"
    formatted = {
        "filename": "fit.py",
        "relative_path": "codebase",
        "code_explanation": "Fit the spectrum with camb.",
        "modification_summary": "none",
        "python_code": code,
    }
    rule = Rule(match="format the response provided by the engineer agent", content=json.dumps(formatted))
    seed_engine_env.script.append(rule)  # every attempt fails: never recovered
    collected = Collected()
    await run_cmbagent(executor, collected, session_id="crash")
    failed = [c for c in collected.of("code_execution") if c["exit_code"] != 0]
    assert failed and "ModuleNotFoundError" in failed[0]["output"] and code in failed[0]["code"]
    assert collected.of("complete")[-1] == {"status": "success"}, "cmbagent carried on"
    outcome = executor.session_manager.load_session("crash")["outcome"]
    assert outcome["status"] == "completed_with_errors"
    assert outcome["failed_executions"] == [c["message_id"] for c in failed]
    noun = "code execution" if len(failed) == 1 else "code executions"
    assert outcome["label"] == f"completed with errors: {len(failed)} {noun} failed (engineer)"
