"""The sessions listing, kept per file, so listing thousands of unchanged sessions stays cheap.

Reading and parsing every sidecar on every listing made 5,000 sessions cost seconds per request. The
index keeps one summary row per ``<id>.json``, keyed by what ``lstat`` says of the name (inode,
size, mtime in ns, file type): a sidecar is rewritten by rename, so a new version has a new inode
and only that file is read again; an unchanged folder costs one ``scandir`` and an ``lstat`` per
entry, and the sorted listing is reused as is. A name that is not a regular file (a symlink, a
FIFO, a device) or cannot be read gets a ``damaged`` row with the reason, and one warning per
version of it. One index serves the kernel's listing and the server's: the same rule for both.

Thread-safe: the server lists in worker threads while its event loop writes sidecars.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

__all__ = ["SessionIndex"]

log = logging.getLogger("cmbjupyter.session")

#: The sidecar suffix; ``<id>.events.jsonl`` and the writer's ``.tmp`` files never match it.
SUFFIX: Final = ".json"

_Key = tuple[int, int, int, int]


def _newest_first(row: dict[str, Any]) -> str:
    return str(row.get("updated_at") or "")


class SessionIndex:
    """Summary rows of the sidecars in one folder, re-read only when a file changed."""

    def __init__(self, row_of: Callable[[str], dict[str, Any]]) -> None:
        """``row_of(session_id)``: the listing row of one sidecar (a ``damaged`` row if unreadable)."""
        self._row_of = row_of
        self._lock = threading.Lock()
        self._root: Path | None = None
        self._rows: dict[str, tuple[_Key, dict[str, Any]]] = {}
        self._sorted: list[dict[str, Any]] = []

    def rows(self, root: Path) -> list[dict[str, Any]]:
        """Every row, newest first. Shared with later calls: callers copy what they change."""
        with self._lock:
            if root != self._root:
                self._root, self._rows, self._sorted = root, {}, []
            try:
                with os.scandir(root) as entries:
                    named = [entry for entry in entries if entry.name.endswith(SUFFIX)]
            except (FileNotFoundError, NotADirectoryError):
                named = []
            rows: dict[str, tuple[_Key, dict[str, Any]]] = {}
            changed = False
            for entry in named:
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed meanwhile
                key = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_mode)
                cached = self._rows.get(entry.name)
                if cached is None or cached[0] != key:
                    cached = (key, self._read(entry.name[: -len(SUFFIX)]))
                    changed = True
                rows[entry.name] = cached
            if changed or rows.keys() != self._rows.keys():
                self._sorted = sorted((row for _, row in rows.values()), key=_newest_first, reverse=True)
            self._rows = rows
            return self._sorted

    def _read(self, session_id: str) -> dict[str, Any]:
        row = self._row_of(session_id)
        if row.get("status") == "damaged":
            log.warning("cmbagent session skipped: %s", row.get("error"))
        return row
