"""The RunWidget in Jupyter Notebook 7 (not only JupyterLab): the quickstart's live DAG completes and
the cost meter shows the run's total, in a real Notebook 7 server and Debian's Chromium."""

from __future__ import annotations

import pytest

from cmbjupyter.static_html import usd
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_jupyterlab import RUN_ALL, VIEW, open_notebook7

pytestmark = pytest.mark.browser


def test_the_quickstart_runs_live_in_notebook_7(page, notebook7):
    open_notebook7(page, notebook7, "01-quickstart.ipynb")
    page.evaluate(RUN_ALL)
    view = page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=120_000)
    statuses = {n.get_attribute("data-status") for n in view.query_selector_all("g.cmb-node")}
    assert statuses == {"completed"}
    page.wait_for_selector("text=2 LLM calls", timeout=60_000)
    assert view.query_selector(".cmb-cost-total").inner_text() == usd(0.000522)
    view.query_selector('g.cmb-node[data-node-id="step_2"]').click()
    assert "Find the peak" in view.wait_for_selector(".cmb-details").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    view.screenshot(path=str(ARTIFACTS / "notebook7-widget.png"))
