"""A saved notebook shows a run's plots without JavaScript: a notebook whose task saves a plot is
executed headless (nbclient, kernel mode), converted by ``jupyter nbconvert --to html``, and
opened in Chromium with the network off: the plot is an image that loads (natural width > 0); the
run's static view (the output's text/html) lists the run's files."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from tests.browser.test_results import needs_artifact_events

pytestmark = [pytest.mark.browser, needs_artifact_events]

TASK = """%%cmbagent --engine python --work-dir {work}
import matplotlib
matplotlib.use("Agg")
from matplotlib import pyplot as plt
import os
os.makedirs("data", exist_ok=True)
phase("execution")
plt.plot([1, 2, 3], [1, 4, 9])
plt.savefig("data/fit.png")
open("data/cl.csv", "w").write("ell,cl\\n2,1.0\\n")
result = "plotted"
"""


def test_an_executed_notebook_shows_its_plot_in_nbconvert_html_offline(page, tmp_path, monkeypatch):
    monkeypatch.setenv("CMBJUPYTER_SESSIONS_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("CMBJUPYTER_SERVER", "off")
    work = tmp_path / "work"
    work.mkdir()
    book = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext cmbjupyter"),
            nbformat.v4.new_code_cell(TASK.format(work=work)),
        ]
    )
    resources = {"metadata": {"path": str(tmp_path)}}
    NotebookClient(book, kernel_name="python3", timeout=300, resources=resources).execute()
    outputs = book.cells[1].outputs
    plots = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(plots) == 1 and plots[0]["metadata"]["cmbagent"]["artifact"] == "data/fit.png", outputs
    html, _ = HTMLExporter().from_notebook_node(book)
    page_file = tmp_path / "executed.html"
    page_file.write_text(html)

    def local_only(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", local_only)  # the network is off: CDN scripts of the template never load
    page.context.set_offline(True)
    page.goto(page_file.as_uri(), wait_until="load")
    widths = page.evaluate(
        "() => [...document.querySelectorAll('img')].filter(i => i.src.startsWith('data:image/png'))"
        ".map(i => i.complete ? i.naturalWidth : 0)"
    )
    assert widths and all(w > 0 for w in widths), widths
    # the static view (what GitHub and nbviewer show for the run) lists the run's files
    static = next(o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {}))
    assert 'data-path="data/cl.csv"' in static and 'data-path="data/fit.png"' in static
