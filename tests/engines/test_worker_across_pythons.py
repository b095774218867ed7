"""The worker runs on cmbagent's interpreter (3.13 for the newest cmbagent) while the kernel stays on
3.11: everything that crosses between them is JSON lines (nothing pickled), in both directions. Here
the ``python`` engine runs in each cmbagent environment's interpreter: every event kind from the
worker, and from the host the config, an answer to ``ask()`` and a cancel."""

from __future__ import annotations

import asyncio
import math

import pytest

from cmbjupyter import IsolatedTaskExecutor, SessionManager
from cmbjupyter.errors import TaskCancelled

#: A task touching every event kind, with text and numbers that JSON must carry exactly.
TASK = r"""
import platform
emit.output("π ≈ 3.14159 — naïve café 🚀", agent="engineer")
phase("planning", context={"nested": {"list": [1, 2.5, None, True]}, "big": 2**62})
emit.add_node("step_1", "Step 1: ünïcode", agent="engineer")
step(1)
record_usage("gpt-4o-mini", 1200, 80, agent="engineer", cache_read_tokens=1000)
answer = ask("What is H0?")
context["answer"] = answer
result = {"python": platform.python_version(), "config": config["payload"], "nan": float("nan")}
"""
#: What the host sends in the config.
PAYLOAD = {"text": "Ωmega ✓", "float": 0.1 + 0.2, "int": -(2**53), "list": [[], {}, ""]}


@pytest.fixture
def executor(tmp_path):
    return IsolatedTaskExecutor(session_manager=SessionManager(tmp_path / "sessions"))


async def test_every_event_kind_crosses_both_ways_between_the_kernel_and_the_workers_python(
    cmbagent_env, cmbagent_python, executor
):
    events: list[tuple[str, dict]] = []
    answers: list[asyncio.Future] = []

    async def callback(event_type, data):
        events.append((event_type, data))
        if event_type == "input_request":
            answer = executor.send_input("x", data["request_id"], "67.4 ± 0.5 km/s/Mpc")
            answers.append(asyncio.ensure_future(answer))

    config = {"engine": "python", "python": cmbagent_python, "payload": PAYLOAD, "session_id": "x"}
    result = await asyncio.wait_for(executor.execute("x", TASK, config, output_callback=callback), 300)
    assert result["result"]["python"].startswith(cmbagent_env.interpreter + "."), "the worker's own Python"
    assert result["result"]["config"] == PAYLOAD, "the config reaches the worker exactly"
    assert result["context"]["answer"] == "67.4 ± 0.5 km/s/Mpc", "the host's answer reaches the worker"
    nan = result["result"]["nan"]
    assert nan is None or (isinstance(nan, float) and math.isnan(nan)) or isinstance(nan, str)
    kinds = [kind for kind, _ in events]
    for kind in ("output", "phase_change", "dag_node_add", "cost_update", "input_request", "complete"):
        assert kind in kinds, kind
    said = [d["message"] for k, d in events if k == "output" and d.get("agent") == "engineer"]
    assert said == ["π ≈ 3.14159 — naïve café 🚀"]
    planning = next(d for k, d in events if k == "phase_change" and d["phase"] == "planning")
    assert planning["context"] == {"nested": {"list": [1, 2.5, None, True]}, "big": 2**62}
    [cost] = [d for k, d in events if k == "cost_update"]
    assert (cost["input_tokens"], cost["cache_read_tokens"], cost["step"]) == (1200, 1000, 1)
    assert events[-1] == ("complete", {"status": "success"})


async def test_a_cancel_reaches_a_worker_on_another_python(cmbagent_python, executor):
    started = asyncio.Event()

    async def callback(event_type, data):
        if event_type == "output" and "looping" in str(data.get("message")):
            started.set()

    task = "import time\nemit.output('looping')\nwhile True:\n    time.sleep(0.05)\n"
    config = {"engine": "python", "python": cmbagent_python, "session_id": "c"}
    run = asyncio.ensure_future(executor.execute("c", task, config, output_callback=callback))
    await asyncio.wait_for(started.wait(), 120)
    assert await executor.cancel("c")
    with pytest.raises(TaskCancelled):
        await asyncio.wait_for(run, 120)
    assert executor.session_manager.load_session("c")["status"] == "suspended"
