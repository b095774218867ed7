"""The reducer's folds: how each known event type changes a RunState (``state.py`` dispatches).

One function per event type, ``fold(state, data, event)``, in the table :data:`FOLDS`; together
with :meth:`RunState.apply` they are the one reducer (nothing else sets a RunState's fields).
``state`` is a :class:`~cmbjupyter.state.RunState` (typed ``Any`` here: this module must not import
the class that imports it). Every fold keeps the state bounded (capped texts, last N messages).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from ._cost_folds import BUCKETS, budget_warning, cost
from ._transcript import FOLDS as TRANSCRIPT_FOLDS
from ._verdict import outcome_of
from .events import Event
from .plans import check_plan, step_label

__all__ = [
    "ARTIFACTS_KEPT",
    "BUCKETS",
    "FOLDS",
    "NODE_MESSAGES",
    "NODE_MESSAGE_CHARS",
    "TERMINAL",
    "TEXT_CHARS",
    "cap",
    "outputs",
]

#: Longest text kept per output line / node message.
TEXT_CHARS: Final = 2000
#: Last messages kept per DAG node (shown when the node is clicked).
NODE_MESSAGES: Final = 3
NODE_MESSAGE_CHARS: Final = 300
#: The statuses a run ends in (a late ``status`` event never overwrites one).
TERMINAL: Final = frozenset({"completed", "failed", "cancelled"})
#: Artifact records a run keeps (the latest per path; the oldest go first, counted as dropped).
ARTIFACTS_KEPT: Final = 500
#: Output streams that are not an agent speaking (not noted on the running node).
_UNNOTED: Final = ("protocol", "warnings")  # a tuple: an output folds whatever its stream is


def cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… [{len(text) - limit} more characters]"


def _line(data: Mapping[str, Any], event: Event) -> dict[str, Any]:
    """An output event as a console line."""
    text = data.get("message")
    return {
        "seq": event.get("seq"),
        "ts": event.get("ts"),
        "stream": data.get("stream", "agent"),
        "agent": data.get("agent"),
        "text": cap(text if isinstance(text, str) else str(text), TEXT_CHARS),
    }


def output(state: Any, data: Mapping[str, Any], event: Event) -> None:
    state.output_count += 1
    line = _line(data, event)
    state.output.append(line)
    if line["stream"] not in _UNNOTED:
        _note_on_node(state, line)


def outputs(state: Any, events: Sequence[Event]) -> None:
    """A run of ``output`` events, as :func:`output` folds them one by one, in one step: only the
    lines the console keeps and the node's last messages are built (the flood's per-event cost)."""
    state.output_count += len(events)
    kept = state.output.maxlen
    state.output.extend(_line(e.get("data") or {}, e) for e in (events if kept is None else events[-kept:]))
    if state.nodes.get(state.current_node or "") is None:
        return
    noted: list[dict[str, Any]] = []
    for event in reversed(events):  # the node keeps its last NODE_MESSAGES: only those are made
        data = event.get("data") or {}
        if data.get("stream", "agent") not in _UNNOTED:
            noted.append(_line(data, event))
            if len(noted) == NODE_MESSAGES:
                break
    for line in reversed(noted):
        _note_on_node(state, line)


def _note_on_node(state: Any, line: Mapping[str, Any]) -> None:
    """The running node's last messages (what its details show)."""
    node = state.nodes.get(state.current_node or "")
    if node is not None:
        messages = node.setdefault("messages", [])
        text = line["text"]
        messages.append({"seq": line["seq"], "agent": line["agent"], "text": cap(text, NODE_MESSAGE_CHARS)})
        if len(messages) > NODE_MESSAGES:
            del messages[:-NODE_MESSAGES]


def message(state: Any, data: Mapping[str, Any], event: Event) -> None:
    """An agent's message: a transcript item, and one of its node's last messages."""
    TRANSCRIPT_FOLDS["message"](state, data, event)
    _note_on_node(state, {"seq": event.get("seq"), "agent": data.get("agent"), "text": data["content"]})


def status(state: Any, data: Mapping[str, Any], event: Event) -> None:
    if isinstance(data.get("status"), str) and state.status not in TERMINAL:
        state.status = data["status"]
    state.message = str(data.get("message") or "")
    budget = data.get("budget_usd")  # the host's ``starting`` says it: a replayed log knows it too
    if isinstance(budget, (int, float)) and not isinstance(budget, bool) and budget > 0:
        state.cost["budget_usd"] = budget


def dag_created(state: Any, data: Mapping[str, Any], event: Event) -> None:
    state.nodes, state.edges, state.current_node = {}, [], None
    for node in data.get("nodes") or ():
        if isinstance(node, Mapping) and node.get("id") is not None:
            put_node(state, dict(node))
    state.edges = [
        {"source": str(e["source"]), "target": str(e["target"])}
        for e in data.get("edges") or ()
        if isinstance(e, Mapping) and "source" in e and "target" in e
    ]


