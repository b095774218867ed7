"""Fork from the sidebar, in a real JupyterLab and browser: a finished session's step node has a
"Fork from step N" control; the fork runs on the server as a new session, drawn with its restored
steps, where it restarted and the books it carries (screenshot: test-artifacts/sidebar-fork.png)."""

from __future__ import annotations

import pytest

from cmbjupyter.remote.client import ServerClient
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_sidebar import click_row, open_sidebar
from tests.core.test_fork import THREE_STEPS

pytestmark = pytest.mark.browser

SIDEBAR = "#cmbagent-sidebar"


def test_a_step_is_forked_from_the_sidebar(page, lab):
    client = ServerClient(lab["url"] + "/", lab["token"])
    work_dir = str(lab["root"] / "fork-parent")
    config = {"engine": "python", "mode": "planning-control", "session_id": "sb-parent", "work_dir": work_dir}
    client.submit(THREE_STEPS, config)
    open_sidebar(page, lab)
    page.wait_for_selector(
        '.cmb-sidebar-row[data-session-id="sb-parent"][data-status="completed"]', timeout=60_000
    )
    click_row(page, "sb-parent")
    page.wait_for_selector(f'{SIDEBAR} .cmbjupyter-run[data-status="completed"]', timeout=60_000)
    page.locator(f'{SIDEBAR} g.cmb-node[data-node-id="step_2"]').click()
    page.locator(f"{SIDEBAR} button.cmb-fork-open").click()
    page.fill(f"{SIDEBAR} .cmb-fork-instructions", "sprout")
    page.fill(f"{SIDEBAR} .cmb-fork-session_id", "sb-child")
    page.locator(f"{SIDEBAR} button.cmb-fork-submit").click()

    page.wait_for_selector(
        '.cmb-sidebar-row[data-session-id="sb-child"][data-status="completed"]', timeout=90_000
    )
    restart = page.wait_for_selector(f"{SIDEBAR} .cmb-restart", timeout=30_000)
    assert "forked from sb-parent at step 2" in restart.inner_text()
    page.wait_for_selector(f'{SIDEBAR} .cmbjupyter-run[data-status="completed"]', timeout=60_000)
    page.wait_for_selector(f'{SIDEBAR} g.cmb-node.cmb-restored[data-node-id="step_1"]', timeout=30_000)
    assert not page.query_selector(f'{SIDEBAR} g.cmb-node.cmb-restored[data-node-id="step_2"]')
    carried = page.wait_for_selector(f"{SIDEBAR} .cmb-carried", timeout=30_000).inner_text()
    assert "$0.0070 in all: $0.0060 this run + $0.0010 carried" in carried
    assert "sb-parent (parent, before step 2)" in carried
    row = page.query_selector('.cmb-sidebar-row[data-session-id="sb-child"]').inner_text()
    assert "$0.0060 + $0.0010 carried" in row
    page.locator(f'{SIDEBAR} g.cmb-node[data-node-id="step_1"]').click()
    details = page.wait_for_selector(f"{SIDEBAR} .cmb-details", timeout=10_000).inner_text()
    assert "restored" in details and "not re-run" in details
    assert not page.locator(f"{SIDEBAR} .cmb-fork-form").is_visible()  # opened only by its button
    record = client.session("sb-child")
    assert (record["parent_session"], record["forked_at_step"]) == ("sb-parent", 2)
    assert record["changes"] == {"instructions": "sprout"}
    ARTIFACTS.mkdir(exist_ok=True)
    page.query_selector(SIDEBAR).screenshot(path=str(ARTIFACTS / "sidebar-fork.png"))
