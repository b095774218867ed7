"""A run's files in a real JupyterLab and browser: the RunWidget's Results panel shows plot
thumbnails (real images: natural width > 0), a click opens the full image, fetched from the kernel
through the widget's comm; CSV, code, markdown (sanitized) and JSON open in their viewers; a DAG
node lists its own files. End to end (with the worker's artifact events): a task's ``savefig`` ->
a thumbnail in the widget, and the sidebar's Files tab lists the session's files."""

from __future__ import annotations

import textwrap

import pytest

from cmbjupyter import events
from cmbjupyter.remote.client import ServerClient
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_jupyterlab import VIEW, run_notebook
from tests.browser.test_sidebar import click_row, open_sidebar

pytestmark = pytest.mark.browser

needs_artifact_events = pytest.mark.skipif(
    "artifact" not in events.EVENT_TYPES, reason="needs the `artifact` event (results-a)"
)

#: A kernel cell: real files in a work dir, a real thumbnail (Pillow), a RunWidget over a snapshot
#: as the RunState reducer writes it (``work_dir``, ``artifacts``).
WIDGET_CELL = textwrap.dedent(
    """
    import base64, hashlib, io, json, pathlib, tempfile
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from PIL import Image
    from cmbjupyter.widget import RunWidget

    work = pathlib.Path(tempfile.mkdtemp())
    (work / "data").mkdir(); (work / "codebase").mkdir()
    fig, ax = plt.subplots(figsize=(8, 6)); ax.plot([1, 4, 9, 16])
    fig.savefig(work / "data/fit.png", dpi=100)
    (work / "data/cl.csv").write_text("ell,cl\\n2,1000.5\\n3,980.25\\n")
    (work / "codebase/fit.py").write_text("import numpy as np\\n\\ndef fit(x):\\n    return np.mean(x)\\n")
    (work / "report.md").write_text("# H0 report\\n\\nH0 = **67.4**\\n\\n<img src=x onerror=alert(1)>\\n")
    (work / "planning").mkdir()
    (work / "planning/final_plan.json").write_text(json.dumps({"steps": [{"n": 1}]}))

    def thumb(path):
        image = Image.open(path); image.thumbnail((160, 160)); out = io.BytesIO(); image.save(out, "PNG")
        return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()

    def rec(path, category, step, **extra):
        data = (work / path).read_bytes()
        return {"path": path, "category": category, "size": len(data), "step": step, "agent": "engineer",
                "sha256": hashlib.sha256(data).hexdigest(), "node_id": f"step_{step}", **extra}

    items = [rec("data/fit.png", "plot", 1, mime="image/png", thumbnail=thumb(work / "data/fit.png")),
             rec("data/cl.csv", "data", 1, mime="text/csv"), rec("codebase/fit.py", "code", 1),
             rec("report.md", "report", 2), rec("planning/final_plan.json", "plan", 2)]
    nodes = {f"step_{n}": {"id": f"step_{n}", "label": f"Step {n}", "status": "completed", "order": n}
             for n in (1, 2)}
    RunWidget({"status": "completed", "session_id": "results-s1", "work_dir": str(work),
               "dag": {"nodes": nodes, "edges": [{"source": "step_1", "target": "step_2"}]},
               "artifacts": {"items": items, "count": len(items), "dropped": 0}})
    """
)


def natural_width(page, selector):
    return page.evaluate(
        "(sel) => { const img = document.querySelector(sel);"
        " return img && img.complete ? img.naturalWidth : 0; }",
        selector,
    )


def test_thumbnails_show_and_each_kind_of_file_opens_in_its_viewer(page, lab):
    run_notebook(page, lab, "results.ipynb", WIDGET_CELL)
    thumb = f"{VIEW} .cmb-thumb[data-path='data/fit.png'] img"
    page.wait_for_selector(thumb, timeout=120_000)
    page.wait_for_function(f'() => document.querySelector("{thumb}").naturalWidth > 0', timeout=30_000)
    assert natural_width(page, thumb) == 160
    page.click(f"{VIEW} .cmb-thumb[data-path='data/fit.png']")
    full = f"{VIEW} .cmb-viewer img.cmb-viewer-image"
    page.wait_for_selector(full, timeout=60_000)
    page.wait_for_function(f'() => document.querySelector("{full}").naturalWidth > 0', timeout=30_000)
    assert natural_width(page, full) == 800  # the file itself: 8 in x 100 dpi
    ARTIFACTS.mkdir(exist_ok=True)
    page.query_selector(VIEW).screenshot(path=str(ARTIFACTS / "results-widget.png"))

    page.click(f"{VIEW} .cmb-file[data-path='data/cl.csv']")
    table = page.wait_for_selector(f"{VIEW} .cmb-viewer table.cmb-csv", timeout=60_000)
    assert table.query_selector("th").inner_text() == "ell" and "980.25" in table.inner_text()
    assert page.query_selector(f"{VIEW} .cmb-copy-loader")  # a data file: its loader code

    page.click(f"{VIEW} .cmb-file[data-path='codebase/fit.py']")
    code = page.wait_for_selector(f"{VIEW} .cmb-viewer pre.cmb-viewer-code", timeout=60_000)
    assert code.query_selector(".hljs-keyword") and "np.mean" in code.inner_text()

    page.click(f"{VIEW} .cmb-file[data-path='report.md']")
    report = page.wait_for_selector(f"{VIEW} .cmb-viewer .cmb-viewer-markdown", timeout=60_000)
    assert report.query_selector("h1").inner_text() == "H0 report"
    assert report.query_selector("strong").inner_text() == "67.4"
    assert not report.query_selector("img"), "raw HTML is not rendered (markdown-it html: false + DOMPurify)"

    page.click(f"{VIEW} .cmb-file[data-path='planning/final_plan.json']")
    tree = page.wait_for_selector(f"{VIEW} .cmb-viewer details.cmb-json-node", timeout=60_000)
    assert "steps" in tree.inner_text()

    page.click(f'{VIEW} g.cmb-node[data-node-id="step_1"]')
    details = page.wait_for_selector(f"{VIEW} .cmb-details", timeout=10_000)
    listed = [row.get_attribute("data-path") for row in details.query_selector_all(".cmb-file")]
    assert listed == ["data/fit.png", "data/cl.csv", "codebase/fit.py"]


