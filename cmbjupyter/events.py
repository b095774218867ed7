"""The event protocol: types, JSON-safe encoding, and the incremental decoder of the event pipe.

This is the one place that knows the wire format (docs/architecture.md, "Wire protocol")::

    {"v": 1, "type": "...", "task_id": "...", "seq": n, "ts": "2026-01-01T00:00:00+00:00", "data": {...}}

one object per line. The worker writes ``v``, ``type``, ``ts`` and ``data``; the host adds ``task_id``
and ``seq`` (1, 2, 3... without gaps), because the host also creates events of its own (status, the
DAG template, errors about a dead worker) and must order them with the worker's.

Nothing here imports beyond the standard library: the worker imports this module too.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import time as _time
from collections.abc import Iterable, Mapping
from typing import Any, Final, TypedDict

__all__ = [
    "EVENT_TYPES",
    "MAX_EVENT_BYTES",
    "MAX_LINE_BYTES",
    "PROTOCOL_VERSION",
    "Event",
    "LineDecoder",
    "decode_line",
    "dumps",
    "encode",
    "encode_new",
    "iter_log",
    "json_safe",
    "make_event",
    "now_iso",
    "output_event",
]

PROTOCOL_VERSION: Final = 1

#: Event types with a meaning in cmbjupyter. Others are delivered and kept, never dropped.
EVENT_TYPES: Final = frozenset(
    {
        "status",
        "output",
        "dag_created",
        "dag_node_update",
        "dag_node_add",
        "cost_update",
        "budget_warning",
        "phase_change",
        "input_request",
        "input_response",
        "warning",
        "work_dir",
        "artifact",
        "result",
        "complete",
        "error",
    }
)

#: Streams of ``output`` events: what the engine printed, what an agent said, and lines the host
#: could not decode as events.
STREAMS: Final = ("stdout", "stderr", "agent", "protocol")

#: The longest event line a worker writes (newline included). The Emitter bounds every event to it
#: (longest strings cut, with a marker saying how much), so no single message -- on the pipe, in a
#: WebSocket, in a sidecar -- can grow without bound.
MAX_EVENT_BYTES: Final = 16 * 1024 * 1024
#: A line longer than this on the event pipe is dropped (with a ``protocol`` output saying so): what
#: the host accepts is what a worker may write.
MAX_LINE_BYTES: Final = MAX_EVENT_BYTES
#: Strings an oversize event keeps at first; halved until the event fits.
_FIRST_CUT_CHARS: Final = MAX_EVENT_BYTES // 2

_PREVIEW_CHARS: Final = 200


class Event(TypedDict, total=False):
    """One event on the wire. ``seq`` and ``task_id`` are set by the host."""

    v: int
    type: str
    task_id: str
    seq: int
    ts: str
    data: dict[str, Any]


_second_cache: tuple[int, str] = (0, "")


def now_iso() -> str:
    """The current UTC time in ISO 8601 (``2026-01-01T00:00:00.000000+00:00``), as every event's ``ts``.

    On the hot path of every event: the date part is formatted once per second.
    """
    global _second_cache
    now = _time.time()
    second = int(now)
    if second != _second_cache[0]:
        _second_cache = (second, _dt.datetime.fromtimestamp(second, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second_cache[1]}.{int((now - second) * 1e6):06d}+00:00"


def make_event(type: str, data: Mapping[str, Any] | None = None, *, ts: str | None = None) -> Event:
    """A new event without ``seq``/``task_id`` (the host stamps those)."""
    return {"v": PROTOCOL_VERSION, "type": type, "ts": ts or now_iso(), "data": dict(data or {})}


def output_event(message: str, stream: str = "stdout", agent: str | None = None) -> Event:
    """An ``output`` event, as made from captured stdout/stderr or from an undecodable line."""
    data: dict[str, Any] = {"message": message, "stream": stream}
    if agent is not None:
        data["agent"] = agent
    return make_event("output", data)


# --------------------------------------------------------------------------- encoding


def _default(obj: Any) -> Any:
    """JSON fallback for values the json module does not know (sets, paths, numpy scalars...)."""
    if isinstance(obj, (set, frozenset)):
        return sorted((json_safe(v) for v in obj), key=repr)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    if isinstance(obj, (_dt.datetime, _dt.date, _dt.time)):
        return obj.isoformat()
    item = getattr(obj, "item", None)  # numpy / torch scalars
    if callable(item):
        try:
            value = item()
        except (TypeError, ValueError):
            pass
        else:
            if isinstance(value, (int, float, bool, str)):
                return value
    tolist = getattr(obj, "tolist", None)  # small numpy arrays
    if callable(tolist) and getattr(obj, "size", 10_001) <= 10_000:
        return tolist()
    if hasattr(obj, "__fspath__"):
        return str(obj)
    text = repr(obj)
    return text if len(text) <= 2000 else text[:2000] + "…"


def json_safe(obj: Any, _path: frozenset[int] = frozenset()) -> Any:
    """A deep copy of ``obj`` made of JSON types only: NaN/inf become None, unknown objects their
    repr, a container that contains itself ``"<cycle>"``.

    Used on everything a worker or engine hands over (results, context variables), so that no value
    can make an event, a sidecar or a browser message unencodable.
    """
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (Mapping, list, tuple)):
        if id(obj) in _path:
            return "<cycle>"
        path = _path | {id(obj)}
        if isinstance(obj, Mapping):
            return {str(k): json_safe(v, path) for k, v in obj.items()}
        return [json_safe(v, path) for v in obj]
    return json_safe(_default(obj), _path)


_ENCODER: Final = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default
)
_encode_str = json.encoder.encode_basestring
try:  # the C encoder, called directly: half the cost of JSONEncoder.encode on small events
    _c_encoder = json.encoder.c_make_encoder(None, _default, _encode_str, None, ":", ",", False, False, False)
except (AttributeError, TypeError):  # an interpreter without the _json accelerator
    _c_encoder = None


def _encode_fast(obj: Any) -> str:
    if _c_encoder is None:
        return _ENCODER.encode(obj)
    return "".join(_c_encoder(obj, 0))


def dumps(obj: Any) -> str:
    """Compact JSON of ``obj``; falls back to :func:`json_safe` for NaN, unknown objects and cycles."""
    try:
        return _encode_fast(obj)
    except (ValueError, TypeError, RecursionError):
        try:
            return _ENCODER.encode(json_safe(obj))
        except (ValueError, RecursionError):  # a cycle: json_safe cannot copy it either
            return _ENCODER.encode({"unencodable": _default(obj)})


def encode(event: Mapping[str, Any]) -> bytes:
    """One event as one line of UTF-8 JSON, newline included."""
    return (dumps(event) + "\n").encode("utf-8", "replace")


def encode_new(type: str, data: Mapping[str, Any], limit: int = MAX_EVENT_BYTES) -> bytes:
    """A new event (``v``, ``type``, ``ts`` now, ``data``) as one line: the worker's hot path.

    A line over ``limit`` bytes is bounded: its longest strings (and lists) are cut, each with a
    marker saying how much was cut, until it fits; failing that its data is replaced by a note.
    """
    ts = now_iso()
    line = _line(type, ts, dumps(data))
    if len(line) <= limit:
        return line
    size, chars = len(line), _FIRST_CUT_CHARS
    while chars >= 16:
        line = _line(type, ts, dumps(_shrink(json_safe(data), chars, size, limit)))
        if len(line) <= limit:
            return line
        chars //= 4
    note = f"[the {type} event was {size} bytes, over the {limit}-byte limit of an event; its data was cut]"
    return _line(type, ts, dumps({"message": note, "truncated": size}))


def _line(type: str, ts: str, body: str) -> bytes:
    text = f'{{"v":{PROTOCOL_VERSION},"type":{_encode_str(type)},"ts":"{ts}","data":{body}}}\n'
    return text.encode("utf-8", "replace")


def _shrink(value: Any, chars: int, size: int, limit: int) -> Any:
    """``value`` (JSON types) with strings longer than ``chars`` and lists longer than ``chars // 8``
    items cut, each with a marker naming how much was cut."""
    if isinstance(value, str):
        if len(value) <= chars:
            return value
        return f"{value[:chars]}… [{_cut(len(value) - chars, 'characters', size, limit)}]"
    if isinstance(value, dict):
        return {k: _shrink(v, chars, size, limit) for k, v in value.items()}
    if isinstance(value, list):
        items = max(chars // 8, 1)
        kept = [_shrink(v, chars, size, limit) for v in value[:items]]
        if len(value) > items:
            kept.append(f"… [{_cut(len(value) - items, 'items', size, limit)}]")
        return kept
    return value


def _cut(count: int, what: str, size: int, limit: int) -> str:
    return f"{count} more {what} cut: the event was {size} bytes, over the {limit}-byte limit"


# --------------------------------------------------------------------------- decoding

# NaN/Infinity are not JSON; a worker could still write them. They decode to None so that nothing
# downstream (sidecars, browser) ever sees a non-JSON number.
_DECODER: Final = json.JSONDecoder(parse_constant=lambda _name: None)


#: What JSON counts as whitespace around a value.
_JSON_SPACE: Final = " \t\n\r"
_SCAN: Final = _DECODER.scan_once


def _value_of(text: str) -> Any:
    """The JSON value that is all of ``text`` (already stripped): ``_DECODER.decode`` without its
    Python-level wrapper and whitespace regexes, which cost as much as the C scan itself per line."""
    try:
        value, end = _SCAN(text, 0)
    except StopIteration as stop:
        raise json.JSONDecodeError("Expecting value", text, stop.value) from None
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _preview(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return text if len(text) <= _PREVIEW_CHARS else text[:_PREVIEW_CHARS] + "…"


def decode_line(line: bytes | str) -> Event:
    """Decode one line of the event pipe.

    Never raises: a line that is not a JSON object with a string ``type`` becomes an ``output``
    event on stream ``protocol`` that says what was wrong, so that a malformed line cannot stop a
    run (docs/architecture.md: "malformed lines become output events on the protocol stream, never a crash").
    """
    try:
        text = (line.decode("utf-8") if isinstance(line, bytes) else line).strip(_JSON_SPACE)
        obj = _value_of(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, int too long
        return output_event(f"malformed event line ({type(exc).__name__}): {_preview(line)}", "protocol")
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str) or not obj["type"]:
        return output_event(f"malformed event line (no event type): {_preview(line)}", "protocol")
    data = obj.get("data")
    if data is None:
        obj["data"] = {}
    elif not isinstance(data, dict):
        obj["data"] = {"value": data}
    if not isinstance(obj.get("ts"), str):
        obj["ts"] = now_iso()
    obj.setdefault("v", PROTOCOL_VERSION)
    return obj  # type: ignore[return-value]


class LineDecoder:
    """Turns the byte chunks read from the event pipe into events, line by line.

    Chunks may split lines anywhere. A line that grows past ``max_line_bytes`` is dropped (and
    reported once, as a ``protocol`` output) instead of growing memory without bound.
    """

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._pending = bytearray()
        self._dropping = 0  # bytes of an overlong line skipped so far
        self.max_line_bytes = max_line_bytes

    def feed(self, chunk: bytes) -> list[Event]:
        """Events of every line completed by ``chunk``."""
        lines = chunk.split(b"\n")
        tail = lines.pop()  # incomplete last line (b"" when the chunk ends with a newline)
        events: list[Event] = []
        if lines:
            first = lines[0]
            if self._dropping:
                events.append(self._dropped(self._dropping + len(first)))
                self._dropping = 0
                lines = lines[1:]
            elif self._pending:
                lines[0] = bytes(self._pending) + first
                self._pending.clear()
            events.extend(decode_line(line) for line in lines if line.strip())
        if self._dropping:
            self._dropping += len(tail)
        else:
            self._pending += tail
            if len(self._pending) > self.max_line_bytes:
                self._dropping = len(self._pending)
                self._pending.clear()
        return events

    def close(self) -> list[Event]:
        """Events of whatever is left when the pipe closes (a last line without newline)."""
        if self._dropping:
            size, self._dropping = self._dropping, 0
            return [self._dropped(size)]
        rest, self._pending = bytes(self._pending), bytearray()
        return [decode_line(rest)] if rest.strip() else []

    def _dropped(self, size: int) -> Event:
        return output_event(
            f"event line of {size} bytes exceeds the {self.max_line_bytes}-byte limit; dropped", "protocol"
        )


def iter_log(lines: Iterable[bytes | str]) -> Iterable[Event]:
    """Events of a JSONL event log, skipping blank lines (malformed ones become protocol outputs)."""
    for line in lines:
        if line.strip():
            yield decode_line(line)
