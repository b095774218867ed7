"""The sidebar's Compare view and report downloads, in a real JupyterLab and Chromium.

Two real python-engine runs (a plot and a text file each, one more plot in B) are compared from the
sidebar: the steps table, the plots side by side (images loaded from the server's file routes), the
unified diff of the text file and the context diff are drawn; the selected session's notebook export
and cost ledger are downloaded through the browser. Screenshot: test-artifacts/sidebar-compare.png.
A session the sidebar has not listed (beyond its first page) is found by the picker's search (the
server filters: GET sessions?q=) and compared.
"""

from __future__ import annotations

import csv
import io

import nbformat
import pytest

from cmbjupyter.config import DEFAULT_SESSIONS_DIR
from cmbjupyter.remote.client import ServerClient
from cmbjupyter.session import SessionManager
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_sidebar import click_row, open_sidebar
from tests.browser.test_sidebar_paging import crowded_lab  # noqa: F401 - a pytest fixture
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

TASK = """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
step(1)
record_usage("gpt-4o-mini", {tokens}, 100, agent="engineer")
plt.figure(figsize=(3, 2))
plt.plot([0, 1, 2], [0, 1, {power}])
plt.savefig("fit.png")
{extra}
step(2)
with open("notes.txt", "w") as f:
    f.write("H0 = {h0}\\n")
context["h0"] = {h0}
result = {{"h0": {h0}}}
"""


def _run(lab, session_id: str, **values) -> None:
    client = ServerClient(lab["url"] + "/", lab["token"])
    work = lab["root"] / session_id
    work.mkdir()
    task = TASK.format(**values)
    config = {"engine": "python", "mode": "control", "plan": ["fit", "note"], "session_id": session_id}
    submitted = client.submit(task, {**config, "work_dir": str(work)})
    wait_until(
        lambda: client.task(submitted.task_id)["status"] == "completed", what=f"{session_id} completed"
    )


def test_two_sessions_are_compared_and_a_session_downloads_its_reports(page, lab, tmp_path):
    _run(lab, "cmp-a", tokens=1000, power=4, h0=67.4, extra="")
    _run(lab, "cmp-b", tokens=3000, power=2, h0=68.1, extra='plt.savefig("residuals.png")')
    sidebar = open_sidebar(page, lab)
    click_row(page, "cmp-b")
    page.click(".cmb-sidebar-compare-open")
    page.select_option(".cmb-compare-a", "cmp-a")
    page.select_option(".cmb-compare-b", "cmp-b")
    page.click(".cmb-compare-go")
    steps = page.wait_for_selector(".cmb-compare-steps", timeout=30_000)
    rows = [r.inner_text().split("\t") for r in steps.query_selector_all("tr")]
    labels = [r[0] for r in rows[1:]]
    assert labels == ["Control", "Step 1", "Step 2", "Total"], rows
    step1 = [cell.split("\n") for cell in rows[2]]  # step | A | B | B - A, a few lines each
    assert step1[1][0] == "completed" and step1[1][2:] == ["1,100", "$0.0002"], step1  # $0.00021
    assert step1[2][2:] == ["3,100", "$0.0005"] and step1[3][-2:] == ["+2,000", "+$0.0003"], step1
    pair = page.wait_for_selector('.cmb-compare-pair[data-path="fit.png"]')
    page.wait_for_function(
        """() => [...document.querySelectorAll('.cmb-compare-pair[data-path="fit.png"] img')]
                 .filter((img) => img.complete && img.naturalWidth > 0).length === 2""",
        timeout=30_000,
    )
    assert "identical" not in pair.inner_text()
    assert page.inner_text(".cmb-compare-only_b") == "residuals.png: only in B"
    diff = page.wait_for_selector('.cmb-compare-diff[data-path="notes.txt"]')
    assert [d.inner_text() for d in diff.query_selector_all(".cmb-diff-del, .cmb-diff-add")] == [
        "-H0 = 67.4",
        "+H0 = 68.1",
    ]
    context = page.inner_text(".cmb-compare-context")
    assert "h0" in context and "67.4 → 68.1" in context
    ARTIFACTS.mkdir(exist_ok=True)
    sidebar.screenshot(path=str(ARTIFACTS / "sidebar-compare.png"))

    with page.expect_download() as notebook:
        page.click(".cmb-sidebar-export-notebook")
    assert notebook.value.suggested_filename == "cmp-b.ipynb"
    notebook.value.save_as(tmp_path / "cmp-b.ipynb")
    book = nbformat.read(tmp_path / "cmp-b.ipynb", as_version=4)
    assert book.metadata["cmbagent"]["exported_from"] == "cmp-b"
    assert {name for c in book.cells for name in c.get("attachments", {})} == {"fit.png", "residuals.png"}
    with page.expect_download() as ledger:
        page.click(".cmb-sidebar-cost-csv")
    assert ledger.value.suggested_filename == "cmp-b-cost.csv"
    ledger.value.save_as(tmp_path / "cost.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "cost.csv").read_text())))
    assert [(r["step"], r["model"], r["input_tokens"]) for r in rows] == [("1", "gpt-4o-mini", "3000")]


def test_a_session_beyond_the_first_page_is_found_by_the_picker_and_compared(page, crowded_lab):  # noqa: F811
    _run(crowded_lab, "far-a", tokens=1000, power=4, h0=67.4, extra="")
    sessions = SessionManager(crowded_lab["root"] / DEFAULT_SESSIONS_DIR)
    for i in range(105):  # newer than far-a: it is not on the sidebar's first page (100 rows)
        sessions.save_session_state(
            f"newer{i:03d}", task="a newer session", mode="one-shot", status="completed"
        )
    _run(crowded_lab, "near-b", tokens=3000, power=2, h0=68.1, extra="")
    open_sidebar(page, crowded_lab)
    click_row(page, "near-b")
    client = ServerClient(crowded_lab["url"] + "/", crowded_lab["token"])
    first_page = client.request("GET", "sessions?limit=100&offset=0")["sessions"]
    assert "far-a" not in {s["session_id"] for s in first_page}
    page.click(".cmb-sidebar-compare-open")
    assert "far-a" not in page.locator(".cmb-compare-a option").all_inner_texts()
    page.fill(".cmb-compare-search-input", "FAR-A")
    page.locator('.cmb-compare-hit[data-session-id="far-a"] .cmb-compare-as-a').click(timeout=30_000)
    assert page.inner_text(".cmb-compare-search-status").startswith("1 found")
    page.select_option(".cmb-compare-b", "near-b")
    assert page.eval_on_selector(".cmb-compare-a", "(s) => s.value") == "far-a"
    page.click(".cmb-compare-go")
    title = page.wait_for_selector(".cmb-compare-title", timeout=30_000).inner_text()
    assert "A: far-a" in title and "B: near-b" in title
    diff = page.wait_for_selector('.cmb-compare-diff[data-path="notes.txt"]')
    assert "+H0 = 68.1" in diff.inner_text()

    page.fill(".cmb-compare-search-input", "x" * 201)  # the server's 400, said in the picker
    page.wait_for_selector(".cmb-compare-search-status .cmb-error:has-text('at most 200')", timeout=30_000)
