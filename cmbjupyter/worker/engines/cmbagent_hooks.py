"""How a cmbagent run becomes cmbjupyter events: hooks into AG2 (cmbagent's ``autogen`` fork).

Installed in the worker process only, before cmbagent builds its agents:

* an AG2 ``IOStream`` that turns AG2's structured events into the run's transcript (messages with
  their agents, tool calls and results, speakers, terminations: ``cmbagent_events.py``), and every
  ``input()`` into an input request answered from the notebook or the sidebar;
* a wrapper of AG2's local code executor: the code the agents run, its exit code and real output,
  as a ``code_execution``;
* a wrapper of ``OpenAIWrapper.create`` that reports each LLM response's raw usage (prompt,
  completion and cached tokens) as a ``cost_update``, priced by the host, never by AG2's tables;
* a wrapper of ``ConversableAgent._generate_oai_reply_from_client`` that knows which agent is calling;
* a wrapper of ``CMBAgent.solve`` that turns planning and each control step into phase changes, and
  the final plan into DAG nodes once the planner has written it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
from pathlib import Path
from typing import Any

from .cmbagent_events import EmitIOStream, agent_var, hook_code_execution

__all__ = ["add_plan_nodes", "install", "llm_errors"]


class StepTracker:
    """The plan step a run is in. planning-control runs one chat per step (the solve hook enters
    it); a control run goes through its given plan in one chat, where the control agent's
    ``record_status`` calls say when the next step starts."""

    def __init__(self, emit: Any, context: dict[str, Any]) -> None:
        self.emit, self.context = emit, context
        self.control = False  # the control phase started
        self.step: int | None = None
        self.steps = 0  # how many steps the plan has (0: not known yet)
        self.follow_calls = False  # a control run: steps come from record_status

    def enter(self, step: int) -> None:
        if not self.control:  # the execution node runs; each step's node runs inside it
            self.control = True
            self.emit.phase("control", context=self.context)
        if step != self.step:
            self.step = step
            self.emit.phase("control", step=step, context=self.context)

    def on_call(self, name: str, arguments: str) -> None:
        if not (self.follow_calls and name == "record_status"):
            return
        with contextlib.suppress(TypeError, ValueError):
            status = json.loads(arguments)
            step = int(status.get("current_plan_step_number") or 0)
            if status.get("current_status") == "in progress" and 0 < step <= self.steps:
                self.enter(step)


def _usage(response: Any) -> tuple[int, int, int] | None:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion = int(getattr(usage, "completion_tokens", 0) or 0)
    details = getattr(usage, "prompt_tokens_details", None)
    cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
    return prompt, completion, cached


#: The last error an LLM call raised: cmbagent's AG2 fork retries once, then often fails with an
#: unrelated error (an unbound local), so the engine reports this one instead.
llm_errors: list[BaseException] = []


def _hook_llm_calls(emit: Any) -> None:
    from autogen import ConversableAgent
    from autogen.oai.client import OpenAIClient, OpenAIWrapper

    client_create = OpenAIClient.create

    def recorded_create(self: Any, params: Any) -> Any:
        try:
            return client_create(self, params)
        except Exception as exc:
            llm_errors[:] = [exc]
            raise

    OpenAIClient.create = recorded_create

    create = OpenAIWrapper.create
    reply = ConversableAgent._generate_oai_reply_from_client

    def counted_create(self: Any, **config: Any) -> Any:
        response = create(self, **config)
        usage = _usage(response)
        if usage is not None and not getattr(response, "cmbjupyter_counted", False):
            prompt, completion, cached = usage
            model = getattr(response, "model", None) or config.get("model") or "unknown"
            emit.cost(model, prompt, completion, agent=agent_var.get(), cache_read_tokens=cached)
            with contextlib.suppress(AttributeError, TypeError, ValueError):  # counted once if cached
                response.cmbjupyter_counted = True
        return response

    def attributed_reply(self: Any, llm_client: Any, messages: Any, cache: Any) -> Any:
        token = agent_var.set(getattr(self, "name", None))
        try:
            return reply(self, llm_client, messages, cache)
        finally:
            agent_var.reset(token)

    OpenAIWrapper.create = counted_create
    ConversableAgent._generate_oai_reply_from_client = attributed_reply


def _final_plan(final_context: Any) -> Any:
    """The ``final_plan`` context variable: the planner's text, or the list a control run is given."""
    with contextlib.suppress(TypeError, ValueError, KeyError):
        return dict(final_context)["final_plan"]
    return None


