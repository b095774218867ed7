"""Live views in a real JupyterLab / Notebook 7 and Debian's Chromium: the in-cell Cancel of a
foreground run (issue 15, item 4), progress and time, the timeline and cost chart, notifications,
and the polish seen in screenshots (items 5-8)."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import ARTIFACTS, write_notebook
from tests.browser.test_jupyterlab import VIEW, open_notebook, open_notebook7

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


def _cancel_in_cell(page) -> float:
    """Wait for the foreground run to work, press its Cancel, see "cancelling…" then "cancelled"."""
    page.wait_for_function(
        f"() => document.querySelector('{VIEW} .cmb-console')?.innerText.includes('working')",
        timeout=120_000,
    )
    page.wait_for_function(  # progress and time in the header (JupyterLab and Notebook 7 alike)
        f"() => /stage 1 of 1 · \\d+ s/.test(document.querySelector('{VIEW} .cmb-progress')?.textContent)",
        timeout=30_000,
    )
    pressed = time.monotonic()
    page.locator(f"{VIEW} button.cmb-cancel").click()
    page.wait_for_function(
        f"() => /cancelling|cancelled/.test(document.querySelector('{VIEW}')?.innerText ?? '')",
        timeout=10_000,
    )
    page.wait_for_selector(f'{VIEW}[data-status="cancelled"]', timeout=CANCELLED_WITHIN_MS)
    return time.monotonic() - pressed


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
    took = _cancel_in_cell(page)
    print(f"in-cell Cancel (JupyterLab, server mode): 'cancelled' {took:.2f} s after the press")
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
    open_notebook7(page, notebook7, name)
    page.evaluate(START_ALL)
    _cancel_in_cell(page)


# ---------------------------------------------------------------------------------------- item 8

#: A 12-node chain with long labels, drawn by a RunWidget made in the kernel (no run needed).
CHAIN_WIDGET = """
from cmbjupyter.widget import RunWidget
labels = ['Start'] + [f'Chain {i}: sample posterior with emcee' for i in range(1, 11)] + ['End']
ids = ['start'] + [f'step_{i}' for i in range(1, 11)] + ['end']
nodes = {n: {'id': n, 'label': l, 'status': 'completed' if k < 6 else 'pending', 'order': k}
         for k, (n, l) in enumerate(zip(ids, labels))}
