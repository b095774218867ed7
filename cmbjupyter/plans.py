"""A plan as a run proposes it and a user approves it: one checked shape for every door.

A plan is the list of steps the control phase will run. It travels in a ``plan_proposed`` event
(the worker's proposal), comes back edited from the widget, the sidebar, ``Run.approve`` or the
REST route, and goes to the worker on the control channel; every one of those doors checks it here,
so a bad edit is a clear :class:`~cmbjupyter.errors.ConfigError` (HTTP 400) naming the step and the
field, before anything reaches the worker. Each step becomes::

    {"step": n, "sub_task": "what to do", "agent": "engineer" | None, "bullets": ["...", ...],
     "budget_usd": 0.5}            # budget_usd only when the user set one for that step

Steps are renumbered 1..n in the order given (a reorder is just a new order); ``task`` is accepted
for ``sub_task`` (the python engine's word). Standard library only: the worker imports this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from .errors import ConfigError

__all__ = ["MAX_STEPS", "check_feedback", "check_plan", "plan_problem", "step_label"]

#: The most steps a plan may have (a larger one is a mistake, not a plan).
MAX_STEPS: Final = 100
#: The longest text a step's sub-task, a bullet or the reject feedback may have.
MAX_TEXT: Final = 20_000
#: The longest agent name.
MAX_AGENT: Final = 100


def _text(value: Any, where: str, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigError(f"{where} must be a non-empty string, not {value!r}"[:300])
    if len(value) > MAX_TEXT:
        raise ConfigError(f"{where} is {len(value)} characters long; at most {MAX_TEXT} are allowed")
    return value.strip()


def _step(raw: Any, n: int) -> dict[str, Any]:
    where = f"plan step {n}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be an object with 'sub_task', 'agent', 'bullets', not {raw!r}"[:300])
    sub_task = raw.get("sub_task", raw.get("task"))
    step: dict[str, Any] = {"step": n, "sub_task": _text(sub_task, f"{where}: 'sub_task'", required=True)}
    agent = raw.get("agent")
    if agent is not None and agent != "":
        agent = _text(agent, f"{where}: 'agent'", required=True)
        if len(agent) > MAX_AGENT or any(c.isspace() for c in agent):  # type: ignore[arg-type]
            raise ConfigError(f"{where}: 'agent' must be an agent name (one word), not {agent!r}"[:300])
    step["agent"] = agent or None
    bullets = raw.get("bullets") or []
    if not isinstance(bullets, list):
        raise ConfigError(f"{where}: 'bullets' must be a list of strings, not {bullets!r}"[:300])
    step["bullets"] = [
        _text(b, f"{where}: bullet {i}", required=True) for i, b in enumerate(bullets, start=1)
    ]
    budget = raw.get("budget_usd")
    if budget is not None:
        if (
            isinstance(budget, bool)
            or not isinstance(budget, (int, float))
            or not math.isfinite(budget)
            or budget <= 0
        ):
            raise ConfigError(f"{where}: 'budget_usd' must be a positive number of dollars, not {budget!r}")
        step["budget_usd"] = float(budget)
    return step


def check_plan(plan: Any) -> list[dict[str, Any]]:
    """The plan in its one shape (see the module docstring), or ConfigError naming what is wrong."""
    if not isinstance(plan, (list, tuple)):
        raise ConfigError(f"a plan must be a list of steps, not {type(plan).__name__}")
    if not plan:
        raise ConfigError("a plan must have at least one step (reject it with feedback instead)")
    if len(plan) > MAX_STEPS:
        raise ConfigError(f"a plan has at most {MAX_STEPS} steps, not {len(plan)}")
    return [_step(raw, n) for n, raw in enumerate(plan, start=1)]


def plan_problem(plan: Any) -> str | None:
    """What is wrong with ``plan``, or None (the event-shape check of ``_shapes.py``)."""
    try:
        check_plan(plan)
    except ConfigError as exc:
        return str(exc)
    return None


def check_feedback(feedback: Any) -> str:
    """The reason a user gives for rejecting a plan: the planner's next instructions."""
    text = _text(feedback, "the feedback of a rejected plan", required=True)
    assert text is not None
    return text


def step_label(step: Mapping[str, Any]) -> str:
    """A step's DAG node label: ``Step n: sub-task`` (at most 80 characters, as the engines label)."""
    return f"Step {step['step']}: {step['sub_task']}"[:80]
