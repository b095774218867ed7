"""Sessions listing: 5,000 sidecars listed cold (every file read and parsed, as every listing used to
be), warm (nothing changed: the index re-reads nothing), after one session changed, and one 50-row
page, against one ``os.scandir`` of the folder measured in the same run (the least any listing does).
Targets: a warm listing at least 10x faster than a cold one (what every listing cost before the
index), and a warm page of 50 rows within 100 ms (it costs one ``lstat`` per sidecar).

Usage: ``python benchmarks/sessions_listing.py [sessions]``
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from _common import best_of
from _report import Report, options

from cmbjupyter import SessionManager


def write_sessions(root: Path, count: int) -> None:
    """``count`` sidecars shaped like real ones (a conversation, context, cost), written directly."""
    root.mkdir(parents=True)
    history = [{"role": "agent", "name": "engineer", "content": "x" * 400} for _ in range(10)]
    for i in range(count):
        record = {
            "version": 1,
            "session_id": f"s{i:05d}",
            "status": "completed",
            "mode": "planning-control",
            "task": "Fit the Planck 2018 TT power spectrum with CAMB and report H0.",
            "created_at": f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.000000+00:00",
            "updated_at": f"2026-01-02T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000000+00:00",
            "current_phase": "control",
            "current_step": 3,
            "conversation_history": history,
            "context_variables": {"H0": 67.4, "steps": [1, 2, 3]},
            "cost": {"total_usd": 0.0123, "by_model": {"gpt-4o-mini": 0.0123}},
            "config": {"mode": "planning-control", "origin": {"notebook": "fit.ipynb"}},
        }
        (root / f"s{i:05d}.json").write_text(json.dumps(record))


def main() -> None:
    count = options(__doc__, count=(5000, 200)).count
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sessions"
        write_sessions(root, count)
        scandir = best_of(5, lambda: list(os.scandir(root)))
        started = time.perf_counter()
        manager = SessionManager(root)
        listed = manager.list_sessions()
        cold = time.perf_counter() - started
        assert len(listed) == count
        assert listed[0]["session_id"] == f"s{count - 1:05d}"
        warm = best_of(5, manager.list_sessions)
        page = best_of(5, lambda: manager.list_page(0, 50))

        def one_changed() -> None:
            manager.save_session_state("s00000", [], {}, "control", 4)
            manager.list_page(0, 50)

        changed = best_of(5, one_changed)
    report = Report("sessions_listing", f"sessions listing, {count:,} sidecars")
    report.add("one os.scandir (baseline)", f"{scandir * 1000:.1f} ms")
    report.add("cold listing (every file read)", f"{cold * 1000:.0f} ms ({cold / scandir:.0f}x)")
    report.add("warm listing, unchanged", f"{warm * 1000:.1f} ms ({warm / scandir:.1f}x)")
    report.add("warm page of 50", f"{page * 1000:.1f} ms ({page / scandir:.1f}x)", "<= 100 ms", page <= 0.1)
    report.add("one session saved, then a page", f"{changed * 1000:.1f} ms")
    report.add("cold / warm", f"{cold / warm:.0f}x", ">= 10x", cold >= 10 * warm)
    report.finish()


if __name__ == "__main__":
    main()
