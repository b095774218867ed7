"""RunState: the single source of truth of a run, built by one reducer from the event stream.

``apply(state, event)`` is the only code that interprets events. An event of a known type without
its shape (:mod:`cmbjupyter._shapes`: e.g. from a damaged event log) is kept among
``other_events``, never folded, so the reducer never raises. The widget, the sidebar, the CLI
and the session files all render or store ``state.snapshot()``; none re-implements this. The
state is bounded whatever the run does (last N output lines, capped texts), so a million events
cost no more memory than a hundred.

Snapshot shape (JSON)::

    {"v": 1, "task_id", "session_id", "mode", "engine", "status", "message", "phase", "step",
     "started_at", "ended_at", "updated_at", "last_seq",
     "dag": {"nodes": {id: {"id", "label", "type", "status", "order", "agent", "started_at",
                            "ended_at", "cost_usd", "tokens", "messages": [...], ...extra}},
             "edges": [{"source", "target"}], "current": id | None},
     "cost": {"total_usd", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
              "calls", "by_model": {...}, "by_agent": {...}, "by_step": {...}, "unpriced": [models],
              "budget_usd", "budget_fraction", "warning", "exceeded", "prices"},
     "output": [{"seq", "ts", "stream", "agent", "text"}], "output_count",
     "input_request": {"request_id", "prompt"} | None,
     "result", "error", "context", "counts": {type: n}, "other_events": [last unknown events]}
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ._shapes import event_problem
from .events import Event

__all__ = ["TERMINAL", "RunState", "apply"]

STATE_VERSION: Final = 1
#: Output lines kept for the console (older ones are counted, not kept).
OUTPUT_LINES: Final = 200
#: Longest text kept per output line / node message.
TEXT_CHARS: Final = 2000
#: Last messages kept per DAG node (shown when the node is clicked).
NODE_MESSAGES: Final = 3
NODE_MESSAGE_CHARS: Final = 300
OTHER_EVENTS: Final = 20

TERMINAL: Final = {"completed", "failed", "cancelled"}
_NODE_CORE: Final = ("id", "label", "type", "status")
_BUCKETS: Final = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… [{len(text) - limit} more characters]"


def _bucket() -> dict[str, Any]:
    return {"usd": 0.0, "calls": 0, **dict.fromkeys(_BUCKETS, 0)}


class RunState:
    """The state of one run. Mutated in place by :meth:`apply` (fast); :meth:`snapshot` copies it."""

    def __init__(
        self,
        task_id: str = "",
        *,
        session_id: str | None = None,
        mode: str | None = None,
        engine: str | None = None,
        budget_usd: float | None = None,
        output_lines: int = OUTPUT_LINES,
    ) -> None:
        self.task_id = task_id
        self.session_id = session_id
        self.mode = mode
        self.engine = engine
        self.status = "queued"
        self.message = ""
        self.phase: str | None = None
        self.step: int | None = None
        self.started_at: str | None = None
        self.ended_at: str | None = None
        self.updated_at: str | None = None
        self.last_seq = 0
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: list[dict[str, str]] = []
        self.current_node: str | None = None
        self.cost: dict[str, Any] = {
            "total_usd": 0.0,
            "calls": 0,
            **dict.fromkeys(_BUCKETS, 0),
            "by_model": {},
            "by_agent": {},
            "by_step": {},
            "unpriced": [],
            "budget_usd": budget_usd,
            "budget_fraction": None,
            "warning": False,
            "exceeded": False,
            "prices": None,
        }
        self.output: deque[dict[str, Any]] = deque(maxlen=output_lines)
        self.output_count = 0
        self.input_request: dict[str, Any] | None = None
        self.result: Any = None
        self.error: dict[str, Any] | None = None
        self.context: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self.other_events: deque[dict[str, Any]] = deque(maxlen=OTHER_EVENTS)

    # ------------------------------------------------------------------ reducer

    def apply(self, event: Event) -> RunState:
        """Fold one event into the state (and return the state, for chaining)."""
        kind = event.get("type", "")
        data = event.get("data") or {}
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.last_seq = max(self.last_seq, event.get("seq", 0) or 0)
        ts = event.get("ts")
        self.updated_at = ts
        if self.started_at is None:
            self.started_at = ts
        handler = _HANDLERS.get(kind)
        # Unknown, or not foldable. Outputs (the flood) fold whatever their fields: nothing raises.
        if handler is None or (kind != "output" and event_problem(kind, data) is not None):
            self.other_events.append({"type": kind, "seq": event.get("seq"), "data": data})
        else:
            handler(self, data, event)
        return self

    def _on_output(self, data: Mapping[str, Any], event: Event) -> None:
        self.output_count += 1
        text = data.get("message")
        text = _cap(text if isinstance(text, str) else str(text), TEXT_CHARS)
        agent = data.get("agent")
        self.output.append(
            {
                "seq": event.get("seq"),
                "ts": event.get("ts"),
                "stream": data.get("stream", "agent"),
                "agent": agent,
                "text": text,
            }
        )
        node = self.nodes.get(self.current_node or "")
        if node is not None and data.get("stream") != "protocol":
            messages = node.setdefault("messages", [])
            messages.append({"seq": event.get("seq"), "agent": agent, "text": _cap(text, NODE_MESSAGE_CHARS)})
            del messages[:-NODE_MESSAGES]

    def _on_status(self, data: Mapping[str, Any], event: Event) -> None:
        if isinstance(data.get("status"), str) and self.status not in TERMINAL:
            self.status = data["status"]
        self.message = str(data.get("message") or "")

    def _on_dag_created(self, data: Mapping[str, Any], event: Event) -> None:
        self.nodes, self.edges, self.current_node = {}, [], None
        for node in data.get("nodes") or ():
            if isinstance(node, Mapping) and node.get("id") is not None:
                self._put_node(dict(node))
        self.edges = [
            {"source": str(e["source"]), "target": str(e["target"])}
            for e in data.get("edges") or ()
            if isinstance(e, Mapping) and "source" in e and "target" in e
        ]

    def _put_node(self, node: dict[str, Any]) -> dict[str, Any]:
        node["id"] = node_id = str(node["id"])
        node.setdefault("label", node_id)
        node.setdefault("type", "step")
        node.setdefault("status", "pending")
        node.setdefault("order", len(self.nodes))
        node.setdefault("cost_usd", 0.0)
        node.setdefault("tokens", 0)
        self.nodes[node_id] = node
        return node

    def _on_node_update(self, data: Mapping[str, Any], event: Event) -> None:
        node_id = str(data.get("node_id"))
        node = self.nodes.get(node_id) or self._put_node({"id": node_id})
        status = data.get("status")
        for key, value in data.items():
            if key not in ("node_id", "messages", "order", "id"):
                node[key] = value
        if status == "running":
            node.setdefault("started_at", event.get("ts"))
            self.current_node = node_id
        elif status in ("completed", "failed", "skipped"):
            node["ended_at"] = event.get("ts")
            if self.current_node == node_id:
                self.current_node = None

    def _on_node_add(self, data: Mapping[str, Any], event: Event) -> None:
        node_id = str(data.get("node_id") or data.get("id"))
        fields = {k: v for k, v in data.items() if k not in ("node_id", "after", "before")}
        existed = node_id in self.nodes
        self._put_node({**self.nodes.get(node_id, {}), **fields, "id": node_id})
        if existed:
            return
        after = data.get("after")
        if after is None and "end" in self.nodes:  # before the end node, after whatever led to it
            preds = [e for e in self.edges if e["target"] == "end"]
            self.edges = [e for e in self.edges if e["target"] != "end"]
            self.edges += [{"source": e["source"], "target": node_id} for e in preds]
            self.edges.append({"source": node_id, "target": "end"})
        elif after is not None:
            after = str(after)
            succ = [e for e in self.edges if e["source"] == after]
            self.edges = [e for e in self.edges if e["source"] != after]
            self.edges.append({"source": after, "target": node_id})
            self.edges += [{"source": node_id, "target": e["target"]} for e in succ]

    def _on_cost(self, data: Mapping[str, Any], event: Event) -> None:
        cost = self.cost
        usd = data.get("cost")
        model = str(data.get("model"))
        agent = str(data.get("agent") or "unknown")
        step = data.get("step", self.step)
        targets = [
            cost,
            cost["by_model"].setdefault(model, _bucket()),
            cost["by_agent"].setdefault(agent, _bucket()),
        ]
        if step is not None:
            targets.append(cost["by_step"].setdefault(str(step), _bucket()))
        for target in targets:
            target["calls"] += 1
            for key in _BUCKETS:
                target[key] += data.get(key) or 0
            if usd is not None:
                target["usd" if target is not cost else "total_usd"] += usd
        if usd is None and model not in cost["unpriced"]:
            cost["unpriced"].append(model)
        if data.get("priced_by"):
            cost["prices"] = data["priced_by"]
        node = self.nodes.get(self.current_node or "")
        if node is not None:
            node["cost_usd"] += usd or 0.0
            node["tokens"] += (data.get("input_tokens") or 0) + (data.get("output_tokens") or 0)
        budget = cost["budget_usd"]
        if budget:
            cost["budget_fraction"] = cost["total_usd"] / budget

    def _on_budget_warning(self, data: Mapping[str, Any], event: Event) -> None:
        self.cost["warning"] = True
        if data.get("exceeded"):
            self.cost["exceeded"] = True

    def _on_phase(self, data: Mapping[str, Any], event: Event) -> None:
        self.phase = data.get("phase")
        self.step = data.get("step")
        if isinstance(data.get("context"), Mapping):
            self.context = dict(data["context"])

    def _on_input_request(self, data: Mapping[str, Any], event: Event) -> None:
        self.input_request = {"request_id": data.get("request_id"), "prompt": data.get("prompt")}

    def _on_input_response(self, data: Mapping[str, Any], event: Event) -> None:
        if self.input_request and self.input_request.get("request_id") == data.get("request_id"):
            self.input_request = None

    def _on_result(self, data: Mapping[str, Any], event: Event) -> None:
        self.result = dict(data)
        if isinstance(data.get("context"), Mapping):
            self.context = dict(data["context"])

    def _on_complete(self, data: Mapping[str, Any], event: Event) -> None:
        outcome = data.get("status")
        self.status = (
            {"success": "completed"}.get(outcome, outcome) if isinstance(outcome, str) else "completed"
        )
        self.ended_at = event.get("ts")
        self.input_request = None
        self.current_node = None

    def _on_error(self, data: Mapping[str, Any], event: Event) -> None:
        self.error = dict(data)
        if self.status not in TERMINAL:
            self.status = "failed"

    # ------------------------------------------------------------------ views

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def snapshot(self) -> dict[str, Any]:
        """A JSON-safe deep copy of the whole state (what renderers and sidecars take)."""
        return {
            "v": STATE_VERSION,
            "task_id": self.task_id,
            "session_id": self.session_id,
            "mode": self.mode,
            "engine": self.engine,
            "status": self.status,
            "message": self.message,
            "phase": self.phase,
            "step": self.step,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "updated_at": self.updated_at,
            "last_seq": self.last_seq,
            "dag": {
                "nodes": copy.deepcopy(self.nodes),
                "edges": [dict(e) for e in self.edges],
                "current": self.current_node,
            },
            "cost": copy.deepcopy(self.cost),
            "output": [dict(line) for line in self.output],
            "output_count": self.output_count,
            "input_request": dict(self.input_request) if self.input_request else None,
            "result": copy.deepcopy(self.result),
            "error": copy.deepcopy(self.error),
            "context": copy.deepcopy(self.context),
            "counts": dict(self.counts),
            "other_events": copy.deepcopy(list(self.other_events)),
        }

    def restore(self, snapshot: Mapping[str, Any]) -> RunState:
        """The inverse of :meth:`snapshot`: replace this state's content with ``snapshot``'s, in place.

        For a client that joins late (a kernel following a server task, a reconnect past the replay
        buffer): what it holds (a widget, a Run) keeps the same object, and events after the
        snapshot's ``last_seq`` go on through :meth:`apply`. ``restore(s.snapshot())`` gives back
        ``s``'s snapshot, field for field.
        """
        fresh = RunState(
            str(snapshot.get("task_id") or self.task_id),
            session_id=snapshot.get("session_id"),
            mode=snapshot.get("mode"),
            engine=snapshot.get("engine"),
            output_lines=self.output.maxlen or OUTPUT_LINES,
        )
        for key in ("status", "message", "phase", "step", "started_at", "ended_at", "updated_at"):
            setattr(fresh, key, snapshot.get(key, getattr(fresh, key)))
        dag = snapshot.get("dag") or {}
        fresh.last_seq = int(snapshot.get("last_seq") or 0)
        fresh.nodes = copy.deepcopy(dict(dag.get("nodes") or {}))
        fresh.edges = [dict(e) for e in dag.get("edges") or ()]
        fresh.current_node = dag.get("current")
        fresh.cost = {**fresh.cost, **copy.deepcopy(dict(snapshot.get("cost") or {}))}
        fresh.output.extend(dict(line) for line in snapshot.get("output") or ())
        fresh.output_count = int(snapshot.get("output_count") or 0)
        request = snapshot.get("input_request")
        fresh.input_request = dict(request) if request else None
        fresh.result = copy.deepcopy(snapshot.get("result"))
        fresh.error = copy.deepcopy(snapshot.get("error"))
        fresh.context = copy.deepcopy(dict(snapshot.get("context") or {}))
        fresh.counts = dict(snapshot.get("counts") or {})
        fresh.other_events.extend(copy.deepcopy(list(snapshot.get("other_events") or ())))
        vars(self).update(vars(fresh))
        return self

    def dag(self) -> dict[str, Any]:
        """The DAG as the wire's ``dag_created`` shape (node list in order), with live statuses."""
        nodes = sorted(self.nodes.values(), key=lambda n: n.get("order", 0))
        return {
            "nodes": [{k: v for k, v in n.items() if k != "messages"} for n in nodes],
            "edges": [dict(e) for e in self.edges],
        }

    def summary(self) -> dict[str, Any]:
        """The compact summary kept in notebook metadata and session listings."""
        cost = self.cost
        return {
            "task_id": self.task_id,
            "session_id": self.session_id,
            "mode": self.mode,
            "engine": self.engine,
            "status": self.status,
            "phase": self.phase,
            "step": self.step,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "nodes": {node_id: n.get("status") for node_id, n in self.nodes.items()},
            "cost": {
                "total_usd": round(cost["total_usd"], 6),
                "calls": cost["calls"],
                **{k: cost[k] for k in _BUCKETS},
                "unpriced": list(cost["unpriced"]),
                "budget_usd": cost["budget_usd"],
            },
            "prices": cost["prices"],
            "error": {k: v for k, v in (self.error or {}).items() if k != "traceback"} or None,
        }

    @classmethod
    def from_events(cls, events: Iterable[Event], **kwargs: Any) -> RunState:
        """Rebuild a run's state from its event log alone."""
        state = cls(**kwargs)
        for event in events:
            if not state.task_id and event.get("task_id"):
                state.task_id = str(event["task_id"])
            state.apply(event)
        return state


_HANDLERS: Final = {
    "output": RunState._on_output,
    "status": RunState._on_status,
    "dag_created": RunState._on_dag_created,
    "dag_node_update": RunState._on_node_update,
    "dag_node_add": RunState._on_node_add,
    "cost_update": RunState._on_cost,
    "budget_warning": RunState._on_budget_warning,
    "phase_change": RunState._on_phase,
    "input_request": RunState._on_input_request,
    "input_response": RunState._on_input_response,
    "result": RunState._on_result,
    "complete": RunState._on_complete,
    "error": RunState._on_error,
}


def apply(state: RunState, event: Event) -> RunState:
    """The reducer: fold ``event`` into ``state``."""
    return state.apply(event)
