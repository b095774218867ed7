"""The work-dir watcher watches only what it reports: never the folders its walk skips.

A worker whose work dir is a repository (or /tmp) must not put an inotify watch on every folder of
``.venv``, ``node_modules``, ``.git`` or a symlinked tree (the recursive watch did: 15,000 watches
from a repository folder, and the engine's event throughput fell to 0.2-0.3x a raw pipe). These tests
read the worker's own inotify watches from ``/proc/self/fdinfo`` (each names the inode it watches),
from inside the task, and what the watcher's walk visits: no timing is asserted.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

import pytest

from cmbjupyter.worker import watcher as watcher_module
from cmbjupyter.worker.watcher import WATCH_LIMIT, ArtifactWatcher
from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fdinfo"), reason="reads Linux /proc")

#: Task code: the inodes this process's inotify instances watch, and a bounded wait for a condition.
WATCHES = """
import os, time

def watched():
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}") as info:
                lines = [line for line in info if line.startswith("inotify wd:")]
            found |= {int(line.split("ino:")[1].split()[0], 16) for line in lines}
        except OSError:
            pass
    return found

def wait_for(condition, what):
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)

ino = lambda path: os.stat(path).st_ino
"""


def make_skipped_trees(work, outside, folders: int = 1500) -> None:
    """A work dir like a repository's: big trees the walk skips, a symlink to a big tree, one kept folder."""
    for name in (".venv/lib/site", "node_modules/pkg", ".git/objects"):
        for i in range(folders // 3):
            (work / name / f"d{i}").mkdir(parents=True)
    (work / "__pycache__").mkdir()
    for i in range(100):
        (outside / f"d{i}").mkdir(parents=True)
    (work / "linked").symlink_to(outside, target_is_directory=True)
    (work / "data").mkdir()
    (work / "data" / "before.txt").write_text("there before")


async def test_only_the_folders_the_walk_keeps_are_watched(run_python, collected, tmp_path):
    work, outside = tmp_path / "work", tmp_path / "outside"
    make_skipped_trees(work, outside)
    result = await run_python(
        WATCHES
        + """
wait_for(lambda: {ino("."), ino("data")} <= watched(), "the kept folders are watched")
os.makedirs("results/plots")
with open("results/plots/fit.txt", "w") as f:
    f.write("made in a folder that did not exist")
wait_for(lambda: {ino("results"), ino("results/plots")} <= watched(), "new folders are watched")
kept = {ino(p): p for p in (".", "data", "results", "results/plots")}
result = sorted(kept.get(i, str(i)) for i in watched())
""",
        work_dir=str(work),
    )
    # Nothing else: no folder of .venv, node_modules, .git, __pycache__ or the symlinked tree.
    assert result["result"] == [".", "data", "results", "results/plots"]
    assert [a["path"] for a in collected.of("artifact")] == ["results/plots/fit.txt"]


class Records:
    """An Emitter's artifact side: the records the watcher reports."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.warnings: list[dict] = []
        self.lock = threading.Lock()

    def artifacts(self, records: list[dict]) -> None:
        with self.lock:
            self.records.extend(records)

    def event(self, type: str, data: dict) -> None:
        if type == "warning":
            self.warnings.append(data)

    def paths(self) -> list[str]:
        with self.lock:
            return [r["path"] for r in self.records]


def test_the_walk_never_enters_a_skipped_folder(tmp_path, monkeypatch):
    work, outside = tmp_path / "work", tmp_path / "outside"
    make_skipped_trees(work, outside, folders=30)
    visited: list[str] = []
    real_scandir = os.scandir

    def scandir(path):
        visited.append(path)
        return real_scandir(path)

    monkeypatch.setattr(watcher_module.os, "scandir", scandir)
    records = Records()
    watcher = ArtifactWatcher(records, str(work))
    try:
        wait_until(lambda: "data/before.txt" in records.paths(), what="the file there before")
    finally:
        watcher.stop()
    assert {os.path.relpath(p, work) for p in visited} == {".", "data"}


def test_a_tree_too_big_to_watch_is_scanned_and_nothing_is_missed(tmp_path):
    work = tmp_path / "work"
    for i in range(WATCH_LIMIT + 10):
        (work / "many" / f"d{i:04d}").mkdir(parents=True)
    records = Records()
    watcher = ArtifactWatcher(records, str(work))
    try:
        wait_until(lambda: watcher.mode == "scan", what="the watcher to choose scanning")
        assert watcher.watched == frozenset()  # no inotify watch at all
        (work / "many" / "d0007" / "late.txt").write_text("found by a scan")
        wait_until(lambda: "many/d0007/late.txt" in records.paths(), what="the scan to report the file")
        (work / "many" / "d0008" / "last.txt").write_text("found by the last scan")
    finally:
        watcher.stop()
    assert "many/d0008/last.txt" in records.paths()  # the final scan misses nothing


def test_a_small_tree_is_watched_folder_by_folder(tmp_path):
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    records = Records()
    watcher = ArtifactWatcher(records, str(work))
    try:
        wait_until(lambda: watcher.mode == "watch", what="the watcher to watch")
        assert watcher.watched == {str(work), str(work / "data")}
        (work / "data" / "deep" / "er").mkdir(parents=True)
        (work / "data" / "deep" / "er" / "x.txt").write_text("x")
        wait_until(lambda: "data/deep/er/x.txt" in records.paths(), what="the file in a new folder")
        wait_until(lambda: str(work / "data" / "deep" / "er") in watcher.watched, what="the new folders")
    finally:
        watcher.stop()


def inotify_instances() -> int:
    """The inotify instances this process holds (one per live watch of the watcher)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:inotify"
    return count


def test_a_renewed_watch_closes_the_last_one(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    # A stopped watcher's thread ends (closing its watch) at its next step: other tests' may linger.
    wait_until(lambda: inotify_instances() == 0, what="the threads of earlier watchers to end")
    records = Records()
    watcher = ArtifactWatcher(records, str(work))
    try:
        for i in range(5):  # each new folder renews the watch
            (work / f"f{i}").mkdir()
            (work / f"f{i}" / "x.txt").write_text("x")
            wait_until(lambda i=i: str(work / f"f{i}") in watcher.watched, what=f"folder f{i} watched")
        assert inotify_instances() == 1
    finally:
        watcher.stop()
    assert sorted(records.paths()) == [f"f{i}/x.txt" for i in range(5)]


def test_without_watchfiles_the_folder_is_scanned_and_a_warning_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "watchfiles", None)  # `import watchfiles` raises ImportError
    records = Records()
    watcher = ArtifactWatcher(records, str(tmp_path))
    try:
        wait_until(lambda: watcher.mode == "scan", what="the watcher to scan")
        (tmp_path / "late.txt").write_text("found by a scan")
        wait_until(lambda: "late.txt" in records.paths(), what="the scan to report the file")
    finally:
        watcher.stop()
    assert watcher.watched == frozenset()
    assert any("watchfiles is not installed" in w["message"] for w in records.warnings)
