"""The host-to-worker channel: the task spec first, then answers to ``input_request`` events.

The worker's stdin is ``/dev/null``, so nothing an engine does can block on it; human input for
``hitl`` tasks arrives here instead, one JSON object per line.
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
        self._answers: dict[str, str] = {}
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
        with self._cond:
            while request_id not in self._answers:
                if self._closed:
                    raise EOFError(f"no answer to {prompt!r}: the host closed the control channel")
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
            if isinstance(message, dict) and message.get("type") == "input":
                with self._cond:
                    self._answers[str(message.get("request_id"))] = str(message.get("text", ""))
                    self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
