"""A real kernel finds the server, submits a task with the client, dies, and the task still completes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap

import psutil

TASK = """
import time
phase("outliving", context={"who": "server"})
time.sleep(2.0)
result = "survived"
"""

SUBMIT = f"""
import os, sys
from cmbjupyter.server.client import connect
client = connect()
submission = client.submit({TASK!r}, {{"engine": "python", "session_id": "s-survivor"}})
print("SUBMITTED", submission.task_id, client.url, os.environ.get("JPY_SESSION_NAME"), flush=True)
print("SERVER_MODULES", sorted(m for m in sys.modules if m.startswith("jupyter_server")), flush=True)
"""


async def _execute(kernel_client, code: str) -> str:
    """Run ``code`` in the kernel and return what it printed on stdout."""
    printed: list[str] = []

    def on_output(message):
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])
        elif message["msg_type"] == "error":
            printed.append("\n".join(message["content"]["traceback"]))

    reply = await kernel_client.execute_interactive(code, output_hook=on_output, timeout=60)
    assert reply["content"]["status"] == "ok", "".join(printed)
    return "".join(printed)


async def test_task_outlives_the_kernel_that_submitted_it(api, jp_fetch, jp_serverapp, registry, jp_root_dir):
    (jp_root_dir / "survivor.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    response = await jp_fetch(
        "api",
        "sessions",
        method="POST",
        body=json.dumps({"path": "survivor.ipynb", "type": "notebook", "kernel": {"name": "python3"}}),
    )
    session = json.loads(response.body)
    kernel_id = session["kernel"]["id"]
    kernel = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    kernel_pid = kernel.provisioner.pid
    client = kernel.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        printed = await _execute(client, SUBMIT)
    finally:
        client.stop_channels()
    line = next(x for x in printed.splitlines() if x.startswith("SUBMITTED"))
    _, task_id, url, notebook = line.split(" ", 3)
    assert url.startswith("http://") and url.rstrip("/").endswith(jp_serverapp.base_url.rstrip("/"))
    assert notebook.endswith("survivor.ipynb")
    assert "SERVER_MODULES []" in printed  # the client never imported jupyter_server into the kernel

    await api.wait(task_id, ("running",))
    worker_pid = registry.get(task_id).supervisor.worker.pids()[0]
    assert psutil.Process(worker_pid).ppid() == os.getpid()  # a child of the server, not of the kernel

    await jp_fetch("api", "sessions", session["id"], method="DELETE")  # shut the kernel down
    while psutil.pid_exists(kernel_pid) and psutil.Process(kernel_pid).status() != psutil.STATUS_ZOMBIE:
        await asyncio.sleep(0.05)
    assert (await api.get("tasks", task_id))["status"] == "running"

    snapshot = await api.wait(task_id, timeout=30)
    assert snapshot["result"]["result"] == "survived"
    assert snapshot["notebook"] == "survivor.ipynb"  # JPY_SESSION_NAME, as a path of the contents API
    record = await api.get("sessions", "s-survivor")
    assert record["status"] == "completed"
    assert record["config"]["origin"]["notebook"] == "survivor.ipynb"


def test_importing_the_client_stays_cheap():
    code = textwrap.dedent(
        """
        import sys
        import cmbjupyter.server.client
        import cmbjupyter.server
        heavy = [m for m in sys.modules if m.split(".")[0] in ("jupyter_server", "tornado", "psutil")
                 or m in ("cmbjupyter.executor", "cmbjupyter.supervisor", "cmbjupyter.server.app")]
        print(heavy)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
