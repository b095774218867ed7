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
              "budget_usd", "budget_fraction", "warning", "exceeded", "prices",
              "carried": {"total_usd", "calls", tokens..., "seconds", "sessions": [...]} | None,
              "grand_total_usd": this run's total + carried},
              "points": [{"ts", "model", "agent", "usd", "node"}: the last COST_POINTS calls],
              "points_base": {"by_model", "by_agent", "calls"}: the calls dropped from points},
     "output": [{"seq", "ts", "stream", "agent", "text"}], "output_count",
     "input_request": {"request_id", "prompt"} | None,
     "plan": {"status": "proposed"|"approved"|"rejected", "steps": [plans.check_plan steps],
              "estimate", "request_id" (while awaiting approval), "feedback", "round"} | None,
     "result", "error", "context", "counts": {type: n}, "other_events": [last unknown events],
     "work_dir": path | None,
     "artifacts": {"items": [artifact records, latest per path, in order], "count": artifact events,
                   "dropped": paths no longer kept (beyond ARTIFACTS_KEPT)},
     "restart": {"message", "at_step", "parent_session", "forked_at_step", "changes",
                 "restored_steps"} | None   (a resumed or forked run: see the ``restart`` fold),
     "transcript": {"items": [{"id", "kind", "seq", "ts", "agent", "step", "node_id", ...}],
                    "count", "dropped", "by_kind", "by_agent", "failing"},   (_transcript.py)
     "step_durations": {step: seconds of its finished DAG node},
     "outcome": None while running, then {"status", "label", "failed_executions", "error",
                "final_answer", "budget_usd"}}   (_verdict.py)
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from ._folds import ARTIFACTS_KEPT, BUCKETS, FOLDS, NODE_MESSAGES, TERMINAL, TEXT_CHARS, outputs
from ._shapes import event_problem
from ._transcript import Transcript
from .events import Event

__all__ = [
    "ARTIFACTS_KEPT",
    "NODE_MESSAGES",
    "OUTPUT_LINES",
    "TERMINAL",
    "TEXT_CHARS",
    "RunState",
    "apply",
]

STATE_VERSION: Final = 1
#: Output lines kept for the console (older ones are counted, not kept).
OUTPUT_LINES: Final = 200
OTHER_EVENTS: Final = 20

