"""Fork a cmbagent planning-control session at step 2 of its 2-step plan, offline (the real cmbagent
against the scripted LLM server): step 1 restored, not re-run; the plan and context are the parent's,
with the fork's instructions added to step 2; the parent's folder untouched; its books carried."""

from __future__ import annotations

import hashlib
import json

import pytest

from cmbjupyter import IsolatedTaskExecutor, SessionManager
from cmbjupyter.fork import fork_config
from cmbjupyter.snapshots import manifest_before, store_for


def _digest(folder) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


async def test_a_cmbagent_fork_at_step_2_runs_only_step_2_with_the_change(seed_engine_env, tmp_path):
    sessions = SessionManager(tmp_path / "sessions")
    executor = IsolatedTaskExecutor(session_manager=sessions)
    config = {"engine": "cmbagent", "mode": "planning-control", "session_id": "par", "max_plan_steps": 2}
    await executor.execute("parent", "Compute 2 + 2 in two steps.", config)
    parent_dir = tmp_path / "cmbagent_output" / "par"
    parent_files = _digest(parent_dir)
    parent_cost = sessions.load_session("par")["cost"]
    assert parent_cost["by_step"]["1"]["calls"] > 0

    task, child = fork_config(sessions, "par", 2, changes={"instructions": "Print the result twice."})
    # its folder starts as the parent's was before step 2 (cmbagent's own output folder): what the
    # parent's step 2 made is not there; the plan is the parent's, with the fork's instructions
    child_dir = tmp_path / "cmbagent_output" / "par-fork2"
    before_2 = manifest_before(store_for(sessions.path("par")), 2)["files"]
    assert set(parent_files) - set(before_2), "the parent's step 2 made files of its own"
    plan_file = "planning/final_plan.json"
    assert plan_file in before_2 and child["restart"]["work_dir_from"] == "snapshot"
    started = {p: s for p, s in _digest(child_dir).items() if p != plan_file}
    assert started == {p: e["sha256"] for p, e in before_2.items() if p != plan_file}
    seed_engine_env.requests.clear()
    events: list[dict] = []
    result = await executor.execute("child", task, child, lambda kind, data, event: events.append(event))

    of = lambda kind: [e["data"] for e in events if e["type"] == kind]  # noqa: E731
    assert [(p["phase"], p["step"]) for p in of("phase_change")] == [("control", None), ("control", 2)]
    prompts = [json.dumps(r["messages"]) for r in seed_engine_env.requests]
    assert not any("You are the planner" in p for p in prompts), "the parent's plan is used, not a new one"
    assert any("Print the result twice." in p for p in prompts), "the fork's instructions reach step 2"
    ran = [c for c in of("code_execution") if c["exit_code"] == 0 and "scripted answer" in c["output"]]
    assert len(ran) == 1, "only step 2 ran"
    assert result["context"]["current_plan_step_number"] == 2

    assert _digest(parent_dir) == parent_files  # the parent's folder: not one byte changed
    plan = json.loads((child_dir / "planning" / "final_plan.json").read_text())
    assert plan["sub_tasks"][1]["bullet_points"][-1] == "Print the result twice."
    parent_plan = json.loads((parent_dir / "planning" / "final_plan.json").read_text())
    assert "Print the result twice." not in json.dumps(parent_plan)

    record = sessions.load_session("par-fork2")
    assert (record["parent_session"], record["forked_at_step"]) == ("par", 2)
    assert record["work_dir_from"] == "snapshot"
    assert record["changes"] == {"instructions": "Print the result twice."}
    nodes = {n["id"]: n for n in record["dag"]["nodes"]}
    assert nodes["step_1"]["restored"] is True and nodes["step_1"]["cost_usd"] == 0
    assert nodes["step_2"]["status"] == "completed" and nodes["step_2"]["cost_usd"] > 0
    cost = record["cost"]
    assert "1" not in cost["by_step"] and cost["by_step"]["2"]["calls"] > 0
    spent_before_2 = parent_cost["total_usd"] - parent_cost["by_step"]["2"]["usd"]
    assert cost["carried"]["total_usd"] == pytest.approx(spent_before_2)
    assert cost["grand_total_usd"] == pytest.approx(cost["total_usd"] + spent_before_2)
