"""A run's files, read safely: one confinement rule for everything that opens them.

The server's file routes, the kernel's ``run.artifacts`` and the RunWidget's file requests all
open files the agents wrote, named by a path that came from outside (a URL, an event, a widget
message). :func:`resolve` is the one rule that turns such a path into a file inside the run's work
dir: relative POSIX paths only, no ``..``, and the real path (symlinks followed) must still lie
under the work dir's real path and be a regular file. Anything else is "not found" (the caller
cannot tell a refused path from a missing one); a path that cannot even be a path (empty, NUL,
too long) is a :class:`~cmbjupyter.errors.ConfigError`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Final

from .errors import ConfigError, NotFound

__all__ = ["MAX_PATH_CHARS", "listing", "open_confined", "resolve"]

#: The longest relative path accepted (Linux's PATH_MAX).
MAX_PATH_CHARS: Final = 4096


def resolve(work_dir: str | os.PathLike[str] | None, path: str) -> Path:
    """The real path of the regular file ``path`` (relative, POSIX) inside ``work_dir``.

    NotFound (404) when there is no work dir, when the path is absolute, climbs with ``..``, leads
    out of the work dir through a symlink, or names no regular file; ConfigError (400) when it is
    not a usable path at all.
    """
    if not isinstance(path, str) or not path or "\0" in path or len(path) > MAX_PATH_CHARS:
        shown = repr(path) if not isinstance(path, str) else repr(path[:80])
        raise ConfigError(f"not a file path: {shown} (a relative path of 1-{MAX_PATH_CHARS} characters)")
    missing = NotFound(f"no file {path[:200]!r} in this run's work dir")
    if not work_dir:
        raise NotFound("this run has no work dir (yet)")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise missing
    try:
        root = Path(work_dir).resolve(strict=True)
        full = (root / pure).resolve(strict=True)
        mode = full.stat().st_mode
    except (OSError, RuntimeError):  # missing, a symlink loop, a component that is not a folder
        raise missing from None
    if os.path.commonpath([root, full]) != str(root) or full == root or not stat.S_ISREG(mode):
        raise missing
    return full


def open_confined(work_dir: str | os.PathLike[str] | None, path: str) -> BinaryIO:
    """``path`` inside ``work_dir`` opened for binary reading (see :func:`resolve`); the last
    component is opened without following a symlink, so a swap after the check is refused."""
    full = resolve(work_dir, path)
    try:
        fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        raise NotFound(f"no file {path[:200]!r} in this run's work dir") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotFound(f"no file {path[:200]!r} in this run's work dir")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def listing(work_dir: str | None, records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The manifest's records, each with ``exists``: whether its file is still there (and inside)."""
    rows = []
    for record in records:
        row = dict(record)
        try:
            resolve(work_dir, str(record.get("path") or ""))
        except (NotFound, ConfigError):
            row["exists"] = False
        else:
            row["exists"] = True
        rows.append(row)
    return rows
