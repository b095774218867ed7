"""The RunWidget's Fork button, in a real JupyterLab notebook: a finished run's step node forks
through the widget's comm (the kernel forks on the server it runs on) and says into what; a run of
an engine or mode that cannot restart mid-way (protocol.json's ``forkable``) has no Fork button."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmbjupyter.remote.client import ServerClient
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_jupyterlab import VIEW, run_notebook
from tests.core.test_fork import THREE_STEPS
from tests.waiting import wait_until

pytestmark = pytest.mark.browser


def test_a_step_is_forked_from_the_widget(page, lab):
    cell = (
        "%%cmbagent --engine python --mode planning-control --session wf-parent --work-dir wf\n" + THREE_STEPS
    )
    run_notebook(page, lab, "widget-fork.ipynb", "%load_ext cmbjupyter", cell)
    view = page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=120_000)
    view.query_selector('g.cmb-node[data-node-id="step_3"]').click()
    page.locator(f"{VIEW} button.cmb-fork-open").click()
    page.fill(f"{VIEW} .cmb-fork-instructions", "sprout")
    page.fill(f"{VIEW} .cmb-fork-session_id", "wf-child")
    page.locator(f"{VIEW} button.cmb-fork-submit").click()
    page.wait_for_selector(f"{VIEW} .cmb-fork-outcome:has-text('Forked into wf-child')", timeout=60_000)
    client = ServerClient(lab["url"] + "/", lab["token"])
    record = client.session("wf-child")
    assert (record["parent_session"], record["forked_at_step"]) == ("wf-parent", 3)
    assert record["changes"] == {"instructions": "sprout"}
    ARTIFACTS.mkdir(exist_ok=True)
    view.screenshot(path=str(ARTIFACTS / "widget-fork.png"))


def test_a_run_that_cannot_restart_mid_way_has_no_fork_button(page, lab):
    client = ServerClient(lab["url"] + "/", lab["token"])
    config = {"engine": "python", "mode": "planning-control", "session_id": "wf-steps"}
    client.submit(THREE_STEPS, {**config, "work_dir": str(lab["root"] / "wf-steps")})
    wait_until(lambda: client.session("wf-steps")["status"] == "completed", what="wf-steps completed")
    log = Path(next(s["path"] for s in client.sessions() if s["session_id"] == "wf-steps"))
    log = log.with_name("wf-steps.events.jsonl")
    # its steps replayed (the replay engine cannot restart mid-way, whatever its mode)
    cell = f"%%cmbagent --engine replay --mode one-shot --session wf-replayed\n{log}"
    run_notebook(page, lab, "widget-no-fork.ipynb", "%load_ext cmbjupyter", cell)
    view = page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=120_000)
    view.query_selector('g.cmb-node[data-node-id="step_2"]').click()
    details = page.wait_for_selector(f"{VIEW} .cmb-details", timeout=10_000).inner_text()
    assert "Step 2" in details
    assert page.locator(f"{VIEW} .cmb-details button.cmb-fork-open").count() == 0
