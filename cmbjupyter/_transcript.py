"""The run's transcript: what the agents said and did, folded from the structured events.

``message``, ``tool_call``, ``tool_result``, ``code_execution``, ``speaker`` and ``termination``
events (the Emitter numbers them with a per-run ``message_id``) each become one *item* of the
transcript, kept in order. A scientist reads a run like a lab notebook, so an item keeps the whole
event (its agent, step and DAG node too), only its texts capped; the run keeps the last
:data:`TRANSCRIPT_KEPT` items in full and counts the rest (by kind and by agent), so a million
messages cost no more memory than a thousand. The JSONL event log keeps every event.

It also follows the code executions that failed and were not recovered (no later successful
execution of the same step and agent): the outcome's ``failed_executions``
(:mod:`cmbjupyter._verdict`). Standard library only: the worker imports the caps from here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, Final

from ._shapes import TRANSCRIPT_KINDS
from .events import Event

__all__ = [
    "ARGUMENT_CHARS",
    "CODE_CHARS",
    "CONTENT_CHARS",
    "FOLDS",
    "OUTPUT_CHARS",
    "TRANSCRIPT_CHARS",
    "TRANSCRIPT_KEPT",
    "Transcript",
    "cap_middle",
    "cap_tail",
]

#: Items a run keeps in full (the oldest go first, counted as dropped).
TRANSCRIPT_KEPT: Final = 1000
#: Characters of text (content, code, output) the kept items hold at most together: a run of huge
#: messages keeps fewer of them (the oldest are dropped first, counted), so the state stays bounded.
TRANSCRIPT_CHARS: Final = 4_000_000
#: Longest message / tool result content kept per item.
CONTENT_CHARS: Final = 20_000
#: Longest code kept per code execution.
CODE_CHARS: Final = 50_000
#: Longest output kept per code execution (the Emitter keeps its tail; the item its head and tail).
OUTPUT_CHARS: Final = 20_000
#: Longest tool call arguments (as JSON text) sent in an event.
ARGUMENT_CHARS: Final = 20_000
#: Distinct agents counted one by one in ``by_agent`` (more are counted under ``"…"``).
AGENTS_COUNTED: Final = 200
#: Places (step, agent) with unrecovered failed executions followed at once, and failures kept per
#: place (the oldest are forgotten past it).
FAILURES_KEPT: Final = 100
#: The fields of an item that are texts, and the cap of each.
_CAPS: Final = {"content": CONTENT_CHARS, "code": CODE_CHARS, "output": OUTPUT_CHARS}
#: The keys an item sets itself (``message_id`` becomes its ``id``).
_ITEM_KEYS: Final = frozenset({"message_id", "id", "kind", "seq", "ts"})


def _chars(item: Mapping[str, Any]) -> int:
    return sum(len(v) for k in _CAPS if isinstance(v := item.get(k), str))


def cap_middle(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters: its head and tail, with a marker saying what was cut."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n… [{len(text) - 2 * half} characters cut] …\n{text[-half:]}"


def cap_tail(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, keeping its end (what a program printed last)."""
    if len(text) <= limit:
        return text
    return f"[… {len(text) - limit} earlier characters cut]\n{text[-limit:]}"


