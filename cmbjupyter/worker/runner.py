"""The worker's run: read the spec, capture output, run the engine, report its result or error.

Every file the run makes in its work dir is reported as an ``artifact`` (``watcher.py``), the last
ones before the result. If the worker dies instead, the host reports how (exit code, signal): see
``_supervisor.py``. However the run ends, nothing it started outlives it: the worker ends its whole
tree (``_guard.py``) last.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from ..errors import EngineError
from ..events import json_safe
from ..snapshots import SnapshotWriter
from ._guard import Guard, end_tree
from ._warm import apply
from .capture import EventStream
from .control import ControlChannel
from .display import DisplayCapture
from .emit import ChannelClosed, Emitter
from .engines import load_engine
from .watcher import ArtifactWatcher

#: Exit codes the host recognises (besides signals).
EXIT_OK, EXIT_ENGINE_ERROR, EXIT_CHANNEL_CLOSED, EXIT_CANCELLED = 0, 1, 3, 143


class _Terminated(BaseException):
    """Raised in the main thread by SIGTERM, so that ``finally`` blocks of the engine run."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def _error_data(exc: BaseException) -> dict[str, Any]:
    data: dict[str, Any] = {"message": str(exc) or type(exc).__name__, "error_type": type(exc).__name__}
    if not isinstance(exc, EngineError):  # an EngineError's message already names the fix
        data["traceback"] = "".join(traceback.format_exception(exc))
    return data


def _route_warnings(emit: Emitter) -> None:
    """Library warnings (``warnings.warn``: a UserWarning, a DeprecationWarning) become ``output``
    events of the ``warnings`` stream, which the views hide by default, not stderr lines."""

    def show(
        message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None
    ) -> None:
        text = warnings.formatwarning(message, category, filename, lineno, line).rstrip("\n")
        with contextlib.suppress(ChannelClosed):  # the host is gone: the guard ends the run
            emit.output(text, stream="warnings")

    warnings.showwarning = show


def _watch_files(emit: Emitter) -> ArtifactWatcher:
    """The run's files become artifact events: a watcher on the folder the engine names (the cwd
    until it names another), told of each phase change; displayed images are written there."""
    watcher = ArtifactWatcher(emit)
    emit.on_work_dir = watcher.watch
    emit.before_phase = watcher.scan
    emit.on_displayed = watcher.mark_displayed
    DisplayCapture(watcher).install()
    return watcher


def _snapshot_steps(emit: Emitter, watcher: ArtifactWatcher, spec: dict[str, Any]) -> None:
    """Before each step, the work dir's manifest and new contents go into the session's snapshot
    store (``snapshots.py``), for a fork at that step; the store's limit or a failure stops them
    (said once). The watcher's last scan gives the files and hashes: no walk of its own."""
    settings = (spec.get("config") or {}).pop("snapshots", None)  # the host's, not the engine's
    if not settings:
        return
    writer = SnapshotWriter(settings["dir"], settings["max_bytes"])

    def before_step(step: int) -> None:
        root, files, folders, known = watcher.files()
        if writer.stopped_at is not None or root is None:
            return
        try:
            writer.take(step, root, files, known, folders=folders)
        except OSError as exc:
            writer.stopped_at, writer.reason = step, f"the snapshot store failed: {exc}"
            with contextlib.suppress(OSError):
                writer.stop(step, reason=writer.reason)
        if writer.stopped_at is not None:
            message = (
                f"no snapshots of the work dir from step {step} on ({writer.reason}): a fork at step "
                f"{step} or later starts from the run's final files"
            )
            emit.event("warning", {"message": message, "kind": "snapshots"})

    emit.before_step = before_step


def _last_scan(watcher: ArtifactWatcher) -> None:
    """Report what the run left (before its result or error goes out); never fails the run."""
    try:
        watcher.stop()
    except ChannelClosed:
        raise
    except Exception as exc:  # an unreadable folder: the run's outcome stands
        with contextlib.suppress(ChannelClosed):
            message = f"the last scan of the work dir failed: {exc}"
            watcher.emit.event("warning", {"message": message, "kind": "artifacts"})


