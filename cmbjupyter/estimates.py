"""Per-step cost and time estimates for a proposed plan, from this machine's past sessions.

Before a user approves a plan they see what each step is likely to cost: the median cost and
duration of the plan steps of past sessions of the same mode run with the same models (the
session's sidecar keeps each step's cost, ``cost.by_step``, and its DAG node's start and end). A
step's estimate is the median of past steps by the same agent, else of every past step; with no
such session the estimate says ``no history``. These are estimates, labelled so everywhere; the
user's guard is the per-step budget (``budget_usd`` of a step, ``step_budget_usd``), which the
supervisor enforces.

The estimate travels in the ``plan_proposed`` event (the host adds it when the worker gave none)::

    {"label": "estimate" | "no history", "basis": "median of 6 steps in 3 past sessions ...",
     "sessions": 3, "samples": 6, "default": {"cost_usd", "seconds", "samples"} | None,
     "by_agent": {agent: {"cost_usd", "seconds", "samples"}},
     "steps": [{"step", "agent", "cost_usd", "seconds", "samples"}],
     "total_cost_usd", "total_seconds"}

Reading sidecars is blocking file I/O: callers on an event loop run :func:`estimate_plan` in a thread.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from .errors import SessionError
from .session import SessionManager

__all__ = ["HISTORY_SESSIONS", "estimate_plan", "models_of"]

#: The newest past sessions of the same mode read for an estimate (bounded file reads per plan).
HISTORY_SESSIONS: Final = 50


def models_of(config: Mapping[str, Any]) -> list[str]:
    """The models a run's config names (``model`` and every ``*_model``): what makes runs comparable."""
    return sorted(
        {str(v) for k, v in config.items() if (k == "model" or k.endswith("_model")) and isinstance(v, str)}
    )


def _seconds(node: Mapping[str, Any]) -> float | None:
    try:
        start = datetime.fromisoformat(str(node["started_at"]))
        end = datetime.fromisoformat(str(node["ended_at"]))
    except (KeyError, TypeError, ValueError):
        return None
    return max(0.0, (end - start).total_seconds())


def _samples(record: Mapping[str, Any]) -> list[tuple[str | None, float | None, float | None]]:
    """(agent, cost, seconds) of each completed plan step of one past session."""
    by_step = (record.get("cost") or {}).get("by_step") or {}
    nodes = (record.get("dag") or {}).get("nodes") or []
    found = []
    for node in nodes if isinstance(nodes, list) else ():
        node_id = str(node.get("id", ""))
        if node.get("type") != "step" or node.get("status") != "completed" or not node_id.startswith("step_"):
            continue
        bucket = by_step.get(node_id.removeprefix("step_")) or {}
        cost = bucket.get("usd") if isinstance(bucket.get("usd"), (int, float)) else None
        found.append((node.get("agent"), cost, _seconds(node)))
    return found


def _median(samples: Sequence[tuple[str | None, float | None, float | None]]) -> dict[str, Any] | None:
    if not samples:
        return None
    costs = [c for _, c, _ in samples if c is not None]
    times = [t for _, _, t in samples if t is not None]
    return {
        "cost_usd": statistics.median(costs) if costs else None,
        "seconds": statistics.median(times) if times else None,
        "samples": len(samples),
    }


def estimate_plan(
    manager: SessionManager,
    mode: str | None,
    models: list[str],
    steps: Sequence[Mapping[str, Any]],
    *,
    exclude: str | None = None,
) -> dict[str, Any]:
    """The estimate of each of ``steps`` from past sessions of ``mode`` with ``models``."""
    rows = [r for r in manager.list_sessions() if r.get("mode") == mode and r.get("session_id") != exclude]
    samples: list[tuple[str | None, float | None, float | None]] = []
    sessions = 0
    for row in rows[:HISTORY_SESSIONS]:
        try:
            record = manager.load_session(str(row["session_id"]))
        except (SessionError, OSError):
            continue
        if models_of(record.get("config") or {}) != models:
            continue
        found = _samples(record)
        if found:
            sessions += 1
            samples += found
    what = f"mode {mode}" + (f", models {', '.join(models)}" if models else "")
    if not samples:
        return {
            "label": "no history",
            "basis": f"no past session of {what}",
            "sessions": 0,
            "samples": 0,
            "default": None,
            "by_agent": {},
            "steps": [],
            "total_cost_usd": None,
            "total_seconds": None,
        }
    agents = {a for a, _, _ in samples if a}
    by_agent = {a: _median([s for s in samples if s[0] == a]) for a in sorted(agents)}
    default = _median(samples)
    per_step = []
    for n, step in enumerate(steps, start=1):
        chosen = by_agent.get(step.get("agent")) or default
        per_step.append({"step": n, "agent": step.get("agent"), **(chosen or {})})
    costs = [s["cost_usd"] for s in per_step if s.get("cost_usd") is not None]
    times = [s["seconds"] for s in per_step if s.get("seconds") is not None]
    plural = "s" if sessions != 1 else ""
    return {
        "label": "estimate",
        "basis": f"median of {len(samples)} steps in {sessions} past session{plural} of {what}",
        "sessions": sessions,
        "samples": len(samples),
        "default": default,
        "by_agent": by_agent,
        "steps": per_step,
        "total_cost_usd": sum(costs) if costs else None,
        "total_seconds": sum(times) if times else None,
    }
