"""What a file of the work dir is now, for the watcher: its (size, mtime), its sha256, and whether a
process of the worker's tree still holds it open for writing (then it is not complete yet).

Kept apart from ``watcher.py`` (which decides *when* to look) because these only read the file
system and ``/proc``.
"""

from __future__ import annotations

import os
import stat
from typing import Final

from ..snapshots import file_sha256
from ._guard import descendants

__all__ = ["look", "open_for_writing", "sha256"]

#: O_ACCMODE bits of a file descriptor open for writing (O_WRONLY, O_RDWR).
_WRITE_MODES: Final = (1, 2)


def look(path: str) -> tuple[int, int] | None:
    """(size, mtime_ns) of a regular file, or None when it is gone or not a file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return st.st_size, st.st_mtime_ns


def sha256(path: str) -> str | None:
    """The file's sha256, or None when it cannot be read (gone, unreadable)."""
    try:
        return file_sha256(path)
    except OSError:
        return None


def open_for_writing() -> set[str]:
    """Real paths of the files the worker and its descendants hold open for writing (Linux /proc)."""
    found: set[str] = set()
    for pid in (os.getpid(), *descendants()):
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
                if not target.startswith("/"):
                    continue  # pipes, sockets, anon inodes
                with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                    flags = next((line for line in info if line.startswith("flags:")), "flags: 0")
            except OSError:
                continue
            if int(flags.split()[1], 8) & 3 in _WRITE_MODES:
                found.add(target)
    return found
