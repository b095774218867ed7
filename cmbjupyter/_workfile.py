"""Reading one file of a run's work dir for the kernel-side views, confined and bounded.

The RunWidget answers the browser's ``{"type": "file", "path": ...}`` with a file's bytes, and a
saved notebook embeds a run's final plots: both read a path the run reported, relative to its work
dir. A path is only a name the worker (or a browser) chose: it is opened by the one confinement
rule (:func:`cmbjupyter.workdir.open_confined`), and read only up to ``limit`` bytes. Any failure
is a :class:`FileRefused` naming the problem; nothing is read then.

A kernel that follows a task the Jupyter server runs may not see its work dir (the server runs on
another machine, or in a folder the kernel cannot read): a file not found there is then asked of
``remote``, the server's files route, which applies the same confinement on its side.
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Callable
from typing import BinaryIO, Final

__all__ = ["FileRefused", "read_work_file"]

#: The largest file the widget sends to the browser in one comm message (bytes).
WIDGET_FILE_LIMIT: Final = 20 * 1024 * 1024


class FileRefused(ValueError):
    """A work-dir file that cannot be read for a view: outside the work dir, missing, too big, ..."""


def read_work_file(
    work_dir: str | os.PathLike[str] | None,
    path: object,
    limit: int = WIDGET_FILE_LIMIT,
    remote: Callable[[str], BinaryIO] | None = None,
) -> bytes:
    """The bytes of ``path`` (relative to ``work_dir``), or :class:`FileRefused` saying why not.
    ``remote``: where to ask for a file this process does not find (see the module docstring)."""
    from .errors import CmbJupyterError, ConfigError, NotFound
    from .workdir import open_confined

    try:
        file = open_confined(work_dir, path)  # type: ignore[arg-type]
        size: int | None = os.fstat(file.fileno()).st_size
    except NotFound as exc:
        if remote is None:
            raise FileRefused(str(exc)) from None
        try:
            file = remote(str(path))
        except (CmbJupyterError, OSError) as remote_exc:  # the server's 404, or no server
            raise FileRefused(str(remote_exc)) from None
        length = getattr(file, "headers", {}).get("Content-Length")
        size = int(length) if str(length).isdigit() else None
    except ConfigError as exc:
        raise FileRefused(str(exc)) from None
    with file:
        if size is not None and size > limit:
            raise FileRefused(f"{path!r} is {size:,} bytes, over the {limit:,}-byte limit")
        try:
            data = file.read(limit + 1)
        except (OSError, http.client.HTTPException) as exc:  # the server went away mid-file
            raise FileRefused(f"{path!r} could not be read: {exc}") from None
    if len(data) > limit:
        raise FileRefused(f"{path!r} grew over the {limit:,}-byte limit while read")
    return data
