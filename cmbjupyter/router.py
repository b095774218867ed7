"""Fan-out of a run's events to its sinks, and coalescing for the slow ones.

Two kinds of consumers:

* **ordered sinks** see every event, in order (the ``output_callback``, the session saver, the event
  log). They run inline, so they must be quick; an async one is awaited.
* **snapshot subscribers** (widgets, browsers) see the run's state at most ``rate`` times a second,
  never one message per event: Jupyter drops iopub messages above ~1000/s, and a browser cannot draw
  faster than it can paint. Whatever the event rate, a subscriber gets the latest state, and always
  the final one.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from .events import Event
from .state import RunState

__all__ = ["EventSink", "Router", "Throttle", "callback_sink"]

EventSink = Callable[[Event], Awaitable[None] | None]
#: A sink's form for a run of events (see :meth:`Router.add`).
ManySink = Callable[[list[Event]], Any]

DEFAULT_RATE: Final = 20.0


def callback_sink(callback: Callable[..., Any]) -> Callable[[Event], Any]:
    """Adapt ``callback(event_type, data)`` (or ``(event_type, data, event)``) to a Router sink."""
    try:
        params = inspect.signature(callback).parameters.values()
        wants_event = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) >= 3 or any(
            p.kind == p.VAR_POSITIONAL for p in params
        )
    except (TypeError, ValueError):
        wants_event = False
    if inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(type(callback).__call__):

        async def async_sink(event: Event) -> None:
            if wants_event:
                await callback(event["type"], event["data"], event)
            else:
                await callback(event["type"], event["data"])

        return async_sink

    def sink(event: Event) -> None:
        result = (
            callback(event["type"], event["data"], event)
            if wants_event
            else callback(event["type"], event["data"])
        )
        if inspect.isawaitable(result):  # a sync function that returned a coroutine: still deliver in order
            raise TypeError("output_callback returned an awaitable; declare it with 'async def'")

    return sink


class Router:
    """Delivers each event to every sink, in the order sinks were added."""

    def __init__(self) -> None:
        self._sinks: list[tuple[EventSink, bool, ManySink | None]] = []

    def add(self, sink: EventSink, *, many: ManySink | None = None) -> None:
        """Add ``sink``; ``many``, if given, takes a run of events at once exactly as ``sink`` would
        one by one (a synchronous function: the RunState's ``apply_many``, the recorder's)."""
        self._sinks.append((sink, inspect.iscoroutinefunction(sink), many))

    def remove(self, sink: EventSink) -> None:
        self._sinks = [entry for entry in self._sinks if entry[0] is not sink]

    async def publish(self, event: Event) -> None:
        for sink, is_async, _many in self._sinks:
            if is_async:
                await sink(event)  # type: ignore[misc]
            else:
                sink(event)

    async def publish_many(self, events: list[Event]) -> None:
        """Deliver a run of events: each sink gets all of them, in order, before the next sink does.

        Every sink still sees every event in order; what differs from :meth:`publish` one by one is
        only that a later sink reading the RunState sees it after the whole run. The supervisor uses
        it for runs of ``output`` events (printed lines change nothing a sink reads but the console).
        """
        for sink, is_async, many in self._sinks:
            if many is not None:
                many(events)
            elif is_async:
                for event in events:
                    await sink(event)  # type: ignore[misc]
            else:
                for event in events:
                    sink(event)


class Throttle:
    """Calls ``on_snapshot(state.snapshot())`` at most ``rate`` times a second while events arrive.

    Add :meth:`__call__` to a Router after the RunState: each event only marks the state dirty and,
    if no flush is pending, schedules one on the event loop. :meth:`flush` sends the latest state at
    once (the executor calls it at the end, so the final state is never lost to throttling).
    """

    def __init__(
        self, state: RunState, on_snapshot: Callable[[dict[str, Any]], Any], rate: float = DEFAULT_RATE
    ) -> None:
        self.state = state
        self.on_snapshot = on_snapshot
        self.interval = 1.0 / rate
        self.sent = 0
        self._dirty = False
        self._last = 0.0
        self._handle: asyncio.TimerHandle | None = None

    def __call__(self, event: Event) -> None:
        self._dirty = True
        if self._handle is None:
            delay = max(0.0, self._last + self.interval - time.monotonic())
            self._handle = asyncio.get_running_loop().call_later(delay, self._scheduled)

    def _scheduled(self) -> None:
        self._handle = None
        self.flush()

    def flush(self) -> None:
        """Send the current state now if it changed since the last send."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if not self._dirty:
            return
        self._dirty = False
        self._last = time.monotonic()
        self.sent += 1
        self.on_snapshot(self.state.snapshot())

    def close(self) -> None:
        """Final flush; no more scheduled sends."""
        self.flush()
