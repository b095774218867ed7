"""engine="cmbagent" with approve_plan, offline (the scripted server): the run pauses after
cmbagent's planning chat, a rejection plans again with the feedback in the planner's instructions,
and the approved, edited plan is what cmbagent saves and runs, step by step."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cmbjupyter import IsolatedTaskExecutor, SessionManager

EDITED = [
    {"sub_task": "compute 2 + 2 and print it", "agent": "engineer", "bullets": ["use Python"]},
    {"sub_task": "print the answer again", "agent": "engineer"},
    {"sub_task": "check the answer is 4", "agent": "engineer", "bullets": ["assert it"]},
]


@pytest.fixture
def executor(tmp_path):
    return IsolatedTaskExecutor(session_manager=SessionManager(tmp_path / "sessions"))


async def test_an_edited_plan_drives_cmbagents_control_steps(seed_engine_env, executor, tmp_path):
    config = {"engine": "cmbagent", "mode": "planning-control", "session_id": "approved", "max_plan_steps": 2}
    prepared = executor.prepare("t1", "Compute 2 + 2 in two steps.", {**config, "approve_plan": True})
    events: list[dict] = []
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

    def sink(event: dict) -> None:
        events.append(event)
        if event["type"] == "plan_proposed":
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(decide()))

    prepared.subscribe(sink)
    result = await prepared.start()

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
