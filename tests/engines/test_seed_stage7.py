"""The seed's test script (stage 7, output channel routing), as written, against cmbjupyter.

Only the import differs: ``cmbjupyter`` in place of ``backend.execution.isolated_executor``. The
default engine is cmbagent, run here against the scripted LLM server (the one test double).
"""

import asyncio

import pytest

from cmbjupyter import IsolatedTaskExecutor


async def test_output_routing():
    executor = IsolatedTaskExecutor()

    events_by_type = {}

    async def callback(event_type, data):
        if event_type not in events_by_type:
            events_by_type[event_type] = []
        events_by_type[event_type].append(data)

    await executor.execute(
        task_id="routing_test",
        task="Test task",
        config={"mode": "one-shot"},
        output_callback=callback
    )

    # Verify event types received
    assert "output" in events_by_type
    assert "dag_created" in events_by_type or "status" in events_by_type
    print(f"✅ Received event types: {list(events_by_type.keys())}")


@pytest.fixture(autouse=True)
def _offline_cmbagent(seed_engine_env):
    """Points the default engine at the scripted LLM server (tests/engines/conftest.py)."""


if __name__ == "__main__":
    asyncio.run(test_output_routing())
