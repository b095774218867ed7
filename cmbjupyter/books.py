"""The books a resumed or forked run carries, and where it restarts: read from a saved session.

A resume used to start a fresh RunState, so the session's cost fell back to what the new attempt
spent ($0.0024 -> $0.0004 in the sidebar). Now the host says, before anything runs, where the run
restarts (and, for an engine that cannot restart mid-way, that it runs the whole task again) and
what was already spent. Both go into the run's ``restart`` event (``config["restart"]``, published
by the supervisor before the worker starts), so the reducer alone puts them in the RunState:
``cost["carried"]`` (by session, and in total) beside this run's own ``total_usd``, and
``grand_total_usd`` the sum.

* A **resume** carries the session's earlier attempts: the last attempt's own cost, tokens and
  time, plus what that attempt carried itself.
* A **fork** at step N carries what its parent spent before step N started (read from the
  parent's event log, every attempt of it), plus what the parent inherited from its own parent.

A python-engine task restarts mid-way only when it is step-structured (:mod:`.task_steps`);
cmbagent restarts at a step in planning-control and idea-generation (from its saved plan). Which
engines and modes restart mid-way is ``forkable`` in ``protocol.json``: the browser reads the same
list to show a step node's Fork button only where a fork can start.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from . import _safefile
from .events import iter_log
from .task_steps import restart_problem

__all__ = [
    "CMBAGENT_RESTART_MODES",
    "FORKABLE",
    "ParentAtStep",
    "attempt_entries",
    "fork_carried",
    "parent_at_step",
    "resume_restart",
]

#: The engines whose runs restart at a plan step, each with its modes ("*": every mode; a python
#: task also has to be step-structured); one list for Python and the browser (protocol.json).
FORKABLE: Final[dict[str, tuple[str, ...]]] = {
    engine: tuple(modes)
    for engine, modes in json.loads((Path(__file__).parent / "protocol.json").read_text())["forkable"].items()
}
#: The cmbagent modes that can restart at a plan step (from the plan saved in the work dir).
CMBAGENT_RESTART_MODES: Final = FORKABLE["cmbagent"]
_BUCKETS: Final = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def _seconds(start: Any, end: Any) -> float:
    try:
        delta = dt.datetime.fromisoformat(str(end)) - dt.datetime.fromisoformat(str(start))
    except ValueError:
        return 0.0
    return max(delta.total_seconds(), 0.0)


def _entry(
    session_id: str, reason: str, cost: Mapping[str, Any], seconds: float, **more: Any
) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "reason": reason,
        "total_usd": round(float(cost.get("total_usd") or 0.0), 10),
        "calls": int(cost.get("calls") or 0),
        **{k: int(cost.get(k) or 0) for k in _BUCKETS},
        "seconds": round(seconds, 3),
        **more,
    }


def _carried_of(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    cost = record.get("cost") if isinstance(record.get("cost"), Mapping) else {}
    carried = cost.get("carried") if isinstance(cost, Mapping) else None
    sessions = carried.get("sessions") if isinstance(carried, Mapping) else None
    return [dict(e) for e in sessions or () if isinstance(e, Mapping)]


def attempt_entries(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What a resume of ``record``'s session carries: what its last attempt carried, then that
    attempt's own cost, tokens and time."""
    cost = record.get("cost") if isinstance(record.get("cost"), Mapping) else {}
    seconds = _seconds(record.get("run_started_at"), record.get("run_ended_at") or record.get("updated_at"))
    attempt = int(record.get("resumed") or 0) + 1
    own = _entry(str(record.get("session_id")), "earlier attempt", cost or {}, seconds, attempt=attempt)
    return [*_carried_of(record), own]


def resume_restart(record: Mapping[str, Any]) -> tuple[int | None, bool, str]:
    """``(step, mid_way, message)`` for a resume of ``record``: the saved step (None: it stopped
    before any), whether the engine really restarts there (``restored`` steps before it) or runs
    the whole task again, and the sentence that says so, before anything runs.

    A python-engine task that is not step-structured still gets ``config["restart_at_step"]`` (a
    task may read it and skip ahead itself), but cmbjupyter does not claim to restart it there.
    """
    step = record.get("current_step")
    step = step if isinstance(step, int) and not isinstance(step, bool) and step > 0 else None
    engine = str(record.get("engine") or (record.get("config") or {}).get("engine") or "")
    mode = str(record.get("mode") or "")
    if step is None:
        return None, False, f"restarts from the beginning: it stopped before any plan step ({engine} engine)"
    if engine == "python":
        problem = restart_problem(str(record.get("task") or ""), step)
        if problem is not None:
            return (
                step,
                False,
                (
                    f"the python engine runs the whole task again, not from step {step}: {problem} "
                    f"(config['restart_at_step'] = {step} is there for the task to use)"
                ),
            )
        return step, True, f"restarts at step {step} from the context saved when it started"
    if engine == "cmbagent" and mode in CMBAGENT_RESTART_MODES:
        return step, True, f"restarts at step {step} of the saved plan, from the saved context"
    return (
        step,
        False,
        (
            f"restarts from the beginning, not at step {step}: the {engine} engine in mode {mode!r} "
            "cannot restart mid-way"
        ),
    )


class ParentAtStep:
    """The parent's saved state when step N started: its context, and what it had spent by then."""

    def __init__(self, context: dict[str, Any] | None, cost: dict[str, Any], seconds: float) -> None:
        self.context = context
        self.cost = cost
        self.seconds = seconds


def parent_at_step(event_log: Path, at_step: int) -> ParentAtStep:
    """Read ``event_log`` (every attempt it holds) up to the last time step ``at_step`` started:
    the context saved then (None when the log never reaches that step), and the cost and time
    spent before it (summed over the attempts; the cost of a later step is never counted)."""
    totals: dict[str, Any] = {"total_usd": 0.0, "calls": 0, **dict.fromkeys(_BUCKETS, 0)}
    found: ParentAtStep | None = None
    seconds, start, last = 0.0, None, None
    try:
        with _safefile.open_regular(event_log) as lines:
            for event in iter_log(lines):
                ts = event.get("ts")
                if event.get("seq") == 1 or start is None:  # a new attempt starts
                    seconds += _seconds(start, last) if start is not None else 0.0
                    start = ts
                last = ts
                data = event.get("data") or {}
                kind = event.get("type")
                if kind == "cost_update":
                    totals["calls"] += 1
                    totals["total_usd"] += data.get("cost") or 0.0
                    for key in _BUCKETS:
                        totals[key] += data.get(key) or 0
                elif kind == "phase_change" and data.get("step") == at_step:
                    context = data.get("context")
                    found = ParentAtStep(
                        dict(context) if isinstance(context, Mapping) else None,
                        dict(totals),
                        seconds + _seconds(start, ts),
                    )
    except FileNotFoundError:
        return ParentAtStep(None, totals, 0.0)
    return found or ParentAtStep(None, totals, 0.0)


def fork_carried(record: Mapping[str, Any], at: ParentAtStep, at_step: int) -> list[dict[str, Any]]:
    """What a fork of ``record`` at ``at_step`` carries: the parent's inherited fork books, then
    what the parent spent before that step."""
    inherited = [e for e in _carried_of(record) if e.get("reason") == "fork"]
    parent = str(record.get("session_id"))
    return [*inherited, _entry(parent, "fork", at.cost, at.seconds, at_step=at_step)]
