"""Live views in a real JupyterLab / Notebook 7 and Debian's Chromium: the in-cell Cancel of a
foreground run (issue 15, item 4), progress and time, the timeline and cost chart, notifications,
and the polish seen in screenshots (items 5-8)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import write_notebook
from tests.browser.test_jupyterlab import VIEW, open_notebook

#: Run every cell without awaiting the command (its promise settles only once the cells have run).
START_ALL = "() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }"

pytestmark = pytest.mark.browser

#: A foreground task that writes a file, then runs ~10 minutes unless it is cancelled.
LONG_TASK = "\n".join(
    [
        "import time",
        "phase('execution')",
        "open('early.md', 'w').write('made before the run ends')",
        "for i in range(6000):",
        "    print(f'working {i}')",
        "    time.sleep(0.1)",
    ]
)
#: Generous: the run must end "cancelled" well before the task would (the press takes < 1 s idle).
CANCELLED_WITHIN_MS = 30_000


def _cancel_in_cell(page) -> None:
    """Wait for the foreground run to work, press its Cancel, see "cancelling…" then "cancelled"."""
    page.wait_for_function(
        f"() => document.querySelector('{VIEW} .cmb-console')?.innerText.includes('working')",
        timeout=120_000,
    )
    page.locator(f"{VIEW} button.cmb-cancel").click()
    page.wait_for_function(
        f"() => /cancelling|cancelled/.test(document.querySelector('{VIEW}')?.innerText ?? '')",
        timeout=10_000,
    )
    page.wait_for_selector(f'{VIEW}[data-status="cancelled"]', timeout=CANCELLED_WITHIN_MS)


def start_notebook(page, lab, name, *cells):
    """Write a notebook of these code cells into the lab's root, open it, and start all its cells."""
    write_notebook(lab["root"], name, *cells)
    open_notebook(page, lab, name)
    page.evaluate(START_ALL)


def test_the_in_cell_cancel_of_a_foreground_run_ends_it_cancelled(page, lab):
    start_notebook(
        page,
        lab,
        "fg-cancel.ipynb",
        "%load_ext cmbjupyter",
        f"%%cmbagent --engine python --session fg-cancel-lab\n{LONG_TASK}",
        "print('after', _.status)",
    )
    _cancel_in_cell(page)
    # the cell ended, and the next cell ran only after it
    page.wait_for_selector("text=after cancelled", timeout=60_000)


def test_a_foreground_run_opens_its_files_before_it_ends(page, lab):
    start_notebook(
        page,
        lab,
        "fg-files.ipynb",
        "%load_ext cmbjupyter",
        f"%%cmbagent --engine python --session fg-files-lab --work-dir fg-files-work\n{LONG_TASK}",
    )
    page.wait_for_selector(f"{VIEW} .cmb-file[data-path='early.md']", timeout=120_000)
    page.locator(f"{VIEW} .cmb-file[data-path='early.md']").first.click()
    page.wait_for_selector(f"{VIEW} >> text=made before the run ends", timeout=30_000)
    assert page.query_selector(f'{VIEW}[data-status="running"]'), "opened while the run still runs"
    page.locator(f"{VIEW} button.cmb-cancel").click()
    page.wait_for_selector(f'{VIEW}[data-status="cancelled"]', timeout=CANCELLED_WITHIN_MS)


def test_the_in_cell_cancel_works_in_notebook_7(page, notebook7):
    name = write_notebook(
        notebook7["root"],
        "fg-cancel-nb7.ipynb",
        "%load_ext cmbjupyter",
        f"%%cmbagent --engine python --session fg-cancel-nb7\n{LONG_TASK}",
    )
    url = f"{notebook7['url']}/notebooks/{name}?token={notebook7['token']}"
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function(
        "() => { const w = window.jupyterapp?.shell?.currentWidget;"
        " const kernel = w?.sessionContext?.session?.kernel;"
        " return kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle'; }",
        timeout=60_000,
    )
    page.evaluate(START_ALL)
    _cancel_in_cell(page)