def put_node(state: Any, node: dict[str, Any]) -> dict[str, Any]:
    node["id"] = node_id = str(node["id"])
    node.setdefault("label", node_id)
    node.setdefault("type", "step")
    node.setdefault("status", "pending")
    node.setdefault("order", len(state.nodes))
    node.setdefault("cost_usd", 0.0)
    node.setdefault("tokens", 0)
    state.nodes[node_id] = node
    return node


def node_update(state: Any, data: Mapping[str, Any], event: Event) -> None:
    node_id = str(data.get("node_id"))
    node = state.nodes.get(node_id) or put_node(state, {"id": node_id})
    status = data.get("status")
    for key, value in data.items():
        if key not in ("node_id", "messages", "order", "id"):
            node[key] = value
    if status == "running":
        node.setdefault("started_at", event.get("ts"))
        state.current_node = node_id
    elif status in ("completed", "failed", "skipped", "cancelled"):
        node["ended_at"] = event.get("ts")
        if state.current_node == node_id:
            state.current_node = None


def node_add(state: Any, data: Mapping[str, Any], event: Event) -> None:
    node_id = str(data.get("node_id") or data.get("id"))
    fields = {k: v for k, v in data.items() if k not in ("node_id", "after", "before")}
    existed = node_id in state.nodes
    if existed and state.nodes[node_id].get("restored"):  # a restored step stays restored
        fields = {k: v for k, v in fields.items() if k not in ("status", "restored")}
    put_node(state, {**state.nodes.get(node_id, {}), **fields, "id": node_id})
    if existed:
        return
    after = data.get("after")
    if after is None and "end" in state.nodes:  # before the end node, after whatever led to it
        preds = [e for e in state.edges if e["target"] == "end"]
        state.edges = [e for e in state.edges if e["target"] != "end"]
        state.edges += [{"source": e["source"], "target": node_id} for e in preds]
        state.edges.append({"source": node_id, "target": "end"})
    elif after is not None:
        after = str(after)
        succ = [e for e in state.edges if e["source"] == after]
        state.edges = [e for e in state.edges if e["source"] != after]
        state.edges.append({"source": after, "target": node_id})
        state.edges += [{"source": node_id, "target": e["target"]} for e in succ]


def phase(state: Any, data: Mapping[str, Any], event: Event) -> None:
    state.phase = data.get("phase")
    state.step = data.get("step")
    if isinstance(data.get("context"), Mapping):
        state.context = dict(data["context"])


def input_request(state: Any, data: Mapping[str, Any], event: Event) -> None:
    state.input_request = {"request_id": data.get("request_id"), "prompt": data.get("prompt")}


def input_response(state: Any, data: Mapping[str, Any], event: Event) -> None:
    if state.input_request and state.input_request.get("request_id") == data.get("request_id"):
        state.input_request = None


def plan_proposed(state: Any, data: Mapping[str, Any], event: Event) -> None:
    """A plan from the planner: shown (and its step nodes drawn); with a ``request_id`` the run
    waits in ``awaiting_approval`` until a ``plan_decision`` answers it."""
    previous = state.plan or {}
    request_id = data.get("request_id")
    state.plan = {
        "status": "proposed",
        "steps": check_plan(data["plan"]),
        "estimate": dict(data["estimate"]) if isinstance(data.get("estimate"), Mapping) else None,
        "request_id": request_id,
        "feedback": previous.get("feedback"),
        "round": int(previous.get("round") or 0) + 1,
        #: Why this plan cannot be rejected (it was given, not planned), or None.
        "reject_refused": data.get("reject_refused") if isinstance(data.get("reject_refused"), str) else None,
    }
    _plan_nodes(state, state.plan["steps"])
    if request_id is not None and state.status not in TERMINAL:
        state.status = "awaiting_approval"
        state.message = "the plan awaits approval"


def plan_decision(state: Any, data: Mapping[str, Any], event: Event) -> None:
    """The user's answer: approved (the step nodes follow the edited plan) or rejected with feedback."""
    plan = state.plan = dict(state.plan or {"steps": [], "estimate": None, "round": 0})
    plan["request_id"] = None
    if data["approved"]:
        plan["status"] = "approved"
        if data.get("plan") is not None:
            plan["steps"] = check_plan(data["plan"])
        _plan_nodes(state, plan["steps"])
    else:
        plan["status"] = "rejected"
        plan["feedback"] = data.get("feedback")
    if state.status == "awaiting_approval":
        state.status = "running"
        state.message = "plan approved" if data["approved"] else "planning again with the feedback"


