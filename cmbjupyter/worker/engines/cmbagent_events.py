"""AG2's structured events as the run's transcript: who said what, which tools, what code ran.

cmbagent's AG2 fork reports a chat through ``IOStream.send(event)``: a ``TextEvent`` for each
message (sender, recipient, content), ``ToolCallEvent`` / ``ToolResponseEvent`` for tool calls and
their results, ``GroupChatRunChatEvent`` when the group chat hands the floor to a speaker,
``TerminationEvent`` when a chat ends, ``GenerateCodeExecutionReplyEvent`` before the executor
runs code. :class:`EmitIOStream` turns each into the Emitter's structured event, never parsing
printed text. Events that only repeat what another says (``UsingAutoReplyEvent``, the
``PostCarryoverProcessingEvent`` banner, ``ExecuteFunctionEvent``) or that print AG2's own cost
tables (the usage summaries: the host prices every call itself) are left out; any other event is
printed as before, an ``output`` line.

The code the agents run goes through ``LocalCommandLineCodeExecutor.execute_code_blocks``, whose
result has the exit code and the real output; :func:`hook_code_execution` reports each call as a
``code_execution`` of the agent that wrote the code (the engineer, not its formatter or the
executor), with its duration; what the program printed is also a raw ``stdout`` line of the console.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import time
from typing import Any, Final

__all__ = ["EmitIOStream", "agent_var", "hook_code_execution"]

#: The agent whose LLM call is under way (set by the engine's reply hook; for costs and prints).
agent_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("cmbagent_agent", default=None)

#: AG2 events that repeat what another event says, or print AG2's cost tables: not reported.
QUIET: Final = frozenset(
    {
        "UsingAutoReplyEvent",
        "PostCarryoverProcessingEvent",
        "ExecuteFunctionEvent",
        "ExecutedFunctionEvent",
        "UsageSummaryEvent",
        "ConversableAgentUsageSummaryEvent",
        "ConversableAgentUsageSummaryNoCostIncurredEvent",
    }
)
#: Senders whose messages are the human's side of the chat.
USERS: Final = frozenset({"_User", "admin", "user"})
#: Suffixes of cmbagent's helper agents: the code of ``engineer_response_formatter`` is the engineer's.
HELPER_SUFFIXES: Final = ("_response_formatter", "_nest")
#: Tool calls whose caller is remembered until their result comes (a bound: results may never come).
PENDING_CALLS: Final = 1000


def _text(content: Any) -> str:
    """A message's content as text (AG2 allows a list of parts: text and image placeholders)."""
    if content is None:
        return ""
    if isinstance(content, list):
        parts = [p.get("text") if isinstance(p, dict) else str(p) for p in content]
        return "\n".join(p for p in parts if isinstance(p, str))
    return str(content)


def _author(agent: str | None) -> str | None:
    for suffix in HELPER_SUFFIXES:
        if agent and agent.endswith(suffix):
            return agent[: -len(suffix)]
    return agent


