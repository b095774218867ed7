"""Resuming a cmbagent planning-control session at a step (``restart_at_step``).

:func:`saved_plan` checks what a restart needs in the run's work_dir (the plan the first run wrote,
``planning/final_plan.json``) and shows the plan's steps, those done as completed. Newer cmbagent
releases then restart themselves (``restart_at_step``, from their own ``context/context_step_<n>.pkl``).
``cmbagent==0.0.1.post30`` cannot, so for it :func:`restart_carryover` runs the control loop of
``planning_and_control_context_carryover`` from the saved step on, with cmbagent's own ``CMBAgent``
and agents, in the same work_dir, from the context variables saved with the session.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from ...errors import EngineError
from .cmbagent_hooks import add_plan_nodes

__all__ = ["add_instructions", "restart_carryover", "saved_plan"]

AGENTS = ("engineer", "researcher", "idea_maker", "idea_hater")


def saved_plan(
    work_dir: Path, restart_at_step: int, context: dict[str, Any], emit: Any, *, native: bool
) -> list[dict[str, Any]]:
    """The saved plan's sub-tasks (its steps shown in the DAG, those before the restart completed);
    raises EngineError naming what is missing for a restart at ``restart_at_step``."""
    plan_file = work_dir / "planning" / "final_plan.json"
    try:
        sub_tasks = json.loads(plan_file.read_text()).get("sub_tasks") or []
    except (OSError, ValueError, AttributeError) as exc:
        raise EngineError(f"cannot resume at step {restart_at_step}: no saved plan ({exc})") from None
    steps = int(context.get("number_of_steps_in_plan") or len(sub_tasks))
    if not 1 <= restart_at_step <= steps:
        raise EngineError(f"cannot resume at step {restart_at_step}: the plan has {steps} steps")
    saved = work_dir / "context" / f"context_step_{restart_at_step - 1}.pkl"
    if native and not saved.is_file():
        raise EngineError(f"cannot resume at step {restart_at_step}: cmbagent saved no context in {saved}")
    nodes = [(str(s.get("sub_task", "")), s.get("sub_task_agent")) for s in sub_tasks]
    add_plan_nodes(emit, nodes, done=restart_at_step - 1)
    return sub_tasks


def add_instructions(
    work_dir: Path, step: int, instructions: str, context: dict[str, Any], *, native: bool
) -> None:
    """A fork's ``instructions`` for ``step``, added to the plan the control agents read (the
    context's ``final_plan``): in cmbagent's own saved context for the step (newer releases restart
    from it; the work dir is the fork's own copy, so the parent's file is never touched), else in
    the context the carryover loop starts from."""
    note = f"\n\nAdded for step {step} when this run was forked from another session: {instructions}"
    if not native:
        context["final_plan"] = f"{context.get('final_plan') or ''}{note}"
        return
    import pickle

    saved = work_dir / "context" / f"context_step_{step - 1}.pkl"
    with saved.open("rb") as file:
        restored = pickle.load(file)  # cmbagent's own file, which cmbagent itself loads next
    restored["final_plan"] = f"{restored.get('final_plan') or ''}{note}"
    fresh = saved.with_name(saved.name + ".fork")
    with fresh.open("wb") as file:
        pickle.dump(restored, file)
    fresh.replace(saved)  # a new file: never a write into one the parent may share


def restart_carryover(
    task: str,
    restart_at_step: int,
    context: dict[str, Any],
    work_dir: Path,
    arguments: dict[str, Any],
    sub_tasks: list[dict[str, Any]],
) -> dict[str, Any]:
    """Run steps ``restart_at_step``.. of the plan saved in ``work_dir``; cmbagent's result shape."""
    from cmbagent.cmbagent import CMBAgent
    from cmbagent.utils import default_agents_llm_model, default_llm_model, get_model_config

    steps = int(context.get("number_of_steps_in_plan") or len(sub_tasks))
    configs = {
        agent: get_model_config(arguments.get(f"{agent}_model") or default_agents_llm_model[agent])
        for agent in AGENTS
    }
    current = _restored(context, restart_at_step, sub_tasks)
    results: dict[str, Any] = {"chat_history": [], "final_context": current}
    for step in range(restart_at_step, steps + 1):
        agent = CMBAgent(
            work_dir=work_dir / "control",
            clear_work_dir=False,
            default_llm_model=arguments.get("default_llm_model") or default_llm_model,
            agent_llm_configs=configs,
            mode="planning_and_control_context_carryover",
        )
        agent.solve(
            task,
            max_rounds=int(arguments.get("max_rounds_control") or 100),
            initial_agent="control" if step == 1 else "control_starter",
            shared_context=copy.deepcopy(current),
            step=step,
        )
        results = {"chat_history": agent.chat_result.chat_history, "final_context": agent.final_context}
        if agent.final_context["n_attempts"] >= agent.final_context["max_n_attempts"]:
            break
        current = copy.deepcopy(dict(agent.final_context))
    return results


def _restored(context: dict[str, Any], step: int, sub_tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """The saved context, set to start ``step`` (as cmbagent's loop leaves it after the step before)."""
    restored = dict(context)
    restored.setdefault("n_attempts", 0)
    restored.setdefault("max_n_attempts", 3)
    restored["current_plan_step_number"] = step
    restored["current_status"] = "in progress"
    if len(sub_tasks) >= step:
        restored["current_sub_task"] = sub_tasks[step - 1].get("sub_task")
        restored["agent_for_sub_task"] = sub_tasks[step - 1].get("sub_task_agent")
        restored["current_instructions"] = "\n".join(sub_tasks[step - 1].get("bullet_points") or [])
    return restored
