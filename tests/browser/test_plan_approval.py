"""In a real JupyterLab: a run started with --approve-plan shows its plan in the RunWidget as an
editable list; the user edits it (text, order, removal, a new step) and approves, and the control
phase runs exactly the edited steps (the DAG's step nodes follow)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_jupyterlab import VIEW, run_notebook

pytestmark = pytest.mark.browser

TASK = """
def make_plan(feedback):
    return [
        {"sub_task": "load the map", "agent": "engineer", "bullets": ["read the FITS file"]},
        {"sub_task": "fit the spectrum", "agent": "researcher"},
        {"sub_task": "plot the fit", "agent": "engineer"},
    ]

phase("planning")
steps = approved_plan(make_plan)
phase("execution")
for s in steps:
    step(s["step"])
    print(f"RAN {s['step']}: {s['sub_task']} [{s['agent']}] {s['bullets']}")
result = len(steps)
"""


def test_a_plan_is_edited_and_approved_in_the_widget(page, lab):
    run_notebook(
        page,
        lab,
        "approve.ipynb",
        "%load_ext cmbjupyter",
        f"%%cmbagent --engine python --mode planning-control --approve-plan\n{TASK}",
    )
    page.wait_for_selector(f"{VIEW} .cmb-plan:not([hidden]) .cmb-plan-approve", timeout=120_000)
    view = page.query_selector(VIEW)
    assert view.get_attribute("data-status") == "awaiting_approval"
    panel = view.query_selector(".cmb-plan")
    assert "no history" in panel.inner_text()  # a fresh machine: no past sessions of this mode
    steps = lambda: panel.query_selector_all(".cmb-plan-step")  # noqa: E731  (fresh after each redraw)
    assert len(steps()) == 3
    steps()[0].query_selector(".cmb-plan-text").fill("load the Planck map")
    steps()[2].query_selector(".cmb-plan-up").click()  # plot before fit
    steps()[2].query_selector(".cmb-plan-remove").click()  # fit removed
    panel.query_selector(".cmb-plan-add").click()
    new = steps()[2]
    new.query_selector(".cmb-plan-text").fill("write the summary")
    new.query_selector(".cmb-plan-agent").fill("researcher")
    new.query_selector(".cmb-plan-bullets").fill("one paragraph\nwith H0")
    panel.screenshot(path=str(ARTIFACTS / "plan-approval-widget.png"))
    panel.query_selector(".cmb-plan-approve").click()
    # the output is published again on phase changes (a new view): look the view up again
    view = page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=60_000)
    console = view.query_selector(".cmb-console").inner_text()
    assert "RAN 1: load the Planck map [engineer] ['read the FITS file']" in console
    assert "RAN 2: plot the fit [engineer] []" in console
    assert "RAN 3: write the summary [researcher] ['one paragraph', 'with H0']" in console
    assert "fit the spectrum" not in console
    labels = [n.text_content() for n in view.query_selector_all(".cmb-dag [data-node-id^='step_'] title")]
    assert any("Step 3: write the summary" in label for label in labels), labels
    assert "Plan · approved" in view.query_selector(".cmb-plan").inner_text()
    view.screenshot(path=str(ARTIFACTS / "plan-approved-widget.png"))
