"""The reducer's folds of what a run costs: ``cost_update`` (per model, agent, step and DAG node, and
the calls on the time axis) and ``budget_warning`` (the budgets the run reached). Part of the one
reducer (``_folds.FOLDS`` lists them; ``state.py`` dispatches); ``state`` is a RunState.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .events import Event

__all__ = ["BUCKETS", "budget_warning", "cost"]

#: LLM calls kept with their time for the timeline and the cost chart (older ones are folded into
#: ``points_base``, so cumulative costs stay exact).
COST_POINTS: Final = 200
#: Budgets reached that a run keeps (the run's own and each plan step's; the host reports each once).
OVER_BUDGET_KEPT: Final = 100
#: The token buckets of a cost entry.
BUCKETS: Final = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def _bucket() -> dict[str, Any]:
    return {"usd": 0.0, "calls": 0, **dict.fromkeys(BUCKETS, 0)}


def cost(state: Any, data: Mapping[str, Any], event: Event) -> None:
    cost = state.cost
    usd = data.get("cost")
    model = str(data.get("model"))
    agent = str(data.get("agent") or "unknown")
    step = data.get("step", state.step)
    targets = [
        cost,
        cost["by_model"].setdefault(model, _bucket()),
        cost["by_agent"].setdefault(agent, _bucket()),
    ]
    if step is not None:
        targets.append(cost["by_step"].setdefault(str(step), _bucket()))
    for target in targets:
        target["calls"] += 1
        for key in BUCKETS:
            target[key] += data.get(key) or 0
        if usd is not None:
            target["usd" if target is not cost else "total_usd"] += usd
    if usd is None and model not in cost["unpriced"]:
        cost["unpriced"].append(model)
    if data.get("priced_by"):
        cost["prices"] = data["priced_by"]
    _cost_point(cost, event.get("ts"), model, agent, usd, state.current_node)
    node = state.nodes.get(state.current_node or "")
    if node is not None:
        node["cost_usd"] += usd or 0.0
        node["tokens"] += (data.get("input_tokens") or 0) + (data.get("output_tokens") or 0)
    cost["grand_total_usd"] = cost["total_usd"] + ((cost.get("carried") or {}).get("total_usd") or 0.0)
    budget = cost["budget_usd"]
    if budget:
        cost["budget_fraction"] = cost["total_usd"] / budget


def _cost_point(cost: dict[str, Any], ts: Any, model: str, agent: str, usd: Any, node: str | None) -> None:
    """One LLM call on the time axis (``cost["points"]``, the last COST_POINTS); the calls dropped
    from it are summed by model and agent in ``cost["points_base"]``."""
    points = cost.setdefault("points", [])
    points.append({"ts": ts, "model": model, "agent": agent, "usd": usd or 0.0, "node": node})
    if len(points) > COST_POINTS:
        old = points.pop(0)
        base = cost.setdefault("points_base", {"by_model": {}, "by_agent": {}, "calls": 0})
        base["calls"] += 1
        for key, name in (("by_model", old["model"]), ("by_agent", old["agent"])):
            base[key][name] = base[key].get(name, 0.0) + old["usd"]


def budget_warning(state: Any, data: Mapping[str, Any], event: Event) -> None:
    state.cost["warning"] = True
    if data.get("exceeded"):
        state.cost["exceeded"] = True
        reached = state.cost.setdefault("over_budget", [])  # a sidecar from before it: none yet
        if len(reached) < OVER_BUDGET_KEPT:  # the run's budget and each step's, once each
            step = data.get("step")
            reached.append(
                {
                    "step": step if isinstance(step, int) and not isinstance(step, bool) else None,
                    "budget_usd": data.get("budget_usd"),
                    "total_usd": data.get("total_usd"),
                }
            )
