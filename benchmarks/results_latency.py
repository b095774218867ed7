"""How soon a plot a task saves is in front of the user, and what each one costs the comm.

A real JupyterLab (started as the browser tests start it), Debian's headless Chromium, a real
kernel: a notebook runs a kernel-mode ``python``-engine task that saves N matplotlib PNGs, one every
``GAP`` seconds, writing the wall-clock time at which each ``savefig`` returned. The page notes the
wall-clock time at which each plot's thumbnail ``<img>`` is in the RunWidget's DOM and loaded
(natural width > 0). Same machine, same clock: latency = seen - saved.

Comm bytes: the kernel counts every byte the RunWidget sends (JSON + buffers) for the run with the
plots and for the same run without them (same phases, same sleeps); per artifact = the difference / N.

Usage: ``python benchmarks/results_latency.py [--plots N] [--smoke]`` (``--smoke``: 3 plots; needs
`make js labext browser`). Target: p95 latency <= 1 s.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import percentile
from benchmarks._report import Report, options
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _serve, write_notebook

GAP = 0.6  # s between two plots (the watcher's stability check alone takes ~0.2 s)

TASK = """
import json, os, time
import matplotlib
matplotlib.use("Agg")
from matplotlib import pyplot as plt
os.makedirs("data", exist_ok=True)
phase("execution")
saved = {{}}
for i in range({n}):
    time.sleep({gap})
    if {plots}:
        fig, ax = plt.subplots()
        ax.plot(range(i + 2), [j * j for j in range(i + 2)])
        fig.savefig(f"data/plot_{{i}}.png", dpi=100)
        saved[f"data/plot_{{i}}.png"] = time.time()
        plt.close(fig)
with open({times!r}, "w") as out:
    json.dump(saved, out)
result = len(saved)
"""

COUNT_CELL = """
import json, cmbjupyter
from cmbjupyter.widget import RunWidget
SENT = {"bytes": 0, "messages": 0}
_send = RunWidget._send
def _counted(self, msg, buffers=None):
    SENT["bytes"] += len(json.dumps(msg, default=str)) + sum(len(b) for b in buffers or [])
    SENT["messages"] += 1
    return _send(self, msg, buffers)
RunWidget._send = _counted
"""

RUN_CELL = """
SENT.update(bytes=0, messages=0)
run = cmbjupyter.run({task!r}, engine="python", work_dir={work!r}, force_kernel=True, background=False)
with open({out!r}, "w") as out:
    json.dump(SENT, out)
"""

OBSERVE = """
() => {
  window.__seen = {};
  const note = (img) => {
    const path = img.closest('.cmb-thumb')?.dataset.path;
    if (!path || path in window.__seen) return;
    const seen = () => { if (!(path in window.__seen)) window.__seen[path] = Date.now() / 1000; };
    if (img.complete && img.naturalWidth > 0) seen();
    else img.addEventListener('load', seen);
  };
  new MutationObserver(() => document.querySelectorAll('.cmbjupyter-run .cmb-thumb img').forEach(note))
    .observe(document.body, {subtree: true, childList: true, attributes: true});
}
"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    n = options(__doc__, plots=(12, 3)).plots
    root = Path(tempfile.mkdtemp(prefix="results-latency-"))
    cells = ["%load_ext cmbjupyter", COUNT_CELL]
    for name, plots in (("baseline", False), ("plots", True)):
        work = root / f"work-{name}"
        work.mkdir()
        task = TASK.format(n=n, gap=GAP, plots=plots, times=str(root / f"saved-{name}.json"))
        cells.append(RUN_CELL.format(task=task, work=str(work), out=str(root / f"sent-{name}.json")))
    write_notebook(root, "latency.ipynb", *cells)
    server = _serve("lab", root, "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=")
    lab = next(server)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(
                f"{lab['url']}/lab/tree/latency.ipynb?token={lab['token']}&reset",
                wait_until="domcontentloaded",
            )
            page.wait_for_function(
                "() => { const k = window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel;"
                " return k && k.connectionStatus === 'connected' && k.status === 'idle'; }",
                timeout=120_000,
            )
            page.evaluate(OBSERVE)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            deadline = time.monotonic() + 120 + 4 * n * GAP
            while not (root / "sent-plots.json").exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            page.wait_for_function(f"() => Object.keys(window.__seen).length >= {n}", timeout=30_000)
            seen = page.evaluate("() => window.__seen")
            browser.close()
    finally:
        server.close()
    saved = json.loads((root / "saved-plots.json").read_text())
    latencies = sorted(seen[path] - at for path, at in saved.items())
    sent = {name: json.loads((root / f"sent-{name}.json").read_text()) for name in ("baseline", "plots")}
    per_artifact = (sent["plots"]["bytes"] - sent["baseline"]["bytes"]) / n
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    report = Report("results_latency", "results latency (RunWidget in JupyterLab, kernel mode)")
    report.add("plots", str(n))
    report.add("savefig -> thumbnail in the DOM, p50", f"{p50 * 1000:.0f} ms")
    report.add(
        "savefig -> thumbnail in the DOM, p95 / max",
        f"{p95 * 1000:.0f} ms / {latencies[-1] * 1000:.0f} ms",
        "p95 <= 1 s",
        p95 <= 1.0,
    )
    report.add(
        "comm bytes, run with plots", f"{sent['plots']['bytes']:,} in {sent['plots']['messages']} messages"
    )
    report.add(
        "comm bytes, same run without",
        f"{sent['baseline']['bytes']:,} in {sent['baseline']['messages']} messages",
    )
    report.add("comm bytes per artifact", f"{per_artifact:,.0f}")
    report.finish()


if __name__ == "__main__":
    main()
