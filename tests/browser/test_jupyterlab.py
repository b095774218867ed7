"""In a real JupyterLab and a real browser: a notebook's %%cmbagent cell draws the live RunWidget,
whose DAG nodes reach `completed` and whose cost meter shows the run's total; a node click shows
its details."""

from __future__ import annotations

import itertools
import json
import os
import urllib.request
from pathlib import Path

import pytest

from cmbjupyter.static_html import usd
from tests.browser.conftest import ARTIFACTS, write_notebook

pytestmark = pytest.mark.browser

RUN_ALL = "() => window.jupyterapp.commands.execute('notebook:run-all-cells')"
#: A RunWidget in a notebook's output (the sidebar draws one too, with the same classes).
VIEW = ".jp-OutputArea-output .cmbjupyter-run"


def open_notebook(page, lab, name):
    """Open ``name`` alone in a fresh workspace and wait until its own kernel is idle."""
    workspace = name.replace(".", "-")
    page.goto(
        f"{lab['url']}/lab/workspaces/{workspace}/tree/{name}?token={lab['token']}&reset",
        wait_until="domcontentloaded",
    )
    page.wait_for_function(
        "(name) => { const w = window.jupyterapp?.shell?.currentWidget;"
        " const kernel = w?.context?.path === name && w.sessionContext?.session?.kernel;"
        " return kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle'; }",
        arg=name,
        timeout=60_000,
    )


def open_notebook7(page, notebook7, name):
    """Open ``name`` in Notebook 7 and wait until its kernel is idle."""
    page.goto(
        f"{notebook7['url']}/notebooks/{name}?token={notebook7['token']}", wait_until="domcontentloaded"
    )
    page.wait_for_function(
        "() => { const w = window.jupyterapp?.shell?.currentWidget;"
        " const kernel = w?.sessionContext?.session?.kernel;"
        " return kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle'; }",
        timeout=60_000,
    )


def run_notebook(page, lab, name, *cells):
    """Write a notebook of these code cells into the lab's root, open it, and run all its cells."""
    write_notebook(lab["root"], name, *cells)
    open_notebook(page, lab, name)
    page.evaluate(RUN_ALL)


def test_the_quickstart_draws_a_live_dag_that_completes_and_the_cost_meter_total(page, lab):
    open_notebook(page, lab, "01-quickstart.ipynb")
    page.evaluate(RUN_ALL)
    view = page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=120_000)
    nodes = view.query_selector_all("g.cmb-node")
    statuses = {n.get_attribute("data-node-id"): n.get_attribute("data-status") for n in nodes}
    assert len(statuses) == 7, statuses  # start, planning, execution, 3 plan steps, end
    assert set(statuses.values()) == {"completed"}, statuses
    # the same total the kernel computed, as the widget formats it
    page.wait_for_selector("text=2 LLM calls", timeout=60_000)
    outputs = page.inner_text(".jp-Notebook")
    assert "$0.000522" in outputs
    assert view.query_selector(".cmb-cost-total").inner_text() == usd(0.000522)
    assert {
        row.get_attribute("data-name") for row in view.query_selector_all(".cmb-cost-table tr[data-name]")
    } >= {
        "gpt-4o-mini",
        "planner",
        "engineer",
    }
    view.query_selector('g.cmb-node[data-node-id="step_2"]').click()
    details = view.wait_for_selector(".cmb-details")
    assert "Find the peak" in details.inner_text() and "completed" in details.inner_text()
    assert "peak at 160.23 GHz" in view.query_selector(".cmb-console").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    view.screenshot(path=str(ARTIFACTS / "quickstart-widget.png"))


def test_a_background_run_is_cancelled_from_the_widget_button(page, lab):
    task = "\n".join(
        [
            "import time",
            "phase('execution')",
            "for i in range(600):",
            "    print(f'working {i}')",
            "    time.sleep(0.1)",
        ]
    )
    run_notebook(
        page,
        lab,
        "cancel.ipynb",
        "%load_ext cmbjupyter",
        f"%%cmbagent --engine python --background\n{task}",
    )
    page.wait_for_selector(f'{VIEW}[data-status="running"]', timeout=120_000)
    page.wait_for_function(
        f"() => document.querySelector('{VIEW} .cmb-console')?.innerText.includes('working')",
        timeout=60_000,
    )
    # (the output is re-published on phase changes, so find the button anew rather than keep a handle)
    page.locator(f"{VIEW} button.cmb-cancel").click()
    view = page.wait_for_selector(f'{VIEW}[data-status="cancelled"]', timeout=60_000)
    assert "cancel" in view.query_selector(".cmb-message-line").inner_text().lower()


