"""EventLog: a run's events as JSONL on disk, for replay and for catching up after a disconnect.

Bounded: past ``max_bytes`` the log stops recording ``output`` events and the transcript's
(``message``, ``tool_call``..., the flood a chatty run makes; it counts them and says so once) but
keeps every structural event (DAG, phase, cost, result, error), so a replay still ends in
the exact final DAG and cost, whatever the run printed. It writes events as it gets them: they
were redacted once, at the one point every event of a run passes (the supervisor's dispatch).

Writes go through a 256 KiB buffer (a flood costs few system calls), but nothing stays in it for
long: an append flushes once the oldest unflushed event is ``MAX_UNFLUSHED_AGE`` old, and the
supervisor calls :meth:`EventLog.flush_stale` on a timer while the worker is quiet. A host killed
with ``kill -9`` therefore loses about a second of events at most (a flushed write is in the OS).

The log is never appended through a symlink nor to anything but a regular file (a FIFO, a device):
such a log is refused, the run goes on without it and reports why.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import IO, Any, Final

from ._safefile import open_append
from ._shapes import TRANSCRIPT_KINDS
from .events import encode, make_event

__all__ = ["MAX_UNFLUSHED_AGE", "EventLog"]

DEFAULT_MAX_BYTES: Final = 64 * 1024 * 1024
#: Bytes buffered before a write to the file (a flood is written in big chunks).
BUFFER_BYTES: Final = 256 * 1024
#: Seconds an event may wait in the buffer: a killed host loses at most about this much.
MAX_UNFLUSHED_AGE: Final = 1.0
#: The event types not logged past ``max_bytes`` (the ones a run can make without bound).
FLOOD_TYPES: Final = frozenset({"output", *TRANSCRIPT_KINDS})


class EventLog:
    """Appends events to ``path``. Write errors (a full disk) disable it instead of failing the run."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.size = 0
        self.dropped_outputs = 0
        self.error: str | None = None
        self._file: IO[bytes] | None = None
        #: time.monotonic() of the oldest event written since the last flush (None: all flushed).
        self._unflushed_since: float | None = None

    def append(self, event: dict[str, Any]) -> None:
        if self.error is not None:
            return
        if self.size >= self.max_bytes and event.get("type") in FLOOD_TYPES:
            if not self.dropped_outputs:
                marker = make_event(
                    "log_truncated",
                    {
                        "max_bytes": self.max_bytes,
                        "note": "output and transcript events past this point are not logged",
                    },
                )
                self._write(encode(marker))
            self.dropped_outputs += 1
            return
        self._write(encode(event))
        self.flush_stale()

    def flush_stale(self, max_age: float = MAX_UNFLUSHED_AGE) -> None:
        """Flush if the oldest buffered event is ``max_age`` seconds old (or older)."""
        since = self._unflushed_since
        if since is not None and time.monotonic() - since >= max_age:
            self.flush()

    def flush(self) -> None:
        self._unflushed_since = None
        if self._file is not None and self.error is None:
            try:
                self._file.flush()
            except OSError as exc:
                self._fail(exc)

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def _write(self, line: bytes) -> None:
        try:
            if self._file is None:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                self._file = open_append(self.path, buffering=BUFFER_BYTES)
            self._file.write(line)
            self.size += len(line)
            if self._unflushed_since is None:
                self._unflushed_since = time.monotonic()
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        self.error = f"event log {self.path} disabled: {exc.strerror or exc}"
        with contextlib.suppress(OSError):
            if self._file is not None:
                self._file.close()
        self._file = None
