"""Session summaries in notebooks: where a saved ``.ipynb`` keeps what its runs did.

Two places hold a summary (``RunState.summary()`` plus sidecar path and price-table version):

* ``metadata.cmbagent.sessions[<session_id>]`` of the notebook. JupyterLab's extension writes it
  into the live notebook model; headless tools call :func:`write_session_summary` on the file.
* the magic's output: the summary under :data:`MIMETYPE` and in the output's metadata, so notebooks
  executed by nbclient/nbval keep it too.

A run's final plots are saved in the output too (:func:`plot_outputs`): each as an ``image/png`` (or
``image/jpeg``, ``image/svg+xml``) output of its own, since a display holds one image and a widget's
bundle hides the rest; that is what GitHub, nbviewer and ``nbconvert`` show without JavaScript.

:func:`sessions_from_notebook` reads both and returns one summary per session, the latest winning.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Final

from .redact import Redactor

__all__ = [
    "METADATA_KEY",
    "MIMETYPE",
    "PLOTS_SAVED",
    "clean_summary",
    "output_metadata",
    "plot_outputs",
    "session_summary",
    "sessions_from_notebook",
    "static_bundle",
    "write_session_summary",
]

MIMETYPE: Final = "application/vnd.cmbagent.run+json"
METADATA_KEY: Final = "cmbagent"
#: The most plots of a run saved in its cell's output (its last ones, the last version of each).
PLOTS_SAVED: Final = 6
#: The most bytes of one saved plot; a bigger raster is scaled down (Pillow) to fit, else left out.
PLOT_BYTES: Final = 1024 * 1024
#: The longest side of a plot scaled down to fit PLOT_BYTES (pixels), tried in turn.
PLOT_SIDES: Final = (1600, 1000, 640, 400)
_PLOT_MIMES: Final = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "svg": "image/svg+xml"}


def session_summary(state: Any, *, where: str, sidecar: str | None = None, **fields: Any) -> dict[str, Any]:
    """The one session summary: what a run saves in notebook metadata and its output (kernel mode,
    :meth:`~cmbjupyter.runs.Run.summary`) and what the sidebar writes for a server task.

    ``state`` is the run's :class:`~cmbjupyter.state.RunState`; ``fields`` (e.g. ``notebook``) are
    added as they are. Not yet cleaned: :func:`clean_summary` makes it fit to store.
    """
    from .cost import PRICES_VERSION

    summary = state.summary()
    summary["prices"] = summary.get("prices") or PRICES_VERSION
    summary["where"] = where
    if sidecar:
        summary["sidecar"] = sidecar
    summary.update(fields)
    return summary


def clean_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The summary as stored: JSON-safe, secrets redacted, no tracebacks."""
    from .events import json_safe

    cleaned = Redactor.for_task(None).value(json_safe(dict(summary)))
    if isinstance(cleaned.get("error"), dict):
        cleaned["error"].pop("traceback", None)
    return cleaned


def static_bundle(run: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The output of a run without a live widget: static HTML, summary JSON, plain text.

    ``run`` is a :class:`~cmbjupyter.runs.Run` (anything with ``state`` and ``summary()``).
    """
    from .static_html import render_html

    summary = run.summary()
    data = {"text/plain": repr(run), "text/html": render_html(run.state.snapshot()), MIMETYPE: summary}
    return data, output_metadata(summary)


def _fitted(data: bytes) -> bytes | None:
    """A raster image over PLOT_BYTES scaled down until it fits, as PNG (None: no Pillow, or no luck)."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            image.load()
            for side in PLOT_SIDES:
                small = image.copy()
                small.thumbnail((side, side))
                out = io.BytesIO()
                small.save(out, format="PNG", optimize=True)
                if out.tell() <= PLOT_BYTES:
                    return out.getvalue()
    except Exception:  # a plot that cannot be scaled is listed, not saved
        return None
    return None


def plot_outputs(
    work_dir: str | None,
    artifacts: Iterable[Mapping[str, Any]],
    limit: int = PLOTS_SAVED,
    remote: Callable[[str], BinaryIO] | None = None,
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(data, metadata)`` of one display output per saved plot: the last ``limit`` plots of the
    manifest ``artifacts`` (records with ``path``, ``category``) that can be read from ``work_dir``
    (confined there, :mod:`cmbjupyter._workfile`; else from ``remote``, the server that ran the
    task) and fit in :data:`PLOT_BYTES`."""
    from ._workfile import FileRefused, read_work_file

    plots = [r for r in artifacts if r.get("category") == "plot" and not r.get("remote")]
    outputs = []
    for record in plots[-limit:] if limit > 0 else []:
        path = str(record.get("path"))
        mime = _PLOT_MIMES.get(path.rsplit(".", 1)[-1].lower())
        if mime is None:
            continue
        try:
            data: bytes | None = read_work_file(work_dir, path, limit=16 * PLOT_BYTES, remote=remote)
        except FileRefused:
            continue
        if len(data) > PLOT_BYTES:
            data, mime = (_fitted(data), "image/png") if mime != "image/svg+xml" else (None, mime)
        if data is None:
            continue
        svg = mime == "image/svg+xml"
        content = data.decode("utf-8", "replace") if svg else base64.b64encode(data).decode()
        outputs.append(({mime: content, "text/plain": f"<plot {path}>"}, {METADATA_KEY: {"artifact": path}}))
    return outputs


def output_metadata(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The output metadata that carries a run's summary through headless execution."""
    return {METADATA_KEY: {"session": clean_summary(summary)}}


def _updated(summary: Mapping[str, Any]) -> str:
    return str(summary.get("ended_at") or summary.get("updated_at") or summary.get("started_at") or "")


def sessions_from_notebook(notebook: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every session summary a notebook holds (metadata and outputs), keyed by session id."""
    import nbformat

    nb = notebook if isinstance(notebook, Mapping) else nbformat.read(os.fspath(notebook), as_version=4)
    found: dict[str, dict[str, Any]] = {}

    def keep(summary: Any) -> None:
        if not isinstance(summary, Mapping):
            return
        key = str(summary.get("session_id") or summary.get("task_id") or "")
        if key and (key not in found or _updated(summary) >= _updated(found[key])):
            found[key] = dict(summary)

    for summary in ((nb.get("metadata") or {}).get(METADATA_KEY) or {}).get("sessions", {}).values():
        keep(summary)
    for cell in nb.get("cells", ()):
        for output in cell.get("outputs", ()) if cell.get("cell_type") == "code" else ():
            keep((output.get("data") or {}).get(MIMETYPE))
            keep(((output.get("metadata") or {}).get(METADATA_KEY) or {}).get("session"))
    return found


def write_session_summary(path: str | os.PathLike[str], summary: Mapping[str, Any]) -> None:
    """Store ``summary`` in the notebook file's ``metadata.cmbagent.sessions``, atomically.

    The notebook is read, updated and replaced in one rename, so an editor or a crash never sees
    half a file. For notebooks open in JupyterLab the extension updates the live model instead.
    """
    import nbformat

    from .session import atomic_write

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    summary = clean_summary(summary)
    key = str(summary.get("session_id") or summary.get("task_id"))
    nb.metadata.setdefault(METADATA_KEY, {}).setdefault("sessions", {})[key] = summary
    atomic_write(path, (nbformat.writes(nb) + "\n").encode(), keep_mode=True)
