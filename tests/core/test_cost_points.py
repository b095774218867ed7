"""The LLM calls on the time axis (``cost["points"]``): what the timeline and the cost chart draw,
folded by the reducer, bounded, and exact in their cumulative sums whatever was dropped."""

from __future__ import annotations

import pytest

from cmbjupyter._cost_folds import COST_POINTS
from cmbjupyter.state import RunState


def cost_event(seq: int, agent: str, usd: float) -> dict:
    data = {"model": "gpt-4o-mini", "agent": agent, "input_tokens": 10, "output_tokens": 2, "cost": usd}
    return {"type": "cost_update", "seq": seq, "ts": f"2026-11-30T10:00:{seq % 60:02d}+00:00", "data": data}


def test_each_call_is_a_point_with_its_time_agent_and_node():
    state = RunState("t1", mode="one-shot")
    state.apply(
        {
            "type": "dag_created",
            "seq": 1,
            "ts": "2026-11-30T10:00:00+00:00",
            "data": {
                "nodes": [
                    {"id": "start", "label": "Start", "type": "start", "status": "pending"},
                    {"id": "execute", "label": "Execute", "type": "agent", "status": "running"},
                ],
                "edges": [{"source": "start", "target": "execute"}],
            },
        }
    )
    state.apply(cost_event(2, "engineer", 0.25))
    points = state.snapshot()["cost"]["points"]
    assert points == [
        {
            "ts": "2026-11-30T10:00:02+00:00",
            "model": "gpt-4o-mini",
            "agent": "engineer",
            "usd": 0.25,
            "node": state.current_node,
        }
    ]
    assert RunState().restore(state.snapshot()).snapshot() == state.snapshot()


def test_points_are_bounded_and_the_dropped_calls_are_summed_by_model_and_agent():
    state = RunState("t1")
    calls = COST_POINTS + 50
    for seq in range(1, calls + 1):
        state.apply(cost_event(seq, "planner" if seq % 2 else "engineer", 0.01))
    cost = state.snapshot()["cost"]
    assert len(cost["points"]) == COST_POINTS
    base = cost["points_base"]
    assert base["calls"] == 50
    kept = {a: sum(p["usd"] for p in cost["points"] if p["agent"] == a) for a in ("planner", "engineer")}
    for agent in ("planner", "engineer"):
        assert base["by_agent"][agent] + kept[agent] == pytest.approx(cost["by_agent"][agent]["usd"])
    assert base["by_model"]["gpt-4o-mini"] + sum(p["usd"] for p in cost["points"]) == pytest.approx(
        cost["total_usd"]
    )
