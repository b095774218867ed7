"""Watching a worker process from whoever holds it: reaping it, bounding its memory, timing it.

The host's supervisor watches a local worker with these; the Dask relay watches the worker it runs
on a Dask worker with the very same functions (only that machine can see the worker's processes),
so the rules are written once: after the worker exits, what is left of its group is killed and its
pipes get :data:`DRAIN_GRACE` seconds to drain; its whole process tree is measured every
:data:`MEMORY_POLL` seconds against the limit. The timeout counts the time the run runs, not the
time it waits for its user to decide on a plan (:class:`HeldTime`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

__all__ = ["DRAIN_GRACE", "MEMORY_POLL", "HeldTime", "reap", "tree_rss", "watch_memory", "watch_timeout"]

#: After the worker exits, its pipes have this long to drain before they are closed.
DRAIN_GRACE: Final = 2.0
#: Seconds between two measures of the worker tree's memory.
MEMORY_POLL: Final = 0.2


async def reap(worker: Any, on_exit: Callable[[int], None] | None = None) -> int:
    """When ``worker`` exits: tell ``on_exit`` its return code, kill what is left of its group, then
    let the pipes drain (closing them after DRAIN_GRACE: children that outlived the kill may hold
    them open). Returns the return code."""
    returncode = await worker.wait()
    if on_exit is not None:
        on_exit(returncode)
    worker.signal(signal.SIGKILL)
    try:
        await asyncio.wait_for(worker.pipes_closed.wait(), DRAIN_GRACE)
    except TimeoutError:
        worker.close_pipes()
    return int(returncode)


def tree_rss(pids: Iterable[int]) -> int:
    """The resident memory of these processes, in bytes (processes gone meanwhile count 0)."""
    import psutil

    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(pid).memory_info().rss
    return total


async def watch_memory(worker: Any, limit_mb: float, on_sample: Callable[[int], None] | None = None) -> str:
    """Return, with the message to report, once ``worker``'s process tree uses more than ``limit_mb``
    (``on_sample(bytes)`` sees every measure, e.g. to keep the peak)."""
    while True:
        await asyncio.sleep(MEMORY_POLL)
        used = tree_rss(worker.pids())
        if on_sample is not None:
            on_sample(used)
        if used > limit_mb * 2**20:
            return f"the worker used {used / 2**20:.0f} MB, over its memory_limit_mb of {limit_mb:g}; stopped"


class HeldTime:
    """A Router sink (after the RunState's): how long the run has waited in ``awaiting_approval``."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.total = 0.0
        self.since: float | None = None

    def __call__(self, event: Any) -> None:  # every event passes: the clock is read only on a change
        waiting = self.state.status == "awaiting_approval"
        if waiting == (self.since is not None):
            return
        now = time.monotonic()
        if self.since is None:
            self.since = now
        else:
            self.total += now - self.since
            self.since = None

    def seconds(self, now: float) -> float:
        return self.total + (now - self.since if self.since is not None else 0.0)


async def watch_timeout(seconds: float, held: HeldTime) -> None:
    """Return once the run has run ``seconds``, not counting the time ``held`` (awaiting approval)."""
    end = time.monotonic() + seconds
    while True:  # the end moves while the run is held: look again when the old end comes
        left = end + held.seconds(time.monotonic()) - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(left)
