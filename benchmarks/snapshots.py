"""What the per-step work-dir snapshots (``cmbjupyter/snapshots.py``, issue 16) cost the worker.

The worker's own code, in process, on a real folder: an ``ArtifactWatcher`` watches a work dir and,
at each step boundary, its final scan runs, then ``SnapshotWriter.take`` records the manifest from
the scan's files and hashes, as the worker does (``runner._snapshot_steps``). Two runs:

* a work dir of ``--files`` files (4 KiB each) already there, a run of ``--steps`` steps that each
  rewrite 2 of them: the first boundary stores every content once, each later one stats the files,
  stores the 2 rewritten contents and writes the manifest (target: <= 50 ms per boundary);
* ``--mb`` MB of new files (10 files) made during one step: the next boundary stores them (copied:
  ext4 has no copy-on-write clone), the one after finds them stored.

Usage: ``python benchmarks/snapshots.py [--files N] [--steps N] [--mb N] [--smoke]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import percentile
from benchmarks._report import Report, options
from cmbjupyter.snapshots import SnapshotWriter
from cmbjupyter.worker.watcher import ArtifactWatcher


class _Emit:
    """The Emitter's two methods the watcher calls."""

    def artifacts(self, records: list[dict[str, Any]]) -> None:
        pass

    def event(self, type: str, data: Any) -> None:
        pass


def _boundary(watcher: ArtifactWatcher, writer: SnapshotWriter, step: int) -> tuple[float, float, dict]:
    """The final scan, then the snapshot: (scan seconds, snapshot seconds, what it stored)."""
    started = time.perf_counter()
    watcher.scan()
    scanned = time.perf_counter()
    root, files, folders, known = watcher.files()
    taken = writer.take(step, root, files, known, folders=folders)
    return scanned - started, time.perf_counter() - scanned, taken


def _many_files(base: Path, files: int, steps: int) -> dict[str, float]:
    work = base / "many"
    work.mkdir()
    for i in range(files):
        (work / f"f{i:05d}.dat").write_bytes(os.urandom(4096))
    watcher = ArtifactWatcher(_Emit(), settle=0.05)
    watcher.watch(str(work), existing=False)
    writer = SnapshotWriter(base / "many.snapshots", 1 << 30)
    _, first, taken = _boundary(watcher, writer, 1)
    assert taken["new_files"] == files, taken
    scans, later = [], []
    for step in range(2, steps + 2):
        for i in (step, step + 1):  # the step rewrites 2 files
            (work / f"f{i:05d}.dat").write_bytes(os.urandom(4096))
        scan, took, taken = _boundary(watcher, writer, step)
        assert taken["new_files"] == 2, taken
        scans.append(scan)
        later.append(took)
    watcher.stop()
    return {"first": first, "p50": percentile(later, 0.5), "max": max(later), "scan": percentile(scans, 0.5)}


def _big_files(base: Path, mb: int) -> dict[str, float]:
    work = base / "big"
    work.mkdir()
    watcher = ArtifactWatcher(_Emit(), settle=0.05)
    watcher.watch(str(work), existing=False)
    writer = SnapshotWriter(base / "big.snapshots", 1 << 40)
    _boundary(watcher, writer, 1)
    chunk = os.urandom(mb * (1 << 20) // 10)
    for i in range(10):
        (work / f"big{i}.bin").write_bytes(chunk[:-1] + bytes([i]))  # 10 distinct contents
    scan, new, taken = _boundary(watcher, writer, 2)
    assert taken["new_bytes"] >= mb * (1 << 20) - 10, taken
    _, again, taken = _boundary(watcher, writer, 3)
    assert taken["new_files"] == 0, taken
    watcher.stop()
    return {"new": new, "scan": scan, "again": again}


def main() -> None:
    args = options(__doc__, files=(1000, 100), steps=(10, 3), mb=(100, 5))
    report = Report("snapshots", "work-dir snapshots at step boundaries (in process, this machine's disk)")
    with tempfile.TemporaryDirectory() as tmp:
        many = _many_files(Path(tmp), args.files, args.steps)
        report.add(
            f"{args.files} files of 4 KiB, first boundary (stores every content)",
            f"{many['first'] * 1000:.0f} ms",
        )
        report.add(
            f"{args.files} files, a step that rewrote 2: the snapshot (p50, max of {args.steps})",
            f"{many['p50'] * 1000:.1f} ms, {many['max'] * 1000:.1f} ms (the watcher's own final scan, "
            f"with its 50 ms settle wait: {many['scan'] * 1000:.1f} ms)",
            "<= 50 ms",
            many["p50"] <= 0.05,
        )
        big = _big_files(Path(tmp), args.mb)
        rate = args.mb / big["new"] if big["new"] else float("inf")
        report.add(
            f"{args.mb} MB of new files (10): the boundary that stores them",
            f"{big['new']:.2f} s ({rate:.0f} MB/s; the watcher's scan before it, which hashes them: "
            f"{big['scan']:.2f} s)",
        )
        report.add(f"the same {args.mb} MB untouched: the next boundary", f"{big['again'] * 1000:.1f} ms")
    report.finish()


if __name__ == "__main__":
    main()
