"""Fixtures of the server suite: a Jupyter server with the cmbjupyter extension (pytest-jupyter).

pytest-jupyter runs its server on ``jp_asyncio_loop``; the async tests run on pytest-asyncio's loop
(auto mode). The override below makes them one loop, so a test can await ``jp_fetch`` while the
server and its workers run on the same loop, as they do in production.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from pytest_jupyter.jupyter_server import *  # noqa: F403  (jp_serverapp, jp_fetch, jp_ws_fetch...)
from tornado.httpclient import HTTPClientError

#: Tests submit Python source: the ``python`` engine (never a fake LLM).
PY = {"engine": "python"}


@pytest_asyncio.fixture
async def jp_asyncio_loop():
    """pytest-jupyter's server and the async tests (pytest-asyncio, auto mode) share one loop."""
    return asyncio.get_running_loop()


@pytest.fixture
def sessions_dir(tmp_path):
    return tmp_path / "sessions"


@pytest.fixture
def cmb_config() -> dict[str, Any]:
    """Extra ``c.CmbJupyter`` settings for one test (override this fixture)."""
    return {}


@pytest.fixture
def jp_server_config(sessions_dir, cmb_config):
    return {
        "ServerApp": {"jpserver_extensions": {"cmbjupyter.server": True}},
        "CmbJupyter": {"sessions_dir": str(sessions_dir), "max_concurrent_tasks": 2, **cmb_config},
    }


class Api:
    """JSON calls to ``/cmbagent/api/...`` through jp_fetch; errors come back as (status, body)."""

    def __init__(self, fetch: Callable[..., Awaitable[Any]]) -> None:
        self.fetch = fetch

    async def call(self, method: str, *path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        if method in ("POST", "PUT") and body is None:
            body = "{}"
        try:
            response = await self.fetch("cmbagent", "api", *path, method=method, body=body, **kwargs)
        except HTTPClientError as exc:
            raw = exc.response.body if exc.response is not None else b""
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, raw
        return response.code, json.loads(response.body) if response.body else None

    async def get(self, *path: str, **params: str) -> Any:
        code, body = await self.call("GET", *path, params=params)
        assert code == 200, (code, body)
        return body

    async def submit(self, source: str, **config: Any) -> dict[str, Any]:
        code, body = await self.call(
            "POST", "tasks", body={"task": textwrap.dedent(source), "config": {**PY, **config}}
        )
        assert code == 201, (code, body)
        return body

    async def wait(
        self,
        task_id: str,
        statuses: tuple[str, ...] = ("completed",),
        timeout: float = 60,  # noqa: ASYNC109
    ) -> dict:
        """Poll the task's snapshot until its status is one of ``statuses``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            snapshot = await self.get("tasks", task_id)
            if snapshot["status"] in statuses:
                return snapshot
            if snapshot["status"] in ("completed", "failed", "cancelled"):
                raise AssertionError(f"task ended {snapshot['status']}, not {statuses}: {snapshot['error']}")
            assert asyncio.get_running_loop().time() < deadline, f"still {snapshot['status']}"
            await asyncio.sleep(0.05)


@pytest.fixture
def api(jp_fetch) -> Api:
    return Api(jp_fetch)


@pytest.fixture
def registry(jp_serverapp):
    return jp_serverapp.web_app.settings["cmbjupyter_registry"]


@pytest.fixture
def read_stream(jp_ws_fetch):
    """Open ``tasks/{id}/events`` and collect its messages until the server closes it (or ``limit``)."""

    async def read(task_id: str, since: int = 0, mode: str = "events", limit: int | None = None) -> list:
        ws = await jp_ws_fetch(
            "cmbagent", "api", "tasks", task_id, "events", params={"since": str(since), "mode": mode}
        )
        messages: list[dict[str, Any]] = []
        try:
            while limit is None or len(messages) < limit:
                raw = await asyncio.wait_for(ws.read_message(), 60)
                if raw is None:
                    break
                messages.append(json.loads(raw))
        finally:
            ws.close()
        return messages

    return read
