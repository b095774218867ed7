"""The real cmbagent in warm workers (cmbjupyter/backends/warm.py): a warm worker behaves exactly
like a cold one, although cmbagent reads its keys and its folder when it is imported.

Two consecutive tasks, each with its own key and its own endpoint (two scripted LLM servers), each
take a warm worker that imported cmbagent before either task was known: each endpoint sees only
its task's requests, with its task's key.
"""

from __future__ import annotations

import asyncio
import time

from cmbjupyter import IsolatedTaskExecutor
from cmbjupyter.backends.warm import WarmPool, install, uninstall
from cmbjupyter.testing.llm_server import ScriptedLLMServer

#: Generous bound for a warm worker to import cmbagent on a loaded machine.
READY_WAIT = 240.0


async def ready(pool: WarmPool) -> None:
    deadline = time.monotonic() + READY_WAIT
    while not any(row["state"] == "ready" for row in pool.status()):
        assert time.monotonic() < deadline, "no warm cmbagent worker became ready"
        await asyncio.sleep(0.1)


async def test_two_warm_tasks_each_use_their_own_key_and_endpoint(cmbagent_python, tmp_path, monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CMBJUPYTER_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    executor = IsolatedTaskExecutor()
    with ScriptedLLMServer() as first, ScriptedLLMServer() as second:
        pool = install(WarmPool(size=1, idle_timeout=None), ["cmbagent"], python=cmbagent_python)
        try:
            results = []
            for name, server in (("first", first), ("second", second)):
                await ready(pool)
                config = {
                    "engine": "cmbagent",
                    "mode": "one-shot",
                    "python": cmbagent_python,
                    "work_dir": str(tmp_path / name),
                    "env": {"OPENAI_API_KEY": f"sk-{name}-offline-key", "OPENAI_BASE_URL": server.base_url},
                }
                results.append(await executor.execute(f"warm-{name}", "Compute 2 + 2 in Python.", config))
            assert pool.taken == 2
        finally:
            await uninstall()
        for name, server in (("first", first), ("second", second)):
            assert server.requests, f"the {name} task made no LLM call to its endpoint"
            assert set(server.authorizations) == {f"Bearer sk-{name}-offline-key"}
    for name, result in zip(("first", "second"), results, strict=True):  # each in its own folder
        assert result["work_dir"].startswith(str(tmp_path / name / "cmbagent_output") + "/")
