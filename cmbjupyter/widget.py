"""RunWidget: the live view of one run (anywidget; front end in ``js/``, bundled into ``static/``).

The kernel never sends one comm message per event: a :class:`~cmbjupyter.router.Throttle` hands
:meth:`RunWidget.update_from` a RunState snapshot at most ~20 times a second, and only the parts
that changed (``run``, ``dag``, ``cost``, ``console``, ``artifacts``) are synced, together in one
message. The browser sends back ``{"type": "cancel"}``, ``{"type": "input", "text": ...}`` and
``{"type": "file", "id": n, "path": ...}``: a file of the run's work dir, opened in the Results
viewer, answered with its bytes as one binary buffer (``{"type": "file", "id": n, "mime": ...}``)
or ``{"type": "file", "id": n, "error": ...}``. Files travel only when opened. A run the Jupyter
server runs sets :attr:`RunWidget.open_remote`: a file the kernel does not see is fetched from the
server's files route then (the kernel may be on another machine than the work dir).

The ``artifacts`` part carries the manifest, whose records a trait sync sends again whenever it
changes; the host-made thumbnails of plots (a few KB each) would make that quadratic in the number
of plots, so they travel once each, beside the trait: ``{"type": "thumbnails", "items": {key: data
URL}}`` right after the sync that lists them (the record says ``"thumb": key``), and again to a view
that asks (``{"type": "thumbnails", "keys": [...]}``: one rendered later, after a page reload).
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

import anywidget
import traitlets

from ._workfile import FileRefused, read_work_file
from .artifacts import guess_mime

__all__ = ["RunWidget", "artifacts_part", "thumbnails_of", "widget_parts"]

_ESM = pathlib.Path(__file__).parent / "static" / "widget.js"
#: The run fields the browser gets: one list for Python and JS (protocol.json, read by js/src/protocol.js).
_RUN_KEYS: tuple[str, ...] = tuple(
    json.loads((pathlib.Path(__file__).parent / "protocol.json").read_text())["run_keys"]
)


def widget_parts(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """The RunWidget traits for a RunState snapshot (what the browser needs, nothing more)."""
    return {
        "run": {key: snapshot.get(key) for key in _RUN_KEYS},
        "dag": snapshot.get("dag") or {"nodes": {}, "edges": [], "current": None},
        "cost": snapshot.get("cost") or {},
        "console": {"lines": snapshot.get("output") or [], "count": snapshot.get("output_count", 0)},
        "artifacts": artifacts_part(snapshot),
    }


def _thumb_key(record: Mapping[str, Any]) -> str:
    return f"{record.get('path')}|{record.get('sha256')}"


def artifacts_part(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """The run's files as the browser shows them: the manifest (thumbnails replaced by their key,
    see :func:`thumbnails_of`) and the work dir it lives in."""
    manifest = snapshot.get("artifacts") or {}
    items = []
    for record in manifest.get("items") or []:
        item = {k: v for k, v in record.items() if k != "thumbnail"}
        if record.get("thumbnail"):
            item["thumb"] = _thumb_key(record)
        items.append(item)
    return {
        "work_dir": snapshot.get("work_dir"),
        "items": items,
        "count": manifest.get("count", 0),
        "dropped": manifest.get("dropped", 0),
    }


def thumbnails_of(snapshot: Mapping[str, Any]) -> dict[str, str]:
    """The thumbnails of a snapshot's manifest, by the key its records in :func:`artifacts_part` carry."""
    items = (snapshot.get("artifacts") or {}).get("items") or []
    return {_thumb_key(r): r["thumbnail"] for r in items if r.get("thumbnail")}


class RunWidget(anywidget.AnyWidget):
    """DAG (laid out by dagre), cost meter, Results, console and input box of one run, updated live."""

    _esm = (
        _ESM
        if _ESM.exists()
        else "export default { render({ el }) { el.textContent = "
        "'cmbjupyter: the widget bundle is missing (run `make js`)'; } };"
    )

    run = traitlets.Dict().tag(sync=True)
    dag = traitlets.Dict().tag(sync=True)
    cost = traitlets.Dict().tag(sync=True)
    console = traitlets.Dict().tag(sync=True)
    artifacts = traitlets.Dict().tag(sync=True)
    #: The node whose details are open, set by the browser. Kept in the model, not the view, so the
    #: new view rendered when the output is re-published (on phase changes) reopens it.
    selected = traitlets.Unicode("").tag(sync=True)

    def __init__(self, snapshot: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_cancel: list[Callable[[], Any]] = []
        self._on_input: list[Callable[[str], Any]] = []
        self._thumbnails: dict[str, str] = {}  # every thumbnail sent, by key (for views that ask)
        #: Opens a file of the run from the server that runs it (server mode), for files not seen here.
        self.open_remote: Callable[[str], BinaryIO] | None = None
        self.on_msg(self._handle_message)
        if snapshot is not None:
            self.update_from(snapshot)

    def update_from(self, snapshot: Mapping[str, Any]) -> list[str]:
        """Sync the parts of ``snapshot`` that changed, in one comm message; returns their names."""
        changed = {k: v for k, v in widget_parts(snapshot).items() if getattr(self, k) != v}
        fresh = {k: v for k, v in thumbnails_of(snapshot).items() if k not in self._thumbnails}
        if changed:
            with self.hold_sync():
                for name, value in changed.items():
                    setattr(self, name, value)
        if fresh:
            self._thumbnails.update(fresh)
            self.send({"type": "thumbnails", "items": fresh})
        return list(changed)

    def on_cancel(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` when the user presses Cancel."""
        self._on_cancel.append(callback)

    def on_input(self, callback: Callable[[str], Any]) -> None:
        """Call ``callback(text)`` when the user answers an input request."""
        self._on_input.append(callback)

    def _handle_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "cancel":
            for cancel in self._on_cancel:
                cancel()
        elif content.get("type") == "input" and isinstance(content.get("text"), str):
            for answer in self._on_input:
                answer(content["text"])
        elif content.get("type") == "file":
            self._send_file(content.get("id"), content.get("path"))
        elif content.get("type") == "thumbnails":
            keys = content.get("keys")
            wanted = keys if isinstance(keys, list) else list(self._thumbnails)
            items = {k: self._thumbnails[k] for k in wanted if isinstance(k, str) and k in self._thumbnails}
            self.send({"type": "thumbnails", "items": items})

    def _send_file(self, request_id: Any, path: Any) -> None:
        """Answer the browser's request for one work-dir file (confined and bounded: _workfile)."""
        reply: dict[str, Any] = {"type": "file", "id": request_id, "path": path}
        try:
            data = read_work_file(self.artifacts.get("work_dir"), path, remote=self.open_remote)
        except FileRefused as exc:
            self.send({**reply, "error": str(exc)})
            return
        self.send({**reply, "mime": guess_mime(str(path)), "size": len(data)}, buffers=[data])
