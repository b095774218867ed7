"""What a file a run made is: its category (plot, data, code, ...) and its MIME type, by one rule.

The worker reports every file of a run's work dir as an ``artifact`` event with a category; the host,
the widget and the sidebar group and show files by it. One function decides it, :func:`categorize`,
from the path (relative to the work dir, POSIX) and the MIME type, following where cmbagent puts
things: plots and data under ``data/``, scripts under ``codebase/``, the plan in
``planning/final_plan.json``, chats under ``chats/``, cost and timing reports under ``cost/`` and
``time/``, pickled context under ``context/``, ideas as ``ideas_*.json``, notes as ``*.md``.

Standard library only: the worker (any interpreter) imports this module too.
"""

from __future__ import annotations

import mimetypes
import posixpath
from typing import Final

__all__ = ["CATEGORIES", "SKIPPED_NAMES", "categorize", "guess_mime", "is_bookkeeping"]

#: Every category an artifact can have.
CATEGORIES: Final = ("plot", "data", "code", "report", "plan", "chat", "context", "log", "other")

#: Suffixes of data files (counted as data anywhere, and always under ``data/``).
_DATA: Final = frozenset(
    {".csv", ".tsv", ".npz", ".npy", ".parquet", ".h5", ".hdf5", ".fits", ".json", ".pkl"}
)
#: Suffixes of code.
_CODE: Final = frozenset({".py", ".sh", ".ipynb", ".r", ".jl", ".c", ".cpp", ".f90"})
#: Suffixes of reports (documents meant to be read).
_REPORT: Final = frozenset({".md", ".pdf", ".html", ".htm", ".txt", ".tex", ".rst"})
#: MIME types the standard table lacks or gets wrong on some systems.
_MIME: Final = {
    ".npy": "application/x-npy",
    ".npz": "application/x-npz",
    ".parquet": "application/vnd.apache.parquet",
    ".h5": "application/x-hdf5",
    ".hdf5": "application/x-hdf5",
    ".fits": "application/fits",
    ".md": "text/markdown",
    ".ipynb": "application/x-ipynb+json",
    ".py": "text/x-python",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".log": "text/plain",
    ".pkl": "application/octet-stream",
}
#: Folder names the worker never reports nor enters (besides dot-folders): caches and package trees,
#: which never hold a run's results and can be huge.
SKIPPED_NAMES: Final = frozenset({"__pycache__", "node_modules", "site-packages"})


def guess_mime(path: str) -> str:
    """The MIME type of ``path`` by its suffix (``application/octet-stream`` when unknown)."""
    suffix = posixpath.splitext(path)[1].lower()
    return _MIME.get(suffix) or mimetypes.guess_type(path, strict=False)[0] or "application/octet-stream"


def is_bookkeeping(path: str) -> bool:
    """True for a path (relative, POSIX) the worker must not report: dotfiles, dot-folders (the
    worker's own ``.cmbjupyter/``, ``.git``, checkpoints), ``__pycache__`` and package trees."""
    return any(part in SKIPPED_NAMES or part.startswith(".") for part in path.split("/"))


def categorize(path: str, mime: str | None = None) -> str:
    """The category of the file at ``path`` (relative to the work dir, POSIX), one of
    :data:`CATEGORIES`."""
    lowered = path.lower()
    parts = lowered.split("/")
    name = parts[-1]
    top = parts[0] if len(parts) > 1 else ""
    suffix = posixpath.splitext(name)[1]
    mime = (mime or guess_mime(path)).lower()
    if mime.startswith("image/"):
        return "plot"
    if lowered == "planning/final_plan.json" or (name.startswith("plan") and suffix == ".json"):
        return "plan"
    if name.startswith("ideas_") and suffix == ".json":
        return "report"
    if top == "chats":
        return "chat"
    if top == "context":
        return "context"
    if top in ("cost", "time") or suffix == ".log" or name.startswith(("cost_report", "timing_report")):
        return "log"
    if top == "codebase" or suffix in _CODE:
        return "code"
    if suffix in _DATA and (top == "data" or suffix != ".json"):
        return "data"
    if suffix in _REPORT:
        return "report"
    return "other"
