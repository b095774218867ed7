"""Compare and export sessions from a kernel: what ``%cmbagent compare`` and ``export`` call.

::

    cmbjupyter.reports.compare("fit-gpt4o", "fit-mini")     # a Comparison: drawn as text, a dict
    cmbjupyter.reports.export("fit-gpt4o", to="fit.ipynb")  # the run as a runnable notebook

A session is looked up as ``%cmbagent show`` does: this kernel's store first, then (server mode)
the Jupyter server's, through its REST routes (``compare``, ``sessions/{id}/export``), so a
session the server ran is reachable from a kernel that started after it.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from .compare import compare as compare_records
from .compare import render_text
from .errors import SessionNotFound
from .export import export_notebook, save_notebook
from .runrecord import RunRecord
from .runs import local_sessions

__all__ = ["Comparison", "compare", "export"]


class Comparison(dict[str, Any]):
    """The comparison document (``docs/reports.md``, version 1), drawn as text in a notebook."""

    @property
    def text(self) -> str:
        return render_text(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text)

    def _repr_html_(self) -> str:
        return f"<pre class='cmbagent-compare'>{html.escape(self.text)}</pre>"


def _server() -> Any:
    from .remote.client import connect

    return connect()


def compare(a: str, b: str) -> Comparison:
    """Compare sessions ``a`` and ``b`` (differences are B - A)."""
    store = local_sessions()
    try:
        return Comparison(compare_records(RunRecord.load(store, a), RunRecord.load(store, b)))
    except SessionNotFound:
        client = _server()
        if client is None:
            raise
        # the server's answer names the session that is missing from its store too
        return Comparison(client.request("GET", "compare?" + urlencode({"a": a, "b": b})))


def export(session_id: str, to: str | os.PathLike[str] | None = None) -> Path:
    """Write session ``session_id`` as a notebook to ``to`` (default ``<session_id>.ipynb``); its path."""
    import nbformat

    target = to if to is not None else f"{session_id}.ipynb"
    try:
        notebook = export_notebook(RunRecord.load(local_sessions(), session_id))
    except SessionNotFound:
        client = _server()
        if client is None:
            raise
        reply = client.request("GET", f"sessions/{quote(session_id, safe='')}/export")
        notebook = nbformat.from_dict(reply)
    return save_notebook(notebook, target)
