"""The sidebar with many sessions on disk: it lists them a page at a time ("Show more"), and applies
the live task updates to its rows instead of fetching the whole list again on every update."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from cmbjupyter.config import DEFAULT_SESSIONS_DIR
from cmbjupyter.remote.client import ServerClient
from tests.browser.conftest import _serve
from tests.browser.test_sidebar import open_sidebar

pytestmark = pytest.mark.browser

#: The listing route (a page of it: ``?limit=&offset=``).
LIST = "/cmbagent/api/sessions"
#: Sessions on disk before the server starts: more than two of the sidebar's pages (100 rows).
ON_DISK = 250

STEPS = """
import time
for n in range(1, 9):
    phase(f"phase-{n}")
    time.sleep(0.3)
result = "done"
"""


@pytest.fixture(scope="module")
def crowded_lab(tmp_path_factory):
    """A JupyterLab whose sessions folder already holds ON_DISK old sessions."""
    root = tmp_path_factory.mktemp("crowded")
    sessions = root / DEFAULT_SESSIONS_DIR  # the server's store: <root_dir>/.cmbagent/sessions
    sessions.mkdir(parents=True)
    for i in range(ON_DISK):
        stamp = f"2020-01-01T00:{i // 60:02d}:{i % 60:02d}.000000+00:00"
        record = {"version": 1, "session_id": f"old{i:03d}", "status": "completed", "mode": "one-shot"}
        record.update(created_at=stamp, updated_at=stamp)
        (sessions / f"old{i:03d}.json").write_text(json.dumps(record))
    yield from _serve(
        "lab",
        root,
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    )


def _rows(page) -> int:
    return len(page.query_selector_all("#cmbagent-sidebar .cmb-sidebar-row"))


def test_the_sidebar_lists_sessions_a_page_at_a_time(page, crowded_lab):
    total = ServerClient(crowded_lab["url"] + "/", crowded_lab["token"]).request("GET", "sessions?limit=0")[
        "total"
    ]
    assert total >= ON_DISK
    open_sidebar(page, crowded_lab)
    more = page.wait_for_selector("#cmbagent-sidebar .cmb-sidebar-more", state="visible", timeout=30_000)
    assert _rows(page) == 100
    assert more.inner_text() == f"Show more (100 of {total})"
    more.click()
    page.wait_for_function(
        "() => document.querySelectorAll('#cmbagent-sidebar .cmb-sidebar-row').length >= 200"
    )
    more.click()
    page.wait_for_selector("#cmbagent-sidebar .cmb-sidebar-more", state="hidden", timeout=30_000)
    assert _rows(page) == total


def test_live_updates_are_applied_to_the_rows_without_re_listing(page, crowded_lab):
    open_sidebar(page, crowded_lab)
    page.wait_for_selector("#cmbagent-sidebar .cmb-sidebar-row", timeout=30_000)
    listings: list[str] = []
    page.on("request", lambda r: listings.append(r.url) if urlsplit(r.url).path.endswith(LIST) else None)
    client = ServerClient(crowded_lab["url"] + "/", crowded_lab["token"])
    client.submit(STEPS, {"engine": "python", "session_id": "many-updates"})
    row = '.cmb-sidebar-row[data-session-id="many-updates"]'
    page.wait_for_selector(f'{row}[data-status="completed"]', timeout=60_000)
    assert "phase-8" in page.query_selector(row).inner_text()  # the last update reached the row
    assert len(listings) <= 1, listings  # at most one re-list, for the session it did not hold
