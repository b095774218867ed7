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
    # Each step says what to expect: "no history" on a fresh machine, else the median of past steps
    # (the lab server's sessions folder is shared with the other browser tests run before this one).
    said = panel.inner_text()
    assert "no history" in said or ("(estimate" in said and "past steps" in said), said
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
    # the output is published again on phase changes (a new view): a locator finds the current one
    page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=60_000)
    view = page.locator(f'{VIEW}[data-status="completed"]').first
    console = view.locator(".cmb-console").inner_text()
    assert "RAN 1: load the Planck map [engineer] ['read the FITS file']" in console
    assert "RAN 2: plot the fit [engineer] []" in console
    assert "RAN 3: write the summary [researcher] ['one paragraph', 'with H0']" in console
    assert "fit the spectrum" not in console
    labels = view.locator(".cmb-dag [data-node-id^='step_'] title").all_text_contents()
    assert any("Step 3: write the summary" in label for label in labels), labels
    assert "Plan · approved" in view.locator(".cmb-plan").inner_text()
    view.screenshot(path=str(ARTIFACTS / "plan-approved-widget.png"))


def test_a_plan_is_rejected_then_edited_and_approved_from_the_sidebar(page, lab):
    from cmbjupyter.remote.client import ServerClient
    from tests.browser.test_sidebar import click_row, open_sidebar

    open_sidebar(page, lab)
    again = "    if feedback:\n        return [{'sub_task': feedback, 'agent': 'engineer'}]\n"
    replanning = TASK.replace("def make_plan(feedback):\n", "def make_plan(feedback):\n" + again)
    client = ServerClient(lab["url"] + "/", lab["token"])
    config = {
        "engine": "python",
        "mode": "planning-control",
        "session_id": "sidebar-plan",
        "approve_plan": True,
    }
    client.submit(replanning, config)
    click_row(page, "sidebar-plan")
    panel = page.locator("#cmbagent-sidebar .cmb-plan")
    panel.locator(".cmb-plan-reject").wait_for(timeout=60_000)
    panel.locator(".cmb-plan-reject").click()  # no feedback: said, nothing sent
    assert "Say what the planner should change" in panel.inner_text()
    panel.locator(".cmb-plan-feedback-input").fill("fit only the TT spectrum")
    panel.locator(".cmb-plan-reject").click()
    page.wait_for_function(
        "() => document.querySelector('#cmbagent-sidebar .cmb-plan-text:not([readonly])')?.value"
        " === 'fit only the TT spectrum'",
        timeout=60_000,
    )
    panel.locator(".cmb-plan-step >> nth=0").locator(".cmb-plan-budget").fill("-1")  # refused by the server
    panel.locator(".cmb-plan-approve").click()
    page.wait_for_function(
        "() => document.querySelector('#cmbagent-sidebar .cmb-plan-error')?.innerText.includes('budget_usd')",
        timeout=30_000,
    )
    panel.locator(".cmb-plan-step >> nth=0").locator(".cmb-plan-budget").fill("0.5")
    panel.locator(".cmb-plan-approve").click()
    page.wait_for_selector(
        '.cmb-sidebar-row[data-session-id="sidebar-plan"][data-status="completed"]', timeout=60_000
    )
    page.wait_for_function(
        "() => document.querySelector('#cmbagent-sidebar .cmb-console')?.innerText"
        ".includes('RAN 1: fit only the TT spectrum [engineer] []')",
        timeout=30_000,
    )
    page.query_selector("#cmbagent-sidebar").screenshot(path=str(ARTIFACTS / "plan-approval-sidebar.png"))
