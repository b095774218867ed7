"""The Emitter's transcript methods: what an agent said, which tools it called, the code it ran.

Each call sends one structured event (``message``, ``tool_call``, ``tool_result``,
``code_execution``, ``speaker``, ``termination``) with the agent, the current plan step, the DAG node
running, and a per-run ``message_id`` (1, 2, 3...) given in the order the events are written, from
any thread. The signatures are fixed (engines outside the project call them). Printed text stays
an ``output`` event: these are for what an engine knows the structure of.
"""

from __future__ import annotations

import json
from typing import Any

from .._shapes import CONTENT_TYPES, check_data
from .._transcript import ARGUMENT_CHARS, OUTPUT_CHARS, cap_tail
from ..events import encode_new, json_safe

__all__ = ["TranscriptEmitter"]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _opt_name(method: str, name: str, value: Any) -> None:
    if not (value is None or isinstance(value, str)):
        raise TypeError(f"emit.{method}: {name} must be a string or None, not {value!r}"[:200])


def _arguments(arguments: Any) -> Any:
    """Tool call arguments as sent: a JSON value, or its text when that is longer than the bound."""
    if isinstance(arguments, str):
        return arguments if len(arguments) <= ARGUMENT_CHARS else arguments[:ARGUMENT_CHARS] + "… [cut]"
    value = json_safe(arguments)
    text = json.dumps(value, ensure_ascii=False)
    return value if len(text) <= ARGUMENT_CHARS else text[:ARGUMENT_CHARS] + "… [cut]"


class TranscriptEmitter:
    """The transcript half of :class:`~cmbjupyter.worker.emit.Emitter` (a mixin)."""

    step: int | None
    agent: str | None
    active_nodes: list[str]
    _lock: Any
    _message_ids: int

    def _write(self, line: bytes) -> None:  # the Emitter's
        raise NotImplementedError

    def message(
        self,
        content: Any,
        *,
        agent: str | None = None,
        role: str = "assistant",
        content_type: str = "markdown",
        recipient: str | None = None,
    ) -> None:
        """An agent's message (``content_type``: ``"markdown"`` or ``"text"``)."""
        _opt_name("message", "agent", agent)
        _opt_name("message", "recipient", recipient)
        if not isinstance(role, str):
            raise TypeError(f"emit.message: role must be a string, not {role!r}")
        if content_type not in CONTENT_TYPES:
            raise ValueError(
                f"emit.message: content_type must be one of {', '.join(CONTENT_TYPES)}, not {content_type!r}"
            )
        data = {"role": role, "content": _text(content), "content_type": content_type}
        if recipient is not None:
            data["recipient"] = recipient
        self._say("message", data, agent)

    def tool_call(self, call_id: Any, name: str, arguments: Any, *, agent: str | None = None) -> None:
        """An agent calling a tool; ``arguments`` a JSON value or its text (bounded)."""
        _opt_name("tool_call", "agent", agent)
        if not isinstance(name, str):
            raise TypeError(f"emit.tool_call: name must be the tool's name, not {name!r}")
        self._say(
            "tool_call", {"call_id": _text(call_id), "name": name, "arguments": _arguments(arguments)}, agent
        )

    def tool_result(
        self, call_id: Any, content: Any, *, is_error: bool = False, agent: str | None = None
    ) -> None:
        """What a tool call returned (``is_error``: it failed)."""
        _opt_name("tool_result", "agent", agent)
        data = {"call_id": _text(call_id), "content": _text(content), "is_error": bool(is_error)}
        self._say("tool_result", data, agent)

    def code_execution(
        self,
        language: str,
        code: str,
        *,
        exit_code: int | None,
        output: Any = "",
        duration_s: float | None = None,
        agent: str | None = None,
    ) -> None:
        """Code an agent ran, its exit code and what it printed (the tail of it, when long)."""
        _opt_name("code_execution", "agent", agent)
        if duration_s is not None and (
            isinstance(duration_s, bool) or not isinstance(duration_s, (int, float))
        ):
            raise TypeError(
                f"emit.code_execution: duration_s must be a number of seconds, not {duration_s!r}"
            )
        data = {
            "language": _text(language),
            "code": _text(code),
            "exit_code": exit_code,
            "output": cap_tail(_text(output or ""), OUTPUT_CHARS),
            "duration_s": None if duration_s is None or duration_s != duration_s else round(duration_s, 3),
        }
        self._say("code_execution", data, agent)

    def speaker(self, agent: str) -> None:
        """The group chat chose ``agent`` to speak next."""
        if not isinstance(agent, str):
            raise TypeError(f"emit.speaker: agent must be a string, not {agent!r}")
        self._say("speaker", {}, agent)

    def termination(self, reason: Any) -> None:
        """A chat ended, and why."""
        self._say("termination", {"reason": _text(reason)}, None)

    def _say(self, kind: str, data: dict[str, Any], agent: str | None) -> None:
        """Number the event and write it (one lock: ids follow the order of the pipe)."""
        node_id = self.active_nodes[-1] if self.active_nodes else None
        full: dict[str, Any] = {"agent": agent, "step": self.step, "node_id": node_id, **data}
        with self._lock:
            full["message_id"] = self._message_ids + 1
            check_data(kind, full)
            self._write(encode_new(kind, full))
            self._message_ids += 1
        if agent is not None and agent != "cmbjupyter" and kind != "speaker":
            self.agent = agent
