"""The run's outcome as a person reads it: one truthful line, decided by the reducer at ``complete``.

A run's ``status`` says how its process ended (completed, failed, cancelled); the outcome says what
happened: a run whose engineer's code crashed and was never fixed did not simply "complete", and a
run stopped at its budget did not "fail" like a crash. The reducer (the ``complete`` fold) sets
``state.outcome`` from what it folded: the status, the error, the transcript's code executions that
failed and were not recovered, the result, the budget. So every view (widget, sidebar, CLI), the
sidecar, the notebook summary and ``Run.outcome`` read the same. Standard library only (the
worker's guard formats its budget with :func:`format_usd`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["OUTCOMES", "format_usd", "outcome_of"]

#: Every outcome status (``snapshot["outcome"]["status"]``).
OUTCOMES: Final = ("completed", "completed_with_errors", "failed", "cancelled", "budget_stopped", "timed_out")
#: The error types whose ``failed`` run has its own outcome.
_STOPS: Final = {"BudgetExceeded": "budget_stopped", "TaskTimeout": "timed_out", "TaskCancelled": "cancelled"}
#: Longest error message and final answer in the outcome.
_MESSAGE_CHARS: Final = 500
_ANSWER_CHARS: Final = 4000


def format_usd(amount: float) -> str:
    """Dollars with the precision they were given: ``$0.50``, ``$0.001`` (never ``$0.00``), ``$2.00``."""
    for digits in range(2, 10):
        if round(amount, digits) == amount:
            return f"${amount:.{digits}f}"
    return f"${amount:.10f}".rstrip("0")


def outcome_of(state: Any) -> dict[str, Any]:
    """The outcome of a finished run (``state``: a RunState whose ``complete`` was just folded)."""
    error = state.error if isinstance(state.error, Mapping) else None
    failed = state.transcript.failed_executions()
    status = state.status
    if status == "completed":
        status = "completed_with_errors" if failed else "completed"
    elif status != "cancelled":
        status = _STOPS.get(str((error or {}).get("error_type")), "failed")
    budget = state.cost.get("budget_usd")
    outcome = {
        "status": status,
        "label": "",
        "failed_executions": failed,
        "error": _error(error) if status not in ("completed", "completed_with_errors") else None,
        "final_answer": _final_answer(state.result),
        "budget_usd": float(budget) if isinstance(budget, (int, float)) and budget else None,
    }
    if status in ("completed", "completed_with_errors"):
        # a budget stop that raced with the result: the result wins, and the outcome says so
        outcome["over_budget"] = [
            dict(b) for b in state.cost.get("over_budget") or () if isinstance(b, Mapping)
        ]
    outcome["label"] = _label(outcome, state)
    if outcome.get("over_budget"):
        outcome["label"] += "; " + "; ".join(_reached(b) for b in outcome["over_budget"])
    return outcome


def _reached(budget: Mapping[str, Any]) -> str:
    """A budget the run reached as it finished: it kept its result, the money was spent."""
    who = f"step {budget['step']}" if budget.get("step") is not None else "the run"
    limit, spent = budget.get("budget_usd"), budget.get("total_usd")
    text = f"{who} reached its budget"
    if isinstance(limit, (int, float)):
        text += f" of {format_usd(float(limit))}"
    if isinstance(spent, (int, float)):
        text += f" (spent {format_usd(round(float(spent), 6))})"
    return text + " as it finished"


def _error(error: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if error is None:
        return None
    message = str(error.get("message") or "")
    return {"type": error.get("error_type"), "message": message[:_MESSAGE_CHARS]}


def _final_answer(result: Any) -> str | None:
    """The result's answer when it has one: its ``final_answer`` or ``summary``, or a text result,
    in the ``result`` event's data or in the task's own result (``data["result"]``, e.g. a dict)."""
    if not isinstance(result, Mapping):
        return None
    for source in (result, result.get("result")):
        if not isinstance(source, Mapping):
            continue
        for key in ("final_answer", "summary", "result"):
            value = source.get(key)
            if isinstance(value, str) and value.strip():
                return value[:_ANSWER_CHARS]
    return None


def _where(state: Any, message_id: int) -> str:
    item = state.transcript.item(message_id) or {}
    parts = [f"step {item['step']}" if item.get("step") is not None else None, item.get("agent")]
    named = ", ".join(str(p) for p in parts if p)
    return named or f"#{message_id}"


def _label(outcome: Mapping[str, Any], state: Any) -> str:
    status, error = outcome["status"], outcome["error"] or {}
    first_line = str(error.get("message") or "").strip().splitlines()[:1]
    message = first_line[0][:200] if first_line else ""
    if status == "completed":
        return "completed"
    if status == "completed_with_errors":
        failed = outcome["failed_executions"]
        where = "; ".join(dict.fromkeys(_where(state, i) for i in failed))  # each place once
        noun = "code execution" if len(failed) == 1 else "code executions"
        return f"completed with errors: {len(failed)} {noun} failed ({where})"
    if status == "budget_stopped":
        budget = outcome["budget_usd"]
        spent = format_usd(round(float(state.cost.get("total_usd") or 0.0), 6))
        return (
            f"stopped at its budget of {format_usd(budget)} (spent {spent})"
            if budget
            else "stopped at its budget"
        )
    if status == "timed_out":
        return f"timed out: {message}" if message else "timed out"
    if status == "cancelled":
        return f"cancelled: {message}" if message else "cancelled"
    kind = error.get("type")
    return f"failed: {kind}: {message}" if kind else f"failed: {message or 'the run failed'}"
