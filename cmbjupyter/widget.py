"""RunWidget: the live view of one run (anywidget; front end in ``js/``, bundled into ``static/``).

The kernel never sends one comm message per event: a :class:`~cmbjupyter.router.Throttle` hands
:meth:`RunWidget.update_from` a RunState snapshot at most ~20 times a second, and only the parts
that changed (``run``, ``dag``, ``cost``, ``console``, ``artifacts``) are synced, together in one
message. The browser sends back ``{"type": "cancel"}``, ``{"type": "input", "text": ...}`` and
``{"type": "fork", "id": n, "at_step": N, "instructions"?, "model"?, "budget_usd"?, "session_id"?}``
(the Fork button of a step node: answered ``{"type": "fork", "id": n, "session_id": the new
session}`` or ``{..., "error": what is wrong}``) and
``{"type": "file", "id": n, "path": ...}``: a file of the run's work dir, opened in the Results
viewer, answered with its bytes as one binary buffer (``{"type": "file", "id": n, "mime": ...}``)
or ``{"type": "file", "id": n, "error": ...}``. Files travel only when opened. A run awaiting
approval gets ``{"type": "approve", "plan": [steps]}`` (the list as edited in the plan editor) or
``{"type": "reject", "feedback": "..."}``; a refused decision is answered with ``{"type":
"plan_error", "message": ...}`` (the editor shows it and keeps the edit).
A run the Jupyter
server runs sets :attr:`RunWidget.open_remote`: a file the kernel does not see is fetched from the
server's files route then (the kernel may be on another machine than the work dir).

The ``artifacts`` part carries the manifest, whose records a trait sync sends again whenever it
changes; the host-made thumbnails of plots (a few KB each) would make that quadratic in the number
of plots, so they travel once each, beside the trait: ``{"type": "thumbnails", "items": {key: data
URL}}`` right after the sync that lists them (the record says ``"thumb": key``), and again to a view
that asks (``{"type": "thumbnails", "keys": [...]}``: one rendered later, after a page reload).

The transcript does the same: the ``transcript`` part is small (``count``, ``dropped``, ``last_id``)
and its items travel beside it, once each: right after a sync, ``{"type": "transcript", "items":
[items newer than the last sent]}`` (at most :data:`TRANSCRIPT_BATCH` a message); a view that
(re)renders asks ``{"type": "transcript", "since": id}`` and gets the kept items after ``id``
(``"reset": true`` when ``since`` is 0).
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO, Final

import anywidget
import traitlets

from ._workfile import FileRefused, read_work_file
from .artifacts import guess_mime

__all__ = [
    "TRANSCRIPT_BATCH",
    "RunWidget",
    "artifacts_part",
    "thumbnails_of",
    "transcript_part",
    "widget_parts",
]

_ESM = pathlib.Path(__file__).parent / "static" / "widget.js"
#: The run fields the browser gets: one list for Python and JS (protocol.json, read by js/src/protocol.js).
_RUN_KEYS: tuple[str, ...] = tuple(
    json.loads((pathlib.Path(__file__).parent / "protocol.json").read_text())["run_keys"]
)
#: Transcript items in one comm message (a view catching up on 1000 gets them in two).
TRANSCRIPT_BATCH: Final = 500


def widget_parts(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """The RunWidget traits for a RunState snapshot (what the browser needs, nothing more)."""
    return {
        "run": {key: snapshot.get(key) for key in _RUN_KEYS},
        "dag": snapshot.get("dag") or {"nodes": {}, "edges": [], "current": None},
        "cost": snapshot.get("cost") or {},
        "console": {"lines": snapshot.get("output") or [], "count": snapshot.get("output_count", 0)},
        "artifacts": artifacts_part(snapshot),
        "transcript": transcript_part(snapshot),
    }


def _transcript_items(snapshot: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list((snapshot.get("transcript") or {}).get("items") or [])


def transcript_part(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """The transcript's trait: its counts and the newest item's id (the items travel beside it)."""
    transcript = snapshot.get("transcript") or {}
    items = _transcript_items(snapshot)
    return {
        "count": transcript.get("count", 0),
        "dropped": transcript.get("dropped", 0),
        "last_id": items[-1].get("id", 0) if items else 0,
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
    transcript = traitlets.Dict().tag(sync=True)
    #: The node whose details are open, set by the browser. Kept in the model, not the view, so the
    #: new view rendered when the output is re-published (on phase changes) reopens it.
    selected = traitlets.Unicode("").tag(sync=True)

    def __init__(self, snapshot: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_cancel: list[Callable[[], Any]] = []
        self._on_input: list[Callable[[str], Any]] = []
        self._on_fork: Callable[[dict[str, Any]], str | None] | None = None
        self._on_plan: list[Callable[[bool, Any, Any], Any]] = []
        self._thumbnails: dict[str, str] = {}  # every thumbnail sent, by key (for views that ask)
        self._transcript: list[dict[str, Any]] = []  # the kept items (for views that ask)
        self._transcript_sent = 0  # the id of the last item sent
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
        if "transcript" in changed:
            self._transcript = _transcript_items(snapshot)
            self._send_transcript(self._transcript_sent)
        return list(changed)

    def _send_transcript(self, since: int, *, reset: bool = False) -> None:
        """The kept items after ``since``, in messages of at most TRANSCRIPT_BATCH items."""
        items = [i for i in self._transcript if isinstance(i.get("id"), int) and i["id"] > since]
        for start in range(0, len(items), TRANSCRIPT_BATCH) if items else ():
            message: dict[str, Any] = {"type": "transcript", "items": items[start : start + TRANSCRIPT_BATCH]}
            if reset and start == 0:
                message["reset"] = True
            self.send(message)
        if reset and not items:
            self.send({"type": "transcript", "items": [], "reset": True})
        if items:
            self._transcript_sent = max(self._transcript_sent, items[-1]["id"])

    def on_cancel(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` when the user presses Cancel."""
        self._on_cancel.append(callback)

    def on_input(self, callback: Callable[[str], Any]) -> None:
        """Call ``callback(text)`` when the user answers an input request."""
        self._on_input.append(callback)

    def on_fork(self, callback: Callable[[dict[str, Any]], str | None]) -> None:
        """Call ``callback({"at_step", ...changes})`` when the user forks from a step; it returns
        the new session's id (or raises, and the error is shown beside the button)."""
        self._on_fork = callback

    def _fork(self, content: dict[str, Any]) -> None:
        fields = ("at_step", "instructions", "model", "budget_usd", "session_id")
        request = {k: content[k] for k in fields if content.get(k) is not None}
        if "session_id" in request:
            request["session"] = request.pop("session_id")
        reply: dict[str, Any] = {"type": "fork", "id": content.get("id")}
        try:
            if self._on_fork is None:
                raise RuntimeError("this run cannot be forked from here")
            reply["session_id"] = self._on_fork(request)
        except Exception as exc:  # a bad step, a change refused: said beside the button
            reply["error"] = str(exc)
        self.send(reply)

    def on_plan(self, callback: Callable[[bool, Any, Any], Any]) -> None:
        """Call ``callback(approved, plan, feedback)`` when the user approves or rejects the plan."""
        self._on_plan.append(callback)

    def _decide(self, approved: bool, plan: Any, feedback: Any) -> None:
        for decide in self._on_plan:
            try:
                decide(approved, plan, feedback)
            except (ValueError, LookupError, RuntimeError) as exc:  # ConfigError, TaskConflict...
                self.send({"type": "plan_error", "message": str(exc)})

    def _handle_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "cancel":
            for cancel in self._on_cancel:
                cancel()
        elif content.get("type") == "input" and isinstance(content.get("text"), str):
            for answer in self._on_input:
                answer(content["text"])
        elif content.get("type") == "fork":
            self._fork(content)
        elif content.get("type") == "approve":
            self._decide(True, content.get("plan"), None)
        elif content.get("type") == "reject":
            self._decide(False, None, content.get("feedback"))
        elif content.get("type") == "file":
            self._send_file(content.get("id"), content.get("path"))
        elif content.get("type") == "transcript":
            since = content.get("since")
            since = since if isinstance(since, int) and not isinstance(since, bool) and since > 0 else 0
            self._send_transcript(since, reset=since == 0)
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
