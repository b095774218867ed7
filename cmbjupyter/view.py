"""RunView: how a Run shows up in a notebook, live and after saving.

Live, the RunWidget (anywidget) gets RunState snapshots at most 20 times a second through a
Throttle, never one comm message per event. Saved, the output holds the static fallback (inline
SVG DAG + cost table, for GitHub/nbviewer/nbconvert), the summary under the custom mimetype, and the
same summary in the output metadata: the display is updated on every phase change and at the end,
so a notebook executed headless (nbclient, nbval) keeps the final state.

The run's plots are saved as outputs of their own (``image/png``, one per plot, the last
``PLOTS_SAVED``): each gets its output when it first appears, displayed in the context of the cell
that showed the run (so it lands in that cell even though it comes from the run's loop thread), and
is updated, by display id, whenever the latest versions change and at the end.
"""

from __future__ import annotations

import contextvars
import uuid
from typing import Any

from .events import Event
from .notebook import PLOTS_SAVED, plot_outputs, static_bundle
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
        if live:
            from .widget import RunWidget

            self.widget = RunWidget()
            self.widget.on_cancel(lambda: run.cancel(wait=False))
            self.widget.on_input(lambda text: run.answer(text))
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
        if self.widget is not None:
            widget_data = self.widget._repr_mimebundle_()
            widget_data = widget_data[0] if isinstance(widget_data, tuple) else widget_data
            data = {**data, **{k: v for k, v in widget_data.items() if k != "text/plain"}}
        return data, metadata

    def show(self) -> None:
        """Display the run below the cell (once)."""
        from IPython.display import display

        data, metadata = self.bundle()
        display(data, raw=True, metadata=metadata, display_id=self.display_id)
        self._context = contextvars.copy_context()
        self.displayed = True

    def refresh(self, final: bool = False) -> None:
        """Re-publish the saved parts of the output (summary, static HTML) for this run."""
        if final and self.throttle is not None:
            self.throttle.flush()
        if not self.displayed:
            return
        from IPython.display import update_display

        data, metadata = self.bundle()
        update_display(data, raw=True, metadata=metadata, display_id=self.display_id)
        self.show_plots()

    def show_plots(self) -> None:
        """Bring the plot outputs up to date with the run's latest plots (files read only on change)."""
        if not self.displayed or self._context is None:
            return
        from IPython.display import display, update_display

        state = self.run.state
        records = getattr(state, "artifacts", None) or {}
        plots = [r for r in records.values() if r.get("category") == "plot"][-PLOTS_SAVED:]
        key = [(r.get("path"), r.get("sha256")) for r in plots]
        if key == self._plots_key:
            return
        self._plots_key = key
        for i, (data, metadata) in enumerate(plot_outputs(getattr(state, "work_dir", None), plots)):
            if i < len(self._plot_slots):
                update_display(data, raw=True, metadata=metadata, display_id=self._plot_slots[i])
            else:
                self._plot_slots.append(f"{self.display_id}-plot-{i}")
                self._context.run(display, data, raw=True, metadata=metadata, display_id=self._plot_slots[i])

    def _on_event(self, event: Event) -> None:
        if event["type"] in SAVE_POINTS:
            self.refresh()
        elif event["type"] == "artifact" and event["data"].get("category") == "plot":
            self.show_plots()