class Transcript:
    """The bounded transcript of one run (a RunState field, set only by the folds below)."""

    def __init__(self) -> None:
        self.items: deque[dict[str, Any]] = deque()
        self.chars = 0  # text characters of the kept items
        self.count = 0
        self.by_kind: dict[str, int] = {}
        self.by_agent: dict[str, int] = {}
        #: (step, agent) -> the message ids of its failed code executions since its last success.
        self.failing: dict[tuple[Any, Any], list[int]] = {}

    def add(self, kind: str, data: Mapping[str, Any], event: Event) -> None:
        item: dict[str, Any] = {
            "id": data.get("message_id"),
            "kind": kind,
            "seq": event.get("seq"),
            "ts": event.get("ts"),
        }
        for key, value in data.items():
            if key in _ITEM_KEYS:  # the item's own: an event's field never overrides them
                continue
            limit = _CAPS.get(key)
            item[key] = cap_middle(value, limit) if limit and isinstance(value, str) else value
        for key in ("agent", "step", "node_id"):
            item.setdefault(key, None)
        self._keep(item)
        self.count += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        agent = item["agent"] if isinstance(item["agent"], str) else "unknown"
        if agent not in self.by_agent and len(self.by_agent) >= AGENTS_COUNTED:
            agent = "…"
        self.by_agent[agent] = self.by_agent.get(agent, 0) + 1
        if kind == "code_execution":
            self._follow_execution(item)

    def _keep(self, item: dict[str, Any]) -> None:
        """Keep ``item``, dropping the oldest past TRANSCRIPT_KEPT items or TRANSCRIPT_CHARS."""
        self.items.append(item)
        self.chars += _chars(item)
        while len(self.items) > TRANSCRIPT_KEPT or (self.chars > TRANSCRIPT_CHARS and len(self.items) > 1):
            self.chars -= _chars(self.items.popleft())

    def _follow_execution(self, item: Mapping[str, Any]) -> None:
        where = (item.get("step"), item.get("agent"))
        if item.get("exit_code") == 0:  # a success of the same step and agent recovers its failures
            self.failing.pop(where, None)
            return
        failures = self.failing.setdefault(where, [])
        failures.append(item["id"])
        del failures[:-FAILURES_KEPT]
        if len(self.failing) > FAILURES_KEPT:
            del self.failing[next(iter(self.failing))]

    @property
    def dropped(self) -> int:
        return self.count - len(self.items)

    def failed_executions(self) -> list[int]:
        """Message ids of the code executions that failed and were not recovered, in order."""
        return sorted(i for ids in self.failing.values() for i in ids)

    def item(self, message_id: int) -> dict[str, Any] | None:
        """The kept item of ``message_id`` (None once it is no longer kept)."""
        return next((i for i in reversed(self.items) if i.get("id") == message_id), None)

    def snapshot(self) -> dict[str, Any]:
        return {
            "items": [dict(i) for i in self.items],
            "count": self.count,
            "dropped": self.dropped,
            "by_kind": dict(self.by_kind),
            "by_agent": dict(self.by_agent),
            "failing": [{"step": s, "agent": a, "ids": list(ids)} for (s, a), ids in self.failing.items()],
        }

    def bounded(self, text_chars: int, total_chars: int) -> dict[str, Any]:
        """The snapshot with smaller items, for a session sidecar: each text capped at ``text_chars``,
        the newest items whose texts fit in ``total_chars`` (the older ones counted as dropped)."""
        kept: list[dict[str, Any]] = []
        budget = total_chars
        for item in reversed(self.items):
            small = {
                k: cap_middle(v, text_chars) if k in _CAPS and isinstance(v, str) else v
                for k, v in item.items()
            }
            budget -= sum(len(small[k]) for k in _CAPS if isinstance(small.get(k), str))
            if budget < 0:
                break
            kept.append(small)
        kept.reverse()
        return {**self.snapshot(), "items": kept, "dropped": self.count - len(kept)}

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any] | None) -> Transcript:
        """The inverse of :meth:`snapshot` (a missing or older snapshot gives an empty transcript)."""
        fresh = cls()
        if not isinstance(snapshot, Mapping):
            return fresh
        for item in snapshot.get("items") or ():
            if isinstance(item, Mapping):
                fresh._keep(dict(item))
        fresh.count = int(snapshot.get("count") or len(fresh.items))
        fresh.by_kind = dict(snapshot.get("by_kind") or {})
        fresh.by_agent = dict(snapshot.get("by_agent") or {})
        for entry in snapshot.get("failing") or ():
            if isinstance(entry, Mapping) and isinstance(entry.get("ids"), list):
                ids = [i for i in entry["ids"] if isinstance(i, int)]
                fresh.failing[(entry.get("step"), entry.get("agent"))] = ids
        return fresh


def _fold(kind: str) -> Any:
    def fold(state: Any, data: Mapping[str, Any], event: Event) -> None:
        state.transcript.add(kind, data, event)

    fold.__name__ = kind
    fold.__doc__ = f"A ``{kind}`` event: one item of the run's transcript."
    return fold


#: The fold of each transcript event type (registered in ``_folds.FOLDS``).
FOLDS: Final = {kind: _fold(kind) for kind in TRANSCRIPT_KINDS}
