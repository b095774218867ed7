"""Reading one file of a run's work dir for the kernel-side views, confined and bounded.

The RunWidget answers the browser's ``{"type": "file", "path": ...}`` with a file's bytes, and a
saved notebook embeds a run's final plots: both read a path the run reported, relative to its work
dir. A path is only a name the worker (or a browser) chose, so it is checked here, once: relative,
POSIX, no ``..`` out, no symlink leading out of the work dir (the resolved target must lie under the
resolved work dir), a regular file, at most ``limit`` bytes. Any failure is a :class:`FileRefused`
naming the problem; nothing is read then.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Final

__all__ = ["FileRefused", "guess_mime", "read_work_file"]

#: The largest file the widget sends to the browser in one comm message (bytes).
WIDGET_FILE_LIMIT: Final = 20 * 1024 * 1024


class FileRefused(ValueError):
    """A work-dir file that cannot be read for a view: outside the work dir, missing, too big, ..."""


def guess_mime(path: str) -> str:
    """The file's content type from its name (``application/octet-stream`` when unknown)."""
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def _confined(work_dir: str | os.PathLike[str] | None, path: object) -> Path:
    if not work_dir:
        raise FileRefused("the run has no work dir (yet)")
    if not isinstance(path, str) or not path or "\x00" in path or "\\" in path:
        raise FileRefused(f"not a relative POSIX path: {path!r}")
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts:
        raise FileRefused(f"the path must stay inside the work dir: {path!r}")
    root = Path(work_dir).resolve()
    target = (root / relative).resolve()
    if os.path.commonpath([root, target]) != str(root):
        raise FileRefused(f"{path!r} leads out of the work dir (a symlink)")
    return target


def read_work_file(
    work_dir: str | os.PathLike[str] | None, path: object, limit: int = WIDGET_FILE_LIMIT
) -> bytes:
    """The bytes of ``path`` (relative to ``work_dir``), or :class:`FileRefused` saying why not."""
    target = _confined(work_dir, path)
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileRefused(f"{path!r} does not exist (any more)") from None
    except OSError as exc:
        raise FileRefused(f"{path!r} cannot be opened: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise FileRefused(f"{path!r} is not a regular file")
    with os.fdopen(fd, "rb") as file:
        if info.st_size > limit:
            raise FileRefused(f"{path!r} is {info.st_size:,} bytes, over the {limit:,}-byte limit")
        data = file.read(limit + 1)
    if len(data) > limit:
        raise FileRefused(f"{path!r} grew over the {limit:,}-byte limit while read")
    return data
