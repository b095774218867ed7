"""What a finished task costs the server in memory, and giving it back.

A finished task stays listed (its RunState answers ``GET tasks/{id}``), but a task that printed
50 MB must not keep 50 MB: the registry bounds the finished tasks by estimated bytes. The estimate
is cheap and taken once, when a task ends: the text its replay buffer holds (plus a per-event
overhead) and the size of its RunState snapshot as JSON. Python keeps freed memory in its heap, so
after a big release the heap is trimmed (glibc ``malloc_trim``), which is what lets the server's
RSS come back near its baseline (``benchmarks/server_memory.py``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from typing import Any, Final

from ..events import dumps

__all__ = ["EVENT_OVERHEAD", "entry_bytes", "event_bytes", "trim_heap"]

#: Bytes a buffered event costs beyond its text (the event and data dicts, seq, ts...).
EVENT_OVERHEAD: Final = 600
#: A release this big is followed by a heap trim (smaller ones are not worth the system call).
TRIM_AFTER_BYTES: Final = 4 * 2**20

_libc: Any = None


def event_bytes(event: dict[str, Any]) -> int:
    """A cheap estimate of what one buffered event holds: its strings' lengths plus an overhead."""
    data = event.get("data")
    size = EVENT_OVERHEAD
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, str):
                size += len(value)
            elif isinstance(value, (dict, list)):
                size += EVENT_OVERHEAD  # a nested value (DAG, context): rare and small next to output
    return size


def entry_bytes(entry: Any) -> int:
    """What a finished task (a registry ``TaskEntry``) keeps in memory: its replay buffer, its state
    (result included) and what its run holds besides (stderr tail, conversation)."""
    buffered = sum(event_bytes(event) for event in entry.buffer.events)
    return buffered + len(dumps(entry.state.snapshot())) + entry.run.held_bytes()


def trim_heap(released: int) -> bool:
    """Give freed heap memory back to the OS after a release of ``released`` bytes (glibc only)."""
    global _libc
    if released < TRIM_AFTER_BYTES:
        return False
    if _libc is None:
        _libc = False
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc = libc if hasattr(libc, "malloc_trim") else False
    if not _libc:
        return False
    return bool(_libc.malloc_trim(0))