def _plan_steps(plan: Any, work_dir: Path | None) -> list[str]:
    """The plan's sub-tasks: from the final plan in the context (cmbagent writes
    ``planning/final_plan.json`` only after the planning chat returns), else from that file."""
    if isinstance(plan, str):
        found = re.findall(r"-\s*Step\s+\d+:\s*\n\s*\*\s*sub-task:\s*(.+)", plan)
        if found:
            return [s.strip() for s in found]
    if not isinstance(plan, dict | list):
        if work_dir is None:
            return []
        try:
            plan = json.loads((work_dir / "final_plan.json").read_text())
        except (OSError, ValueError):
            return []
    steps = plan.get("sub_tasks") if isinstance(plan, dict) else plan
    return [str(s.get("sub_task") or s) if isinstance(s, dict) else str(s) for s in steps or []]


def _step_agent(plan: Any, n: int) -> str | None:
    if isinstance(plan, list):  # a control run's given plan: cmbagent's sub-task dicts
        found = [str(s.get("sub_task_agent")) if isinstance(s, dict) else None for s in plan]
    else:
        found = re.findall(r"agent in charge:\s*(\w+)", plan) if isinstance(plan, str) else []
    return found[n - 1] if len(found) >= n else None


def add_plan_nodes(emit: Any, steps: list[tuple[str, str | None]], done: int = 0) -> None:
    """Each plan step ``(sub-task, agent)`` as a DAG node; the first ``done`` already completed."""
    for n, (label, agent) in enumerate(steps, start=1):
        status = "completed" if n <= done else "pending"
        emit.add_node(f"step_{n}", f"Step {n}: {label}"[:80], status=status, agent=agent)


def _add_steps(emit: Any, tracker: StepTracker, final_context: Any, work_dir: Path | None) -> None:
    """The plan's steps as DAG nodes (once per run)."""
    plan = _final_plan(final_context)
    steps = _plan_steps(plan, work_dir)
    tracker.steps = len(steps)
    add_plan_nodes(emit, [(label, _step_agent(plan, n)) for n, label in enumerate(steps, start=1)])


def _solve_again(solve: Any, agent: Any, args: tuple[Any, ...], task: str, kwargs: dict[str, Any]) -> Any:
    return solve(agent, task, *args, **kwargs)


def _hook_phases(emit: Any, context: dict[str, Any], tracker: StepTracker) -> None:
    from cmbagent.cmbagent import CMBAgent

    solve, clear = CMBAgent.solve, CMBAgent.clear_work_dir

    def phased_solve(self: Any, task: str, *args: Any, **kwargs: Any) -> Any:
        mode = str(kwargs.get("mode") or "")
        shared = kwargs.get("shared_context") or {}
        step = kwargs.get("step") or shared.get("current_plan_step_number")
        planning = kwargs.get("initial_agent") == "plan_setter"  # how cmbagent starts its planning chat
        if not planning and kwargs.get("step") is None and not tracker.steps:
            # a control run (one chat, no step argument): its given plan is in the context
            _add_steps(emit, tracker, shared, None)
            tracker.follow_calls = bool(tracker.steps)
        if planning:
            emit.phase("planning", context=context)
        elif isinstance(step, int) and step and mode != "one_shot":
            tracker.enter(step)
        elif not tracker.follow_calls:
            emit.phase("execution", context=context)
        result = solve(self, task, *args, **kwargs)
        if planning and emit.approve_plan:  # the pause between planning and control (cmbagent_plan.py)
            from .cmbagent_plan import approve_planning

            again = functools.partial(_solve_again, solve, self, args)
            result = approve_planning(self, emit, again, task, kwargs, result)
        final = getattr(self, "final_context", None)
        if final is not None:
            with contextlib.suppress(TypeError, ValueError):
                context.update({k: v for k, v in dict(final).items() if not k.startswith("_")})
                emit.displayed(context.get("displayed_images"))
        if planning and not tracker.steps:
            _add_steps(emit, tracker, final, Path(getattr(self, "work_dir", ".")))
        return result

    def clear_and_prepare(self: Any) -> None:
        clear(self)
        # cmbagent 0.0.1.post30 writes chats/ without creating it: give it the folder it expects
        os.makedirs(os.path.join(self.work_dir, "chats"), exist_ok=True)

    CMBAgent.solve = phased_solve
    CMBAgent.clear_work_dir = clear_and_prepare


def install(emit: Any, context: dict[str, Any], *, chats: bool = True) -> None:
    """Install every hook (call once, after importing cmbagent, before running it). ``chats``: the
    run's phases are its chats' (planning, control steps); the document modes have their own."""
    from autogen.io.base import IOStream

    tracker = StepTracker(emit, context)
    stream = EmitIOStream(emit, tracker)
    IOStream.set_global_default(stream)
    hook_code_execution(emit, stream)
    _hook_llm_calls(emit)
    if chats:
        _hook_phases(emit, context, tracker)
