"""EventBuffer and the subscriber loops: replay from a ``seq``, then follow live, never blocking the run.

A task's Router delivers every event to :meth:`EventBuffer.__call__` inline, so that call only
appends to a bounded deque and wakes the subscribers; it never awaits and never grows per
subscriber. Each subscriber (a WebSocket) runs its own loop with a *cursor* (the last ``seq`` it
sent) and reads from the shared buffer at its own pace. A subscriber that falls so far behind that
its cursor has left the buffer -- a slow client, or a reconnect with an old ``since`` -- is sent a
``snapshot`` message (the whole RunState at ``seq`` N) and continues with the events after N. So a
slow client costs the server one bounded buffer per task whatever the event rate, and a client never
misses a change: it either gets every event after its ``since``, or a snapshot that contains them.

Messages a subscriber receives (JSON objects)::

    event     {"v", "type", "task_id", "seq", "ts", "data"}   (the wire event, unchanged)
    snapshot  {"v": 1, "type": "snapshot", "task_id", "seq": N, "ts", "data": RunState.snapshot(),
               "reason": "since_too_old" | "lagging" | "state"}

Nothing here imports tornado or jupyter_server: the loops take a ``send`` coroutine.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Final

from ..events import PROTOCOL_VERSION, Event, now_iso
from ..state import RunState

__all__ = ["BATCH", "EventBuffer", "follow_events", "follow_state", "snapshot_message"]

#: Most events sent in one ``send`` call (one WebSocket frame each, flow-controlled per batch).
BATCH: Final = 500
#: Snapshot-mode subscribers (browsers) get at most this many snapshots a second (~20/s).
STATE_RATE: Final = 20.0

Send = Callable[[list[dict[str, Any]]], Awaitable[None]]


class EventBuffer:
    """The last ``limit`` events of one task, in ``seq`` order, plus wake-ups for its subscribers.

    ``seq`` values in the buffer are contiguous (the supervisor numbers every event it routes and
    the buffer is added to the Router before the first one), so ``since(seq)`` is index arithmetic.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"event buffer limit must be at least 1, not {limit}")
        self.events: deque[Event] = deque(maxlen=limit)
        self.closed = False
        self._waiters: set[asyncio.Event] = set()

    def __call__(self, event: Event) -> None:
        """Router sink: keep the event and wake every subscriber (O(subscribers), no awaits)."""
        self.events.append(event)
        self._wake()

    def close(self) -> None:
        """The task is over: subscribers drain what is left, then end."""
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    def release(self, keep: int = 1) -> None:
        """Free memory of a finished task: keep only its last ``keep`` events (``complete``).

        Later subscribers asking for older events get a snapshot instead, as for any gap.
        """
        while len(self.events) > keep:
            self.events.popleft()

    def subscribe(self) -> asyncio.Event:
        waiter = asyncio.Event()
        waiter.set()
        self._waiters.add(waiter)
        return waiter

    def unsubscribe(self, waiter: asyncio.Event) -> None:
        self._waiters.discard(waiter)

    @property
    def subscribers(self) -> int:
        return len(self._waiters)

    @property
    def first_seq(self) -> int | None:
        return self.events[0]["seq"] if self.events else None

    @property
    def last_seq(self) -> int:
        return self.events[-1]["seq"] if self.events else 0

    def since(self, seq: int) -> list[Event] | None:
        """The buffered events after ``seq``; None when some of them have already left the buffer."""
        first = self.first_seq
        if first is None:
            return [] if seq >= 0 else None
        if seq < first - 1:
            return None
        start = seq - first + 1
        if start >= len(self.events):
            return []
        return list(itertools.islice(self.events, start, None))


def snapshot_message(state: RunState, reason: str) -> dict[str, Any]:
    """The whole RunState as one message, stamped with the ``seq`` it includes."""
    return {
        "v": PROTOCOL_VERSION,
        "type": "snapshot",
        "task_id": state.task_id,
        "seq": state.last_seq,
        "ts": now_iso(),
        "reason": reason,
        "data": state.snapshot(),
    }


def _chunks(events: list[Event], size: int) -> Iterator[list[Event]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


async def follow_events(buffer: EventBuffer, state: RunState, since: int, send: Send) -> None:
    """Send every event after ``since``, then each new one, until the task's last event was sent.

    A cursor that has left the buffer (``since`` too old, or this subscriber too slow) gets a
    snapshot first. ``send`` awaits flow control (the socket took the batch), which is what makes
    a slow client lag behind -- and then catch up by snapshot -- instead of queueing without bound.
    """
    cursor = max(0, since)
    waiter = buffer.subscribe()
    lagging = False
    try:
        while True:
            waiter.clear()
            batch = buffer.since(cursor)
            if batch is None:
                message = snapshot_message(state, "lagging" if lagging else "since_too_old")
                cursor = message["seq"]
                await send([message])
                continue
            if batch:
                for chunk in _chunks(batch, BATCH):
                    await send(chunk)
                    cursor = chunk[-1]["seq"]
                lagging = True  # from now on, a gap means this subscriber fell behind
                continue
            if buffer.closed:
                return
            await waiter.wait()
    finally:
        buffer.unsubscribe(waiter)


async def follow_state(
    buffer: EventBuffer, state: RunState, since: int, send: Send, rate: float = STATE_RATE
) -> None:
    """Send RunState snapshots, at most ``rate`` a second, whenever the state moved past ``since``.

    For browsers: they render RunState and never re-implement the reducer (docs/architecture.md). The final
    state is always sent before the loop ends.
    """
    sent = since if since > 0 else -1
    interval = 1.0 / rate
    waiter = buffer.subscribe()
    try:
        while True:
            waiter.clear()
            if state.last_seq != sent:
                message = snapshot_message(state, "state")
                sent = message["seq"]
                await send([message])
                if not buffer.closed:
                    await asyncio.sleep(interval)
                continue
            if buffer.closed:
                return
            await waiter.wait()
    finally:
        buffer.unsubscribe(waiter)
