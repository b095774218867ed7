"""The transcript in the JupyterLab sidebar (server mode), in a real JupyterLab and browser: a server
task's transcript is drawn from its state snapshots (the kept items), with the outcome line, and
"Insert as cell" puts an agent's code into the open notebook."""

from __future__ import annotations

from tests.browser.conftest import ARTIFACTS, write_notebook
from tests.browser.test_sidebar import click_row, open_sidebar, submit
from tests.browser.test_transcript import pytestmark as transcript_marks
from tests.browser.test_transcript import transcript_task

pytestmark = transcript_marks

SIDEBAR = "#cmbagent-sidebar .cmbjupyter-run"


def test_the_sidebar_shows_a_server_tasks_transcript_and_inserts_its_code_as_a_cell(page, lab):
    name = write_notebook(lab["root"], "insert-here.ipynb", "x = 1")
    open_sidebar(page, lab)
    page.evaluate("(path) => window.jupyterapp.commands.execute('docmanager:open', {path})", name)
    page.wait_for_function(
        "(path) => window.jupyterapp.shell.currentWidget?.context?.path === path", arg=name, timeout=60_000
    )
    page.evaluate("() => window.jupyterapp.shell.activateById('cmbagent-sidebar')")
    submit(lab, transcript_task(), "sidebar-transcript")
    click_row(page, "sidebar-transcript")
    page.wait_for_selector(f'{SIDEBAR}[data-status="completed"]', timeout=120_000)
    outcome = page.wait_for_selector(f"{SIDEBAR} .cmb-outcome", state="visible", timeout=30_000)
    assert "completed with errors" in outcome.inner_text()
    page.wait_for_function(
        f"() => document.querySelector('{SIDEBAR} .cmb-tr-count')?.textContent.startsWith('166 items')",
        timeout=30_000,
    )
    # the plan's markdown and highlighted code
    page.select_option(f"{SIDEBAR} .cmb-tr-filter-agent", "planner")
    code = page.wait_for_selector(f"{SIDEBAR} .cmb-tr-markdown pre code.hljs.language-python", timeout=10_000)
    assert "import numpy as np" in code.inner_text()
    # the engineer's code, into the notebook
    page.select_option(f"{SIDEBAR} .cmb-tr-filter-agent", "executor")
    card = page.locator(f"{SIDEBAR} .cmb-tr-code_execution", has_text="exit 0")
    card.locator("summary").click()
    card.locator(".cmb-tr-insert").click()
    sources = page.wait_for_function(
        "(path) => { const w = window.jupyterapp.shell.currentWidget;"
        " if (w?.context?.path !== path) return null;"
        " const cells = w.content.model.sharedModel.cells.map((c) => c.getSource());"
        " return cells.length === 2 ? cells : null; }",
        arg=name,
        timeout=30_000,
    ).json_value()
    assert sources == ["x = 1", "import numpy as np\nx = np.linspace(0, 1, 5)\nprint(x.sum())"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("() => window.jupyterapp.shell.activateById('cmbagent-sidebar')")
    page.query_selector("#cmbagent-sidebar").screenshot(path=str(ARTIFACTS / "transcript-sidebar.png"))
