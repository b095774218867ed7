"""How the RunWidget's transcript draws 100k items in headless Chromium (targets: first paint <= 200 ms,
a scroll step <= 16 ms).

The built bundle (cmbjupyter/static/widget.js) is loaded into a blank page and rendered with a
minimal anywidget model (get/on/off/send), as JupyterLab would; the model answers the view's
``{"type": "transcript", "since": 0}`` with the items in messages of 500, as the kernel does. The
items are js/test/fixtures.js's (the contract's shape: markdown messages with code blocks, tool
calls and results, code executions). Measured in the same page:

* first paint: render() of a view whose run has N items (the filter over N items, the row
  heights, the markdown and highlighting of the rows in sight) up to the end of the frame that
  draws them (items arriving in a burst are painted once, at the next frame), median of 5; and the
  render() call alone;
* a scroll step: the panel scrolled by 300 px (and a jump to a random place, every row new), the
  rows drawn and laid out, median and 95th percentile of 200;
* a live append: one more item while following the tail, to the frame that draws it, median of 50.

Usage: ``python benchmarks/transcript_render.py [--items N] [--smoke]`` (needs `make js` and
Debian's chromium).
"""

from __future__ import annotations

import os
from pathlib import Path

from _report import Report, options
from render import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "cmbjupyter" / "static" / "widget.js"
FIXTURES = ROOT / "js" / "test" / "fixtures.js"

MEASURE = """
async ([bundle, fixtures, n]) => {
  const load = (text) => import(URL.createObjectURL(new Blob([text], {type: 'text/javascript'})));
  const widget = (await load(bundle)).default;
  const {items} = await load(fixtures);
  const all = items(1, n);
  const model = (traits) => {
    const handlers = {};
    const on = (e, f) => { (handlers[e] ??= []).push(f); };
    const fire = (e, ...args) => (handlers[e] ?? []).forEach((f) => f(...args));
    return {get: (k) => traits[k], set: (k, v) => { traits[k] = v; }, on, off() {}, fire,
      send(msg) {  // the kernel's answer to a view asking `since`, 500 items a message
        if (msg.type !== 'transcript') return;
        const rest = all.filter((i) => i.id > msg.since);
        for (let k = 0; k < rest.length; k += 500) {
          const reset = k === 0 && msg.since === 0;
          fire('msg:custom', {type: 'transcript', items: rest.slice(k, k + 500), reset});
        }
      }};
  };
  const traits = () => ({run: {status: 'running'}, dag: {nodes: {}, edges: [], current: null}, cost: {},
    console: {lines: [], count: 0}, artifacts: {items: []}, transcript: {count: n, dropped: 0, last_id: n}});
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];
  const paint = [], framed = [];
  let el, m;
  for (let r = 0; r < 5; r++) {
    el?.remove();
    el = document.createElement('div');
    document.body.appendChild(el);
    m = model(traits());
    const t = performance.now();
    widget.render({model: m, el});
    el.getBoundingClientRect();
    paint.push(performance.now() - t);
    await frame();
    framed.push(performance.now() - t);
  }
  const scroller = el.querySelector('.cmb-tr-scroller');
  const rows = () => el.querySelectorAll('.cmb-tr-item').length;
  const drawn = rows();
  const step = async (to) => {
    await frame();
    const t = performance.now();
    scroller.scrollTop = to;
    scroller.dispatchEvent(new Event('scroll'));
    scroller.getBoundingClientRect();
    return performance.now() - t;
  };
  const steps = [], jumps = [];
  scroller.scrollTop = 0;
  for (let i = 0; i < 200; i++) steps.push(await step(scroller.scrollTop + 300));
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < 200; i++) jumps.push(await step(random() * scroller.scrollHeight));
  const shown = el.querySelector('.cmb-tr-item')?.dataset.id;
  // Following the tail: one more item at a time, as a live run sends them.
  scroller.scrollTop = scroller.scrollHeight;
  scroller.dispatchEvent(new Event('scroll'));
  const appends = [];
  for (let i = 1; i <= 50; i++) {
    await frame();
    const t = performance.now();
    m.fire('msg:custom', {type: 'transcript', items: items(n + i, n + i)});
    await frame();  // painted at the next frame
    appends.push(performance.now() - t);
  }
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight <= 8;
  const last = [...el.querySelectorAll('.cmb-tr-item')].at(-1)?.dataset.id;
  return {paint: median(paint), framed: median(framed), step: median(steps), stepP95: p95(steps),
          jump: median(jumps), jumpP95: p95(jumps), append: median(appends), drawn, shown, atBottom,
          last: Number(last),
          code: el.querySelectorAll('pre code.hljs').length};
}
"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    args = options(__doc__, items=(100_000, 2_000))
    n = args.items
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.set_content("<!doctype html><html><body></body></html>")
        figures = page.evaluate(MEASURE, [BUNDLE.read_text(), FIXTURES.read_text(), n])
        browser.close()
    if not (figures["atBottom"] and figures["last"] == n + 50 and figures["code"]):  # drawn right, first
        raise SystemExit(f"the transcript did not draw as it should: {figures}")
    report = Report("transcript_render", f"RunWidget transcript of {n:,} items in headless Chromium")
    report.add("first paint", f"{figures['framed']:.1f} ms", "<= 200 ms", figures["framed"] <= 200)
    report.add("render() call", f"{figures['paint']:.1f} ms")
    report.add("scroll step (300 px)", f"{figures['step']:.2f} ms", "<= 16 ms", figures["step"] <= 16)
    report.add("scroll step p95", f"{figures['stepP95']:.2f} ms")
    report.add("jump to a random place", f"{figures['jump']:.2f} ms")
    report.add("jump p95", f"{figures['jumpP95']:.2f} ms")
    report.add("live append (following the tail)", f"{figures['append']:.1f} ms")
    report.add("rows in the DOM", str(figures["drawn"]))
    report.add("load average while measured (1 min)", f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    report.finish()


if __name__ == "__main__":
    main()
