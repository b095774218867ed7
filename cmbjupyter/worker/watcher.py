"""The worker's watcher: every file the run makes in its work dir becomes an ``artifact`` event.

A thread watches the work dir with ``watchfiles`` (inotify: it wakes on a change, not on a timer) and
reports each file once it is *complete*, once per content: its size and mtime are the same in two
looks :data:`SETTLE` seconds apart and no process of the worker's tree has it open for writing (a
file half written, even by a writer that pauses, is not reported until it is closed); its sha256
differs from the last one reported for that path (a rewrite with new content is reported again with
``updated: true``). A final :meth:`ArtifactWatcher.scan` at each phase change and at the end of the
run walks the whole folder, so nothing is missed whatever the watch saw.

The watch covers exactly the folders the walk keeps, each watched on its own (not recursively): the
work dir and its real subfolders, never a skipped one (dot-folders such as ``.venv`` or ``.git``,
``node_modules``, ``__pycache__``) nor a symlinked one. A recursive watch of a repository folder put
15,000 inotify watches on its ``.venv`` and ``node_modules`` and took the CPU the engine needed (its
event throughput fell to 0.2-0.3x a raw pipe). A new folder is watched as it appears: the watch is
renewed with it, and each watch, once up, walks the tree for what came before it (or between two
watches); a python run's first walk is the one that notes the files already there. A tree of more than
:data:`WATCH_LIMIT` kept folders (inotify watches are a per-user resource of the machine) is scanned
instead, as it is without ``watchfiles`` importable (another environment: said once with a
``warning``): a scan every :data:`POLL` seconds at most, and less often for a big tree, so that
walking takes at most :data:`SCAN_SHARE` of the thread's time.

Only files under the work dir are reported: a symlink whose target leaves it never is (its path is
resolved and checked), symlinked folders are not entered, and the worker's own bookkeeping
(``.cmbjupyter/``, ``__pycache__``, dotfiles) is skipped. Images the engine displays are written
under ``displayed/`` (``display.py``) and reported with ``displayed: true``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable
from typing import Any, Final

from .._shapes import event_problem
from ..artifacts import SKIPPED_NAMES, categorize, guess_mime, is_bookkeeping
from ._filestate import look as _look
from ._filestate import open_for_writing, sha256

__all__ = ["BATCH", "DISPLAY_DIR", "POLL", "SCAN_SHARE", "SETTLE", "WATCH_LIMIT", "ArtifactWatcher"]

#: Seconds between the two looks that find a file complete (same size and mtime).
SETTLE: Final = 0.2
#: Least seconds between two scans when the work dir is scanned rather than watched.
POLL: Final = 0.5
#: Most folders watched one by one; a bigger kept tree is scanned instead.
WATCH_LIMIT: Final = 500
#: Most share of its time a scanning watcher spends walking (the pause after a scan is its CPU time
#: divided by this, at least :data:`POLL`).
SCAN_SHARE: Final = 0.02
#: Most artifact events in one write to the event pipe.
BATCH: Final = 200
#: Where displayed images are written, relative to the work dir (reported with ``displayed: true``).
DISPLAY_DIR: Final = "displayed"
#: Most seconds a complete file waits for an older candidate not complete yet (e.g. a look caught it
#: half written, and it changed), so that files are reported in the order they were made.
HOLD: Final = 1.0
#: Most rounds of the final check when files keep changing while it waits.
FINAL_ROUNDS: Final = 3


class ArtifactWatcher:
    """Watches one work dir (see the module docstring); ``emit`` is the worker's Emitter."""

    def __init__(self, emit: Any, root: str | None = None, *, settle: float = SETTLE) -> None:
        self.emit = emit
        self.settle = settle
        self.root: str | None = None
        self._real_root: str | None = None
        self._lock = threading.RLock()
        #: relative path -> sha256 last reported
        self._reported: dict[str, str] = {}
        #: relative path -> (size, mtime_ns) of the last look, and when it was taken
        self._pending: dict[str, tuple[tuple[int, int], float]] = {}
        #: relative path -> (size, mtime_ns) of the reported content (a scan skips unchanged files)
        self._seen: dict[str, tuple[int, int]] = {}
        #: paths the engine displayed (cmbagent's ``displayed_images``): reported with displayed=True
        self._displayed: set[str] = set()
        #: relative paths of the files the last scan walked
        self._walked_files: list[str] = []
        #: absolute paths of the kept folders the walks entered (what the watch covers)
        self._folders: set[str] = set()
        #: a kept folder appeared (or was remade): the watch is renewed to cover it
        self._renew = False
        #: the root whose folders a walk has just found (watch(existing=False)), and its CPU seconds
        self._walked: str | None = None
        self._walk_cpu = 0.0
        #: "watch" (the folders in :attr:`watched`) or "scan", once the thread has chosen
        self.mode: str | None = None
        self.watched: frozenset[str] = frozenset()
        self._closed = False
        self._stop = threading.Event()
        self._restart = threading.Event()
        self._thread: threading.Thread | None = None
        self.reported = 0
        if root is not None:
            self.watch(root)

    # ------------------------------------------------------------------ control

    def watch(self, root: str, existing: bool = True) -> None:
        """Watch ``root`` (absolute) from now on; a previous folder's files stay reported.
        ``existing``: the files already there are reported too (else only those made from now on)."""
        with self._lock:
            if self.root is not None and self._pending:
                self._check(final=True)
            self.root = os.path.abspath(root)
            self._real_root = os.path.realpath(self.root)
            self._pending.clear()
            self._reported.clear()
            self._seen.clear()
            if not existing:  # only files made or changed from now on count (the thread's first walk)
                started = time.thread_time()
                self._seen = {r: look for r in self._walk() if (look := _look(self._join(r))) is not None}
                self._walk_cpu, self._walked = time.thread_time() - started, self.root
        self._restart.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cmbjupyter-watcher", daemon=True)
            self._thread.start()

    def mark_displayed(self, paths: Iterable[str]) -> None:
        """Files the engine displayed (absolute or relative): reported with ``displayed: true``."""
        with self._lock:
            for path in paths:
                relative = self._relative(os.fspath(path))
                if relative is not None and relative not in self._displayed:
                    self._displayed.add(relative)
                    if relative in self._reported:  # reported already: say it was displayed
                        self._seen.pop(relative, None)
                        self._reported[relative] = ""
                        self._pending[relative] = ((-1, -1), 0.0)

    def contains(self, path: str) -> bool:
        """True when ``path`` is a file of the work dir the watcher would report."""
        return self._relative(os.fspath(path)) is not None

    def scan(self) -> None:
        """Walk the whole folder and report every complete new or changed file (a phase change, the
        end). Waits :attr:`settle` seconds once if a file still has to prove it is complete."""
        with self._lock:
            if self.root is None:
                return
            self._walked_files = list(self._walk())
            self._collect(self._walked_files)
            for _round in range(FINAL_ROUNDS):  # a file that changed during the wait: look again
                if not self._check(final=True):
                    break

    def files(self) -> tuple[str | None, list[str], list[str], dict[str, tuple[tuple[int, int], str]]]:
        """The work dir, the files and folders its last :meth:`scan` walked, the (size, mtime_ns) and
        sha256 of the files reported: a step's snapshot (``snapshots.py``) reuses them, no walk again."""
        with self._lock:
            known = {r: (self._seen[r], sha) for r, sha in self._reported.items() if sha and r in self._seen}
            folders = [os.path.relpath(f, self.root).replace(os.sep, "/") for f in self._folders if self.root]
            return self.root, list(self._walked_files), [f for f in folders if f != "."], known

    def stop(self) -> None:
        """A last :meth:`scan` (before the result goes out); nothing is reported after it. The thread
        ends at its next step: it is not waited for (a finished worker exits without it)."""
        with self._lock:
            self.scan()
            self._closed = True
        self._stop.set()
        self._restart.set()

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        try:
            from watchfiles import watch
        except ImportError:
            self._warn(
                "watchfiles is not installed for the worker's Python: the run's files are found by a "
                f"scan every {POLL:g} s or more instead"
            )
            watch = None
        while not self._stop.is_set():
            self._restart.clear()
            root = self.root
            if root is None or not os.path.isdir(root):
                self._restart.wait(POLL)  # a new root, or this one (re)made
                continue
            try:
                self._follow(watch, root)
            except Exception:  # the folder went away (cmbagent clears it), unreadable...
                self._restart.wait(SETTLE)

    def _follow(self, watch: Any, root: str) -> None:
        """Report the files of ``root`` until it goes, another is watched or the watcher stops: its
        kept folders watched, or (too many, no watchfiles, a failed watch) scanned now and then."""
        with self._lock:
            known, self._walked = self._walked == root, None
        spent = self._walk_cpu if known else self._timed_scan()  # its folders, and what is there
        while not self._restart.is_set() and os.path.isdir(root):
            if watch is not None and len(self._folders) <= WATCH_LIMIT:
                try:
                    self._watch_folders(watch, root)
                    continue
                except Exception:  # a folder went away meanwhile, the watch limit is reached...
                    pass
            self.mode, self.watched = "scan", frozenset()
            if not self._restart.wait(max(POLL, spent / SCAN_SHARE)):
                spent = self._timed_scan()

    def _timed_scan(self) -> float:
        """:meth:`scan`; the CPU seconds this thread spent on it."""
        started = time.thread_time()
        self.scan()
        return time.thread_time() - started

    def _watch_folders(self, watch: Any, root: str) -> None:
        """Watch the kept folders, each on its own, until one is added, ``root`` goes, or a restart.
        Once watched, a walk finds what came before (and between this watch and the last one)."""
        with self._lock:
            folders = frozenset(folder for folder in self._folders if os.path.isdir(folder))
            self._renew = False
        caught_up = False
        stream = watch(
            *sorted(folders),
            recursive=False,
            watch_filter=None,
            stop_event=self._restart,
            yield_on_timeout=True,
            rust_timeout=int(self.settle * 1000),
            debounce=int(self.settle * 1000),
            step=50,
            ignore_permission_denied=True,
            raise_interrupt=False,
        )
        changes: Any
        with contextlib.closing(stream):  # its inotify instance closed on return
            for changes in stream:
                self.mode, self.watched = "watch", folders
                with self._lock:
                    if not caught_up:
                        self._collect(self._walk())
                        caught_up = True
                    if changes:
                        self._collect(self._changed(path for _change, path in changes))
                    self._check(final=False)
                    if self._renew or not self._folders <= folders:  # new folders: watch them too
                        return
                if not os.path.isdir(root):
                    return  # the folder was removed: watch it again once it is back

    def _changed(self, paths: Iterable[str]) -> Iterable[str]:
        """The files among changed ``paths``; a (new or remade) kept folder is to be watched."""
        for path in paths:
            relative = self._relative(path)
            if relative is None:
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                self._renew = True
            else:
                yield relative

    # ------------------------------------------------------------------ finding and reporting

    def _relative(self, path: str) -> str | None:
        """``path`` relative to the work dir (POSIX), or None when it is outside it, reached through a
        symlink that leaves it, or the worker's bookkeeping."""
        if self.root is None or self._real_root is None:
            return None
        absolute = os.path.abspath(os.path.join(self.root, path))
        real = os.path.realpath(absolute)
        try:
            if os.path.commonpath([real, self._real_root]) != self._real_root:
                return None
            relative = os.path.relpath(absolute, self.root)
        except ValueError:
            return None
        if relative.startswith("..") or relative == ".":
            return None
        relative = relative.replace(os.sep, "/")
        return None if is_bookkeeping(relative) else relative

    def _walk(self, top: str | None = None) -> Iterable[str]:
        """Relative paths of the files under ``top`` (the work dir), not entering symlinked folders."""
        start = top or self.root
        prefix = self._relative(start) if top else ""
        if prefix is None or start is None:
            return
        if top is None:
            self._folders = set()
        # Folders entered are real ones under the work dir: only a symlinked file needs resolving.
        todo = [(start, f"{prefix}/" if prefix else "")]
        while todo:
            folder, base = todo.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            self._folders.add(folder)
            for entry in entries:
                if entry.name.startswith(".") or entry.name in SKIPPED_NAMES:
                    continue
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                    is_link = not is_dir and entry.is_symlink()
                except OSError:
                    continue
                if is_dir:
                    todo.append((entry.path, f"{base}{entry.name}/"))
                elif not is_link:
                    yield base + entry.name
                elif (relative := self._relative(entry.path)) is not None:
                    yield relative

    def _collect(self, relatives: Iterable[str]) -> None:
        """Make files whose (size, mtime) changed since they were reported candidates."""
        now = time.monotonic()
        for relative in relatives:
            look = _look(self._join(relative))
            if look is None or self._seen.get(relative) == look:
                continue
            if relative not in self._pending:
                self._pending[relative] = (look, now)

    def _check(self, *, final: bool) -> bool:
        """Report the candidates that are complete; a final check waits for them to settle. True when
        a candidate changed meanwhile (it needs another look)."""
        if not self._pending or self._closed:
            return False
        changed = False
        if final:
            wait = max(started + self.settle for _look, started in self._pending.values()) - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, self.settle))
        now = time.monotonic()
        writing: set[str] | None = None
        records: list[dict[str, Any]] = []
        older_unsettled = False  # an older candidate is not complete yet: newer ones wait for it
        # In the order they were made (mtime, then path): what a gallery shows.
        for relative, (look, taken) in sorted(
            self._pending.items(), key=lambda item: (item[1][0][1], item[0])
        ):
            path = self._join(relative)
            current = _look(path)
            if current is None:
                del self._pending[relative]
                continue
            if current != look or now - taken < self.settle:
                if current != look:
                    self._pending[relative] = (current, now)
                    changed = True
                older_unsettled = True
                continue
            if older_unsettled and not final and now - taken < self.settle + HOLD:
                continue  # reported with (after) the older one, unless it keeps changing
            if writing is None:
                writing = open_for_writing()
            if os.path.realpath(path) in writing:
                continue  # still being written: complete once closed
            del self._pending[relative]
            record = self._record(relative, path, current)
            if record is not None:
                records.append(record)
        for start in range(0, len(records), BATCH):
            self.emit.artifacts(records[start : start + BATCH])
        self.reported += len(records)
        return changed

    def _join(self, relative: str) -> str:
        return os.path.join(self.root or "", relative)

    def _record(self, relative: str, path: str, look: tuple[int, int]) -> dict[str, Any] | None:
        if event_problem("artifact", {"path": relative}) is not None:  # e.g. a name with '\\..\\'
            self._seen[relative] = look
            return None
        sha = sha256(path)
        if sha is None:
            return None
        self._seen[relative] = look
        before = self._reported.get(relative)
        if before == sha:
            return None
        self._reported[relative] = sha
        mime = guess_mime(relative)
        record: dict[str, Any] = {
            "path": relative,
            "category": categorize(relative, mime),
            "mime": mime,
            "size": look[0],
            "sha256": sha,
        }
        if before:
            record["updated"] = True
        if relative in self._displayed or relative.startswith(DISPLAY_DIR + "/"):
            record["displayed"] = True
        return record

    def _warn(self, message: str) -> None:
        with contextlib.suppress(Exception):
            self.emit.event("warning", {"message": message, "kind": "artifacts"})
