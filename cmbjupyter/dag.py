"""The DAG of each mode: what the run will go through, shown before the first agent speaks.

Every template starts with ``start`` and finishes with ``end``; the executor itself marks ``start``
completed when the worker is up and ``end`` at the end, so every engine gets a correct DAG. The
nodes in between follow what cmbagent's modes really do:

* ``one-shot``: a single agent (``one_shot``) solves the task.
* ``planning-control`` (and its alias ``deep-research``): the planner and plan reviewer write a plan
  (``planning``), then the control agent runs it step by step (``execution``); the plan's steps are
  added live as nodes ``step_1``, ``step_2``... between ``execution`` and ``end`` once the plan exists.
* ``idea-generation``: planning-control where idea makers and idea haters take turns.
* ``control``: the control phase alone, on a plan given in the config; steps are added live.
* ``hitl``: an agent and the human take turns (``human_in_the_loop``).
* ``ocr``: PDFs found, converted to markdown, saved (``process_single_pdf`` / ``process_folder``).
* ``arxiv``: URLs parsed from the text, filtered, papers downloaded (``arxiv_filter``).
* ``enhance-input``: arXiv papers downloaded, OCR'd, summarised into the task (``preprocess_task``).
"""

from __future__ import annotations

import itertools
from typing import Any, Final

__all__ = [
    "MODES",
    "NODE_STATUSES",
    "PHASE_NODES",
    "canonical_mode",
    "first_work_node",
    "step_node_id",
    "template_for",
]

NODE_STATUSES: Final = ("pending", "running", "completed", "failed", "skipped", "cancelled")

# mode -> the nodes between start and end: (id, label, type, agent)
_CHAINS: Final[dict[str, tuple[tuple[str, str, str, str | None], ...]]] = {
    "one-shot": (("execute", "Execute", "agent", "engineer"),),
    "planning-control": (
        ("planning", "Planning", "phase", "planner"),
        ("execution", "Execution", "phase", "control"),
    ),
    "idea-generation": (
        ("planning", "Idea planning", "phase", "planner"),
        ("execution", "Idea making & critique", "phase", "control"),
    ),
    "control": (("execution", "Control", "phase", "control"),),
    "hitl": (("execute", "Agent ↔ human", "agent", "engineer"),),
    "ocr": (
        ("init", "Find PDFs", "phase", None),
        ("process", "OCR to markdown", "agent", "ocr"),
        ("output", "Save output", "phase", None),
    ),
    "arxiv": (
        ("init", "Parse text", "phase", None),
        ("process", "Filter arXiv URLs", "agent", "arxiv"),
        ("output", "Download papers", "phase", None),
    ),
    "enhance-input": (
        ("arxiv", "Download arXiv papers", "agent", "arxiv"),
        ("ocr", "OCR papers", "agent", "ocr"),
        ("summarize", "Summarise into the task", "agent", "summarizer"),
    ),
}

#: Phase names cmbagent uses for a template node of another name (phase -> node id).
PHASE_NODES: Final = {"control": "execution", "execution": "execute"}

#: Other names cmbagent users know the modes by.
ALIASES: Final = {"deep-research": "planning-control", "one_shot": "one-shot", "human-in-the-loop": "hitl"}

#: Every mode a task can be run in.
MODES: Final = tuple(_CHAINS)


def canonical_mode(mode: str) -> str:
    """The mode's canonical name; raises ValueError naming the valid modes."""
    name = ALIASES.get(mode, mode)
    if name not in _CHAINS:
        raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    return name


def step_node_id(step: int) -> str:
    """The id of plan step ``step``'s node (``step_1``...), as engines and the Emitter use it."""
    return f"step_{step}"


def template_for(mode: str, config: dict[str, Any] | None = None) -> dict[str, list[dict[str, Any]]]:
    """The DAG (``{"nodes": [...], "edges": [...]}``) a run in ``mode`` starts with.

    ``config["agent"]`` names the agent of a one-shot/hitl run; ``config["plan"]`` (a list of step
    descriptions, for ``control``) adds the known steps up front.
    """
    config = config or {}
    chain = _CHAINS[canonical_mode(mode)]
    nodes: list[dict[str, Any]] = [{"id": "start", "label": "Start", "type": "start", "status": "pending"}]
    for node_id, label, kind, agent in chain:
        if node_id == "execute" and config.get("agent"):
            agent = str(config["agent"])
        node: dict[str, Any] = {"id": node_id, "label": label, "type": kind, "status": "pending"}
        if agent:
            node["agent"] = agent
        nodes.append(node)
    plan = config.get("plan")
    if isinstance(plan, list):
        for i, description in enumerate(plan, start=1):
            nodes.append(
                {
                    "id": step_node_id(i),
                    "label": f"Step {i}",
                    "type": "step",
                    "status": "pending",
                    "description": str(description),
                }
            )
    nodes.append({"id": "end", "label": "End", "type": "end", "status": "pending"})
    edges = [{"source": a["id"], "target": b["id"]} for a, b in itertools.pairwise(nodes)]
    return {"nodes": nodes, "edges": edges}


def first_work_node(dag: dict[str, Any]) -> str | None:
    """The node the worker marks running when it starts: the first one after ``start``."""
    for edge in dag.get("edges", ()):
        if edge.get("source") == "start":
            return str(edge["target"])
    return None
