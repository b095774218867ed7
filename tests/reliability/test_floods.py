"""Floods: a million events, a sustained 10k events/s, huge lines. The host's memory stays bounded,
snapshot subscribers get at most ~20 updates a second, and the final state is exact."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import psutil
import pytest

from cmbjupyter import IsolatedTaskExecutor, SessionManager
from cmbjupyter.router import Throttle

MILLION = """
for i in range(1_000_000):
    emit.output("flood line %d" % i, agent="engineer")
    if i % 250_000 == 0:
        phase("execution", step=i // 250_000 + 1)
        record_usage("gpt-4o-mini", 1000, 100, agent="engineer")
"""

MILLION_MESSAGES = """
for i in range(1_000_000):
    emit.message("message %d" % i, agent="engineer" if i % 2 else "researcher")
    if i % 250_000 == 0:
        phase("execution", step=i // 250_000 + 1)
        emit.code_execution("python", "print(%d)" % i, exit_code=0, output="%d\\n" % i)
"""

PACED = """
import time
start = time.perf_counter()
for i in range({total}):
    while time.perf_counter() < start + i / {rate}:
        pass
    emit.output("paced %d" % i)
record_usage("gpt-4o-mini", 1000, 100)
"""


class LastSnapshot:
    """Keeps the last snapshot and counts them (keeping all would measure the test, not the host)."""

    def __init__(self) -> None:
        self.count = 0
        self.last: dict = {}

    def append(self, snapshot: dict) -> None:
        self.count += 1
        self.last = snapshot

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict:
        assert index == -1
        return self.last


class PeakRss:
    """Samples this process' RSS on a thread while a block runs."""

    def __enter__(self) -> PeakRss:
        self.process = psutil.Process()
        self.baseline = self.peak = self.process.memory_info().rss
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 2**20


async def _flood(tmp_path, task: str, session_id: str):
    executor = IsolatedTaskExecutor(session_manager=SessionManager(tmp_path / "sessions"))
    prepared = executor.prepare(
        "flood", task, {"engine": "python", "mode": "control", "session_id": session_id}
    )
    snapshots = LastSnapshot()
    throttle = Throttle(prepared.state, snapshots.append)
    prepared.subscribe(throttle)
    counted = {"output": 0}

    def count(event):
        if event["type"] == "output":
            counted["output"] += 1

    prepared.subscribe(count)
    started = time.monotonic()
    await prepared.start()
    throttle.flush()
    return prepared, snapshots, counted["output"], time.monotonic() - started


@pytest.mark.soak
async def test_a_million_events_keep_memory_bounded_and_end_in_the_exact_state(tmp_path):
    await _flood(tmp_path, "emit.output('warm-up')", "warmup")  # imports, caches: not growth
    with PeakRss() as rss:
        _, snapshots, outputs, elapsed = await _flood(tmp_path, MILLION, "million")
    assert outputs == 1_000_000
    final = snapshots[-1]
    assert final["output_count"] == 1_000_000
    assert final["output"][-1]["text"] == "flood line 999999"
    assert final["cost"]["calls"] == 4 and final["step"] == 4
    assert final["status"] == "completed"
    assert len(snapshots) <= 20 * elapsed + 3, "at most ~20 snapshots a second"
    assert rss.growth_mb < 40, f"host RSS grew {rss.growth_mb:.1f} MB"
    print(f"1M events in {elapsed:.1f} s, host RSS growth {rss.growth_mb:.1f} MB, {len(snapshots)} snapshots")


@pytest.mark.soak
async def test_a_million_messages_keep_memory_bounded_and_end_with_exact_transcript_counts(tmp_path):
    await _flood(tmp_path, "emit.message('warm-up')", "warmup")
    with PeakRss() as rss:
        _, snapshots, _, elapsed = await _flood(tmp_path, MILLION_MESSAGES, "messages")
    transcript = snapshots[-1]["transcript"]
    assert transcript["count"] == 1_000_004 and transcript["dropped"] == 1_000_004 - 1000
    assert transcript["by_kind"] == {"message": 1_000_000, "code_execution": 4}
    assert transcript["by_agent"] == {"researcher": 500_000, "engineer": 500_000, "unknown": 4}
    assert (
        transcript["items"][-1]["content"] == "message 999999" and transcript["items"][-1]["id"] == 1_000_004
    )
    assert snapshots[-1]["outcome"]["status"] == "completed"
    assert rss.growth_mb < 40, f"host RSS grew {rss.growth_mb:.1f} MB"
    print(
        f"1M messages in {elapsed:.1f} s, host RSS growth {rss.growth_mb:.1f} MB, {len(snapshots)} snapshots"
    )


@pytest.mark.soak
async def test_ten_thousand_events_a_second_for_a_minute(tmp_path):
    seconds = float(os.environ.get("CMBJUPYTER_SOAK_SECONDS", "60"))
    total = int(10_000 * seconds)
    with PeakRss() as rss:
        _, snapshots, outputs, elapsed = await _flood(
            tmp_path, PACED.format(total=total, rate=10_000), "paced"
        )
    assert outputs == total
    assert snapshots[-1]["output_count"] == total
    assert snapshots[-1]["cost"]["calls"] == 1
    assert len(snapshots) <= 20 * elapsed + 3
    assert rss.growth_mb < 40
    growth = rss.growth_mb
    print(f"{total} events at 10k/s: {elapsed:.1f} s, RSS growth {growth:.1f} MB, {len(snapshots)} snapshots")


async def test_the_throttle_sends_the_latest_state_at_most_20_times_a_second_and_always_the_last():
    from cmbjupyter.events import make_event
    from cmbjupyter.state import RunState

    state = RunState("t")
    sent: list[int] = []
    throttle = Throttle(state, lambda snap: sent.append(snap["output_count"]))
    started = time.monotonic()
    for i in range(20_000):
        state.apply({**make_event("output", {"message": str(i)}), "seq": i + 1})
        throttle({"type": "output"})
        if i % 500 == 0:
            await asyncio.sleep(0.01)
    throttle.close()
    elapsed = time.monotonic() - started
    assert sent[-1] == 20_000
    assert len(sent) <= 20 * elapsed + 2
    assert sent == sorted(sent)
