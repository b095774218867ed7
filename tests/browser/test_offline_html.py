"""A headless-executed notebook converted by plain ``jupyter nbconvert --to html`` shows its run with
no network (issue 15, item 2).

nbclient (like nbval and papermill) saves the widget state of the notebook, so nbconvert would draw
any output that still refers to the RunWidget through @jupyter-widgets/html-manager from a CDN:
nothing offline. A finished run's output is its saved record alone (cmbjupyter.view), so nbconvert
shows the static copy: the page is opened in Chromium with every non-file request refused, and the
run's status, its DAG (table and picture) and its cost are on screen."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from cmbjupyter.notebook import MIMETYPE

pytestmark = pytest.mark.browser

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TASK = """%%cmbagent --engine python --mode planning-control --session offline-html
phase("planning")
for n, label in enumerate(["Sample the spectrum", "Find the peak"], start=1):
    emit.add_node(f"step_{n}", label)
record_usage("gpt-4o-mini", 1200, 250, agent="planner")
phase("execution")
step(1)
step(2)
record_usage("gpt-4o-mini", 800, 120, agent="engineer")
result = "done"
"""


def test_an_nbclient_executed_notebook_shows_its_run_in_nbconvert_html_offline(page, tmp_path, monkeypatch):
    monkeypatch.setenv("CMBJUPYTER_SESSIONS_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("CMBJUPYTER_SERVER", "off")
    book = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("%load_ext cmbjupyter"), nbformat.v4.new_code_cell(TASK)]
    )
    NotebookClient(
        book, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    # the condition of the bug: nbclient saved the RunWidget's state in the notebook
    assert book.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    (run_output,) = [o for o in book.cells[1].outputs if MIMETYPE in o.get("data", {})]
    assert WIDGET_VIEW not in run_output["data"] and "text/html" in run_output["data"]
    cost = run_output["data"][MIMETYPE]["cost"]["total_usd"]
    html, _ = HTMLExporter().from_notebook_node(book)
    page_file = tmp_path / "executed.html"
    page_file.write_text(html)
    refused: list[str] = []

    def local_only(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    page.context.set_offline(True)
    page.goto(page_file.as_uri(), wait_until="load")
    run = page.locator(".cmbjupyter-run-static")
    run.wait_for(state="visible", timeout=30_000)
    assert run.get_attribute("data-status") == "completed"
    assert run.locator("strong").first.inner_text() == "completed"
    rows = run.locator(".cmb-dag-table tbody tr")
    assert rows.count() == 6  # start, planning, 2 steps, execution, end (the planning-control DAG)
    step = run.locator(".cmb-dag-table tr", has_text="Sample the spectrum")
    assert step.locator("td").nth(1).inner_text() == "completed"
    picture = run.locator("img.cmb-dag-picture")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=picture.element_handle(), timeout=10_000
    )
    assert picture.bounding_box()["width"] > 50
    assert f"${cost:.4f}" in run.locator(".cmb-cost-total").inner_text()
    assert "gpt-4o-mini" in run.inner_text()
