"""What the worker says, made fit for the Router: the supervisor's intake of worker events.

Every event from the worker passes here once, in order: its shape is checked (a malformed known
event becomes a ``protocol`` warning, never a host exception), printed output is redacted across
the pieces of its stream (a secret split over two writes is still cut out), ``cost_update`` events
are priced by the host's ledger and checked against the run's and the plan step's budgets, an
``artifact`` of an image gets its thumbnail, a ``plan_proposed`` its estimates, the ``result``
and ``error`` are kept for the outcome, and the first ``status`` marks the DAG's ``start`` node
done. A mixin of
:class:`~cmbjupyter._supervisor.TaskSupervisor`, which provides ``state``, ``redactor``,
``publish``, ``_dispatch`` and ``stop``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Final

from ._recorder import earlier_files
from ._shapes import event_problem
from ._verdict import format_usd
from .config import TaskConfig
from .cost import Budget, CostLedger
from .errors import BudgetExceeded
from .events import Event
from .redact import StreamRedactor

__all__ = ["WorkerEventIntake"]

#: Lines of the worker's stderr kept to explain a crash.
STDERR_TAIL: Final = 20
#: Events only the host makes (a worker's is dropped with a protocol warning), and why.
_HOST_MADE: Final = {
    "complete": "it reports completion",
    "plan_decision": "it records the user's decision",
}


class WorkerEventIntake:
    """The worker-event half of the supervisor (see the module docstring)."""

    state: Any
    redactor: Any
    config: TaskConfig
    #: The session store whose past sessions give a proposed plan its estimates (None: no history).
    history: Any
    #: The run's session writes (None: no session); a resumed run's earlier files come from it.
    recorder: Any

    def _init_intake(self, config: TaskConfig) -> None:
        self.ledger = CostLedger(config.prices)
        self.budget = Budget(config.budget_usd)
        #: Plan step -> its budget in dollars, from the approved plan (else ``step_budget_usd``).
        self.step_budgets: dict[int, float] = {}
        self.step_budget_usd = config.step_budget_usd
        self._steps_over: set[int] = set()
        #: Printed output comes in pieces; it is redacted per stream across them (one point: here).
        self.output_redactor = StreamRedactor(self.redactor)
        self.result: dict[str, Any] | None = None
        self.worker_error: dict[str, Any] | None = None
        self.stderr_tail: list[str] = []
        self._worker_up = False

    async def publish(self, type: str, data: dict[str, Any]) -> None:  # the supervisor's
        raise NotImplementedError

    async def _dispatch(self, event: Event) -> None:  # the supervisor's
        raise NotImplementedError

    def stop(self, reason: Any, message: str) -> None:  # the supervisor's
        raise NotImplementedError

    async def _dispatch_many(self, events: list[Event]) -> None:  # the supervisor's
        raise NotImplementedError

    async def _take(self, batch: list[Event]) -> None:
        """A batch the worker wrote, in order: its runs of well-formed ``output`` events (the flood of
        printed lines) go to the Router together, every other event on its own."""
        run: list[Event] = []
        for event in batch:
            if event["type"] == "output" and event_problem("output", event["data"]) is None:
                if self._take_output(event["data"]):
                    run.append(event)
                continue
            if run:
                await self._dispatch_many(run)
                run = []
            await self._on_worker_event(event)
        if run:
            await self._dispatch_many(run)

    async def _on_worker_event(self, event: Event) -> None:
        kind = event["type"]
        problem = event_problem(kind, event["data"])
        if problem is not None:  # the host boundary: a malformed known event never reaches the Router
            message = f"dropped a malformed {kind!r} event from the worker: {problem}"
            await self.publish("warning", {"message": message, "kind": "protocol"})
            return
        if kind == "output":
            if self._take_output(event["data"]):
                await self._dispatch(event)
        elif kind == "cost_update":
            data, problem = self.ledger.normalize(event["data"])
            if data is None:
                await self.publish("warning", {"message": f"ignored: {problem}", "kind": "cost"})
                return
            event["data"] = data
            await self._dispatch(event)
            await self._check_budget()
            await self._check_step_budget(data.get("step"))
        elif kind == "artifact":
            await self._add_thumbnail(event["data"])
            await self._dispatch(event)
        elif kind == "plan_proposed":
            if event["data"].get("estimate") is None:
                event["data"]["estimate"] = await self._estimate(event["data"]["plan"])
            # the host says whether a rejection is possible (the views then offer no Reject)
            event["data"]["reject_refused"] = self.config.reject_refused
            await self._dispatch(event)
        elif kind == "result":
            self.result = event["data"]
            await self._dispatch(event)
        elif kind == "error":
            # Published once, at the end, as the run's error (and raised: redacted like every event).
            self.worker_error = self.redactor.value(event["data"])
        elif kind in _HOST_MADE:
            message = f"the worker sent {kind!r}; only the host makes it ({_HOST_MADE[kind]})"
            await self.publish("warning", {"message": message, "kind": "protocol"})
        else:
            await self._dispatch(event)
            if kind == "status" and not self._worker_up:
                self._worker_up = True
                await self.publish("dag_node_update", {"node_id": "start", "status": "completed"})

    def _earlier_files(self) -> tuple[str, list[dict[str, Any]]] | None:
        """A resumed session's earlier files, read before the first save replaces its manifest."""
        if not self.config.raw.get("resume") or self.recorder is None:
            return None
        work_dir = os.fspath(self.config.work_dir) if self.config.work_dir is not None else os.getcwd()
        return earlier_files(self.recorder.manager, self.recorder.session_id, work_dir)

    async def _restore_files(self, work_dir: str, records: list[dict[str, Any]]) -> None:
        """Show them as they were saved (thumbnails made again): the worker reports what changes."""
        await self.publish("work_dir", {"path": work_dir})
        for record in records:
            await self._add_thumbnail(record)
            await self.publish("artifact", record)

    async def _add_thumbnail(self, data: dict[str, Any]) -> None:
        """A raster image's thumbnail (``thumbnails.for_event``) goes with its event; a missing
        Pillow or any failure gives none, never a failed run."""
        data.pop("thumbnail", None)  # only the host makes thumbnails
        try:
            from . import thumbnails

            thumbnail = await thumbnails.for_event(self.state.work_dir, data)
        except Exception:
            thumbnail = None
        if thumbnail is not None:
            data["thumbnail"] = thumbnail

    async def _estimate(self, plan: list[Any]) -> dict[str, Any] | None:
        """Per-step estimates of a proposed plan from the past sessions in ``history`` (the session
        store; ``estimates.py``), read off the event loop; None (and a warning) if they cannot be."""
        if self.history is None:
            return None
        from .estimates import estimate_plan, models_of

        config = self.config
        try:
            return await asyncio.to_thread(
                estimate_plan,
                self.history,
                config.mode,
                models_of(config.raw),
                plan,
                exclude=config.session_id,
            )
        except Exception as exc:  # a damaged store never stops the run; the plan shows without
            await self.publish("warning", {"message": f"no estimate for the plan: {exc}", "kind": "estimate"})
            return None

    def _take_output(self, data: dict[str, Any]) -> bool:
        """Redact a printed piece and keep stderr's tail; False if nothing is left to show yet (all of
        it could be the start of a secret: shown with the stream's next piece)."""
        if not self._redact_output(data):
            return False
        if data.get("stream") == "stderr":
            self.stderr_tail.append(data["message"])
            del self.stderr_tail[:-STDERR_TAIL]
        return True

    def _redact_output(self, data: dict[str, Any]) -> bool:
        """Redact an output piece across the pieces of its stream; False if nothing is left to show."""
        stream = data.get("stream")
        message = data.get("message")
        line_ends = data.pop("partial", None) is not True
        data["message"] = self.output_redactor.piece(
            stream if isinstance(stream, str) else "stdout",
            message if isinstance(message, str) else str(message),
            line_ends=line_ends,
        )
        if not line_ends:
            data["partial"] = True
        return bool(data["message"]) or line_ends

    async def _check_step_budget(self, step: Any) -> None:
        """A plan step that reaches its own budget stops the run (like the run's budget)."""
        limit = self.step_budgets.get(step, self.step_budget_usd) if isinstance(step, int) else None
        if not limit or step in self._steps_over:
            return
        bucket = self.state.cost["by_step"].get(str(step)) or {}
        spent = float(bucket.get("usd") or 0.0)
        if spent >= limit:
            self._steps_over.add(step)
            data = {"total_usd": spent, "budget_usd": limit, "fraction": spent / limit, "exceeded": True}
            await self.publish("budget_warning", {**data, "step": step})
            self.stop(
                BudgetExceeded, f"step {step} cost ${spent:.4f}, reaching its budget of ${limit:g}; stopped"
            )

    async def _check_budget(self) -> None:
        total, limit = self.state.cost["total_usd"], self.budget.limit
        for crossed in self.budget.check(total):
            exceeded = crossed == "exceeded"
            data = {"total_usd": total, "budget_usd": limit, "fraction": total / limit, "exceeded": exceeded}
            await self.publish("budget_warning", data)
            if exceeded:
                self.stop(
                    BudgetExceeded,
                    f"the run cost ${total:.4f}, reaching its budget of {format_usd(limit)}; stopped",
                )
