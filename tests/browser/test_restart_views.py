"""A run's output always shows the run (issue 15, items 1 and 3), in a real JupyterLab / Notebook 7
and Debian's Chromium:

* live, the RunWidget draws it (the labextension's renderer of the run mimetype hands it over while
  the kernel holds the widget's comm);
* after a kernel restart and on reopening the notebook it is drawn from the server's session: its
  DAG, status and cost, live again while the server still runs the task (and Cancel works there);
* a notebook whose session the server does not know shows the copy saved in the output: drawn by
  the extension when the notebook is trusted, by JupyterLab's sanitizing HTML renderer when it is
  not, where the DAG still reads as a table, one row per node;
* the example notebooks open without unsaved changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from cmbjupyter.static_html import usd
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_jupyterlab import RUN_ALL, VIEW, open_notebook, run_notebook

pytestmark = pytest.mark.browser

#: The labextension's renderer of a run's output; data-cmb-source says what it draws.
OUTPUT = ".jp-OutputArea-output.cmbjupyter-run-output"
PLAN = """%%cmbagent --engine python --mode planning-control --session {session}
phase("planning")
for n, label in enumerate(["Simulate", "Fit", "Report"], start=1):
    emit.add_node(f"step_{{n}}", label)
record_usage("gpt-4o-mini", 1000, 200, agent="planner")
phase("control")
for n in range(1, 4):
    step(n)
    print(f"step {{n}} done")
result = "fitted"
"""
SLEEPER = """%%cmbagent --engine python --background --session {session}
import time
phase("execution")
for i in range(1200):
    print(f"working {{i}}")
    time.sleep(0.1)
"""
EXAMPLES = Path(__file__).resolve().parents[2] / "notebooks"


def _save(page) -> None:
    """Save the notebook once its kernel is idle (the run's last output update has arrived)."""
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
        timeout=60_000,
    )
    page.evaluate("async () => { await window.jupyterapp.shell.currentWidget.context.save(); }")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)


def _restart_kernel(page) -> None:
    page.evaluate(
        "async () => { await window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart(); }"
    )


def _saved_cost(page) -> str:
    """The run's total cost as saved in its output (the summary under the run mimetype), formatted."""
    total = page.evaluate(
        "() => { const cell = window.jupyterapp.shell.currentWidget.content.model.cells.get(1);"
        " const outputs = [...Array(cell.outputs.length).keys()].map(i => cell.outputs.get(i).data);"
        " return outputs.find(d => d['application/vnd.cmbagent.run+json'])"
        "['application/vnd.cmbagent.run+json'].cost.total_usd; }"
    )
    assert total > 0
    return usd(total)


def _completed_run(page, source: str):
    """The run output drawn from ``source``, completed, with every DAG node completed."""
    view = page.wait_for_selector(
        f'{OUTPUT}[data-cmb-source="{source}"] .cmbjupyter-run[data-status="completed"]', timeout=60_000
    )
    view.wait_for_selector('g.cmb-node[data-node-id="step_3"]', timeout=30_000)
    nodes = {
        n.get_attribute("data-node-id"): n.get_attribute("data-status")
        for n in view.query_selector_all("g.cmb-node")
    }
    assert {"start", "step_1", "step_2", "step_3", "end"} <= set(nodes), nodes
    assert set(nodes.values()) == {"completed"}, nodes
    assert view.query_selector(".cmb-cost-total").inner_text() == _saved_cost(page)
    return view


def test_a_run_is_drawn_from_its_session_after_a_kernel_restart_and_on_reopening(page, lab):
    name = "restart.ipynb"
    run_notebook(page, lab, name, "%load_ext cmbjupyter", PLAN.format(session="restart-view"))
    page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=120_000)
    _completed_run(page, "widget")  # the ended run keeps its live widget while the kernel holds it
    _save(page)
    _restart_kernel(page)
    open_notebook(page, lab, name)  # reopened: a new page, the restarted kernel
    view = _completed_run(page, "session")
    assert "model not found" not in page.inner_text(".jp-Notebook")
    view.query_selector('g.cmb-node[data-node-id="step_2"]').click()
    assert "Fit" in view.wait_for_selector(".cmb-details").inner_text()
    assert "step 3 done" in view.query_selector(".cmb-console").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    view.screenshot(path=str(ARTIFACTS / "run-after-kernel-restart-lab.png"))


def _working(page) -> int:
    """The highest "working N" line the output's console shows (-1: none yet)."""
    text = page.inner_text(f"{OUTPUT} .cmb-console") if page.query_selector(f"{OUTPUT} .cmb-console") else ""
    numbers = [int(line.split()[-1]) for line in text.splitlines() if line.startswith("working ")]
    return max(numbers, default=-1)


def _streams(page, source: str) -> None:
    """The output is drawn from ``source``, running, and its console keeps growing."""
    page.wait_for_selector(
        f'{OUTPUT}[data-cmb-source="{source}"] .cmbjupyter-run[data-status="running"]', timeout=60_000
    )
    seen = max(_working(page), 0)
    page.wait_for_function(
        "([sel, seen]) => [...(document.querySelector(sel)?.innerText ?? '').matchAll(/working (\\d+)/g)]"
        ".some(m => +m[1] > seen + 5)",
        arg=[f"{OUTPUT} .cmb-console", seen],
        timeout=60_000,
    )