def test_the_open_node_is_shared_by_every_view_of_a_run(page, lab):
    """The selection lives in the widget's model: a second display of the run's widget (or the new
    view that a front end renders when the output is re-published) opens the same node. (Once the
    run ended, its cell's output is its saved record, drawn from the session: the widget is shown
    again with ``display``.)"""
    task = "\n".join(
        ["phase('planning')", "emit.add_node('step_1', 'Simulate')", "phase('control')", "step(1)"]
    )
    run_notebook(
        page,
        lab,
        "select.ipynb",
        "%load_ext cmbjupyter",
        f"%%cmbagent --engine python --mode planning-control\n{task}",
        "run = _",
    )
    page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=120_000)
    show_widget = (
        "async () => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.model.sharedModel.insertCell(nb.model.cells.length,"
        " {cell_type: 'code', source: 'display(run.view.widget)'});"
        " nb.activeCellIndex = nb.model.cells.length - 1;"
        " await window.jupyterapp.commands.execute('notebook:run-cell'); }"
    )
    page.evaluate(show_widget)
    page.wait_for_function(f"() => document.querySelectorAll('{VIEW}').length === 2", timeout=60_000)
    page.locator(f'{VIEW} >> nth=1 >> g.cmb-node[data-node-id="step_1"]').click()
    page.evaluate(show_widget)
    page.wait_for_function(f"() => document.querySelectorAll('{VIEW}').length === 3", timeout=60_000)
    second = page.query_selector_all(VIEW)[2]
    details = second.wait_for_selector(".cmb-details", timeout=10_000)
    assert "Simulate" in details.inner_text()
    assert second.query_selector("g.cmb-node.cmb-selected").get_attribute("data-node-id") == "step_1"


def test_a_300_node_plan_is_laid_out_without_overlaps(page, lab):
    open_notebook(page, lab, "01-quickstart.ipynb")
    code = json.dumps(
        "from cmbjupyter.widget import RunWidget\n"
        "nodes = {f'step_{i}': {'id': f'step_{i}', 'label': f'Step {i}', 'status': 'completed' if i < 150 "
        "else 'pending', 'order': i} for i in range(300)}\n"
        "edges = [{'source': f'step_{i}', 'target': f'step_{i + 1}'} for i in range(299)]\n"
        "RunWidget({'status': 'running', 'dag': {'nodes': nodes, 'edges': edges}})"
    )
    page.evaluate(
        "async (code) => { const app = window.jupyterapp; const nb = app.shell.currentWidget.content;"
        " await app.commands.execute('notebook:insert-cell-below');"
        " nb.activeCell.model.sharedModel.setSource(code);"
        " await app.commands.execute('notebook:run-cell'); }",
        json.loads(code),
    )
    page.wait_for_function(
        f"() => document.querySelectorAll('{VIEW} g.cmb-node').length === 300", timeout=60_000
    )
    boxes = page.evaluate(
        f"() => [...document.querySelectorAll('{VIEW} g.cmb-node')].map(g => {{"
        " const m = g.getAttribute('transform').match(/translate\\(([-\\d.]+),([-\\d.]+)\\)/);"
        " return [+m[1], +m[2]]; })"
    )
    assert len({tuple(b) for b in boxes}) == 300
    ys = sorted(y for _, y in boxes)
    assert all(b - a >= 34 for a, b in itertools.pairwise(ys)), "a chain is laid out one node per rank"


def test_cmbagent_runs_on_the_server_from_a_notebook_with_its_scripted_llm(page, lab):
    """Notebook 07's recipe in JupyterLab: the kernel starts the scripted LLM, the magic sends the task
    (with the kernel's LLM settings) to the server, whose worker runs the real cmbagent."""
    python = Path(__file__).resolve().parents[2] / ".venv-cmbagent" / "bin" / "python"
    if not python.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{python} is missing: `make cmbagent` installs it")
        pytest.skip("no .venv-cmbagent (run `make cmbagent`)")
    setup = (
        "import os\nfrom cmbjupyter.testing.llm_server import ScriptedLLMServer\n"
        "server = ScriptedLLMServer().__enter__()\n"
        "os.environ.update(OPENAI_API_KEY='sk-offline', OPENAI_BASE_URL=server.base_url)"
    )
    run_notebook(
        page,
        lab,
        "cmbagent.ipynb",
        "%load_ext cmbjupyter",
        setup,
        f"%%cmbagent --mode one-shot --python {python}\nCompute 2 + 2 in Python.",
    )
    view = page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=180_000)
    assert "scripted answer: 4" in view.query_selector(".cmb-console").inner_text()
    agents = {r.get_attribute("data-name") for r in view.query_selector_all(".cmb-cost-table tr[data-name]")}
    assert {"engineer", "engineer_response_formatter"} <= agents
    tasks = json.loads(
        urllib.request.urlopen(f"{lab['url']}/cmbagent/api/tasks?token={lab['token']}", timeout=10).read()
    )["tasks"]
    assert any(t["notebook"] == "cmbagent.ipynb" and t["engine"] == "cmbagent" for t in tasks), (
        "run by the server"
    )


def test_a_question_is_answered_in_the_widget(page, lab):
    task = "answer = ask('Which dataset?')\nprint(f'using {answer}')\nresult = answer"
    run_notebook(
        page,
        lab,
        "ask.ipynb",
        "%load_ext cmbjupyter",
        f"%%cmbagent --engine python --mode hitl --background\n{task}",
    )
    form = page.wait_for_selector(f"{VIEW} form.cmb-input:not([hidden])", timeout=120_000)
    assert "Which dataset?" in form.inner_text()
    form.query_selector("input").fill("Planck PR4")
    form.query_selector("button").click()
    view = page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=60_000)
    assert "using Planck PR4" in view.query_selector(".cmb-console").inner_text()
