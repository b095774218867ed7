"""engine="cmbagent" with approve_plan, offline (the scripted server), on every cmbagent environment:
the run pauses after cmbagent's planning chat (or, in control mode, before the control chat runs its
given plan), a rejection plans again with the feedback in the planner's instructions (control mode
has no planner: the rejection is refused), and the approved, edited plan is what cmbagent runs, step
by step."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cmbjupyter import IsolatedTaskExecutor, SessionManager, TaskFailed
from cmbjupyter.errors import TaskConflict
from tests.core.test_cli import cli

EDITED = [
    {"sub_task": "compute 2 + 2 and print it", "agent": "engineer", "bullets": ["use Python"]},
    {"sub_task": "print the answer again", "agent": "engineer"},
    {"sub_task": "check the answer is 4", "agent": "engineer", "bullets": ["assert it"]},
]


@pytest.fixture
def executor(tmp_path):
    return IsolatedTaskExecutor(session_manager=SessionManager(tmp_path / "sessions"))


async def _deciding(prepared, decide) -> tuple[list[dict], dict]:
    """Run ``prepared``, calling ``decide()`` (off the sink) at each proposed plan: its events and result."""
    events: list[dict] = []

    def sink(event: dict) -> None:
        events.append(event)
        if event["type"] == "plan_proposed":
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(decide()))

    prepared.subscribe(sink)
    return events, await prepared.start()


async def test_an_edited_plan_drives_cmbagents_control_steps(seed_engine_env, executor, tmp_path):
    config = {"engine": "cmbagent", "mode": "planning-control", "session_id": "approved", "max_plan_steps": 2}
    prepared = executor.prepare("t1", "Compute 2 + 2 in two steps.", {**config, "approve_plan": True})
    proposals: list[list[dict]] = []

    async def decide() -> None:
        plan = prepared.state.plan
        proposals.append(plan["steps"])
        requests_before = len(seed_engine_env.requests)
        await asyncio.sleep(0)
        assert prepared.state.status == "awaiting_approval"
        if plan["round"] == 1:
            await prepared.reject("name the planck satellite in every step")
        else:
            assert len(seed_engine_env.requests) == requests_before, "no LLM call while it waits"
            await prepared.approve(EDITED)

    events, result = await _deciding(prepared, decide)

    assert len(proposals) == 2
    assert [(s["step"], s["agent"]) for s in proposals[0]] == [(1, "engineer"), (2, "engineer")]
    planner_prompts = [json.dumps(r) for r in seed_engine_env.requests if "planner agent" in json.dumps(r)]
    assert any("name the planck satellite in every step" in p for p in planner_prompts), "replanned with it"
    # cmbagent saved and ran exactly the edited plan
    work_dir = Path(result["work_dir"])
    saved = json.loads((work_dir / "planning" / "final_plan.json").read_text())
    assert [(s["sub_task"], s["sub_task_agent"], s["bullet_points"]) for s in saved["sub_tasks"]] == [
        (s["sub_task"], s["agent"], s.get("bullets", [])) for s in EDITED
    ]
    phases = [(e["data"]["phase"], e["data"]["step"]) for e in events if e["type"] == "phase_change"]
    assert [p for p in phases if p[1]] == [("control", 1), ("control", 2), ("control", 3)]
    ran = [
        e
        for e in events
        if e["type"] == "code_execution"
        and e["data"]["exit_code"] == 0
        and "scripted answer: 4" in e["data"]["output"]
    ]
    assert len(ran) == 3, "each edited step's code ran"
    nodes = prepared.state.nodes
    assert [nodes[f"step_{n}"]["label"] for n in (1, 2, 3)] == [
        f"Step {n}: {s['sub_task']}" for n, s in enumerate(EDITED, 1)
    ]
    assert all(nodes[f"step_{n}"]["status"] == "completed" for n in (1, 2, 3)) and "step_4" not in nodes
    assert "check the answer is 4" in result["context"]["final_plan"]
    record = executor.session_manager.load_session("approved")
    assert record["plan"]["status"] == "approved" and record["plan"]["round"] == 2


async def test_idea_generation_pauses_too_and_runs_the_reordered_plan(seed_engine_env, executor):
    config = {"engine": "cmbagent", "mode": "idea-generation", "session_id": "ideas", "max_plan_steps": 2}
    prepared = executor.prepare("t2", "Ideas for a CMB project.", {**config, "approve_plan": True})
    proposed: list[list[dict]] = []

    async def approve() -> None:
        proposed.append(prepared.state.plan["steps"])
        await prepared.approve(list(reversed(prepared.state.plan["steps"])))

    prepared.subscribe(
        lambda e: (
            e["type"] == "plan_proposed"
            and asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(approve()))
        )
    )
    result = await prepared.start()
    [steps] = proposed
    assert [s["agent"] for s in steps] == ["idea_maker", "idea_hater"]
    saved = json.loads((Path(result["work_dir"]) / "planning" / "final_plan.json").read_text())
    assert [s["sub_task_agent"] for s in saved["sub_tasks"]] == ["idea_hater", "idea_maker"]
    assert [n["agent"] for n in prepared.state.dag()["nodes"] if n["type"] == "step"] == [
        "idea_hater",
        "idea_maker",
    ]


#: A given plan for control mode, in cmbagent's plan file format.
GIVEN = [
    {"sub_task": "Compute 2 + 2", "sub_task_agent": "engineer", "bullet_points": ["use Python"]},
    {"sub_task": "Critique the method", "sub_task_agent": "idea_hater", "bullet_points": ["be brief"]},
    {"sub_task": "print the answer again", "sub_task_agent": "engineer", "bullet_points": []},
]


async def test_control_pauses_before_its_chat_and_runs_the_edited_given_plan(
    seed_engine_env, executor, tmp_path
):
    given = tmp_path / "given_plan.json"
    given.write_text(json.dumps({"sub_tasks": GIVEN}))
    before = given.read_bytes()
    edited = [
        {"sub_task": "compute 2 + 2 and print it", "agent": "engineer", "bullets": ["use Python"]},
        {"sub_task": "print the answer again", "agent": "engineer"},
    ]
    config = {"engine": "cmbagent", "mode": "control", "plan": str(given), "session_id": "given"}
    prepared = executor.prepare("t3", "Compute 2 + 2.", {**config, "approve_plan": True})
    seen: dict = {}

    async def decide() -> None:
        try:
            seen["steps"] = prepared.state.plan["steps"]
            seen["reject_refused"] = prepared.state.plan["reject_refused"]
            seen["status"] = prepared.state.status
            seen["requests"] = len(seed_engine_env.requests)
            try:
                await prepared.reject("plan it differently")
            except TaskConflict as refused:
                seen["refused"] = str(refused)
            seen["status_after"] = prepared.state.status
            await prepared.approve(edited)
        finally:
            if prepared.state.status == "awaiting_approval":  # never leave the worker waiting
                await prepared.cancel("the test's decision failed")

    events, result = await _deciding(prepared, decide)

    assert seen["status"] == "awaiting_approval" and seen["requests"] == 0, "paused before any LLM call"
    assert [(s["sub_task"], s["agent"], s["bullets"]) for s in seen["steps"]] == [
        (s["sub_task"], s["sub_task_agent"], s["bullet_points"]) for s in GIVEN
    ]
    assert "control mode runs a given plan: edit and approve it, or cancel the run" in seen["refused"]
    assert seen["reject_refused"] in seen["refused"], "the views knew before: they offer no Reject"
    assert seen["status_after"] == "awaiting_approval", "the refused rejection changed nothing"
    assert given.read_bytes() == before, "the given plan file is left as it was"
    # cmbagent was handed the approved plan, in its own plan file format, in the run's work dir
    approved = json.loads((Path(result["work_dir"]) / "approved_plan.json").read_text())
    assert approved == {
        "sub_tasks": [
            {"sub_task": s["sub_task"], "sub_task_agent": s["agent"], "bullet_points": s.get("bullets", [])}
            for s in edited
        ]
    }
    prompts = json.dumps(seed_engine_env.requests)
    assert "compute 2 + 2 and print it" in prompts and "Critique the method" not in prompts
    phases = [(e["data"]["phase"], e["data"]["step"]) for e in events if e["type"] == "phase_change"]
    assert [p for p in phases if p[1]] == [("control", 1), ("control", 2)]
    nodes = prepared.state.nodes
    assert [nodes[f"step_{n}"]["label"] for n in (1, 2)] == [
        f"Step {n}: {s['sub_task']}" for n, s in enumerate(edited, 1)
    ]
    assert all(nodes[f"step_{n}"]["status"] == "completed" for n in (1, 2)) and "step_3" not in nodes
    decisions = [e["data"] for e in events if e["type"] == "plan_decision"]
    assert [d["approved"] for d in decisions] == [True], "the refused rejection is no decision"
    record = executor.session_manager.load_session("given")
    assert record["status"] == "completed" and record["plan"]["status"] == "approved"


def test_the_cli_refuses_to_reject_a_given_plan_and_runs_the_edited_one(seed_engine_env, tmp_path):
    given = tmp_path / "given_plan.json"
    given.write_text(json.dumps({"sub_tasks": GIVEN}))
    (tmp_path / "edited.json").write_text(json.dumps([{"sub_task": "compute 2 + 2 and print it"}]))
    args = (
        "--engine",
        "cmbagent",
        "--mode",
        "control",
        "--approve-plan",
        "--plain",
        "--session",
        "cli-given",
    )
    done = cli(
        "run",
        "Compute 2 + 2.",
        *args,
        "--config",
        json.dumps({"plan": str(given)}),
        cwd=tmp_path,
        check=False,
        timeout=600,
        input="plan it again\n@edited.json\n",
    )
    out = done.stdout
    assert done.returncode == 0, f"{out[-3000:]}\n{done.stderr[-3000:]}"
    assert "  2. Critique the method  [idea_hater]" in out
    assert (
        "refused: task" in out
        and "control mode runs a given plan: edit and approve it, or cancel the run" in out
    )
    assert out.count("plan_decision:") == 1 and "scripted answer: 4" in out and "completed" in out


async def test_a_given_plan_file_that_cannot_be_read_is_named(seed_engine_env, executor, tmp_path):
    (tmp_path / "steps.json").write_text(json.dumps([{"sub_task": "not in a 'sub_tasks' object"}]))
    for plan, problem in [("missing.json", "cannot be read"), ("steps.json", "has no 'sub_tasks' list")]:
        config = {"engine": "cmbagent", "mode": "control", "plan": str(tmp_path / plan), "approve_plan": True}
        with pytest.raises(TaskFailed, match=f"control mode's plan file .*{plan} {problem}") as failed:
            await executor.execute("t4", "Compute 2 + 2.", config)
        assert failed.value.error_type == "EngineError" and "Traceback" not in failed.value.message
    assert seed_engine_env.requests == [], "nothing was asked of an LLM"