edges = [{'source': a, 'target': b} for a, b in zip(ids, ids[1:])]
RunWidget({'status': 'running', 'session_id': SID, 'dag': {'nodes': nodes, 'edges': edges}})
"""


def chain_cell(session_id: str) -> str:
    return f"SID = {session_id!r}\n{CHAIN_WIDGET}"


#: Every edge of every view points at an arrowhead marker of its own SVG, and marker ids are unique.
MARKERS_OK = """() => {
  const ids = [...document.querySelectorAll('.cmbjupyter-run svg marker')].map((m) => m.id);
  const edges = [...document.querySelectorAll('.cmbjupyter-run path.cmb-edge[marker-end]')];
  return {
    unique: new Set(ids).size === ids.length,
    count: ids.length,
    own: edges.every((p) => {
      const id = p.getAttribute('marker-end').slice(5, -1);
      return p.ownerSVGElement.querySelector(`marker[id="${id}"]`) !== null;
    }),
  };
}"""


def test_two_widgets_one_closed_the_other_keeps_its_arrowheads(page, lab):
    start_notebook(page, lab, "arrows.ipynb", chain_cell("a"), chain_cell("b"))
    page.wait_for_function(f"() => document.querySelectorAll('{VIEW}').length === 2", timeout=60_000)
    assert page.evaluate(MARKERS_OK) == {"unique": True, "count": 2, "own": True}
    page.evaluate(
        "async () => { const nb = window.jupyterapp.shell.currentWidget.content; nb.activeCellIndex = 0;"
        " await window.jupyterapp.commands.execute('notebook:clear-cell-output'); }"
    )
    page.wait_for_function(f"() => document.querySelectorAll('{VIEW}').length === 1", timeout=30_000)
    assert page.evaluate(MARKERS_OK) == {"unique": True, "count": 1, "own": True}


def test_a_tall_dag_fits_its_panel_and_long_labels_wrap(page, lab):
    start_notebook(page, lab, "fit.ipynb", chain_cell("fit"))
    view = page.wait_for_selector(f"{VIEW} g.cmb-node[data-node-id='end']", timeout=60_000)
    box = page.query_selector(f"{VIEW} .cmb-dag")
    assert box.get_attribute("data-fit") == "fit"
    assert page.evaluate("(d) => d.scrollHeight <= d.clientHeight + 1", box), (
        "End is reached without scrolling"
    )
    end, panel = view.bounding_box(), box.bounding_box()
    assert panel["y"] <= end["y"] and end["y"] + end["height"] <= panel["y"] + panel["height"] + 1
    spans = page.query_selector_all(f"{VIEW} g.cmb-node[data-node-id='step_1'] tspan")
    assert [s.text_content() for s in spans] == ["Chain 1: sample", "posterior with emcee"]
    title = page.query_selector(f"{VIEW} g.cmb-node[data-node-id='step_1'] title").text_content()
    assert "Chain 1: sample posterior with emcee" in title
    page.locator(f"{VIEW} button.cmb-dag-zoom").click()
    assert box.get_attribute("data-fit") == "1:1"


def test_the_selected_node_stands_out_in_the_dark_theme(page, lab):
    start_notebook(page, lab, "dark.ipynb", chain_cell("dark"))
    page.wait_for_selector(f"{VIEW} g.cmb-node[data-node-id='step_2']", timeout=60_000)
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    page.locator(f"{VIEW} g.cmb-node[data-node-id='step_2']").click()
    stroke, wanted, width = page.evaluate(
        f"""() => {{
          const view = document.querySelector('{VIEW}');
          const rect = view.querySelector("g.cmb-node.cmb-selected rect");
          const probe = document.createElement('span');
          probe.style.color = 'var(--cmb-select)';
          view.appendChild(probe);
          const wanted = getComputedStyle(probe).color;
          probe.remove();
          return [getComputedStyle(rect).stroke, wanted, getComputedStyle(rect).strokeWidth];
        }}"""
    )
    assert stroke == wanted and width == "4px", (stroke, wanted, width)
    ARTIFACTS.mkdir(exist_ok=True)
    page.query_selector(VIEW).screenshot(path=str(ARTIFACTS / "views-live-dark.png"))
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
    )


#: A sidebar task whose agents have long names (the 500 px sidebar once broke them mid-word).
LONG_NAMES = """
phase('execution')
record_usage('gpt-4o-mini', 18000, 3000, agent='engineer_response_formatter')
record_usage('gpt-4o-mini', 1000, 200, agent='researcher_response_formatter')
record_usage('gpt-4o-mini', 500, 100, agent='planner')
result = 'done'
"""


def visible_cancels(page) -> int:
    return page.evaluate(
        "() => [...document.querySelectorAll('#cmbagent-sidebar button')]"
        ".filter((b) => b.offsetParent !== null && /^Cancel/.test(b.textContent)).length"
    )


def widen_sidebar(page, width: int) -> None:
    """Drag the handle between the left area and the main area until the sidebar is ``width`` px."""
    sidebar = page.query_selector("#cmbagent-sidebar").bounding_box()
    handle = page.evaluate(
        """(right) => {
          const handles = [...document.querySelectorAll('#jp-main-split-panel > .lm-SplitPanel-handle')];
          const near = handles.map((h) => h.getBoundingClientRect()).filter((r) => r.width > 0)
            .sort((a, b) => Math.abs(a.left - right) - Math.abs(b.left - right))[0];
          return {x: near.left + near.width / 2, y: near.top + near.height / 2};
        }""",
        sidebar["x"] + sidebar["width"],
    )
    page.mouse.move(handle["x"], handle["y"])
    page.mouse.down()
    page.mouse.move(sidebar["x"] + width, handle["y"], steps=10)
    page.mouse.up()
    page.wait_for_function(
        "(w) => Math.abs(document.querySelector('#cmbagent-sidebar').getBoundingClientRect().width - w) < 30",
        arg=width,
        timeout=10_000,
    )


def test_the_500px_sidebar_keeps_the_cost_table_whole_and_names_unbroken(page, lab):
    from tests.browser.test_sidebar import click_row, open_sidebar, submit

    open_sidebar(page, lab)
    assert visible_cancels(page) == 0, "no Cancel before anything is selected"
    submit(lab, LONG_NAMES, "vl-long-names")
    click_row(page, "vl-long-names")
    view = page.wait_for_selector(
        '#cmbagent-sidebar .cmbjupyter-run[data-status="completed"]', timeout=60_000
    )
    widen_sidebar(page, 500)
    page.wait_for_selector("#cmbagent-sidebar tr[data-name='engineer_response_formatter']")
    clipped, broken = page.evaluate(
        """() => {
          const side = document.querySelector('#cmbagent-sidebar').getBoundingClientRect();
          const tables = [...document.querySelectorAll('#cmbagent-sidebar .cmb-cost-table')];
          const clipped = tables.some((t) => t.getBoundingClientRect().right > side.right + 1);
          // a name may wrap only at its <wbr>s: each text piece between them stays on one line
          const broken = [...document.querySelectorAll('#cmbagent-sidebar td.cmb-cost-name')].some((td) =>
            [...td.childNodes].filter((n) => n.nodeType === 3).some((n) => {
              const range = document.createRange();
              range.selectNodeContents(n);
              return range.getClientRects().length > 1;
            }));
          return [clipped, broken];
        }"""
    )
    assert not clipped and not broken, (clipped, broken)
    ARTIFACTS.mkdir(exist_ok=True)
    page.query_selector("#cmbagent-sidebar").screenshot(path=str(ARTIFACTS / "views-live-sidebar-500.png"))
    assert view.query_selector(".cmb-cost-total")


def test_one_cancel_after_a_resume_and_one_outcome_everywhere(page, lab):
    import json
    import urllib.request

    from tests.browser.test_sidebar import SLEEPER, click_row, open_sidebar, submit

    open_sidebar(page, lab)
    submit(lab, SLEEPER, "vl-resume")
    click_row(page, "vl-resume")
    page.wait_for_selector('#cmbagent-sidebar .cmbjupyter-run[data-status="running"]', timeout=60_000)
    assert visible_cancels(page) == 1
    page.locator("#cmbagent-sidebar button.cmb-sidebar-cancel").click()
    page.wait_for_selector('#cmbagent-sidebar .cmbjupyter-run[data-status="cancelled"]', timeout=60_000)
    url = f"{lab['url']}/cmbagent/api/sessions/vl-resume?token={lab['token']}"
    saved = json.loads(urllib.request.urlopen(url, timeout=10).read())
    assert saved.get("run_status", (saved.get("live") or {}).get("status")) == "cancelled", saved
    page.locator("#cmbagent-sidebar button.cmb-sidebar-resume").click()
    page.wait_for_selector('#cmbagent-sidebar .cmbjupyter-run[data-status="running"]', timeout=60_000)
    assert visible_cancels(page) == 1, "one Cancel after a Resume"
    page.locator("#cmbagent-sidebar button.cmb-sidebar-cancel").click()
    page.wait_for_selector('#cmbagent-sidebar .cmbjupyter-run[data-status="cancelled"]', timeout=60_000)


# ---------------------------------------------------------------------------------------- item 5

#: Three plan steps of ~2 s each, then a long last wait (cancelled by the test).
PLAN_STEPS = """
import time
phase('planning')
for n, label in enumerate(['Simulate the sky', 'Fit the spectrum', 'Report'], start=1):
    emit.add_node(f'step_{n}', label)
