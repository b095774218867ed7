"""The scripted server's default answers for cmbagent's agents (cmbagent 0.0.1.post30 and its AG2 fork).

They make cmbagent's one-shot and planning-control runs finish offline with a plan of
:data:`PLAN_STEPS` steps (at most the planner's ``maximum_number_of_steps_in_plan``), each carried
out by the engineer, whose code the executor really runs:

* plan_setter -> ``record_plan_constraints(["engineer"])``; planner -> a text plan; its formatter ->
  the structured plan; plan_recorder -> ``record_plan(<the formatted plan>, n)``; plan_reviewer ->
  one recommendation (formatter and recorder answer from the schema); terminator -> terminate;
* control -> ``record_status``: "in progress" for the current step, "completed" once the step's
  execution succeeded (its system message carries the step and status);
* engineer -> a short explanation; its formatter -> code from the schema (see ``NAMED_STRINGS``).

Agents are recognised by the function cmbagent forces them to call (``tool_choice``) or by the first
line of their system message.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["PLAN_STEPS", "cmbagent_answer"]

#: How many steps the scripted planner proposes (capped by the run's max_plan_steps).
PLAN_STEPS = 2


def cmbagent_answer(request: dict[str, Any]) -> tuple[str | None, list[tuple[str, dict[str, Any]]]] | None:
    """``(content, tool_calls)`` for a request from one of cmbagent's agents, or None (not one)."""
    forced = _forced_function(request)
    system = _system(request)
    last = _last_content(request)
    if forced == "record_plan_constraints":
        return None, [(forced, {"needed_agents": ["engineer"]})]
    if forced == "record_plan":
        steps = len(re.findall(r"-\s*Step\s+\d+", last)) or 1
        return None, [(forced, {"plan_suggestion": last, "number_of_steps_in_plan": steps})]
    if forced == "record_status":
        return None, [(forced, _status(system, last))]
    if forced == "terminate_session":
        return None, [(forced, {})]
    if system.startswith("You are the planner agent"):
        return _plan_text(system), []
    if system.startswith("You are a plan reviewer"):
        return "**Recommendations:**\n- Keep each step small and print its result.", []
    if "sub_tasks" in json.dumps(_schema(request)):
        return json.dumps({"sub_tasks": _sub_tasks(last)}), []
    if system.startswith("You are the engineer agent"):
        return "**Code Explanation:**\n\nThe scripted engineer prints the answer.", []
    return None


def _forced_function(request: dict[str, Any]) -> str | None:
    choice = request.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        return (choice.get("function") or {}).get("name")
    return None


def _system(request: dict[str, Any]) -> str:
    messages = request.get("messages") or []
    return next((str(m.get("content") or "").strip() for m in messages if m.get("role") == "system"), "")


def _last_content(request: dict[str, Any]) -> str:
    messages = [m for m in request.get("messages") or [] if m.get("role") != "system"]
    return str(messages[-1].get("content") or "") if messages else ""


def _schema(request: dict[str, Any]) -> dict[str, Any]:
    response_format = request.get("response_format") or {}
    return (response_format.get("json_schema") or {}).get("schema") or {}


def _plan_text(system: str) -> str:
    cap = re.search(r"at most (\d+) Steps", system)
    steps = min(PLAN_STEPS, int(cap.group(1))) if cap else PLAN_STEPS
    lines = ["**Plan:**"]
    for n in range(1, steps + 1):
        lines += [
            f"   - Step {n}:",
            f"         * sub-task: compute part {n} of the answer in Python",
            "         * agent: engineer",
            f"         * bullet points: print part {n}",
        ]
    return "\n".join(lines)


def _sub_tasks(plan: str) -> list[dict[str, Any]]:
    steps = len(re.findall(r"Step\s+\d+", plan)) or 1
    return [
        {
            "sub_task": f"compute part {n} of the answer in Python",
            "sub_task_agent": "engineer",
            "bullet_points": [f"print part {n}"],
        }
        for n in range(1, steps + 1)
    ]


def _field(system: str, title: str) -> str:
    found = re.search(rf"\*\*{re.escape(title)}:\*\*\s*\n\s*(.*)", system)
    return found.group(1).strip() if found else ""


def _status(system: str, last: str) -> dict[str, Any]:
    """The control agent's next ``record_status``: the step done once its code ran successfully."""
    step_text = _field(system, "Current step in plan")
    step = int(step_text) if step_text.isdigit() else 0
    status = _field(system, "Current status")
    if step and "in progress" in status and "Execution status: success" in last:
        current = ("completed", step)
    elif step and "completed" in status:
        current = ("in progress", step + 1)
    else:
        current = ("in progress", step or 1)
    return {
        "current_status": current[0],
        "current_plan_step_number": current[1],
        "current_sub_task": f"compute part {current[1]} of the answer in Python",
        "current_instructions": f"print part {current[1]}",
        "agent_for_sub_task": "engineer",
    }
