"""Opening files in the sessions folder without trusting what is there.

Anyone who can write to the folder can leave a symlink to a file elsewhere, a FIFO (a blocking open
or read waits for a writer forever, which on a server's event loop stalls every route) or a link to
a device such as ``/dev/zero`` (a read to EOF never ends). So every sidecar and event-log open goes
through here: ``O_NOFOLLOW`` (a symlink is refused, never followed, for reading and for appending),
``O_NONBLOCK`` (opening a FIFO returns at once), then ``fstat`` on the opened descriptor (no race
with a swap of the name) refuses anything but a regular file, and whole-file reads are bounded.

Refusals are ``OSError`` with the errno, the file name and a reason a person can act on.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO, Final

__all__ = ["open_append", "open_regular", "read_regular"]

#: Flags of every read: never follow a final symlink, never block on a FIFO, never leak into children.
_READ: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
#: Flags of every append (event logs): the same guards, created private if missing.
_APPEND: Final = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

_KINDS: Final = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _open(path: str | os.PathLike[str], flags: int) -> tuple[int, os.stat_result]:
    """A descriptor of ``path`` if it is a regular file (blocking again), with its fstat."""
    name = os.fspath(path)
    try:
        fd = os.open(name, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(exc.errno, "it is a symbolic link, which is never followed", name) from None
        if exc.errno == errno.ENXIO:  # a FIFO or socket opened for writing with no reader
            raise OSError(exc.errno, "it is a FIFO or socket, not a regular file", name) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"it is {_kind(info.st_mode)}, not a regular file", name)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def _too_big(name: str, size: int, limit: int) -> OSError:
    return OSError(errno.EFBIG, f"it is {size} bytes, over the {limit}-byte limit", name)


def read_regular(path: str | os.PathLike[str], limit: int) -> bytes:
    """The whole content of the regular file ``path``, refused past ``limit`` bytes."""
    fd, info = _open(path, _READ)
    with os.fdopen(fd, "rb") as file:
        if info.st_size > limit:
            raise _too_big(os.fspath(path), info.st_size, limit)
        data = file.read(limit + 1)  # it may have grown since fstat
    if len(data) > limit:
        raise _too_big(os.fspath(path), len(data), limit)
    return data


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """The regular file ``path`` opened for reading (streamed, e.g. an event log line by line)."""
    fd, _ = _open(path, _READ)
    return os.fdopen(fd, "rb")


def open_append(path: str | os.PathLike[str], buffering: int = -1) -> BinaryIO:
    """``path`` opened for appending (created 0600 if missing), only if it is a regular file."""
    fd, _ = _open(path, _APPEND)
    return os.fdopen(fd, "ab", buffering=buffering)
