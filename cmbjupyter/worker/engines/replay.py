"""The ``replay`` engine: plays back a recorded JSONL event log as a new run.

The task (or ``config["log"]``) is the log's path. ``config["speed"]``: 0 (default) replays as fast as
possible; 1.0 keeps the original timing; 10 is ten times faster. Events the host makes for every run
(status, result, complete, error) are not replayed: the recorded result is returned and a recorded
failure is raised again, so the replay ends the way the original did. Decisions were the user's: a
recorded ``plan_proposed`` is shown without waiting (no ``request_id``), its ``plan_decision`` not
replayed (the host alone makes one).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from ...errors import EngineError
from ...events import iter_log

__all__ = ["ReplayedFailure", "run"]

_HOST_EVENTS = frozenset(
    {"status", "result", "complete", "error", "budget_warning", "input_request", "plan_decision"}
)


class ReplayedFailure(EngineError):
    """The recorded run failed; its replay fails with the same message."""


def _seconds(ts: Any) -> float | None:
    try:
        return dt.datetime.fromisoformat(str(ts)).timestamp()
    except ValueError:
        return None


def run(task: str, config: dict[str, Any], emit: Any) -> dict[str, Any]:
    path = Path(str(config.get("log") or task).strip()).expanduser()
    if not path.is_file():
        raise EngineError(
            f"replay: no event log at {str(path)!r} (give the JSONL path as the task or config['log'])"
        )
    speed = float(config.get("speed") or 0)
    result: dict[str, Any] = {}
    first_ts: float | None = None
    started = time.monotonic()
    with path.open("rb") as log:
        for event in iter_log(log):
            kind, data = event["type"], event.get("data", {})
            if speed > 0 and (ts := _seconds(event.get("ts"))) is not None:
                first_ts = ts if first_ts is None else first_ts
                delay = (ts - first_ts) / speed - (time.monotonic() - started)
                if delay > 0:
                    time.sleep(delay)
            if kind == "result":
                result = dict(data)
            elif kind == "error":
                raise ReplayedFailure(f"replayed failure ({data.get('error_type')}): {data.get('message')}")
            elif kind not in _HOST_EVENTS:
                if kind == "phase_change" and isinstance(data.get("context"), dict):
                    emit.context = data["context"]
                if kind == "plan_proposed":
                    data = {k: v for k, v in data.items() if k != "request_id"}
                emit.event(kind, data)
    result.setdefault("replayed_from", str(path))
    return result
