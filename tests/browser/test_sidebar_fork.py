"""Fork from the sidebar, in a real JupyterLab and browser: a finished session's step node has a
"Fork from step N" control; the fork runs on the server as a new session, drawn with its restored
steps, where it restarted and the books it carries (screenshot: test-artifacts/sidebar-fork.png).
The control shows only where a fork can start: a session of an engine or mode that cannot restart
mid-way (protocol.json's ``forkable``) has none on its step nodes."""

from __future__ import annotations

from pathlib import Path

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


def _step_details(page, session_id: str):
    """Select a finished session and open its step 2 node's details (its text, once drawn). The view
    keeps the node selected across sessions, and a click on the selected node closes its details:
    step 1 first, so the click on step 2 opens them whatever was selected."""
    click_row(page, session_id)
    page.wait_for_selector(
        f'{SIDEBAR} .cmbjupyter-run[data-status="completed"] g.cmb-node[data-node-id="step_2"]',
        timeout=60_000,
    )
    page.locator(f'{SIDEBAR} g.cmb-node[data-node-id="step_1"]').click()
    page.locator(f'{SIDEBAR} g.cmb-node[data-node-id="step_2"]').click()
    return page.wait_for_selector(f"{SIDEBAR} .cmb-details", timeout=10_000).inner_text()


def test_only_a_session_that_can_restart_mid_way_has_a_fork_button(page, lab):
    client = ServerClient(lab["url"] + "/", lab["token"])
    work_dir = str(lab["root"] / "forkable")
    python = {"engine": "python", "mode": "planning-control", "work_dir": work_dir}
    client.submit(THREE_STEPS, {**python, "session_id": "sb-forkable"})
    open_sidebar(page, lab)
    page.wait_for_selector(
        '.cmb-sidebar-row[data-session-id="sb-forkable"][data-status="completed"]', timeout=60_000
    )
    # the same steps replayed from the python run's log: the replay engine cannot restart mid-way
    sessions = Path(next(s["path"] for s in client.sessions() if s["session_id"] == "sb-forkable")).parent
    log = str(sessions / "sb-forkable.events.jsonl")
    client.submit(log, {"engine": "replay", "mode": "one-shot", "session_id": "sb-replayed"})
    page.wait_for_selector(
        '.cmb-sidebar-row[data-session-id="sb-replayed"][data-status="completed"]', timeout=60_000
    )
    assert "Step 2" in _step_details(page, "sb-replayed")
    assert page.locator(f"{SIDEBAR} .cmb-details button.cmb-fork-open").count() == 0

    assert "Step 2" in _step_details(page, "sb-forkable")
    page.wait_for_selector(f"{SIDEBAR} .cmb-details button.cmb-fork-open", timeout=10_000)
