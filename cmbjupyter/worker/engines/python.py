"""The ``python`` engine: the task is Python source, run in the worker with the Emitter at hand.

The task's namespace holds ``emit`` and short helpers so that a notebook cell reads naturally::

    phase("planning", context={"n": 3})
    step(1)                      # plan step 1 of the current phase
    record_usage("gpt-4o-mini", 1200, 300, agent="engineer")
    context["answer"] = 42       # becomes the result's "context"
    result = {"value": 42}       # becomes the result's "result"

Restart (``config["restart_at_step"]``: a resume or a fork): a task whose top-level code calls
``step(1)``, ``step(2)``... as statements runs its prelude then its code from ``step(N)`` on, with ``context``
restored from the config (:mod:`cmbjupyter.task_steps`); any other task runs whole (and may read
``config["restart_at_step"]`` itself). The host says which, before it starts.

Plan approval (``approve_plan: true``): ``approved_plan(make_plan)`` calls ``make_plan(feedback)``
(``feedback`` is None the first time) for a list of steps ``{"sub_task", "agent", "bullets"}``,
shows it and waits for the user; a rejection calls ``make_plan`` again with the user's feedback, an
approval returns the steps as the user edited them (numbered ``step`` 1..n), which the task then
runs with ``step(n)``. ``propose_plan(steps)`` is the single round (it returns the decision).
"""

from __future__ import annotations

from typing import Any

from ...events import json_safe
from ...task_steps import compile_from_step, restart_problem

__all__ = ["run"]


def run(task: str, config: dict[str, Any], emit: Any) -> dict[str, Any]:
    context: dict[str, Any] = dict(config.get("context") or {})

    def step(n: int, context_update: dict[str, Any] | None = None) -> None:
        """Start plan step ``n`` of the current phase (``execution`` when no phase was set)."""
        if context_update:
            context.update(context_update)
        emit.phase(emit.phase_name or "execution", step=n, context=context)

    def phase(
        name: str, step: int | None = None, context_update: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """Start phase ``name``; the session is saved with the current ``context``."""
        context.update(context_update or kwargs.pop("context", None) or {})
        emit.phase(name, step=step, context=context)

    def approved_plan(make_plan: Any) -> list[dict[str, Any]]:
        """Plan until the user approves: ``make_plan(feedback)`` -> steps; returns the approved steps."""
        feedback = None
        while True:
            decision = emit.propose_plan(make_plan(feedback))
            if decision["approved"]:
                context["plan"] = decision["plan"]
                return list(decision["plan"])
            feedback = decision["feedback"]

    namespace: dict[str, Any] = {
        "__name__": "__cmbagent_task__",
        "emit": emit,
        "phase": phase,
        "step": step,
        "record_usage": emit.cost,
        "ask": emit.ask,
        "propose_plan": emit.propose_plan,
        "approved_plan": approved_plan,
        "context": context,
        "config": config,
    }
    filename = config.get("filename") or "<cmbagent task>"
    restart = int(config.get("restart_at_step") or 0)
    if restart and restart_problem(task, restart) is None:
        code = compile_from_step(task, restart, filename)
        emit.output(f"restarting at step {restart} from the saved context", agent="cmbjupyter")
    else:  # not step-structured: the whole task runs (the host said so before it started)
        code = compile(task, filename, "exec")
    exec(code, namespace)
    final_context = namespace.get("context")
    return {
        "result": json_safe(namespace.get("result")),
        "context": json_safe(final_context if isinstance(final_context, dict) else context),
    }