_NODE_CORE: Final = ("id", "label", "type", "status")


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
            **dict.fromkeys(BUCKETS, 0),
            "by_model": {},
            "by_agent": {},
            "by_step": {},
            "unpriced": [],
            "budget_usd": budget_usd,
            "budget_fraction": None,
            "warning": False,
            "exceeded": False,
            #: The budgets reached ({step (None: the run's), budget_usd, total_usd}), in order.
            "over_budget": [],
            "prices": None,
            "carried": None,
            "grand_total_usd": 0.0,
            "points": [],
            "points_base": {"by_model": {}, "by_agent": {}, "calls": 0},
        }
        self.output: deque[dict[str, Any]] = deque(maxlen=output_lines)
        self.output_count = 0
        self.input_request: dict[str, Any] | None = None
        #: The plan proposed or approved (``plan_proposed`` / ``plan_decision``), or None.
        self.plan: dict[str, Any] | None = None
        self.result: Any = None
        self.error: dict[str, Any] | None = None
        self.context: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self.other_events: deque[dict[str, Any]] = deque(maxlen=OTHER_EVENTS)
        self.work_dir: str | None = None
        #: path -> the latest artifact record of that path (at most ARTIFACTS_KEPT, oldest dropped)
        self.artifacts: dict[str, dict[str, Any]] = {}
        self.artifact_count = 0
        self.artifact_count_dropped = 0
        #: Where a resumed or forked run restarts and its lineage (the ``restart`` event), or None.
        self.restart: dict[str, Any] | None = None
        #: What the agents said and did (bounded: ``_transcript.py``).
        self.transcript = Transcript()
        #: How the run ended, as a person reads it (``_verdict.py``); None while it runs.
        self.outcome: dict[str, Any] | None = None

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
        handler = FOLDS.get(kind)
        # Unknown, or not foldable. Outputs (the flood) fold whatever their fields: nothing raises.
        if handler is None or (kind != "output" and event_problem(kind, data) is not None):
            self.other_events.append({"type": kind, "seq": event.get("seq"), "data": data})
        else:
            handler(self, data, event)
        return self

    def apply_many(self, events: Sequence[Event]) -> RunState:
        """Fold ``events`` in order, exactly as :meth:`apply` one by one; a run of ``output`` events
        (the flood of printed lines) is folded in one step."""
        start, count = 0, len(events)
        while start < count:
            end = start
            while end < count and events[end].get("type") == "output":
                end += 1
            if end == start:
                self.apply(events[start])
                start += 1
                continue
            run = events[start:end]
            self.counts["output"] = self.counts.get("output", 0) + len(run)
            self.last_seq = max(self.last_seq, *(e.get("seq", 0) or 0 for e in run))
            self.updated_at = run[-1].get("ts")
            if self.started_at is None:
                self.started_at = next((e.get("ts") for e in run if e.get("ts") is not None), None)
            outputs(self, run)
            start = end
        return self

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
            "plan": copy.deepcopy(self.plan),
            "result": copy.deepcopy(self.result),
            "error": copy.deepcopy(self.error),
            "context": copy.deepcopy(self.context),
            "counts": dict(self.counts),
            "other_events": copy.deepcopy(list(self.other_events)),
            "work_dir": self.work_dir,
            "artifacts": {
                "items": copy.deepcopy(list(self.artifacts.values())),
                "count": self.artifact_count,
                "dropped": self.artifact_count_dropped,
            },
            "restart": copy.deepcopy(self.restart),
            "transcript": self.transcript.snapshot(),
            "step_durations": self.step_durations(),
            "outcome": copy.deepcopy(self.outcome),
        }

    def step_durations(self) -> dict[str, float]:
        """Seconds each finished plan step took, by step number (from its DAG node's times)."""
        durations = {}
        for node in self.nodes.values():
            if node.get("type") != "step":
                continue
            step = node.get("step")
            if step is None and str(node.get("id", "")).startswith("step_"):
                step = str(node["id"])[len("step_") :]
            seconds = _seconds_between(node.get("started_at"), node.get("ended_at"))
            if step is not None and seconds is not None:
                durations[str(step)] = seconds
        return durations

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
        fresh.plan = copy.deepcopy(snapshot.get("plan"))
        fresh.result = copy.deepcopy(snapshot.get("result"))
        fresh.error = copy.deepcopy(snapshot.get("error"))
        fresh.context = copy.deepcopy(dict(snapshot.get("context") or {}))
        fresh.counts = dict(snapshot.get("counts") or {})
        fresh.other_events.extend(copy.deepcopy(list(snapshot.get("other_events") or ())))
        fresh.work_dir = snapshot.get("work_dir")
        artifacts = snapshot.get("artifacts") or {}
        items = [dict(a) for a in artifacts.get("items") or () if isinstance(a, Mapping) and "path" in a]
        fresh.artifacts = {str(a["path"]): copy.deepcopy(a) for a in items}
        fresh.artifact_count = int(artifacts.get("count") or 0)
        fresh.artifact_count_dropped = int(artifacts.get("dropped") or 0)
        fresh.restart = copy.deepcopy(snapshot.get("restart"))
        fresh.transcript = Transcript.restore(snapshot.get("transcript"))
        fresh.outcome = copy.deepcopy(snapshot.get("outcome"))
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
                **{k: cost[k] for k in BUCKETS},
                "unpriced": list(cost["unpriced"]),
                "budget_usd": cost["budget_usd"],
                "carried_usd": round((cost.get("carried") or {}).get("total_usd") or 0.0, 6),
            },
            "prices": cost["prices"],
            "error": {k: v for k, v in (self.error or {}).items() if k != "traceback"} or None,
            "outcome": copy.deepcopy(self.outcome),
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


def _seconds_between(start: Any, end: Any) -> float | None:
    """Seconds from one ISO-8601 time to another; None unless both are times."""
    if not (isinstance(start, str) and isinstance(end, str)):
        return None
    try:
        delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    except (TypeError, ValueError):
        return None
    return round(delta.total_seconds(), 3)


def apply(state: RunState, event: Event) -> RunState:
    """The reducer: fold ``event`` into ``state``."""
    return state.apply(event)
