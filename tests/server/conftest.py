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


class NotebookKernel:
    """A real kernel the server started for a notebook (as JupyterLab does), driven by a client."""

    def __init__(self, fetch: Callable[..., Awaitable[Any]], serverapp: Any, session: dict) -> None:
        self.fetch = fetch
        self.session = session
        self.kernel = serverapp.kernel_manager.get_kernel(session["kernel"]["id"])
        self.pid = self.kernel.provisioner.pid
        self.client = self.kernel.client()

    async def execute(self, code: str, timeout: float = 120) -> str:  # noqa: ASYNC109
        """Run ``code`` in the kernel and return what it printed (stdout, stderr and tracebacks)."""
        printed: list[str] = []

        def on_output(message: dict) -> None:
            if message["msg_type"] == "stream":
                printed.append(message["content"]["text"])
            elif message["msg_type"] == "error":
                printed.append("\n".join(message["content"]["traceback"]))

        reply = await self.client.execute_interactive(code, output_hook=on_output, timeout=timeout)
        assert reply["content"]["status"] == "ok", "".join(printed)
        return "".join(printed)

    async def shutdown(self) -> None:
        """Shut the kernel down through the sessions API (closing the notebook) and wait for it."""
        import psutil

        self.client.stop_channels()
        await self.fetch("api", "sessions", self.session["id"], method="DELETE")
        while psutil.pid_exists(self.pid) and psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE:
            await asyncio.sleep(0.05)


@pytest_asyncio.fixture
async def notebook_kernel(jp_fetch, jp_serverapp, jp_root_dir):
    """``notebook_kernel(name)``: a kernel of the server for ``<root_dir>/<name>`` (an empty notebook)."""
    kernels: list[NotebookKernel] = []

    async def start(name: str) -> NotebookKernel:
        empty = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        (jp_root_dir / name).write_text(json.dumps(empty))
        body = {"path": name, "type": "notebook", "kernel": {"name": "python3"}}
        response = await jp_fetch("api", "sessions", method="POST", body=json.dumps(body))
        kernel = NotebookKernel(jp_fetch, jp_serverapp, json.loads(response.body))
        kernel.client.start_channels()
        await kernel.client.wait_for_ready(timeout=60)
        kernels.append(kernel)
        return kernel

    yield start
    for kernel in kernels:
        kernel.client.stop_channels()