@needs_artifact_events
def test_a_plot_saved_by_a_task_shows_as_a_thumbnail_and_opens(page, lab, tmp_path):
    task = (
        "import matplotlib\nmatplotlib.use('Agg')\nfrom matplotlib import pyplot as plt\n"
        "import os\nos.makedirs('data', exist_ok=True)\nphase('execution')\n"
        "plt.plot([1, 2, 3], [1, 4, 9])\nplt.savefig('data/fit.png')\n"
        "open('data/cl.csv', 'w').write('ell,cl\\n2,1.0\\n')\nresult = 'plotted'"
    )
    run_notebook(
        page,
        lab,
        "results-task.ipynb",
        "%load_ext cmbjupyter",
        f"%%cmbagent --engine python --work-dir {tmp_path}\n{task}",
    )
    page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=120_000)
    thumb = f"{VIEW} .cmb-thumb[data-path='data/fit.png'] img"
    page.wait_for_function(f'() => document.querySelector("{thumb}")?.naturalWidth > 0', timeout=60_000)
    page.wait_for_selector(f"{VIEW} .cmb-file[data-path='data/cl.csv']")
    page.click(f"{VIEW} .cmb-thumb[data-path='data/fit.png']")
    full = f"{VIEW} .cmb-viewer img.cmb-viewer-image"
    page.wait_for_function(f'() => document.querySelector("{full}")?.naturalWidth > 160', timeout=60_000)


@needs_artifact_events
def test_the_sidebar_files_tab_lists_a_sessions_files_and_opens_a_plot(page, lab):
    open_sidebar(page, lab)
    task = (
        "import matplotlib\nmatplotlib.use('Agg')\nfrom matplotlib import pyplot as plt\n"
        "import os\nos.makedirs('data', exist_ok=True)\nphase('execution')\n"
        "plt.plot([1, 2, 3], [1, 4, 9])\nplt.savefig('data/fit.png')\n"
        "open('data/cl.csv', 'w').write('ell,cl\\n2,1.0\\n')\nresult = 'plotted'"
    )
    work = lab["root"] / "sidebar-files-work"  # under the server's root: "Show in file browser"
    work.mkdir(exist_ok=True)
    client = ServerClient(lab["url"] + "/", lab["token"])
    client.submit(task, {"engine": "python", "session_id": "sidebar-files", "work_dir": str(work)})
    click_row(page, "sidebar-files")
    page.wait_for_selector(
        '.cmb-sidebar-row[data-session-id="sidebar-files"][data-status="completed"]', timeout=60_000
    )
    page.click("#cmbagent-sidebar .cmb-sidebar-tab-files")
    files = page.wait_for_selector("#cmbagent-sidebar .cmb-sidebar-files:not([hidden])", timeout=10_000)
    page.wait_for_selector(
        "#cmbagent-sidebar .cmb-sidebar-files .cmb-thumb[data-path='data/fit.png']", timeout=60_000
    )
    assert files.query_selector(".cmb-file[data-path='data/cl.csv']")
    page.click("#cmbagent-sidebar .cmb-sidebar-files .cmb-thumb[data-path='data/fit.png']")
    full = "#cmbagent-sidebar .cmb-sidebar-files .cmb-viewer img.cmb-viewer-image"
    page.wait_for_function(f'() => document.querySelector("{full}")?.naturalWidth > 0', timeout=60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.query_selector("#cmbagent-sidebar").screenshot(path=str(ARTIFACTS / "sidebar-files.png"))

    # "Show in file browser": the run's folder (under the server's root) in JupyterLab's file browser
    page.click("#cmbagent-sidebar .cmb-sidebar-show-folder")
    page.wait_for_function(
        "() => window.jupyterapp.shell.widgets('left').find((w) => w.id === 'filebrowser')"
        "?.model?.path === 'sidebar-files-work'",
        timeout=30_000,
    )
    # "Insert loader cell" on a data file: a cell loading it below the active cell of the open notebook
    page.evaluate(
        "async () => { await window.jupyterapp.commands"
        ".execute('docmanager:open', {path: '01-quickstart.ipynb'}); }"
    )
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.context?.path === '01-quickstart.ipynb'"
        " && window.jupyterapp.shell.currentWidget.content.model",
        timeout=60_000,
    )
    page.evaluate("() => window.jupyterapp.shell.activateById('cmbagent-sidebar')")
    page.click("#cmbagent-sidebar .cmb-sidebar-files .cmb-file[data-path='data/cl.csv']")
    page.click("#cmbagent-sidebar .cmb-sidebar-files .cmb-insert-loader")
    source = page.evaluate(
        "() => { const nb = window.jupyterapp.shell.widgets('main')"
        ".find((w) => w.context?.path === '01-quickstart.ipynb').content;"
        " return nb.model.cells.get(nb.activeCellIndex).sharedModel.getSource(); }"
    )
    assert 'cmbjupyter.results.load("sidebar-files", "data/cl.csv")' in source, source