def run(spec: dict[str, Any], emit: Emitter) -> int:
    """Run the engine of ``spec``; return the process exit code."""
    if spec.get("first_node"):
        emit.start_node(spec["first_node"])
    watcher = _watch_files(emit)
    _snapshot_steps(emit, watcher, spec)
    try:
        engine = load_engine(spec["engine"])
        if not getattr(engine, "reports_work_dir", False):
            emit.work_dir(os.getcwd(), existing=False)  # a shared folder: only what the run makes
        value = engine(spec["task"], spec["config"], emit)
        result = json_safe(value) if isinstance(value, dict) else {"result": json_safe(value)}
        result.setdefault("context", emit.context)
        _last_scan(watcher)
        emit.finish_active()
        emit.event("result", result)
        return EXIT_OK
    except _Terminated:
        return EXIT_CANCELLED
    except ChannelClosed:
        return EXIT_CHANNEL_CLOSED
    except BaseException as exc:  # the engine's failure is the task's failure, whatever it is
        try:
            _last_scan(watcher)  # what it made before failing is still there to see
            emit.event("error", _error_data(exc))
        except ChannelClosed:
            return EXIT_CHANNEL_CLOSED
        return EXIT_ENGINE_ERROR


class _MeteredEmitter(Emitter):
    """An Emitter that also counts the run's cost in the guard (the worker's own budget check) and
    holds the guard's timeout while a plan awaits the user's decision."""

    def __init__(self, *args: Any, guard: Guard, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard = guard

    def event(self, type: str, data: Any) -> None:
        super().event(type, data)
        if type == "cost_update":
            self._guard.count_cost(data)

    def propose_plan(self, plan: Any, estimate: Any = None) -> dict[str, Any]:
        """Time spent waiting for the user's decision does not count against the timeout."""
        if not self.approve_plan:
            return super().propose_plan(plan, estimate)
        self._guard.hold()
        try:
            return super().propose_plan(plan, estimate)
        finally:
            self._guard.release()


def main(
    event_fd: int, control_fd: int, guard: Guard | None = None, *, hello: Callable[[], None] | None = None
) -> None:
    """Run the task the host sends on ``control_fd``, reporting on ``event_fd``; never returns.

    ``hello``: a warm worker's first event, sent once the spec's environment and folder are set."""
    os.set_inheritable(event_fd, False)  # children must not keep the event pipe open
    os.set_inheritable(control_fd, False)
    guard = guard or Guard(None, event_fd)
    signal.signal(signal.SIGTERM, _on_sigterm)
    control = ControlChannel(control_fd)
    try:
        spec = control.read_spec()
    except _Terminated:
        os._exit(EXIT_CANCELLED)
    except RuntimeError:  # the host closed the channel first (a warm worker's pool, or host, ended)
        os._exit(EXIT_CHANNEL_CLOSED)
    if hello is not None:
        apply(spec)
        hello()
    emit = _MeteredEmitter(
        event_fd,
        dag=spec.get("dag"),
        ask=control.ask,
        decide=control.decision,
        approve_plan=bool((spec.get("config") or {}).get("approve_plan")),
        guard=guard,
    )
    guard.start(spec.get("limits"), emit.event)

    # Python-level prints become ordered events; fd 1/2 (C code, children, faulthandler) stay
    # pipes to the host. A print that finds the host gone ends the run (see _guard.py).
    # A fatal signal's report names the thread that crashed (the guard's and control's threads
    # would only push it out of the stderr tail the host keeps).
    faulthandler.enable(file=sys.__stderr__, all_threads=False)
    sys.stdout = EventStream(emit, "stdout", 1, on_host_gone=guard.host_gone)
    sys.stderr = EventStream(emit, "stderr", 2, on_host_gone=guard.host_gone)
    _route_warnings(emit)
    if spec.get("work_dir"):
        os.chdir(spec["work_dir"])

    code = run(spec, emit)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a late SIGTERM must not skip the tree's end
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):  # nothing is left to report to
            stream.flush()
    end_tree()  # every way out: daemons the task started (adopted by this subreaper) end with it
    # os._exit: threads the engine left behind must not keep a finished worker alive.
    os._exit(code)
