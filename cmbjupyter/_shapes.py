"""The shape of each known event type: one table, checked wherever an event crosses a boundary.

An engine is arbitrary code and may write anything on its event pipe; a ``dag_created`` whose
``nodes`` is ``5`` must not raise inside the host. So the fields the reducer interprets are checked
here, once, against this table:

* the worker's :class:`~cmbjupyter.worker.emit.Emitter` raises ``TypeError``/``ValueError`` on a bad
  call, inside the engine, where the mistake is (it becomes the task's error);
* the host (:class:`~cmbjupyter._supervisor.TaskSupervisor`) drops a malformed known event that
  reached the pipe anyway, and says so with a ``warning`` event (kind ``protocol``): the run goes on;
* the reducer (:class:`~cmbjupyter.state.RunState`) keeps an event it cannot fold (from an old or
  damaged event log) among ``other_events`` instead of raising.

Only the fields the host reads are checked; any other field passes through. Unknown event types
have no shape and are always accepted. Standard library only: the worker imports this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from .dag import NODE_STATUSES
from .plans import plan_problem

__all__ = ["CONTENT_TYPES", "SHAPES", "TRANSCRIPT_KINDS", "check_data", "event_problem"]


def _str(value: Any) -> bool:
    return isinstance(value, str)


def _opt_str(value: Any) -> bool:
    return value.__class__ is str or value is None or isinstance(value, str)


def _id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _opt_id(value: Any) -> bool:
    return value is None or _id(value)


def _opt_int(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _relative_path(value: Any) -> bool:
    """A POSIX path relative to a work dir that stays inside it (no absolute path, no ``..``)."""
    return (
        isinstance(value, str)
        and bool(value)
        and not value.startswith(("/", "\\"))
        and "\x00" not in value
        and ".." not in value.replace("\\", "/").split("/")
    )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _opt_map(value: Any) -> bool:
    return value is None or isinstance(value, Mapping)


def _message_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _bool(value: Any) -> bool:
    return isinstance(value, bool)


def _opt_number(value: Any) -> bool:
    return value is None or _number(value)


def _content_type(value: Any) -> bool:
    return value in CONTENT_TYPES


def _node_status(value: Any) -> bool:
    return value in NODE_STATUSES if isinstance(value, str) else False


def _nodes(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(n, Mapping)
        and _id(n.get("id"))
        and _opt_str(n.get("label"))
        and _opt_str(n.get("type"))
        and (n.get("status") is None or _node_status(n.get("status")))
        for n in value
    )


def _plan(value: Any) -> bool:
    return plan_problem(value) is None


def _opt_plan(value: Any) -> bool:
    return value is None or _plan(value)


def _bool(value: Any) -> bool:
    return isinstance(value, bool)


def _edges(value: Any) -> bool:
    return value is None or (
        isinstance(value, list)
        and all(isinstance(e, Mapping) and _id(e.get("source")) and _id(e.get("target")) for e in value)
    )


def _step_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(n, int) and not isinstance(n, bool) for n in value)


def _carried(value: Any) -> bool:
    """Books carried from earlier runs: ``[{session_id, reason, total_usd, calls, *tokens, seconds}]``."""
    return isinstance(value, list) and all(
        isinstance(e, Mapping)
        and _str(e.get("session_id"))
        and all(_number(e.get(k) or 0) for k in ("total_usd", "calls", "seconds"))
        for e in value
    )


_MISSING: Final = object()

#: How a ``message`` event's content is to be read.
CONTENT_TYPES: Final = ("markdown", "text")
#: The transcript's event types (``_transcript.py`` folds them): one item each in the transcript.
TRANSCRIPT_KINDS: Final = ("message", "tool_call", "tool_result", "code_execution", "speaker", "termination")

_Check = tuple[Callable[[Any], bool], bool, str]  # (accepts, required, what it accepts)

_STR: Final[_Check] = (_str, False, "a string")
_OPT_STR: Final[_Check] = (_opt_str, False, "a string or null")
_NODE_STATUS: Final[_Check] = (_node_status, False, f"one of {', '.join(NODE_STATUSES)}")
#: Fields a DAG node keeps and the reducer adds to (a string here would break the cost sums).
_NODE_FIELDS: Final[dict[str, _Check]] = {
    "label": _STR,
    "type": _STR,
    "status": _NODE_STATUS,
    "agent": _OPT_STR,
    "cost_usd": (_number, False, "a number"),
    "tokens": (_number, False, "a number"),
}

#: Fields every transcript event carries (the Emitter sets them): who, where, and its per-run id.
_TRANSCRIPT_FIELDS: Final[dict[str, _Check]] = {
    "message_id": (_message_id, True, "a positive integer (the Emitter numbers them 1, 2, 3...)"),
    "agent": _OPT_STR,
    "step": (_opt_int, False, "an integer or null"),
    "node_id": (_opt_id, False, "a node id or null"),
}

#: For each known event type: field -> (check, required, what it accepts).
SHAPES: Final[dict[str, dict[str, _Check]]] = {
    "status": {"status": _STR, "message": _OPT_STR},
    "output": {"stream": _OPT_STR, "agent": _OPT_STR},
    "dag_created": {
        "nodes": (
            _nodes,
            True,
            f"a list of {{id, label, type, status}} objects (status one of {', '.join(NODE_STATUSES)})",
        ),
        "edges": (_edges, False, "a list of {source, target} objects"),
    },
    "dag_node_update": {"node_id": (_id, True, "a node id (a string)"), **_NODE_FIELDS},
    "dag_node_add": {
        "node_id": (_id, True, "a node id (a string)"),
        "after": (_opt_id, False, "a node id or null"),
        **_NODE_FIELDS,
    },
    "cost_update": {"agent": _OPT_STR, "step": (_opt_int, False, "an integer or null")},
    "phase_change": {
        "phase": _OPT_STR,
        "step": (_opt_int, False, "an integer or null"),
        "context": (_opt_map, False, "an object or null"),
    },
    "input_request": {"request_id": (_id, True, "a request id (a string)"), "prompt": _STR},
    "input_response": {"request_id": (_id, True, "a request id (a string)")},
    "plan_proposed": {
        "plan": (_plan, True, "a list of {sub_task, agent, bullets} steps (see cmbjupyter.plans)"),
        "request_id": (_opt_id, False, "a request id or null"),
        "estimate": (_opt_map, False, "an object or null"),
        "reject_refused": _OPT_STR,
    },
    "plan_decision": {
        "request_id": (_id, True, "a request id (a string)"),
        "approved": (_bool, True, "true or false"),
        "plan": (_opt_plan, False, "a list of steps or null"),
        "feedback": _OPT_STR,
    },
    "warning": {"message": _STR, "kind": _OPT_STR},
    "restart": {
        "message": (_str, True, "a string saying where the run restarts"),
        "at_step": (_opt_int, False, "an integer or null"),
        "parent_session": _OPT_STR,
        "forked_at_step": (_opt_int, False, "an integer or null"),
        "changes": (_opt_map, False, "an object or null"),
        "restored_steps": (_step_list, False, "a list of step numbers"),
        "carried": (_carried, False, "a list of {session_id, reason, total_usd, calls, seconds, ...}"),
        "work_dir_from": _OPT_STR,
    },
    "budget_warning": {"total_usd": (_number, False, "a number"), "budget_usd": (_number, False, "a number")},
    "error": {
        "message": _OPT_STR,
        "error_type": _OPT_STR,
        "traceback": _OPT_STR,
        "exit_code": (_opt_int, False, "an integer or null"),
        "signal": _OPT_STR,
    },
    "complete": {"status": _STR},
    "message": {
        **_TRANSCRIPT_FIELDS,
        "role": _STR,
        "content": (_str, True, "a string"),
        "content_type": (_content_type, False, f"one of {', '.join(CONTENT_TYPES)}"),
        "recipient": _OPT_STR,
    },
    "tool_call": {
        **_TRANSCRIPT_FIELDS,
        "call_id": (_id, True, "a call id (a string)"),
        "name": (_str, True, "the tool's name (a string)"),
    },
    "tool_result": {
        **_TRANSCRIPT_FIELDS,
        "call_id": (_id, True, "a call id (a string)"),
        "content": (_str, True, "a string"),
        "is_error": (_bool, False, "true or false"),
    },
    "code_execution": {
        **_TRANSCRIPT_FIELDS,
        "language": (_str, True, "a language name (a string)"),
        "code": (_str, True, "a string"),
        "exit_code": (_opt_int, True, "an integer (the process exit code)"),
        "output": _STR,
        "duration_s": (_opt_number, False, "a number of seconds or null"),
    },
    "speaker": {**_TRANSCRIPT_FIELDS, "agent": (_str, True, "an agent name (a string)")},
    "termination": {**_TRANSCRIPT_FIELDS, "reason": (_str, True, "a string")},
    "work_dir": {"path": (_str, True, "an absolute path (a string)")},
    "artifact": {
        "path": (_relative_path, True, "a path relative to the work dir, without '..'"),
        "category": _OPT_STR,
        "mime": _OPT_STR,
        "size": (_opt_int, False, "an integer or null"),
        "sha256": _OPT_STR,
        "step": (_opt_int, False, "an integer or null"),
        "phase": _OPT_STR,
        "agent": _OPT_STR,
        "node_id": (_opt_id, False, "a node id or null"),
    },
}


def event_problem(type: str, data: Any) -> str | None:
    """What is wrong with an event of ``type`` carrying ``data``, or None when it has its shape.

    On the path of every event (host and reducer): a dict lookup and a few isinstance checks.
    """
    shape = SHAPES.get(type)
    if shape is None:
        return None  # an unknown type: delivered and kept as it is
    if data.__class__ is not dict and not isinstance(data, Mapping):
        return f"{type}: data must be an object, not {_kind(data)}"
    if type == "dag_node_add" and "node_id" not in data and "id" in data:  # the reducer's fallback
        data = {**data, "node_id": data["id"]}
    for field, (accepts, required, what) in shape.items():
        value = data.get(field, _MISSING)
        if value is _MISSING:
            if required:
                return f"{type}: {field!r} is missing (it must be {what})"
        elif not accepts(value):
            return f"{type}: {field!r} must be {what}, not {_preview(value)}"
    return None


def check_data(type: str, data: Any) -> None:
    """Raise a ``TypeError`` naming the problem of a malformed event (the Emitter's check)."""
    problem = event_problem(type, data)
    if problem is not None:
        raise TypeError(problem)


def _kind(value: Any) -> str:
    return type(value).__name__


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "…"
