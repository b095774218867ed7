"""The Emitter: how engine code inside the worker reports what it does.

Every call writes one event line straight to the event pipe (one ``os.write``, no buffering), so
whatever was emitted before a crash is already with the host. The pipe is private to the worker:
nothing printed on stdout/stderr can corrupt it.

Every call is checked against the shape of its event type (:mod:`cmbjupyter._shapes`): a bad
argument (``node("execute", ["running"])``, ``dag_created(5, [])``) raises a ``TypeError`` naming it,
inside the engine, where the mistake is; it becomes the task's error. Every line is bounded to
:data:`~cmbjupyter.events.MAX_EVENT_BYTES` (its longest strings cut, with a marker).

Files the run makes are reported by the worker's watcher (``watcher.py``) through :meth:`Emitter.artifacts`,
with the step, phase, node and agent current when they were found; an engine names its folder with
:meth:`Emitter.work_dir` (the watcher then watches it) and may report a file itself with
:meth:`Emitter.artifact`. A phase change first lets the watcher report what the last phase made.

The Emitter also keeps the DAG honest for engines that only report phases: a ``phase()`` whose name
(or ``step_<n>``) is a node of the DAG marks that node running and the node it replaces completed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .._shapes import check_data
from ..dag import PHASE_NODES
from ..events import encode_new, json_safe, now_iso
from ..plans import check_plan
from ._transcript import TranscriptEmitter

__all__ = ["ChannelClosed", "Emitter"]


class ChannelClosed(BrokenPipeError):
    """The event pipe to the host is gone; the worker cannot report anything any more."""


class Emitter(TranscriptEmitter):
    """Writes events for one task. Thread-safe: agents may report from several threads.

    The transcript's methods (``message``, ``tool_call``, ``tool_result``, ``code_execution``,
    ``speaker``, ``termination``) are in ``_transcript.py``."""

    def __init__(
        self,
        fd: int,
        *,
        dag: Mapping[str, Any] | None = None,
        ask: Callable[[str, str], str] | None = None,
        decide: Callable[[str], Mapping[str, Any]] | None = None,
        approve_plan: bool = False,
    ) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._ask = ask
        self._asks = 0
        self._decide = decide
        #: The task asked for plan approval (``config["approve_plan"]``): a proposed plan waits for it.
        self.approve_plan = approve_plan
        self._message_ids = 0  # the last transcript event's message_id
        self.closed = False
        #: node id -> type, for the nodes of the DAG the host created or the engine declared.
        self.node_types: dict[str, str] = {}
        #: Nodes this Emitter marked running because of a phase; completed when the phase moves on.
        self.active_nodes: list[str] = []
        #: The last context variables reported with a phase (the result's ``context`` by default).
        self.context: dict[str, Any] = {}
        self.phase_name: str | None = None
        self.step: int | None = None
        #: The last agent that spoke (an artifact's agent when its node names none).
        self.agent: str | None = None
        #: node id -> the agent in charge of it (a plan step's ``agent`` field).
        self.node_agents: dict[str, str] = {}
        #: Called with the run's folder when the engine names it (the watcher watches it).
        self.on_work_dir: Callable[[str, bool], None] | None = None
        #: Called with files the engine displayed (the watcher reports them with ``displayed: true``).
        self.on_displayed: Callable[[list[str]], None] | None = None
        #: Called before a phase change goes out (the watcher reports the files of the last phase).
        self.before_phase: Callable[[], None] | None = None
        #: Called with N, after :attr:`before_phase`, when a phase change enters step N (the work
        #: dir's snapshot before step N, for a fork there).
        self.before_step: Callable[[int], None] | None = None
        if dag:
            self._learn_dag(dag.get("nodes", ()))

    # ------------------------------------------------------------------ the engine's API

    def output(self, message: Any, stream: str = "agent", agent: str | None = None) -> None:
        """Report something an agent said (or any text) for the console."""
        if stream.__class__ is not str or not (agent is None or isinstance(agent, str)):
            raise TypeError(f"emit.output: stream and agent must be strings, not {stream!r} and {agent!r}")
        data: dict[str, Any] = {"message": message if isinstance(message, str) else str(message)}
        data["stream"] = stream
        if agent is not None:
            data["agent"] = agent
            if agent != "cmbjupyter":
                self.agent = agent
        line = encode_new("output", data)  # the hot path: checked above, not again in event()
        with self._lock:
            self._write(line)

    def phase(self, phase: str, step: int | None = None, context: Mapping[str, Any] | None = None) -> None:
        """Report a phase change; the host saves the session on every one.

        ``context`` holds the engine's context variables (values that are not JSON become their repr).
        """
        if not isinstance(phase, str):
            raise TypeError(f"emit.phase: phase must be a string, not {phase!r}")
        check_data("phase_change", {"phase": phase, "step": step, "context": context})
        try:
            if self.before_phase is not None:
                self.before_phase()  # files of the phase that ends are reported as part of it
            if self.before_step is not None and step is not None and step != self.step:
                self.before_step(step)
        except ChannelClosed:
            raise
        except Exception:  # an unreadable file never fails the engine: the next scan retries
            pass
        self.phase_name, self.step = phase, step
        if context is not None:
            self.context = json_safe(context)
        self._advance_dag(phase, step)
        self.event(
            "phase_change",
            {"phase": phase, "step": step, "timestamp": now_iso(), "context": self.context},
        )

    def dag_created(self, nodes: list[Mapping[str, Any]], edges: list[Mapping[str, Any]]) -> None:
        """Replace the DAG with the engine's own.

        ``nodes``: ``{id, label, type, status}`` dicts; ``edges``: ``{source, target}`` dicts.
        """
        data = {
            "nodes": list(nodes) if isinstance(nodes, (list, tuple)) else nodes,
            "edges": [] if edges is None else list(edges) if isinstance(edges, (list, tuple)) else edges,
        }
        check_data("dag_created", data)
        data = {key: [dict(item) for item in items] for key, items in data.items()}
        self.node_types.clear()
        self.active_nodes.clear()
        self._learn_dag(data["nodes"])
        self.event("dag_created", data)

    def node(self, node_id: str, status: str, **fields: Any) -> None:
        """Update one node: status pending, running, completed, failed or skipped, plus any details."""
        data = {"node_id": node_id, "status": status, **fields}
        check_data("dag_node_update", data)
        if status != "running" and node_id in self.active_nodes:
            self.active_nodes.remove(node_id)
        self.event("dag_node_update", data)

    def add_node(
        self,
        node_id: str,
        label: str,
        after: str | None = None,
        type: str = "step",
        status: str = "pending",
        **fields: Any,
    ) -> None:
        """Add a node live (a plan step); it goes after ``after``, or before the DAG's end node."""
        data = {"node_id": node_id, "label": label, "after": after, "type": type, "status": status, **fields}
        check_data("dag_node_add", data)
        self.node_types[str(node_id)] = type
        if isinstance(fields.get("agent"), str):
            self.node_agents[str(node_id)] = fields["agent"]
        self.event("dag_node_add", data)

    def work_dir(self, path: str | os.PathLike[str], *, existing: bool = True) -> None:
        """Name the folder the run works in; its files are reported as artifacts. ``existing``: the
        files already there are the run's too (an engine's own folder, a resumed run's); False for a
        shared folder (the worker's cwd), where only files made or changed from now on count."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"emit.work_dir: path must be a path, not {path!r}")
        absolute = os.path.abspath(os.fspath(path))
        self.event("work_dir", {"path": absolute})
        if self.on_work_dir is not None:
            self.on_work_dir(absolute, existing)

    def displayed(self, paths: Any) -> None:
        """Files of the work dir the engine displayed (cmbagent's ``displayed_images``)."""
        if self.on_displayed is not None and isinstance(paths, (list, tuple)):
            self.on_displayed([os.fspath(p) for p in paths if isinstance(p, (str, os.PathLike))])

    def attribution(self) -> dict[str, Any]:
        """Where the run is now: the ``step``, ``phase``, ``node_id`` and ``agent`` of an artifact."""
        node_id = self.active_nodes[-1] if self.active_nodes else None
        agent = self.node_agents.get(node_id or "") or self.agent
        return {"step": self.step, "phase": self.phase_name, "node_id": node_id, "agent": agent}

    def artifact(self, path: str, **fields: Any) -> None:
        """Report one file of the work dir (``path`` relative to it, POSIX) with its fields
        (``category``, ``mime``, ``size``, ``sha256``...); where the run is fills the rest."""
        self.artifacts([{"path": path, **fields}])

    def artifacts(self, records: list[Mapping[str, Any]]) -> None:
        """Report several files at once: one write for the batch (the watcher's many small files)."""
        where = self.attribution()
        lines = []
        for record in records:
            data = {**where, "created_at": now_iso(), **record}
            check_data("artifact", data)
            lines.append(encode_new("artifact", data))
        if lines:
            with self._lock:
                self._write(b"".join(lines))

    def cost(
        self,
        model: str,
        input_tokens: int,
        output_tokens: int,
        *,
        agent: str | None = None,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        cost: float | None = None,
    ) -> None:
        """Report one LLM call's usage. ``input_tokens`` counts all prompt tokens, cached ones included
        (OpenAI's convention); without ``cost`` the host prices it from genai-prices."""
        # Types are checked here; impossible numbers (negative, huge) reach the host, whose ledger
        # refuses them with a cost warning without stopping the run.
        if not isinstance(model, str):
            raise TypeError(f"emit.cost: model must be a model name, not {model!r}")
        counts = {"input_tokens": input_tokens, "output_tokens": output_tokens}
        counts.update(cache_read_tokens=cache_read_tokens, cache_write_tokens=cache_write_tokens)
        for name, value in {**counts, "cost": cost}.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise TypeError(f"emit.cost: {name} must be a number, not {value!r}")
        data: dict[str, Any] = {
            "model": model,
            "agent": agent,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_tokens": cache_read_tokens,
            "cache_write_tokens": cache_write_tokens,
            "cost": cost,
            "timestamp": now_iso(),
        }
        if self.step is not None:
            data["step"] = self.step
        self.event("cost_update", data)

    def ask(self, prompt: str) -> str:
        """Ask the human (notebook or sidebar) a question and wait for the answer.

        Never reads the worker's stdin: the question goes out as an ``input_request`` event and the
        answer comes back on the control channel.
        """
        if not isinstance(prompt, str):
            raise TypeError(f"emit.ask: prompt must be a string, not {prompt!r}")
        if self._ask is None:
            raise RuntimeError("this worker has no control channel, so it cannot ask for input")
        with self._lock:
            self._asks += 1
            request_id = f"input-{self._asks}"
        self.event("input_request", {"request_id": request_id, "prompt": prompt})
        return self._ask(request_id, prompt)

    def propose_plan(self, plan: Any, estimate: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Show the planner's ``plan`` (steps ``{sub_task, agent, bullets}``) and return the decision.

        With ``approve_plan`` the run waits (status ``awaiting_approval``; blocked on the control
        channel, burning nothing) for the user: ``{"approved": True, "plan": the steps to run, as
        edited}`` or ``{"approved": False, "feedback": "...", "plan": the rejected steps}``. Without
        it the plan is shown and approved as it is. A malformed plan is a ``ConfigError`` here.
        """
        steps = check_plan(plan)
        data: dict[str, Any] = {"plan": steps}
        if estimate is not None:
            data["estimate"] = dict(estimate)
        if not self.approve_plan:
            self.event("plan_proposed", data)
            self._learn_steps(steps)
            return {"approved": True, "plan": steps, "feedback": None}
        if self._decide is None:
            raise RuntimeError("this worker has no control channel, so no plan can be approved")
        with self._lock:
            self._asks += 1
            request_id = f"plan-{self._asks}"
        self.event("plan_proposed", {**data, "request_id": request_id})
        decision = self._decide(request_id)
        if not decision.get("approved"):
            return {"approved": False, "plan": steps, "feedback": str(decision.get("feedback") or "")}
        approved = check_plan(decision.get("plan") or steps)
        self._learn_steps(approved)
        return {"approved": True, "plan": approved, "feedback": None}

    def _learn_steps(self, steps: list[dict[str, Any]]) -> None:
        """The DAG's step nodes are the plan's now (the host's reducer made them so)."""
        for node_id in [n for n, kind in self.node_types.items() if kind == "step"]:
            del self.node_types[node_id]
            self.node_agents.pop(node_id, None)
        for step in steps:
            self.node_types[f"step_{step['step']}"] = "step"
            if step["agent"]:
                self.node_agents[f"step_{step['step']}"] = step["agent"]

    def event(self, type: str, data: Mapping[str, Any]) -> None:
        """Send any event. Types the host does not know are delivered and kept, not dropped; a known
        type must have its shape (a TypeError names what is wrong)."""
        if not isinstance(type, str) or not type:
            raise TypeError(f"emit.event: the event type must be a non-empty string, not {type!r}")
        if not isinstance(data, Mapping):
            raise TypeError(f"emit.event: data must be a dict, not {data!r}"[:200])
        check_data(type, data)
        line = encode_new(type, data)
        with self._lock:
            self._write(line)

    # ------------------------------------------------------------------ internals

    def _write(self, line: bytes) -> None:
        if self.closed:
            raise ChannelClosed("the event pipe to the host is closed")
        try:
            written = os.write(self._fd, line)
            if written < len(line):  # a partial write: a line longer than the pipe buffer
                view = memoryview(line)[written:]
                while view:
                    view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self.closed = True
            raise ChannelClosed(f"the event pipe to the host is closed ({exc})") from exc

    def _learn_dag(self, nodes: Any) -> None:
        for n in nodes:
            if isinstance(n, Mapping) and "id" in n:
                self.node_types[str(n["id"])] = str(n.get("type", "step"))
                if isinstance(n.get("agent"), str):
                    self.node_agents[str(n["id"])] = n["agent"]

    def _advance_dag(self, phase: str, step: int | None) -> None:
        """Mark the node this phase stands for running, and the one(s) it follows completed."""
        target = None
        if step is not None and f"step_{step}" in self.node_types:
            target = f"step_{step}"
        elif phase in self.node_types:
            target = phase
        elif PHASE_NODES.get(phase) in self.node_types:
            target = PHASE_NODES[phase]
        if target is None or target in self.active_nodes:
            return
        is_step = self.node_types[target] == "step"
        # A plan step ends the previous step; a phase ends everything that was running.
        done = [n for n in self.active_nodes if self.node_types.get(n) == "step" or not is_step]
        for node_id in done:
            self.node(node_id, "completed")
        self.active_nodes.append(target)
        self.event("dag_node_update", {"node_id": target, "status": "running", "phase": phase, "step": step})

    def start_node(self, node_id: str) -> None:
        """Mark a node running on behalf of the engine (the worker does this for the first node)."""
        if node_id in self.node_types and node_id not in self.active_nodes:
            self.active_nodes.append(node_id)
            self.event("dag_node_update", {"node_id": node_id, "status": "running"})

    def finish_active(self, status: str = "completed") -> None:
        """Close every node a phase left running (at the end of a successful run)."""
        for node_id in list(self.active_nodes):
            self.node(node_id, status)
