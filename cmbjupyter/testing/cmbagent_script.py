"""The scripted server's default answers for cmbagent's agents (cmbagent 0.0.1.post30 and its AG2 fork).

They make cmbagent's one-shot and planning-control runs finish offline with a plan of
:data:`PLAN_STEPS` steps (at most the planner's ``maximum_number_of_steps_in_plan``), each carried
out by the engineer, whose code the executor really runs:

* plan_setter -> ``record_plan_constraints(["engineer"])`` (``["idea_maker", "idea_hater"]`` when its
  instructions name the idea makers: idea-generation); planner -> a text plan whose steps go to those
  agents in turn; its formatter ->
  the structured plan; plan_recorder -> ``record_plan(<the formatted plan>, n)``; plan_reviewer ->
  one recommendation (formatter and recorder answer from the schema); terminator -> terminate;
* control -> ``record_status``: "in progress" for the current step, "completed" once the step's
  agent is done (its code ran successfully; the idea makers' formatted answer came back); its system
  message carries the plan, the step and the status;
* engineer -> a short explanation; its formatter -> code from the schema (see ``NAMED_STRINGS``);
  idea_maker -> two ideas; idea_hater -> a critique (their formatters answer from the schema);
* summarizer (the newest cmbagent's ``preprocess_task`` / ``summarize_document``) -> a summary of the
  OCR'd paper it is given, titled as the paper; its formatter -> that summary, structured.

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
        agents = ["idea_maker", "idea_hater"] if "idea_maker" in system else ["engineer"]
        return None, [(forced, {"needed_agents": agents})]
    if forced == "record_plan":
        steps = len(re.findall(r"-\s*Step\s+\d+", last)) or 1
        return None, [(forced, {"plan_suggestion": last, "number_of_steps_in_plan": steps})]
    if forced == "record_status":
        return None, [(forced, _status(system, last, _last_name(request)))]
    if forced == "terminate_session":
        return None, [(forced, {})]
    if system.startswith("You are the planner agent"):
        return _plan_text(system), []
    if system.startswith("You are a plan reviewer"):
        return "**Recommendations:**\n- Keep each step small and print its result.", []
    if "sub_task_agent" in json.dumps(_schema(request)):  # the planner formatter (not the idea maker's)
        return json.dumps({"sub_tasks": _sub_tasks(last)}), []
    if system.startswith("You are the engineer agent"):
        return "**Code Explanation:**\n\nThe scripted engineer prints the answer.", []
    if system.startswith("You are the idea_maker agent"):
        return "**Ideas**\n- Idea 1: delensing the B-mode map\n- Idea 2: lensing from the kSZ effect", []
    if system.startswith("You are a summarizer agent"):
        return _summary(last), []
    if "key_findings" in json.dumps(_schema(request)):  # the summarizer's formatter
        return json.dumps(_structured_summary(last)), []
    if system.startswith("You are the idea_hater agent"):
        return "**Critique**\n- Idea 1 is feasible with the data; Idea 2 needs external data.", []
    return None


def _summary(document: str) -> str:
    """The summarizer's answer: the paper's title (its first heading after cmbagent's file header)."""
    headings = re.findall(r"^# (.+)$", document, re.MULTILINE)
    title = headings[1] if len(headings) > 1 else headings[0] if headings else "Untitled"
    return (
        f"- title: {title}\n- authors: A. Scripted, B. Offline\n- date: 2018\n"
        "- abstract: The scripted summary of an OCR'd paper.\n- keywords: CMB, offline\n"
        "- key findings: the pipeline ran end to end"
    )


def _structured_summary(summary: str) -> dict[str, Any]:
    title = re.search(r"- title: (.+)", summary)
    return {
        "title": title.group(1).strip() if title else "Untitled",
        "authors": ["A. Scripted", "B. Offline"],
        "date": "2018",
        "abstract": "The scripted summary of an OCR'd paper.",
        "keywords": ["CMB", "offline"],
        "key_findings": ["the pipeline ran end to end"],
        "scientific_software": [],
        "data_sources": [],
        "data_sets": [],
        "data_analysis_methods": ["scripted"],
    }


def _forced_function(request: dict[str, Any]) -> str | None:
    choice = request.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        return (choice.get("function") or {}).get("name")
    return None


def _system(request: dict[str, Any]) -> str:
    messages = request.get("messages") or []
    return next((str(m.get("content") or "").strip() for m in messages if m.get("role") == "system"), "")


def _last_name(request: dict[str, Any]) -> str:
    messages = request.get("messages") or []
    return str(messages[-1].get("name") or "") if messages else ""


def _last_content(request: dict[str, Any]) -> str:
    messages = [m for m in request.get("messages") or [] if m.get("role") != "system"]
    return str(messages[-1].get("content") or "") if messages else ""


def _schema(request: dict[str, Any]) -> dict[str, Any]:
    response_format = request.get("response_format") or {}
    return (response_format.get("json_schema") or {}).get("schema") or {}


def _plan_agents(system: str) -> list[str]:
    """The agents the plan_setter allowed (cmbagent writes them into the planner's instructions)."""
    found = re.search(r"involve only the following agents: ([\w, ]+)", system)
    return [a.strip() for a in found.group(1).split(",") if a.strip()] if found else ["engineer"]


def _plan_text(system: str) -> str:
    cap = re.search(r"at most (\d+) Steps", system)
    steps = min(PLAN_STEPS, int(cap.group(1))) if cap else PLAN_STEPS
    agents = _plan_agents(system)
    lines = ["**Plan:**"]
    for n in range(1, steps + 1):
        lines += [
            f"   - Step {n}:",
            f"         * sub-task: {_sub_task(n)}",
            f"         * agent: {agents[(n - 1) % len(agents)]}",
            f"         * bullet points: {_instructions(n)}",
        ]
    return "\n".join(lines)


def _sub_task(n: int) -> str:
    return f"carry out part {n} of the task"


def _instructions(n: int) -> str:
    return f"print part {n}"


def _sub_tasks(plan: str) -> list[dict[str, Any]]:
    agents = re.findall(r"\*\s*agent(?: in charge)?:\s*(\w+)", plan)
    steps = len(re.findall(r"Step\s+\d+", plan)) or 1
    return [
        {
            "sub_task": _sub_task(n),
            "sub_task_agent": agents[n - 1] if n <= len(agents) else "engineer",
            "bullet_points": [_instructions(n)],
        }
        for n in range(1, steps + 1)
    ]


def _step_agent(system: str, step: int) -> str:
    """The agent in charge of ``step`` in the final plan quoted in the control agent's instructions."""
    found = re.search(rf"Step {step}:.*?agent in charge:\s*(\w+)", system, re.DOTALL)
    if found:
        return found.group(1)
    given = re.findall(r"'sub_task_agent': '(\w+)'", system)  # a control run's plan, as a list
    return given[step - 1] if 0 < step <= len(given) else "engineer"


def _field(system: str, title: str) -> str:
    found = re.search(rf"\*\*{re.escape(title)}:\*\*\s*\n\s*(.*)", system)
    return found.group(1).strip() if found else ""


#: Who reports back to control when an agent's step is done (besides the executor's success).
DONE_BY = ("idea_maker_nest", "idea_hater_response_formatter", "researcher_response_formatter")


def _status(system: str, last: str, last_name: str) -> dict[str, Any]:
    """The control agent's next ``record_status``: the step done once its agent reported back."""
    step_text = _field(system, "Current step in plan")
    step = int(step_text) if step_text.isdigit() else 0
    status = _field(system, "Current status")
    done = "Execution status: success" in last or last_name in DONE_BY
    if step and "in progress" in status and done:
        current = ("completed", step)
    elif step and "completed" in status:
        current = ("in progress", step + 1)
    else:
        current = ("in progress", step or 1)
    return {
        "current_status": current[0],
        "current_plan_step_number": current[1],
        "current_sub_task": _sub_task(current[1]),
        "current_instructions": _instructions(current[1]),
        "agent_for_sub_task": _step_agent(system, current[1]),
    }
