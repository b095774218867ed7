"""``%%cmbagent`` in a kernel of a Jupyter server with the extension: server mode.

The magic submits to the server (the worker is the server's child), streams the events back into the
same Run and RunWidget as kernel mode, and falls back to the kernel's own executor when asked
(``--kernel``) or when no server holds the notebook's folder.
"""

from __future__ import annotations

import psutil

LOAD = "%load_ext cmbjupyter"

PLAN = """%%cmbagent --engine python --mode planning-control --session s-magic --work-dir out
phase("planning")
emit.add_node("step_1", "Fit")
phase("control")
step(1)
print("fitted on the server")
emit.code_execution("python", "import camb", exit_code=1, output="No module named 'camb'", agent="engineer")
result = 42
"""

REPORT = """
run = _
print("WHERE", run.where, run.status, run.result["result"], run.state.phase)
print("NODES", sorted(run.state.nodes))
print("OUT", any("fitted on the server" in line["text"] for line in run.state.output))
print("SIDECAR", run.summary()["sidecar"])
print("OUTCOME", run.outcome["label"])
"""


async def test_the_magic_runs_its_task_on_the_server(
    api, notebook_kernel, registry, sessions_dir, jp_root_dir
):
    kernel = await notebook_kernel("magic.ipynb")
    await kernel.execute(LOAD)
    await kernel.execute(PLAN)
    printed = await kernel.execute(REPORT)
    assert "WHERE server completed 42 control" in printed
    assert "'step_1'" in printed and "OUT True" in printed
    assert f"SIDECAR {sessions_dir / 's-magic.json'}" in printed  # the server's store, not the kernel's
    assert "OUTCOME completed with errors: 1 code execution failed (step 1, engineer)" in printed
    [task] = await tasks_of(api, "s-magic")
    assert task["notebook"] == "magic.ipynb" and task["status"] == "completed"
    record = await api.get("sessions", "s-magic")
    assert record["config"]["work_dir"] == str(jp_root_dir / "out")  # relative to the notebook, absolute
    assert record["outcome"]["status"] == "completed_with_errors", "the server's sidecar has it too"
    assert registry.get(task["task_id"]).run is not None
    listed = await kernel.execute(
        "from cmbjupyter import api\nprint([(s['session_id'], s['where']) for s in api.sessions_table()])\n"
        "import cmbjupyter.runs\ncmbjupyter.runs._RUNS.clear()\n"  # as after a kernel restart
        "print('SHOWN', api.show('s-magic')['status'])"
    )
    assert "('s-magic', 'server')" in listed and "SHOWN completed" in listed


SLOW = """%%cmbagent --engine python --session s-bg --background
import time
phase("execution")
time.sleep(120)
"""


async def test_a_background_run_outlives_its_kernel_and_another_kernel_cancels_it(api, notebook_kernel):
    kernel = await notebook_kernel("background.ipynb")
    await kernel.execute(LOAD)
    await kernel.execute(SLOW)
    [task] = await tasks_of(api, "s-bg")
    await api.wait(task["task_id"], ("running",))
    await kernel.shutdown()
    assert (await api.get("tasks", task["task_id"]))["status"] == "running"

    again = await notebook_kernel("background.ipynb")
    await again.execute(LOAD)
    printed = await again.execute(
        "from cmbjupyter.api import cancel\nprint('STATUS', cancel('s-bg'))", timeout=60
    )
    assert "STATUS cancel" in printed  # cancelling / cancelled: asked of the server by session id
    await api.wait(task["task_id"], ("cancelled",), timeout=60)
    assert (await api.get("sessions", "s-bg"))["status"] == "suspended"


async def tasks_of(api, session_id: str) -> list[dict]:
    return [t for t in (await api.get("tasks"))["tasks"] if t["session_id"] == session_id]


FAILING = """%%cmbagent --engine python --session s-fails
phase("execution")
raise ValueError("bad fit")
"""


async def test_a_failed_server_task_is_one_line_in_the_notebook_and_resumes_there(api, notebook_kernel):
    kernel = await notebook_kernel("fails.ipynb")
    await kernel.execute(LOAD)
    printed = await kernel.execute(FAILING)
    assert "cmbagent: ValueError: " in printed and "bad fit" in printed
    printed = await kernel.execute("print('ERR', type(_.error).__name__, _.where)")
    assert "ERR TaskFailed server" in printed
    await kernel.execute("%cmbagent resume s-fails --background")
    printed = await kernel.execute("print('RESUMED', _.where, _.session_id)")
    assert "RESUMED server s-fails" in printed


async def test_kernel_flag_keeps_the_task_in_the_kernel(api, notebook_kernel):
    kernel = await notebook_kernel("local.ipynb")
    await kernel.execute(LOAD)
    await kernel.execute("%%cmbagent --engine python --kernel --session s-local\nresult = 1")
    printed = await kernel.execute("print('WHERE', _.where, _.status)")
    assert "WHERE kernel completed" in printed
    assert not await tasks_of(api, "s-local")
    children = psutil.Process(kernel.pid).children(recursive=True)
    assert children == [] or all(c.status() == psutil.STATUS_ZOMBIE for c in children)


ENDPOINT = """
import os
os.environ.update(OPENAI_BASE_URL="http://127.0.0.1:9/v1", OPENAI_API_KEY="sk-kernel-only-0123456789")
"""
SEES = """%%cmbagent --engine python --session s-env
import os
url, key = os.environ.get("OPENAI_BASE_URL", ""), os.environ.get("OPENAI_API_KEY")
print("WORKER SEES", url.endswith(":9/v1"), key == "sk-kernel-only-0123456789")
"""


async def test_the_kernels_llm_settings_reach_the_servers_worker_and_are_never_saved(
    api, notebook_kernel, sessions_dir
):
    kernel = await notebook_kernel("env.ipynb")
    await kernel.execute(LOAD)
    await kernel.execute(ENDPOINT)
    await kernel.execute(SEES)
    printed = await kernel.execute("print([l['text'] for l in _.state.output if 'WORKER' in l['text']])")
    assert "WORKER SEES True True" in printed, "a notebook's scripted LLM works in server mode"
    saved = "".join(p.read_text() for p in sessions_dir.glob("s-env*"))
    assert "sk-kernel-only-0123456789" not in saved and "s-env" in saved
    record = await api.get("sessions", "s-env")
    assert "sk-kernel-only-0123456789" not in str(record)
