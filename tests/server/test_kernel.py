"""A real kernel finds the server, submits a task with the client, dies, and the task still completes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import psutil

#: Runs until the test creates the file ``go`` (so it is still running when the kernel is gone).
TASK = """
import os, time
phase("outliving", context={"who": "server"})
while not os.path.exists(go):
    time.sleep(0.01)
result = "survived"
"""

SUBMIT = """
import os, sys
from cmbjupyter.remote.client import connect
client = connect()
submission = client.submit({task!r}, {{"engine": "python", "session_id": "s-survivor"}})
print("SUBMITTED", submission.task_id, client.url, os.environ.get("JPY_SESSION_NAME"), flush=True)
print("SERVER_MODULES", sorted(m for m in sys.modules if m.startswith("jupyter_server")), flush=True)
"""


async def test_task_outlives_the_kernel_that_submitted_it(
    api, jp_serverapp, registry, notebook_kernel, tmp_path
):
    go = tmp_path / "go"
    kernel = await notebook_kernel("survivor.ipynb")
    printed = await kernel.execute(SUBMIT.format(task=f"go = {str(go)!r}\n{TASK}"))
    line = next(x for x in printed.splitlines() if x.startswith("SUBMITTED"))
    _, task_id, url, notebook = line.split(" ", 3)
    assert url.startswith("http://") and url.rstrip("/").endswith(jp_serverapp.base_url.rstrip("/"))
    assert notebook.endswith("survivor.ipynb")
    assert "SERVER_MODULES []" in printed  # the client never imported jupyter_server into the kernel

    await api.wait(task_id, ("running",))
    worker_pid = registry.get(task_id).run.worker_pids()[0]
    assert psutil.Process(worker_pid).ppid() == os.getpid()  # a child of the server, not of the kernel

    await kernel.shutdown()
    assert (await api.get("tasks", task_id))["status"] == "running"

    go.touch()
    snapshot = await api.wait(task_id)
    assert snapshot["result"]["result"] == "survived"
    assert snapshot["notebook"] == "survivor.ipynb"  # JPY_SESSION_NAME, as a path of the contents API
    record = await api.get("sessions", "s-survivor")
    assert record["status"] == "completed"
    assert record["config"]["origin"]["notebook"] == "survivor.ipynb"


def test_importing_the_client_stays_cheap():
    code = textwrap.dedent(
        """
        import sys
        import cmbjupyter.remote.client
        import cmbjupyter.server
        heavy = [m for m in sys.modules if m.split(".")[0] in ("jupyter_server", "tornado", "psutil")
                 or m in ("cmbjupyter.executor", "cmbjupyter._supervisor", "cmbjupyter.server.app")]
        print(heavy)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
