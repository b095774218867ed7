"""Where a worker runs: a local subprocess (default) or a Dask cluster.

A backend has ``async spawn(spec, *, python, env, cwd) -> WorkerHandle``. The supervisor needs
nothing else from it, so every backend behaves the same to the caller: same events, same ``seq``,
same failures.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import AsyncIterator, Mapping
    from typing import Any, Protocol

    from ..events import Event

    class WorkerHandle(Protocol):
        """One running worker, as the supervisor sees it."""

        #: False once the event pipe is closed (``event_pipe_closed`` is then set too).
        event_pipe_open: bool
        event_pipe_closed: asyncio.Event
        #: Set when every stream from the worker is closed: ``batches()`` is then exhausted.
        pipes_closed: asyncio.Event

        @property
        def returncode(self) -> int | None:
            """The worker's exit status once it has exited (negative: killed by that signal)."""

        def batches(self) -> AsyncIterator[list[Event]]:
            """Every event the worker produced (its event pipe, and its stdout/stderr as output events)."""

        async def send(self, message: Mapping[str, Any]) -> None:
            """Send a control message (the spec first, then input answers)."""

        def signal(self, signum: int) -> None:
            """Signal the worker's whole process group."""

        async def wait(self) -> int:
            """Wait for the worker to exit; its returncode."""

        def pids(self) -> list[int]:
            """Local pids of the worker tree (for the memory watchdog); [] when not local."""

        def close_pipes(self) -> None:
            """Stop reading (the run is over)."""