phase('control')
for n in (1, 2):
    step(n)
    time.sleep(2)
step(3)
for i in range(6000):
    time.sleep(0.1)
"""


def test_the_header_shows_the_step_the_clock_and_an_eta_and_nodes_their_durations(page, lab):
    start_notebook(
        page,
        lab,
        "progress.ipynb",
        "%load_ext cmbjupyter",
        f"%%cmbagent --engine python --mode planning-control --session vl-progress\n{PLAN_STEPS}",
    )
    page.wait_for_function(
        f"() => document.querySelector('{VIEW} .cmb-progress')?.textContent.startsWith('step 3 of 3')",
        timeout=120_000,
    )
    header = page.query_selector(f"{VIEW} .cmb-progress")
    first = header.text_content()
    assert "left" in first, first  # two steps finished: an ETA
    page.wait_for_function(
        "([h, was]) => h.textContent !== was", arg=[header, first], timeout=10_000
    )  # it ticks
    message = page.query_selector(f"{VIEW} .cmb-message-line").text_content()
    assert message == "running Report", message
    assert "worker" not in message
    times = page.eval_on_selector_all(
        f"{VIEW} g.cmb-node text.cmb-node-time", "(ts) => ts.map((t) => t.parentNode.dataset.nodeId)"
    )
    assert {"step_1", "step_2", "step_3"} <= set(times), times
    page.locator(f"{VIEW} button.cmb-cancel").click()
    page.wait_for_selector(f'{VIEW}[data-status="cancelled"]', timeout=CANCELLED_WITHIN_MS)


# ---------------------------------------------------------------------------------------- item 6

CHARTED = """
import time
phase('planning')
record_usage('gpt-4o-mini', 20000, 4000, agent='planner')
for n, label in enumerate(['Simulate', 'Fit', 'Report'], start=1):
    emit.add_node(f'step_{n}', label)
