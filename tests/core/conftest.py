"""Fixtures of the core suite: a session store in a temp folder, an executor, an event collector."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from cmbjupyter import IsolatedTaskExecutor, SessionManager


class Collected:
    """Every event delivered to an output callback, in order (with the whole event as 3rd arg)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event_type: str, data: dict[str, Any], event: dict[str, Any]) -> None:
        assert event["type"] == event_type and event["data"] is data
        self.events.append(event)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [e["data"] for e in self.events if e["type"] == event_type]

    def node_statuses(self) -> dict[str, list[str]]:
        statuses: dict[str, list[str]] = {}
        for data in self.of("dag_node_update"):
            statuses.setdefault(data["node_id"], []).append(data["status"])
        return statuses


@pytest.fixture
def sessions(tmp_path) -> SessionManager:
    return SessionManager(tmp_path / "sessions")


@pytest.fixture
def executor(sessions) -> IsolatedTaskExecutor:
    return IsolatedTaskExecutor(session_manager=sessions, cancel_grace=1.0)


@pytest.fixture
def collected() -> Collected:
    return Collected()


@pytest.fixture
def run_python(executor, collected):
    """Run Python source as a task (``engine="python"``) and return its result."""

    async def run(source: str, task_id: str = "t1", **config: Any) -> dict[str, Any]:
        config.setdefault("engine", "python")
        return await executor.execute(task_id, textwrap.dedent(source), config, collected)

    return run