def _plan_nodes(state: Any, steps: list[dict[str, Any]]) -> None:
    """The DAG's step nodes become the plan's: relabelled, added after the last, the extra removed."""
    wanted = {f"step_{s['step']}" for s in steps}
    for node_id in [n for n, node in state.nodes.items() if node.get("type") == "step" and n not in wanted]:
        _drop_node(state, node_id)
    previous = None
    for step in steps:
        node_id = f"step_{step['step']}"
        fields = {"node_id": node_id, "label": step_label(step), "type": "step", "agent": step["agent"]}
        node_add(state, {**fields, "status": "pending", "after": previous}, {})
        previous = node_id


def _drop_node(state: Any, node_id: str) -> None:
    """Remove a node, joining what led to it with what followed it."""
    preds = [e["source"] for e in state.edges if e["target"] == node_id]
    succs = [e["target"] for e in state.edges if e["source"] == node_id]
    state.edges = [e for e in state.edges if node_id not in (e["source"], e["target"])]
    for source in preds:
        for target in succs:
            if {"source": source, "target": target} not in state.edges:
                state.edges.append({"source": source, "target": target})
    del state.nodes[node_id]
    if state.current_node == node_id:
        state.current_node = None


def result(state: Any, data: Mapping[str, Any], event: Event) -> None:
    state.result = dict(data)
    if isinstance(data.get("context"), Mapping):
        state.context = dict(data["context"])


def complete(state: Any, data: Mapping[str, Any], event: Event) -> None:
    outcome = data.get("status")
    state.status = {"success": "completed"}.get(outcome, outcome) if isinstance(outcome, str) else "completed"
    state.ended_at = event.get("ts")
    state.input_request = None
    state.current_node = None
    if state.plan and state.plan.get("request_id") is not None:  # no answer can come any more
        state.plan = {**state.plan, "request_id": None}
    state.outcome = outcome_of(state)


#: Error types that end a run "cancelled", not "failed" (errors.TaskCancelled's ``error_type``).
CANCELLED_ERRORS: Final = frozenset({"TaskCancelled"})


def error(state: Any, data: Mapping[str, Any], event: Event) -> None:
    """The run's failure; its status is the outcome ``complete`` will confirm, already now: a
    cancelled run is never "failed" on the way (the session's last write comes in between)."""
    state.error = dict(data)
    if state.status not in TERMINAL:
        state.status = "cancelled" if data.get("error_type") in CANCELLED_ERRORS else "failed"


def work_dir(state: Any, data: Mapping[str, Any], event: Event) -> None:
    state.work_dir = data["path"]


def artifact(state: Any, data: Mapping[str, Any], event: Event) -> None:
    state.artifact_count += 1
    path = data["path"]
    artifacts = state.artifacts
    if path in artifacts:
        artifacts[path] = dict(data)  # its latest version, where it was first seen
        return
    artifacts[path] = dict(data)
    if len(artifacts) > ARTIFACTS_KEPT:
        del artifacts[next(iter(artifacts))]
        state.artifact_count_dropped += 1


def restart(state: Any, data: Mapping[str, Any], event: Event) -> None:
    """A resumed or forked run: where it restarts, its lineage, the steps restored (not re-run, shown
    completed with ``restored: true``, costing nothing here) and the books carried from the earlier
    attempt or the parent (``cost["carried"]``; ``grand_total_usd`` = this run's + carried)."""
    state.restart = {k: v for k, v in data.items() if k != "carried"}
    entries = [dict(e) for e in data.get("carried") or ()]
    carried: dict[str, Any] = {"total_usd": 0.0, "calls": 0, **dict.fromkeys(BUCKETS, 0), "seconds": 0.0}
    for entry in entries:
        for key in carried:
            carried[key] += entry.get(key) or 0
    carried["sessions"] = entries
    state.cost["carried"] = carried if entries else None
    state.cost["grand_total_usd"] = state.cost["total_usd"] + carried["total_usd"]
    previous = None
    for n in data.get("restored_steps") or ():
        node_id = f"step_{n}"
        if node_id in state.nodes:
            state.nodes[node_id].update(status="completed", restored=True)
        else:
            fields = {"node_id": node_id, "label": f"Step {n}", "type": "step", "status": "completed"}
            node_add(state, {**fields, "restored": True, "after": previous}, event)
        previous = node_id


#: The fold of each event type the reducer knows (others are kept in ``other_events``).
FOLDS: Final = {
    "output": output,
    "status": status,
    "dag_created": dag_created,
    "dag_node_update": node_update,
    "dag_node_add": node_add,
    "cost_update": cost,
    "budget_warning": budget_warning,
    "phase_change": phase,
    "input_request": input_request,
    "input_response": input_response,
    "plan_proposed": plan_proposed,
    "plan_decision": plan_decision,
    "result": result,
    "complete": complete,
    "error": error,
    "work_dir": work_dir,
    "artifact": artifact,
    "restart": restart,
    **TRANSCRIPT_FOLDS,
    "message": message,
}