phase('control')
for n in (1, 2, 3):
    step(n)
    record_usage('gpt-4o-mini', 30000, 6000, agent='engineer')
    time.sleep(0.3)
result = 'charted'
"""


def test_the_timeline_has_one_bar_per_step_and_the_cost_chart_its_budget_line(page, lab):
    start_notebook(
        page,
        lab,
        "charts.ipynb",
        "%load_ext cmbjupyter",
        f"%%cmbagent --engine python --mode planning-control --budget 0.05 --session vl-charts\n{CHARTED}",
    )
    view = page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=120_000)
    page.wait_for_selector(f"{VIEW} .cmb-timeline g[data-node-id='step_3'] rect", timeout=30_000)
    bars = {
        step: len(view.query_selector_all(f".cmb-timeline g[data-node-id='{step}'] rect.cmb-tl-bar"))
        for step in ("step_1", "step_2", "step_3")
    }
    assert bars == {"step_1": 1, "step_2": 1, "step_3": 1}, bars
    assert (
        view.query_selector(".cmb-timeline g[data-node-id='step_2']")
        .get_attribute("class")
        .endswith("cmb-completed")
    )
    ticks = view.query_selector(".cmb-timeline g[data-agent='engineer'] path.cmb-tl-ticks").get_attribute("d")
    assert ticks.count("M") == 3  # one tick per LLM call
    assert view.query_selector(".cmb-cost-chart path.cmb-cc-line[data-key='total']")
    assert view.query_selector(".cmb-cost-chart path.cmb-cc-line[data-key='planner']")
    assert "budget $0.0500" in view.query_selector(".cmb-cost-chart").text_content()
    ARTIFACTS.mkdir(exist_ok=True)
    view.query_selector(".cmb-charts").screenshot(path=str(ARTIFACTS / "views-live-charts.png"))


# ---------------------------------------------------------------------------------------- item 7


def test_a_notification_appears_when_a_background_run_ends_and_the_badge_counts_questions(page, lab):
    """Tasks submitted over REST (no kernel at all: as for a task whose kernel is gone)."""
    from cmbjupyter.remote.client import ServerClient
    from tests.browser.test_sidebar import submit

    page.goto(f"{lab['url']}/lab?token={lab['token']}&reset", wait_until="domcontentloaded")
    tab = page.wait_for_selector('.jp-SideBar [data-id="cmbagent-sidebar"]', timeout=60_000)
    assert "cmbagent sessions" in (tab.get_attribute("title") or ""), "the icon has a tooltip"
    page.wait_for_function("() => window.jupyterapp?.shell", timeout=60_000)
    submit(lab, "import time\ntime.sleep(1)\nresult = 'done'", "vl-notify")
    toast = page.wait_for_selector("text=cmbagent: vl-notify completed", timeout=60_000)
    assert toast
    client = ServerClient(lab["url"] + "/", lab["token"])
    task = "answer = ask('Which dataset?')\nresult = answer"
    asking = client.submit(task, {"engine": "python", "mode": "hitl", "session_id": "vl-ask"})
    page.wait_for_selector("text=cmbagent: vl-ask asks: Which dataset?", timeout=60_000)
    page.wait_for_selector('.jp-SideBar [data-id="cmbagent-sidebar"] [data-waiting="1"]', timeout=30_000)
    assert "1 waiting for input" in page.get_attribute('.jp-SideBar [data-id="cmbagent-sidebar"]', "title")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "views-live-notification.png"))
    page.locator(".jp-toast-button", has_text="Answer").first.click()
    page.wait_for_selector("#cmbagent-sidebar .cmb-input:not([hidden])", timeout=30_000)
    request = client.task(asking.task_id)["input_request"]["request_id"]
    client.send_input(asking.task_id, request, "planck")
    page.wait_for_selector('.jp-SideBar [data-id="cmbagent-sidebar"] [data-waiting="0"]', timeout=60_000)
