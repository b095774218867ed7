"""The sidebar survives a server restart: its WebSockets reconnect by themselves (with backoff), it
says it is reconnecting meanwhile, and afterwards it shows what the new server runs, without a reload."""

from __future__ import annotations

import pytest

from tests.browser.conftest import _free_port, serving
from tests.browser.test_sidebar import open_sidebar, submit

pytestmark = pytest.mark.browser

LAB_OPTIONS = (
    "--LabApp.expose_app_in_browser=True",
    "--LabApp.news_url=",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
)


def _row(session_id: str, status: str) -> str:
    return f'#cmbagent-sidebar .cmb-sidebar-row[data-session-id="{session_id}"][data-status="{status}"]'


def test_the_sidebar_reconnects_after_a_server_restart_and_shows_new_tasks(page, tmp_path):
    port = _free_port()
    with serving("lab", tmp_path, *LAB_OPTIONS, port=port) as lab:
        open_sidebar(page, lab)
        submit(lab, "result = 'before'", "before-restart")
        page.wait_for_selector(_row("before-restart", "completed"), timeout=60_000)
    # The server stopped: the sidebar's sockets closed, and it says it is reconnecting.
    page.wait_for_selector("#cmbagent-sidebar .cmb-sidebar-offline-note", state="visible", timeout=60_000)

    with serving("lab", tmp_path, *LAB_OPTIONS, port=port) as lab:
        page.wait_for_selector("#cmbagent-sidebar .cmb-sidebar-offline-note", state="hidden", timeout=90_000)
        submit(lab, "result = 'after'", "after-restart")
        page.wait_for_selector(_row("after-restart", "completed"), timeout=60_000)
        assert page.locator(_row("before-restart", "completed")).count() == 1  # re-listed from its file
