"""A saved session read back for reports: compare, export to a notebook, the cost ledger.

A report needs two things the run left: the sidecar (where the run ended: DAG, cost totals, context
variables, result, the artifact manifest and the work dir) and the JSONL event log (everything in
order: each LLM call, the code the agents ran, each step's start). :class:`RunRecord` reads both
through the safe readers (no symlinks, regular files only) and the run's files only through
:func:`~cmbjupyter.workdir.open_confined`, so a report never reads outside the run's work dir.

Events are attributed to the plan step current when they happened (the last ``phase_change``'s
``step``), unless they name their own ``step``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from . import _safefile
from .errors import NotFound
from .events import Event, iter_log
from .session import SessionManager
from .workdir import open_confined

__all__ = ["MAX_TEXT_BYTES", "RunRecord", "seconds_between"]

#: Largest file a report reads as text (a diff, a code cell); larger ones are named, not read.
MAX_TEXT_BYTES: Final = 512 * 1024
#: DAG nodes that are not work (every template has them).
_FRAME_NODES: Final = ("start", "end")


def seconds_between(start: Any, end: Any) -> float | None:
    """Seconds from one ISO-8601 timestamp to another (None when either is missing or bad)."""
    try:
        return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 3)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class RunRecord:
    """One session's sidecar and event log (``load`` it from a :class:`SessionManager`)."""

    session_id: str
    sidecar: dict[str, Any]
    log_path: Path | None

    @classmethod
    def load(cls, manager: SessionManager, session_id: str) -> RunRecord:
        """The session's record; SessionNotFound / SessionCorrupt / InvalidSessionId as the manager's."""
        sidecar = manager.load_session(session_id)
        log = manager.event_log_path(session_id)
        return cls(session_id, sidecar, log if log.exists() else None)

    # ------------------------------------------------------------------ the sidecar

    @property
    def work_dir(self) -> str | None:
        value = self.sidecar.get("work_dir")
        return value if isinstance(value, str) and value else None

    @property
    def cost(self) -> dict[str, Any]:
        cost = self.sidecar.get("cost")
        return dict(cost) if isinstance(cost, Mapping) else {}

    @property
    def context(self) -> dict[str, Any]:
        context = self.sidecar.get("context_variables")
        return dict(context) if isinstance(context, Mapping) else {}

    @property
    def final_result(self) -> Any:
        """The run's final result (the engine's ``result``, without the context it also returns)."""
        result = self.sidecar.get("result")
        if isinstance(result, Mapping) and "result" in result:
            return result["result"]
        return result

    def summary(self) -> dict[str, Any]:
        """Who the run was: id, task, mode, engine, status, dates."""
        s = self.sidecar
        return {
            "session_id": self.session_id,
            "task": s.get("task"),
            "mode": s.get("mode"),
            "engine": s.get("engine"),
            "status": s.get("status"),
            "created_at": s.get("created_at"),
            "ended_at": s.get("completed_at") or s.get("suspended_at"),
            "prices_version": s.get("prices_version"),
        }

    def steps(self) -> list[dict[str, Any]]:
        """The run's work nodes in DAG order (every node but start and end), each with its
        ``id``, ``label``, ``type``, ``status``, ``duration_s``, ``tokens``, ``cost_usd`` (and
        ``description`` and ``agent`` when known)."""
        dag = self.sidecar.get("dag")
        nodes = dag.get("nodes") if isinstance(dag, Mapping) else None
        rows = []
        for node in sorted(
            (n for n in nodes or () if isinstance(n, Mapping) and n.get("id") not in _FRAME_NODES),
            key=lambda n: n.get("order", 0) if isinstance(n.get("order"), int) else 0,
        ):
            row = {
                "id": str(node.get("id")),
                "label": node.get("label") or str(node.get("id")),
                "type": node.get("type"),
                "status": node.get("status"),
                "duration_s": seconds_between(node.get("started_at"), node.get("ended_at")),
                "tokens": node.get("tokens") or 0,
                "cost_usd": node.get("cost_usd") or 0.0,
            }
            for key in ("agent", "description"):
                if node.get(key) is not None:
                    row[key] = node[key]
            rows.append(row)
        return rows

    def artifacts(self) -> list[dict[str, Any]]:
        """The artifact manifest (the latest record per path)."""
        manifest = self.sidecar.get("artifacts")
        items = manifest.get("items") if isinstance(manifest, Mapping) else None
        return [dict(a) for a in items or () if isinstance(a, Mapping) and isinstance(a.get("path"), str)]

    def read_file(self, path: str, limit: int = MAX_TEXT_BYTES) -> bytes | None:
        """The bytes of ``path`` in the run's work dir, or None if it is gone, refused or over ``limit``."""
        try:
            with open_confined(self.work_dir, path) as file:
                data = file.read(limit + 1)
        except (NotFound, OSError, ValueError):
            return None
        return data if len(data) <= limit else None

    def read_artifact(self, artifact: Mapping[str, Any], limit: int = MAX_TEXT_BYTES) -> bytes | None:
        """The bytes of a manifest record's file as the run left them: None if the file is gone,
        refused, over ``limit``, or no longer the one the run made (its sha256 differs)."""
        data = self.read_file(str(artifact.get("path")), limit)
        expected = artifact.get("sha256")
        if data is not None and expected and hashlib.sha256(data).hexdigest() != expected:
            return None
        return data

    # ------------------------------------------------------------------ the event log

    def events(self) -> Iterator[Event]:
        """The logged events in order (none when the run has no event log)."""
        if self.log_path is None:
            return
        try:
            file = _safefile.open_regular(self.log_path)
        except OSError:
            return
        with file:
            yield from iter_log(file)

    def stepped_events(self, *types: str) -> Iterator[tuple[dict[str, Any], Event]]:
        """``(where, event)`` for the logged events of ``types``: ``where`` holds the plan ``step``
        and the DAG ``node_id`` current when the event happened (its own ``step`` wins)."""
        step: int | None = None
        node_id: str | None = None
        for event in self.events():
            kind, data = event.get("type"), event.get("data")
            if not isinstance(data, Mapping):
                continue
            if kind == "phase_change":
                step = data.get("step") if isinstance(data.get("step"), int) else None
            elif kind == "dag_node_update" and data.get("status") == "running":
                node_id = str(data.get("node_id"))
            if kind in types:
                own = data.get("step")
                yield {"step": own if isinstance(own, int) else step, "node_id": node_id}, event

    def log_sha256(self) -> str | None:
        """The sha256 of the event log's bytes (None without a log)."""
        if self.log_path is None:
            return None
        digest = hashlib.sha256()
        try:
            with _safefile.open_regular(self.log_path) as file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            return None
        return digest.hexdigest()
