"""RunView: how a Run shows up in a notebook, live and after saving.

Live, the RunWidget (anywidget) gets RunState snapshots at most 20 times a second through a
Throttle, never one comm message per event. Saved, the output holds the static fallback (DAG
table and picture + cost table, for GitHub/nbviewer/nbconvert), the summary under the custom
mimetype, and the same summary in the output metadata: the display is updated on every phase change
and at the end, so a notebook executed headless (nbclient, nbval) keeps the final state.

The widget's view is in the output only while the run runs: from its terminal event on
(``complete``, which reaches the output before the cell ends) the display is the saved record
alone. A widget reference outlives its kernel in the file ("model not found" after a restart), and
``jupyter nbconvert`` prefers it to the static HTML whenever nbclient saved the widget state, then
draws it from a CDN (nothing offline). JupyterLab draws the finished run from its session instead
(js/src/mimerender.js).

The run's plots are saved as outputs of their own (``image/png``, one per plot, the last
``PLOTS_SAVED``): each gets its output when it first appears, displayed in the context of the cell
that showed the run (so it lands in that cell even though it comes from the run's loop thread), and
is updated, by display id, whenever the latest versions change and at the end. A run that outlives
the cell that shows it (``--background``) gets all its plot outputs in that cell when the cell ends,
empty: a plot made later fills one by display id. A new output for a finished cell would be lost
(nbclient, nbval and ``jupyter execute`` only keep a cell's outputs while it runs), an update of an
output it holds is not, if it comes as a message of the cell that runs then: the run's thread keeps
the showing cell's context (its messages would name that cell), so once the cell has ended the
updates are sent from an empty context (ipykernel then names the latest request).
"""

from __future__ import annotations

import contextvars
import threading
import uuid
from typing import Any

from .events import Event
from .notebook import MIMETYPE, PLOTS_SAVED, plot_outputs, static_bundle
from .router import Throttle
from .state import RunState

TYPE_CHECKING = False
if TYPE_CHECKING:  # a view draws a Run; a Run never imports the view (it sets run.view only via this)
    from .runs import Run

__all__ = ["RunView"]

#: Events after which the saved output (static HTML, summary, metadata) is refreshed.
SAVE_POINTS = frozenset({"phase_change", "complete"})


class RunView:
    """Draws one Run: a live RunWidget (in a kernel with comms) plus the saved fallback."""

    def __init__(self, run: Run, *, live: bool = True) -> None:
        self.run = run
        self.display_id = f"cmbagent-{uuid.uuid4().hex[:12]}"
        self.displayed = False
        self.widget: Any = None
        self.throttle: Throttle | None = None
        self._context: contextvars.Context | None = None  # the showing cell's, for the plot outputs
        self._plot_slots: list[str] = []  # display ids of the plot outputs, in order
        self._plots_key: list[tuple[Any, Any]] = []  # (path, sha256) of the plots they show
        self._slots_lock = threading.Lock()  # slots are made by the cell's thread and the run's
        self._cell_ended = False  # the showing cell has ended (updates name the running cell)
        if live:
            from .widget import RunWidget

            self.widget = RunWidget()
            self.widget.on_cancel(lambda: run.cancel(wait=False))
            self.widget.on_input(lambda text: run.answer(text))
            self.widget.on_fork(lambda request: run.fork(display=False, **request).session_id)
            self.widget.on_plan(
                lambda approved, plan, feedback: run.approve(plan) if approved else run.reject(feedback)
            )
            self.widget.open_remote = run._open_remote  # server mode: files the kernel cannot see
        run.view = self
        run.add_done_callback(lambda _run: self.refresh(final=True))

    def sinks(self, state: RunState) -> list[Any]:
        """Router sinks for the run's events: the throttled widget feed and the save points."""
        sinks: list[Any] = [self._on_event]
        if self.widget is not None:
            self.throttle = Throttle(state, self.widget.update_from)
            sinks.insert(0, self.throttle)
        return sinks

    def bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        data, metadata = static_bundle(self.run)
        if self.widget is None:
            return data, metadata
        if not self.run.state.finished:
            widget_data = self.widget._repr_mimebundle_()
            widget_data = widget_data[0] if isinstance(widget_data, tuple) else widget_data
            data = {**data, **{k: v for k, v in widget_data.items() if k != "text/plain"}}
        else:  # no widget view in the saved record, but the labextension keeps this kernel's widget
            metadata = {
                **metadata,
                MIMETYPE: {**metadata.get(MIMETYPE, {}), "widget_model_id": self.widget.model_id},
            }
        return data, metadata

    def show(self) -> None:
        """Display the run below the cell (once)."""
        from IPython.display import display

        data, metadata = self.bundle()
        display(data, raw=True, metadata=metadata, display_id=self.display_id)
        self._context = contextvars.copy_context()
        self.displayed = True
        self._reserve_at_cell_end()

    def _reserve_at_cell_end(self) -> None:
        """When the showing cell ends with the run still going, fill it with the plot slots (empty)."""
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            return

        def at_cell_end(*_result: Any) -> None:
            shell.events.unregister("post_run_cell", at_cell_end)
            self._cell_ended = True
            if not self.run.done():
                with self._slots_lock:
                    while len(self._plot_slots) < PLOTS_SAVED:
                        self._new_slot({"text/plain": ""}, {})

        shell.events.register("post_run_cell", at_cell_end)

    def _new_slot(self, data: dict[str, Any], metadata: dict[str, Any], context: Any = None) -> None:
        """One more plot output in the showing cell; ``context``: that cell's, when called from the
        run's thread (None: from the cell itself)."""
        from IPython.display import display

        slot = f"{self.display_id}-plot-{len(self._plot_slots)}"
        self._plot_slots.append(slot)
        options = {"raw": True, "metadata": metadata, "display_id": slot}
        if context is None:
            display(data, **options)
        else:
            context.run(display, data, **options)

    def refresh(self, final: bool = False) -> None:
        """Re-publish the saved parts of the output (summary, static HTML) for this run."""
        if final and self.throttle is not None:
            self.throttle.flush()
        if not self.displayed:
            return
        data, metadata = self.bundle()
        self._update(data, metadata, self.display_id)
        self.show_plots()

    def _update(self, data: dict[str, Any], metadata: dict[str, Any], display_id: str) -> None:
        """Update an output of the showing cell (see the module docstring for the context)."""
        from IPython.display import update_display

        context = contextvars.Context() if self._cell_ended else contextvars.copy_context()
        context.run(update_display, data, raw=True, metadata=metadata, display_id=display_id)

    def show_plots(self) -> None:
        """Bring the plot outputs up to date with the run's latest plots (files read only on change)."""
        if not self.displayed or self._context is None:
            return
        state = self.run.state
        records = getattr(state, "artifacts", None) or {}
        plots = [r for r in records.values() if r.get("category") == "plot"][-PLOTS_SAVED:]
        key = [(r.get("path"), r.get("sha256")) for r in plots]
        if key == self._plots_key:
            return
        self._plots_key = key
        outputs = plot_outputs(getattr(state, "work_dir", None), plots, remote=self.run._open_remote)
        with self._slots_lock:
            for i, (data, metadata) in enumerate(outputs):
                if i < len(self._plot_slots):
                    self._update(data, metadata, self._plot_slots[i])
                else:
                    self._new_slot(data, metadata, self._context)

    def _on_event(self, event: Event) -> None:
        if event["type"] in SAVE_POINTS:
            self.refresh()
        elif event["type"] == "artifact" and event["data"].get("category") == "plot":
            self.show_plots()
