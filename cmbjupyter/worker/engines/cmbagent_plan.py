"""Plan approval for cmbagent (``approve_plan``): the pause between cmbagent's planning and control.

cmbagent's planning-control (``planning_and_control_context_carryover``, post30 and post63 alike)
runs the planning chat with ``CMBAgent.solve``, copies the chat's ``final_context``, writes its
``final_plan`` to ``planning/final_plan.json`` and runs one control chat per step of
``number_of_steps_in_plan``, each told the plan (the context's ``final_plan``), step 1's agent
read back from that file. So the seam is the end of the planning ``solve`` (``cmbagent_hooks``
calls :func:`approve_planning` there): the plan goes to the user (the worker blocks on the control
channel: no tokens are spent), and

* approved: the context's ``final_plan`` becomes the edited plan, in the planner's own format
  (``PlannerResponse.format``), and ``number_of_steps_in_plan`` its length; cmbagent then saves
  and runs exactly those steps;
* rejected: the planning chat runs again on the same agent with the feedback appended to the task
  it plans (every planning agent is shown it: cmbagent's planner keeps the instructions it was
  first given) and to the planner's and plan reviewer's instructions; its new plan is proposed.

cmbagent's control mode (``control(task, plan=<plan file>)``) has no planner: it runs the plan in
the file it is given (its packaged ``plans/idea_plan.json`` by default) in one control chat. Its seam
is before that chat (:func:`approve_given_plan`, called by the engine before it calls ``control``):
the file's plan is proposed before any LLM call; the approved steps are written, in the plan file's
format, to ``approved_plan.json`` in the run's work dir, and that file is the plan cmbagent runs
(the given file, cmbagent's own included, is never changed). A rejection cannot be planned again:
the host refuses it (``TaskConfig.reject_refused``), so the user edits and approves, or cancels.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from ...config import GIVEN_PLAN_REFUSAL
from ...errors import EngineError

__all__ = ["APPROVED_PLAN", "approve_given_plan", "approve_planning", "plan_text", "steps_of"]

#: The file (in the run's work dir) that hands control mode its approved plan.
APPROVED_PLAN: Final = "approved_plan.json"

_STEP = re.compile(r"^\s*-\s*Step\s+\d+\s*:", re.MULTILINE)


def _field(chunk: str, name: str) -> str:
    found = re.search(rf"\*\s*{name}:\s*(.+)", chunk)
    return found.group(1).strip() if found else ""


def steps_of(plan: Any) -> list[dict[str, Any]]:
    """cmbagent's plan (its formatted text, or the structured ``sub_tasks``) as cmbjupyter steps."""
    if hasattr(plan, "model_dump"):
        plan = plan.model_dump()
    if isinstance(plan, dict):
        plan = plan.get("sub_tasks") or []
    if isinstance(plan, list):
        return [
            {
                "sub_task": str(s.get("sub_task") or ""),
                "agent": s.get("sub_task_agent") or None,
                "bullets": [str(b) for b in s.get("bullet_points") or ()],
            }
            for s in plan
            if isinstance(s, dict)
        ]
    steps = []
    for chunk in _STEP.split(str(plan or ""))[1:]:
        _, _, instructions = chunk.partition("instructions:")
        bullets = [b.strip() for b in re.findall(r"^\s*-\s+(.+)$", instructions, re.MULTILINE)]
        steps.append(
            {
                "sub_task": _field(chunk, "sub-task"),
                "agent": _field(chunk, "agent in charge") or None,
                "bullets": bullets,
            }
        )
    return steps


def plan_text(steps: list[dict[str, Any]]) -> str:
    """Steps as cmbagent's planner formats its plan (``PlannerResponse.format``), which the control
    agents are shown and ``save_final_plan`` parses back."""
    text = ""
    for n, step in enumerate(steps, start=1):
        agent = step["agent"] or "engineer"
        text += f"\n- Step {n}:\n\t* sub-task: {step['sub_task']}\n\t* agent in charge: {agent}\n"
        if step["bullets"]:
            text += "\n\t* instructions:\n" + "".join(f"\t\t- {b}\n" for b in step["bullets"])
    return f"\n**PLAN**\n{text}\n        "


def _with_feedback(task: str, kwargs: dict[str, Any], feedback: str) -> tuple[str, dict[str, Any]]:
    """The planning chat's task and arguments with the user's feedback added."""
    shared = dict(kwargs.get("shared_context") or {})
    note = f"\nThe user rejected the previous plan with this feedback; follow it: {feedback}\n"
    for key in ("planner_append_instructions", "plan_reviewer_append_instructions"):
        shared[key] = f"{shared.get(key) or ''}{note}"
    return f"{task}\n{note}", {**kwargs, "shared_context": shared}


def approve_planning(
    agent: Any,
    emit: Any,
    plan_again: Callable[[str, dict[str, Any]], Any],
    task: str,
    kwargs: dict[str, Any],
    result: Any,
) -> Any:
    """After cmbagent's planning chat: propose its plan and wait; plan again on a rejection; on
    approval leave the approved plan in ``agent.final_context`` (what control then runs)."""
    while True:
        final = agent.final_context
        decision = emit.propose_plan(steps_of(final["final_plan"]))
        if decision["approved"]:
            steps = decision["plan"]
            final["final_plan"] = plan_text(steps)
            final["number_of_steps_in_plan"] = len(steps)
            return result
        emit.output(f"planning again: {decision['feedback']}", agent="cmbjupyter")
        task, kwargs = _with_feedback(task, kwargs, decision["feedback"])
        emit.phase("planning")
        result = plan_again(task, kwargs)


def _given_plan(path: str) -> list[dict[str, Any]]:
    """The ``sub_tasks`` of a plan file as cmbagent's ``load_plan`` reads it, or an EngineError."""
    try:
        plan = json.loads(Path(os.path.expanduser(path)).read_text())
    except (OSError, ValueError) as exc:
        raise EngineError(f"control mode's plan file {path} cannot be read: {exc}") from None
    sub_tasks = plan.get("sub_tasks") if isinstance(plan, dict) else None
    if not isinstance(sub_tasks, list) or not all(isinstance(s, dict) for s in sub_tasks):
        raise EngineError(f"control mode's plan file {path} has no 'sub_tasks' list of steps")
    return sub_tasks


def approve_given_plan(
    emit: Any, control: Callable[..., Any], arguments: dict[str, Any], work_dir: Path
) -> str:
    """Before cmbagent's ``control`` chat: propose the plan it was given (``arguments['plan']``, else
    ``control``'s default file) and wait; return the file of the approved plan, to pass as ``plan``."""
    given = arguments.get("plan") or inspect.signature(control).parameters["plan"].default
    steps = steps_of(_given_plan(str(given)))
    decision = emit.propose_plan(steps)
    while not decision["approved"]:  # the host refuses a rejection; this is the last guard
        emit.output(GIVEN_PLAN_REFUSAL.format(mode="control"), agent="cmbjupyter")
        decision = emit.propose_plan(decision["plan"])
    sub_tasks = [
        {"sub_task": s["sub_task"], "sub_task_agent": s["agent"] or "engineer", "bullet_points": s["bullets"]}
        for s in decision["plan"]
    ]
    approved = work_dir / APPROVED_PLAN
    approved.write_text(json.dumps({"sub_tasks": sub_tasks}, indent=2))
    return str(approved)
