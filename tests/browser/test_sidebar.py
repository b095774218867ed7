"""The JupyterLab sidebar, in a real JupyterLab and browser: it lists the server's tasks live, shows
the selected one with the RunWidget's view, and cancels a running task."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cmbjupyter.remote.client import ServerClient
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_jupyterlab import VIEW, run_notebook

pytestmark = pytest.mark.browser

PLAN = """
import time
phase("planning")
for n, label in enumerate(["Simulate", "Fit", "Report"], start=1):
    emit.add_node(f"step_{n}", label)
record_usage("gpt-4o-mini", 1000, 200, agent="planner")
phase("control")
for n in range(1, 4):
    step(n)
    print(f"step {n} done")
    time.sleep(0.2)
result = "fitted"
"""
SLEEPER = (
    "import time\nphase('execution')\nfor i in range(600):\n    print(f'working {i}')\n    time.sleep(0.1)"
)


def click_row(page, session_id: str, timeout: float = 30_000) -> None:
    """Click a session's row once it is listed. A locator, not an element handle: the list redraws
    its rows as updates arrive, and a locator finds the row again instead of clicking a detached one."""
    page.locator(f'.cmb-sidebar-row[data-session-id="{session_id}"]').click(timeout=timeout)


def open_sidebar(page, lab):
    page.goto(f"{lab['url']}/lab?token={lab['token']}&reset", wait_until="domcontentloaded")
    page.wait_for_selector('.jp-SideBar [data-id="cmbagent-sidebar"]', timeout=60_000)  # its tab
    page.wait_for_function("() => window.jupyterapp?.shell", timeout=60_000)
    page.evaluate("() => window.jupyterapp.shell.activateById('cmbagent-sidebar')")
    return page.wait_for_selector("#cmbagent-sidebar", state="visible", timeout=30_000)


def submit(lab, task, session_id):
    client = ServerClient(lab["url"] + "/", lab["token"])
    return client.submit(task, {"engine": "python", "mode": "planning-control", "session_id": session_id})


def test_the_sidebar_lists_a_task_live_and_draws_its_dag_cost_and_console(page, lab):
    open_sidebar(page, lab)
    submitted = submit(lab, PLAN, "sidebar-plan")
    click_row(page, "sidebar-plan")
    page.wait_for_selector('#cmbagent-sidebar .cmbjupyter-run[data-status="completed"]', timeout=60_000)
    page.wait_for_selector('.cmb-sidebar-row[data-session-id="sidebar-plan"][data-status="completed"]')
    view = page.query_selector("#cmbagent-sidebar .cmbjupyter-run")
    statuses = {
        g.get_attribute("data-node-id"): g.get_attribute("data-status")
        for g in view.query_selector_all("g.cmb-node")
    }
    assert {"step_1", "step_2", "step_3"} <= set(statuses) and set(statuses.values()) == {"completed"}
    assert view.query_selector(".cmb-cost-total").inner_text() == "$0.0003"
    listed = page.query_selector('.cmb-sidebar-row[data-session-id="sidebar-plan"]').inner_text()
    assert "planning-control" in listed and re.search(r"\d\d:\d\d", listed), listed  # mode, started
    assert "step 3 done" in view.query_selector(".cmb-console").inner_text()
    assert submitted.session_id == "sidebar-plan"
    ARTIFACTS.mkdir(exist_ok=True)
    page.query_selector("#cmbagent-sidebar").screenshot(path=str(ARTIFACTS / "sidebar.png"))


def test_a_running_task_is_cancelled_from_the_sidebar(page, lab):
    open_sidebar(page, lab)
    submit(lab, SLEEPER, "sidebar-cancel")
    click_row(page, "sidebar-cancel")
    page.wait_for_function(
        "() => document.querySelector('#cmbagent-sidebar .cmb-console')?.innerText.includes('working')",
        timeout=60_000,
    )
    page.locator("#cmbagent-sidebar button.cmb-sidebar-cancel").click()
    page.wait_for_selector(
        '.cmb-sidebar-row[data-session-id="sidebar-cancel"][data-status="cancelled"]', timeout=60_000
    )
    client = ServerClient(lab["url"] + "/", lab["token"])
    assert client.session("sidebar-cancel")["status"] == "suspended"  # its session can go on
    page.locator("#cmbagent-sidebar button.cmb-sidebar-resume").click()
    page.wait_for_selector(
        '.cmb-sidebar-row[data-session-id="sidebar-cancel"][data-status="running"]', timeout=60_000
    )
    page.locator("#cmbagent-sidebar button.cmb-sidebar-cancel").click()
    page.wait_for_selector(
        '.cmb-sidebar-row[data-session-id="sidebar-cancel"][data-status="cancelled"]', timeout=60_000
    )


def test_a_notebook_run_on_the_server_is_written_into_the_open_notebook_metadata(page, lab):
    run_notebook(
        page,
        lab,
        "meta.ipynb",
        "%load_ext cmbjupyter",
        f"%%cmbagent --engine python --mode planning-control --session meta\n{PLAN}",
    )
    page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=120_000)
    saved = page.wait_for_function(
        "() => { const s = window.jupyterapp.shell.currentWidget.content.model.getMetadata('cmbagent')"
        "?.sessions?.meta; return s?.status === 'completed' ? s : null; }",
        timeout=60_000,
    ).json_value()
    assert (saved["phase"], saved["step"], saved["where"]) == ("control", 3, "server")
    assert saved["cost"]["total_usd"] > 0 and saved["sidecar"].endswith("meta.json")
    assert lab["token"] not in json.dumps(saved) and "traceback" not in saved
    # from a fresh workspace, the sidebar opens the notebook a session came from
    open_sidebar(page, lab)
    click_row(page, "meta")
    page.locator("#cmbagent-sidebar button.cmb-sidebar-open-notebook").click()
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.context?.path === 'meta.ipynb'", timeout=30_000
    )


@pytest.mark.parametrize("kind", ["labextension", "server extension"])
def test_jupyter_lists_both_extensions_enabled_and_ok(kind):
    jupyter = Path(sys.executable).with_name("jupyter")
    listed = subprocess.run(
        [str(jupyter), *kind.split(), "list"], capture_output=True, text=True, timeout=120, check=True
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)  # no colours
    line = next(line for line in text.splitlines() if "cmbjupyter" in line)
    assert "enabled" in line and "OK" in text[text.index(line) :].split("\n\n")[0], text


def test_a_question_is_answered_from_the_sidebar(page, lab):
    open_sidebar(page, lab)
    submit(lab, "answer = ask('Which mask?')\nprint(f'masking with {answer}')", "sidebar-ask")
    click_row(page, "sidebar-ask")
    form = page.wait_for_selector("#cmbagent-sidebar form.cmb-input:not([hidden])", timeout=60_000)
    assert "Which mask?" in form.inner_text()
    form.query_selector("input").fill("galactic 70%")
    form.query_selector("button").click()
    page.wait_for_selector(
        '.cmb-sidebar-row[data-session-id="sidebar-ask"][data-status="completed"]', timeout=60_000
    )
    page.wait_for_function(
        "() => document.querySelector('#cmbagent-sidebar .cmb-console')?.innerText"
        ".includes('masking with galactic')",
        timeout=30_000,
    )
