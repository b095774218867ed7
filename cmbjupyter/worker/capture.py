"""Python-level stdout/stderr of the worker, turned into ``output`` events.

``print()`` in engine code goes through :class:`EventStream`, so it is ordered exactly with the
events the engine emits. A piece sent before its line ended (a flush, a line past CHUNK_CHARS) is
marked ``partial``, so the host can redact a secret printed across two pieces. Output written
below Python (C extensions, child processes, faulthandler) goes to file descriptors 1 and 2, which
are pipes the host reads; see ``backends/local.py``.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable

from .emit import ChannelClosed, Emitter

__all__ = ["EventStream"]

#: A line without newline is sent anyway once it is this long (progress bars, huge dumps).
CHUNK_CHARS = 64 * 1024


class EventStream(io.TextIOBase):
    """A text stream whose complete lines become ``output`` events on ``stream``."""

    def __init__(
        self, emit: Emitter, stream: str, fileno: int, *, on_host_gone: Callable[[str], None] | None = None
    ) -> None:
        super().__init__()
        #: Called when a write finds that the host stopped reading (a task that only prints would
        #: otherwise run on, unseen, after its host died).
        self._on_host_gone = on_host_gone
        self._emit = emit
        self._stream = stream
        self._fileno = fileno
        self._buffer: list[str] = []
        self._size = 0
        self._line_open = False  # the last piece sent ended mid-line (a long line, or a flush)
        self._lock = threading.Lock()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return "replace"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        """The real descriptor, for code that hands it to a child process (still captured)."""
        return self._fileno

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            self._buffer.append(text)
            self._size += len(text)
            if "\n" in text or self._size >= CHUNK_CHARS:
                self._send(complete_lines_only=self._size < CHUNK_CHARS)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._send(complete_lines_only=False)

    def _send(self, *, complete_lines_only: bool) -> None:
        text = "".join(self._buffer)
        rest = ""
        if complete_lines_only:
            cut = text.rfind("\n") + 1
            text, rest = text[:cut], text[cut:]
        self._buffer = [rest] if rest else []
        self._size = len(rest)
        if self._line_open and text.startswith("\n"):
            text = text[1:]  # the newline that ends a line already sent in pieces: no empty line
            self._line_open = False
        if text:
            self._line_open = not text.endswith("\n")
            data: dict[str, object] = {"message": text[:-1] if text.endswith("\n") else text}
            data["stream"] = self._stream
            if self._line_open:
                data["partial"] = True  # the line goes on in the next piece (see redact.StreamRedactor)
            try:
                self._emit.event("output", data)
            except ChannelClosed as exc:  # print must not raise; a dead host ends the run
                if self._on_host_gone is not None and isinstance(exc.__cause__, BrokenPipeError):
                    self._on_host_gone("the host stopped reading the event pipe")