def test_a_server_run_is_live_in_the_widget_then_live_from_the_server_after_restart_and_reopening(page, lab):
    name = "restart-live.ipynb"
    run_notebook(page, lab, name, "%load_ext cmbjupyter", SLEEPER.format(session="restart-live"))
    _streams(page, "widget")  # the kernel holds the widget: the live RunWidget wins
    _save(page)
    _restart_kernel(page)
    _streams(page, "live")  # the kernel's widget is gone; the server still runs the task
    open_notebook(page, lab, name)
    _streams(page, "live")
    page.locator(f"{OUTPUT} button.cmb-cancel").click()
    page.wait_for_selector(f'{OUTPUT} .cmbjupyter-run[data-status="cancelled"]', timeout=60_000)


def test_notebook_7_draws_the_run_from_its_session_after_a_kernel_restart(page, notebook7):
    root, name = notebook7["root"], "restart-nb7.ipynb"
    book = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(s) for s in ("%load_ext cmbjupyter", PLAN.format(session="restart-nb7"))
        ]
    )
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(book, root / name)

    def open_nb7():
        page.goto(
            f"{notebook7['url']}/notebooks/{name}?token={notebook7['token']}", wait_until="domcontentloaded"
        )
        page.wait_for_function(
            "() => { const kernel = window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel;"
            " return kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle'; }",
            timeout=60_000,
        )

    open_nb7()
    page.evaluate(RUN_ALL)
    page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=120_000)
    _completed_run(page, "widget")  # the ended run keeps its live widget while the kernel holds it
    _save(page)
    _restart_kernel(page)
    open_nb7()
    view = _completed_run(page, "session")
    assert "model not found" not in page.inner_text("body")
    ARTIFACTS.mkdir(exist_ok=True)
    view.screenshot(path=str(ARTIFACTS / "run-after-kernel-restart-notebook7.png"))


def _executed_elsewhere(folder: Path, name: str, monkeypatch) -> Path:
    """A notebook run headless (nbclient, kernel mode) with its sessions where the server never looks."""
    monkeypatch.setenv("CMBJUPYTER_SESSIONS_DIR", str(folder / f"{name}-sessions"))
    monkeypatch.setenv("CMBJUPYTER_SERVER", "off")
    book = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(s) for s in ("%load_ext cmbjupyter", PLAN.format(session=f"{name}-x"))
        ]
    )
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(
        book, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(folder)}}
    ).execute()
    path = folder / f"{name}.ipynb"
    nbformat.write(book, path)
    return path


def test_an_untrusted_notebook_shows_the_saved_dag_as_a_readable_table(page, lab, tmp_path, monkeypatch):
    path = _executed_elsewhere(tmp_path, "untrusted", monkeypatch)
    shutil.copy(path, lab["root"] / path.name)
    open_notebook(page, lab, path.name)
    assert not page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.cells.get(1).trusted")
    table = page.locator(".jp-OutputArea-output table", has_text="Simulate")
    table.wait_for(timeout=60_000)
    rows = {
        cells[0]: cells[1:]
        for cells in (
            [c.strip() for c in row.split("\t")] for row in table.locator("tbody tr").all_inner_texts()
        )
    }
    assert {"Simulate", "Fit", "Report", "Start", "End"} <= set(rows), rows
    assert {r[0] for r in rows.values()} == {"completed"}, rows
    output = page.locator(".jp-OutputArea-output", has=page.locator("table", has_text="Simulate"))
    assert "(completed)" not in output.inner_text()  # no loose SVG labels run together
    picture = output.locator("img.cmb-dag-picture")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=picture.element_handle(), timeout=10_000
    )
    assert _saved_cost(page) in output.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    output.screenshot(path=str(ARTIFACTS / "static-copy-untrusted-lab.png"))


def test_a_trusted_notebook_whose_session_the_server_does_not_know_shows_its_saved_copy(
    page, lab, tmp_path, monkeypatch
):
    path = _executed_elsewhere(tmp_path, "unknown-session", monkeypatch)
    target = lab["root"] / path.name
    shutil.copy(path, target)
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1"}  # the lab server's data dir (its signing key)
    subprocess.run(
        [sys.executable, "-m", "jupyter", "trust", str(target)], env=env, check=True, capture_output=True
    )
    open_notebook(page, lab, path.name)
    output = page.wait_for_selector(
        f'{OUTPUT}[data-cmb-source="static"] .cmbjupyter-run-static', timeout=60_000
    )
    assert output.get_attribute("data-status") == "completed"
    assert "Simulate" in output.inner_text() and _saved_cost(page) in output.inner_text()


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("0*.ipynb")))
def test_an_example_notebook_opens_without_unsaved_changes(page, lab, example):
    shutil.copy(EXAMPLES / example, lab["root"] / f"shipped-{example}")  # with its saved outputs
    open_notebook(page, lab, f"shipped-{example}")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.widgets.every(c => c.model.type !== 'code'"
        " || c.outputArea.widgets.length === c.model.outputs.length)",
        timeout=60_000,
    )
    assert not page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty")
    assert "model not found" not in page.inner_text(".jp-Notebook")
