"""Per-step estimates of a proposed plan: medians of this machine's past sessions of the same mode
and models, by agent; "no history" when there are none."""

from __future__ import annotations

import asyncio

import pytest

from cmbjupyter.estimates import estimate_plan, models_of
from tests.core.test_plan_approval import PLANNED_TASK

CONFIG = {"engine": "python", "mode": "planning-control", "model": "gpt-4o-mini"}


async def _proposed_estimate(executor, session_id: str, **config) -> dict:
    """The estimate shown with a run's plan (the run is then approved and finishes)."""
    config = {**CONFIG, "approve_plan": True, "session_id": session_id, **config}
    prepared = executor.prepare(session_id, PLANNED_TASK, config)
    prepared.subscribe(
        lambda e: (
            e["type"] == "plan_proposed"
            and asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(prepared.approve()))
        )
    )
    await prepared.start()
    return prepared.state.plan["estimate"]


async def test_estimates_are_medians_of_past_sessions_of_the_same_mode_and_models(executor, sessions):
    first = await _proposed_estimate(executor, "fresh")
    assert first["label"] == "no history" and first["sessions"] == 0
    assert "no past session of mode planning-control, models gpt-4o-mini" in first["basis"]

    for n, cost in enumerate((0.001, 0.003)):  # two past runs: every step costs `cost`
        config = {**CONFIG, "session_id": f"past{n}", "step_cost": cost}
        await executor.execute(f"past{n}", PLANNED_TASK, config)
    other = {**CONFIG, "model": "gpt-4o", "session_id": "other", "step_cost": 1.0}
    await executor.execute("other", PLANNED_TASK, other)  # other models: not comparable

    estimate = await _proposed_estimate(executor, "now")
    assert estimate["label"] == "estimate" and estimate["sessions"] == 2 + 1  # "fresh" ran its steps too
    assert estimate["samples"] == 9 and "median of 9 steps in 3 past sessions" in estimate["basis"]
    # each step's own cost: the planner's call is not in a step; step costs 0, 0.001 or 0.003
    assert estimate["by_agent"]["engineer"]["cost_usd"] == pytest.approx(0.001)
    assert estimate["by_agent"]["engineer"]["samples"] == 6
    assert [s["agent"] for s in estimate["steps"]] == ["engineer", "researcher", "engineer"]
    assert all(s["seconds"] is not None and s["seconds"] >= 0 for s in estimate["steps"])
    assert estimate["total_cost_usd"] == pytest.approx(0.003)


def test_an_estimate_reads_only_completed_steps_and_compares_the_models(sessions):
    assert models_of({"model": "a", "engineer_model": "b", "planner_model": None, "x": "c"}) == ["a", "b"]
    config = {"mode": "planning-control", "model": "a"}
    sessions.create_session("s1", mode="planning-control", task="task", config=config)
    nodes = [
        {
            "id": "step_1",
            "type": "step",
            "status": "completed",
            "agent": "engineer",
            "started_at": "2026-11-30T10:00:00+00:00",
            "ended_at": "2026-11-30T10:00:04+00:00",
        },
        {"id": "step_2", "type": "step", "status": "failed", "agent": "engineer"},
    ]
    cost = {"by_step": {"1": {"usd": 0.25}, "2": {"usd": 9.0}}}
    sessions.save_session_state("s1", [], {}, "control", 2, dag={"nodes": nodes}, cost=cost)
    plan = [{"sub_task": "x", "agent": "engineer"}, {"sub_task": "y", "agent": "researcher"}]
    estimate = estimate_plan(sessions, "planning-control", ["a"], plan)
    assert estimate["steps"] == [
        {"step": 1, "agent": "engineer", "cost_usd": 0.25, "seconds": 4.0, "samples": 1},
        {"step": 2, "agent": "researcher", "cost_usd": 0.25, "seconds": 4.0, "samples": 1},
    ]
    assert estimate_plan(sessions, "planning-control", ["b"], plan)["label"] == "no history"
    assert estimate_plan(sessions, "one-shot", ["a"], plan)["label"] == "no history"
