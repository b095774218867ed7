"""Reading one file of a run's work dir for the kernel-side views, confined and bounded.

The RunWidget answers the browser's ``{"type": "file", "path": ...}`` with a file's bytes, and a
saved notebook embeds a run's final plots: both read a path the run reported, relative to its work
dir. A path is only a name the worker (or a browser) chose: it is opened by the one confinement
rule (:func:`cmbjupyter.workdir.open_confined`), and read only up to ``limit`` bytes. Any failure
is a :class:`FileRefused` naming the problem; nothing is read then.
"""

from __future__ import annotations

import os
from typing import Final

__all__ = ["FileRefused", "read_work_file"]

#: The largest file the widget sends to the browser in one comm message (bytes).
WIDGET_FILE_LIMIT: Final = 20 * 1024 * 1024


class FileRefused(ValueError):
    """A work-dir file that cannot be read for a view: outside the work dir, missing, too big, ..."""


def read_work_file(
    work_dir: str | os.PathLike[str] | None, path: object, limit: int = WIDGET_FILE_LIMIT
) -> bytes:
    """The bytes of ``path`` (relative to ``work_dir``), or :class:`FileRefused` saying why not."""
    from .errors import ConfigError, NotFound
    from .workdir import open_confined

    try:
        file = open_confined(work_dir, path)  # type: ignore[arg-type]
    except (NotFound, ConfigError) as exc:
        raise FileRefused(str(exc)) from None
    with file:
        size = os.fstat(file.fileno()).st_size
        if size > limit:
            raise FileRefused(f"{path!r} is {size:,} bytes, over the {limit:,}-byte limit")
        data = file.read(limit + 1)
    if len(data) > limit:
        raise FileRefused(f"{path!r} grew over the {limit:,}-byte limit while read")
    return data
