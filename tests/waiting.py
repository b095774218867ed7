"""Waiting for a condition, never for a duration: CI is a shared, loaded 2-core machine, so a test
that sleeps a fixed time and then asserts (or asserts that something took less than N seconds)
passes on an idle machine and fails on a busy one. These poll a condition until it holds, within a
bound generous enough for any machine (a hang still fails, with what was awaited in the message)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final, TypeVar

T = TypeVar("T")

#: Seconds to wait for a condition before failing: far above any healthy run, below pytest's timeout.
BOUND: Final = 60.0
#: Seconds between two checks of the condition.
POLL: Final = 0.02


def wait_until(condition: Callable[[], T], within: float = BOUND, what: str = "the condition") -> T:
    """Poll ``condition()`` until it is truthy and return it; AssertionError after ``within`` s."""
    deadline = time.monotonic() + within
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {within:g} s waiting for {what}"
        time.sleep(POLL)
    return value


async def until(condition: Callable[[], T], within: float = BOUND, what: str = "the condition") -> T:
    """:func:`wait_until` for a coroutine: the event loop runs while it waits."""
    deadline = time.monotonic() + within
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {within:g} s waiting for {what}"
        await asyncio.sleep(POLL)
    return value


__all__ = ["BOUND", "until", "wait_until"]
