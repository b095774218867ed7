"""The host-to-worker channel: the task spec first, then answers to the worker's questions.

The worker's stdin is ``/dev/null``, so nothing an engine does can block on it; human input for
``hitl`` tasks (``{"type": "input", "request_id", "text"}``) and the user's decision on a proposed
plan (``{"type": "plan_decision", "request_id", "approved", "plan"|"feedback"}``) arrive here
instead, one JSON object per line. A worker waiting for one blocks on a condition: no tokens, no CPU.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

__all__ = ["ControlChannel"]


class ControlChannel:
    """Reads the control pipe: the spec synchronously, then input answers on a daemon thread."""

    def __init__(self, fd: int) -> None:
        self._file = os.fdopen(fd, "rb", buffering=0)
        self._buffer = b""
        self._answers: dict[str, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._closed = False

    def read_spec(self) -> dict[str, Any]:
        """The task spec (``task_id``, ``task``, ``config``, ``engine``, ``dag``), the first line."""
        line = self._readline()
        if not line:
            raise RuntimeError("the host closed the control channel before sending the task")
        spec = json.loads(line)
        threading.Thread(target=self._read_answers, name="cmbjupyter-control", daemon=True).start()
        return spec

    def ask(self, request_id: str, prompt: str) -> str:
        """Wait for the answer to ``request_id``; raises EOFError if the host goes away first."""
        return str(self._wait(request_id, repr(prompt)).get("text", ""))

    def decision(self, request_id: str) -> dict[str, Any]:
        """Wait for the user's decision on the plan proposed as ``request_id`` (the host checked it)."""
        return self._wait(request_id, "the proposed plan")

    def _wait(self, request_id: str, what: str) -> dict[str, Any]:
        with self._cond:
            while request_id not in self._answers:
                if self._closed:
                    raise EOFError(f"no answer to {what}: the host closed the control channel")
                self._cond.wait()
            return self._answers.pop(request_id)

    def _readline(self) -> bytes:
        while b"\n" not in self._buffer:
            chunk = self._file.read(65536)
            if not chunk:
                line, self._buffer = self._buffer, b""
                return line
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _read_answers(self) -> None:
        while line := self._readline():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("type") in ("input", "plan_decision"):
                with self._cond:
                    self._answers[str(message.get("request_id"))] = message
                    self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