def _arguments(text: Any) -> Any:
    """Tool call arguments: the JSON value they encode, else their text."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


class EmitIOStream:
    """AG2's IOStream protocol (print, send, input) over the Emitter."""

    def __init__(self, emit: Any, tracker: Any = None) -> None:
        self.emit = emit
        self.tracker = tracker
        #: The agent that last wrote a code block: the author of the code the executor runs next.
        self.code_author: str | None = None
        self._callers: dict[str, str] = {}  # tool call id -> the agent that called

    def print(self, *objects: Any, sep: str = " ", end: str = "\n", flush: bool = False) -> None:
        text = sep.join(str(o) for o in objects)
        if text.strip():
            self.emit.output(text, agent=agent_var.get())

    def input(self, prompt: str = "", *, password: bool = False) -> str:
        return self.emit.ask(prompt or "Your answer:")

    def send(self, message: Any) -> None:
        event = getattr(message, "content", message)  # AG2 wraps each event: {type, content}
        kind = type(event).__name__
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(event)
        elif kind not in QUIET and hasattr(message, "print"):
            message.print(self.print)

    # ------------------------------------------------------------------ one method per AG2 event

    def _on_TextEvent(self, event: Any) -> None:  # named after AG2's classes
        sender, text = getattr(event, "sender", None), _text(getattr(event, "content", None))
        if not text.strip():
            return
        if "```" in text:
            self.code_author = _author(sender)
        role = "user" if sender in USERS else "assistant"
        self.emit.message(text, agent=sender, role=role, recipient=getattr(event, "recipient", None))

    def _on_ToolCallEvent(self, event: Any) -> None:
        sender = getattr(event, "sender", None)
        text = _text(getattr(event, "content", None))
        if text.strip():
            self.emit.message(text, agent=sender, recipient=getattr(event, "recipient", None))
        for call in getattr(event, "tool_calls", None) or ():
            function = getattr(call, "function", None)
            name = str(getattr(function, "name", None) or "tool")
            arguments = getattr(function, "arguments", None) or ""
            call_id = str(getattr(call, "id", None) or f"call-{id(call)}")
            self._remember(call_id, sender)
            self.emit.tool_call(call_id, name, _arguments(arguments), agent=sender)
            if self.tracker is not None:
                self.tracker.on_call(name, str(arguments))

    def _on_FunctionCallEvent(self, event: Any) -> None:
        function = getattr(event, "function_call", None)
        name = str(getattr(function, "name", None) or "function")
        sender = getattr(event, "sender", None)
        self._remember(name, sender)
        self.emit.tool_call(name, name, _arguments(getattr(function, "arguments", None)), agent=sender)

    def _on_ToolResponseEvent(self, event: Any) -> None:
        for response in getattr(event, "tool_responses", None) or ():
            call_id = str(getattr(response, "tool_call_id", None) or "")
            self._result(call_id, _text(getattr(response, "content", None)), getattr(event, "sender", None))

    def _on_FunctionResponseEvent(self, event: Any) -> None:
        name = str(getattr(event, "name", None) or "function")
        self._result(name, _text(getattr(event, "content", None)), getattr(event, "sender", None))

    def _on_GroupChatRunChatEvent(self, event: Any) -> None:
        speaker = getattr(event, "speaker", None)
        if isinstance(speaker, str):
            self.emit.speaker(speaker)

    def _on_TerminationEvent(self, event: Any) -> None:
        self.emit.termination(str(getattr(event, "termination_reason", "") or "the chat ended"))

    def _on_GenerateCodeExecutionReplyEvent(self, event: Any) -> None:
        """The executor is about to run code: reported with its result (hook_code_execution)."""

    # ------------------------------------------------------------------ internals

    def _remember(self, call_id: str, agent: Any) -> None:
        if isinstance(agent, str):
            self._callers[call_id] = agent
            if len(self._callers) > PENDING_CALLS:
                del self._callers[next(iter(self._callers))]

    def _result(self, call_id: str, content: str, sender: Any) -> None:
        """A tool's result, said by the agent that called it (AG2's sender is its tool executor)."""
        agent = self._callers.pop(call_id, sender if isinstance(sender, str) else None)
        is_error = content.lstrip().startswith("Error:")  # AG2's text for a tool that raised
        self.emit.tool_result(call_id, content, is_error=is_error, agent=agent)


def hook_code_execution(emit: Any, stream: EmitIOStream) -> None:
    """Report each run of AG2's local code executor as a ``code_execution`` with its exit code."""
    from autogen.coding.local_commandline_code_executor import LocalCommandLineCodeExecutor

    execute = LocalCommandLineCodeExecutor.execute_code_blocks

    def reported(self: Any, code_blocks: Any) -> Any:
        started = time.monotonic()
        blocks = list(code_blocks)
        language = str(getattr(blocks[0], "language", "") or "python") if blocks else "python"
        code = "\n\n".join(str(getattr(b, "code", b)) for b in blocks)
        agent = stream.code_author or "executor"
        try:
            result = execute(self, code_blocks)
        except Exception as exc:
            with contextlib.suppress(Exception):
                failed = f"{type(exc).__name__}: {exc}"
                took = time.monotonic() - started
                emit.code_execution(
                    language, code, exit_code=None, output=failed, duration_s=took, agent=agent
                )
            raise
        exit_code = getattr(result, "exit_code", None)
        output = str(getattr(result, "output", "") or "")
        emit.code_execution(
            language,
            code,
            exit_code=exit_code if isinstance(exit_code, int) else None,
            output=output,
            duration_s=time.monotonic() - started,
            agent=agent,
        )
        if output.strip():  # what the program printed is raw stdout too: the console shows it
            emit.output(output.rstrip("\n"), stream="stdout", agent=agent)
        return result

    LocalCommandLineCodeExecutor.execute_code_blocks = reported
