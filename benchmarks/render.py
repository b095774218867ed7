"""How long the RunWidget takes to draw a 300-node DAG in headless Chromium (target: <= 100 ms).

The built bundle (cmbjupyter/static/widget.js) is loaded into a blank page and rendered with a
minimal anywidget model (get/on/off/send), as JupyterLab would. Measured in the same page:

* first render of a 300-node planning-control DAG (dagre layout + SVG), median of 15;
* a status update of all 300 nodes (no re-layout), median of 15;
* baseline: appending 300 bare SVG rects to a page (what any drawing of 300 nodes costs at least).

Usage: ``python benchmarks/render.py [--nodes N] [--smoke]`` (needs `make js` and Debian's chromium).
"""

from __future__ import annotations

from pathlib import Path

from _report import Report, options

BUNDLE = Path(__file__).resolve().parents[1] / "cmbjupyter" / "static" / "widget.js"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

MEASURE = """
async ([bundle, n]) => {
  const url = URL.createObjectURL(new Blob([bundle], {type: 'text/javascript'}));
  const widget = (await import(url)).default;
  const dag = (done) => {
    const nodes = {};
    for (let i = 0; i < n; i++) nodes[`step_${i}`] = {id: `step_${i}`, label: `Step ${i}`, order: i,
      status: i < done ? 'completed' : 'pending'};
    const edges = [];
    for (let i = 0; i + 1 < n; i++) edges.push({source: `step_${i}`, target: `step_${i + 1}`});
    return {nodes, edges, current: null};
  };
  const model = (traits) => {
    const handlers = {};
    return {get: (k) => traits[k], set: (k, v) => { traits[k] = v; }, send() {},
      on: (e, f) => { handlers[e] = f; }, off() {}, fire: (e) => handlers[e] && handlers[e]()};
  };
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const render = [], update = [], baseline = [];
  for (let r = 0; r < 15; r++) {
    const el = document.createElement('div');
    document.body.appendChild(el);
    const m = model({run: {status: 'running'}, dag: dag(0), cost: {}, console: {lines: [], count: 0}});
    let t = performance.now();
    widget.render({model: m, el});
    el.getBoundingClientRect();
    render.push(performance.now() - t);
    m.set('dag', dag(n / 2));
    t = performance.now();
    m.fire('change:dag');
    el.getBoundingClientRect();
    update.push(performance.now() - t);
    el.remove();
    const box = document.createElement('div');
    document.body.appendChild(box);
    t = performance.now();
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    for (let i = 0; i < n; i++) {
      const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
      rect.setAttribute('y', String(i * 60));
      rect.setAttribute('width', '150');
      rect.setAttribute('height', '34');
      svg.appendChild(rect);
    }
    box.appendChild(svg);
    box.getBoundingClientRect();
    baseline.push(performance.now() - t);
    box.remove();
  }
  return {render: median(render), update: median(update), baseline: median(baseline),
          nodes: n};
}
"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    args = options(__doc__, nodes=(300, 20))
    n = args.nodes
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_content("<!doctype html><html><body></body></html>")
        figures = page.evaluate(MEASURE, [BUNDLE.read_text(), n])
        browser.close()
    report = Report("render", f"RunWidget render of a {n}-node DAG in headless Chromium (median of 15)")
    report.add("first render", f"{figures['render']:.1f} ms", "<= 100 ms", figures["render"] <= 100)
    report.add("status update of all nodes", f"{figures['update']:.1f} ms")
    report.add("baseline (bare rects)", f"{figures['baseline']:.2f} ms")
    report.add("render / baseline", f"{figures['render'] / max(figures['baseline'], 0.01):.1f}x")
    report.finish()


if __name__ == "__main__":
    main()
