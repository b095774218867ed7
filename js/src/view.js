// The run view: header (status, phase, step, cancel), DAG, node details (with the node's files),
// cost meter, Results (the run's files), console, input.
//
// Shared by the anywidget entry (widget.js) and any other host (the sidebar): it knows nothing of
// comms. `update(parts)` takes any subset of {run, dag, cost, console, artifacts} (the RunWidget
// traits) and redraws only those parts; files are fetched through `actions.fetchFile(path)`.

import { ConsolePanel } from "./console.js";
import { CostPanel } from "./cost.js";
import { DagPanel } from "./dag.js";
import { duration, el, tokens, usd } from "./format.js";
import { ACTIVE } from "./protocol.js";
import { Progress } from "./progress.js";
import { ResultsPanel, fileList, loaderCode } from "./results.js";
import css from "./style.js";
import { ChartsPanel } from "./timeline.js";

/** @typedef {[string, string, (button: HTMLElement) => void]} FileButton A file's action: label, class, handler. */

function details(node, files, onOpen) {
  const box = el("div", "cmb-details");
  box.appendChild(el("div", "cmb-details-title", `${node.label ?? node.id} · ${node.status ?? "pending"}`));
  const facts = [
    ["node", node.id],
    ["type", node.type],
    ["agent", node.agent],
    ["time", duration(node.started_at, node.ended_at)],
    ["cost", node.cost_usd ? `${usd(node.cost_usd)} · ${tokens(node.tokens)} tokens` : ""],
  ];
  const dl = el("dl");
  for (const [k, v] of facts) if (v) dl.append(el("dt", "", k), el("dd", "", v));
  box.appendChild(dl);
  for (const m of node.messages ?? []) {
    const p = el("div", "cmb-message");
    if (m.agent) p.appendChild(el("span", "cmb-agent", `${m.agent}: `));
    p.appendChild(document.createTextNode(m.text ?? ""));
    box.appendChild(p);
  }
  if (files.length) {
    box.appendChild(el("div", "cmb-details-files-title", `Files (${files.length})`));
    box.appendChild(fileList(files, onOpen));
  }
  return box;
}

/** Copies `text` to the clipboard; where the page may not (no secure context), shows it selected. */
function copyText(button, text) {
  const shown = () => {
    const area = el("textarea", "cmb-copy-fallback");
    area.readOnly = true;
    area.value = text;
    button.after(area);
    area.select();
  };
  if (!navigator.clipboard?.writeText) return shown();
  navigator.clipboard.writeText(text).then(() => {
    button.textContent = "Copied";
  }, shown);
}

/**
 * @param {HTMLElement} host
 * @param {{onCancel?: () => void, onInput?: (text: string) => void, onSelect?: (id: string) => void,
 *          fetchFile?: (path: string) => Promise<{buffer: ArrayBuffer, mime?: string}>,
 *          thumbnail?: (record: object) => string | undefined,
 *          fileButtons?: (record: object, run: object) => FileButton[]}} actions
 */
export function createRunView(host, actions = {}) {
  const root = el("div", "cmbjupyter-run");
  const style = el("style", "", css);
  const header = el("div", "cmb-header");
  const status = el("span", "cmb-status");
  const where = el("span", "cmb-where");
  const cancel = el("button", "cmb-cancel", "Cancel");
  cancel.type = "button";
  cancel.hidden = true; // shown while the run is active, and only where the host can cancel it
  let cancelling = false; // pressed, and the run has not ended yet: say so until it has
  cancel.addEventListener("click", () => {
    cancelling = true;
    cancel.disabled = true;
    cancel.textContent = "Cancelling…";
    message.textContent = "cancelling…";
    actions.onCancel?.();
  });
  header.append(status, where);
  const progress = new Progress(header); // step k of n · elapsed · ETA; the state in words below
  header.append(cancel);
  const message = el("div", "cmb-message-line");
  const body = el("div", "cmb-body");
  const left = el("div", "cmb-left");
  const right = el("div", "cmb-right");
  body.append(left, right);
  const detailBox = el("div", "cmb-details-slot");
  let dag = null;
  let run = null;
  let files = [];
  const fetchFile = actions.fetchFile ?? (() => Promise.reject(new Error("files cannot be fetched here")));
  /** @param {any} record @returns {FileButton[]} */
  const buttons = (record) => {
    /** @type {FileButton[]} */
    const list = [];
    if (record.category === "data" && run?.session_id) {
      const code = loaderCode(run.session_id, record.path);
      list.push(["Copy loader code", "cmb-copy-loader", (b) => copyText(b, code)]);
    }
    return [...list, ...(actions.fileButtons?.(record, run) ?? [])];
  };
  const results = new ResultsPanel(root, { fetchFile, buttons, thumbnail: actions.thumbnail });
  const open = (record) => results.open(record);
  const dagPanel = new DagPanel(left, (id) => {
    const node = id ? dag?.nodes?.[id] : null;
    const own = node ? files.filter((r) => r.node_id === node.id) : [];
    detailBox.replaceChildren(...(node ? [details(node, own, open)] : []));
    actions.onSelect?.(id);
  });
  left.appendChild(detailBox);
  const charts = new ChartsPanel(el("div")); // the timeline and the cost chart, under the DAG
  progress.onDraw = () => {
    dagPanel.tickTimes(); // running nodes' clocks and bars tick with the header's
    if (ACTIVE.has(run?.status)) charts.draw();
  };
  const cost = new CostPanel(right);
  const ask = el("form", "cmb-input");
  const prompt = el("label", "cmb-prompt");
  const answer = el("input");
  answer.type = "text";
  const send = el("button", "", "Send");
  send.type = "submit";
  ask.append(prompt, answer, send);
  ask.hidden = true;
  ask.addEventListener("submit", (ev) => {
    ev.preventDefault();
    actions.onInput?.(answer.value);
    answer.value = "";
    ask.hidden = true;
  });
  const consolePanel = new ConsolePanel(root);
  root.append(style, header, message, ask, body, charts.root, results.root);
  root.appendChild(consolePanel.root);
  host.appendChild(root);

  function updateRun(value) {
    run = value;
    const s = run?.status ?? "pending";
    root.dataset.status = s;
    status.textContent = s;
    status.className = `cmb-status cmb-${s}`;
    const bits = [run?.mode, run?.phase && `phase ${run.phase}`, run?.step != null && `step ${run.step}`];
    where.textContent = bits.filter(Boolean).join(" · ");
    cancel.hidden = !ACTIVE.has(s) || !actions.onCancel;
    if (!ACTIVE.has(s)) {
      cancelling = false;
      cancel.disabled = false;
      cancel.textContent = "Cancel";
    }
    progress.update(run, undefined);
    const live = cancelling || s === "cancelling" ? "cancelling…" : progress.current().state;
    message.textContent = run?.error?.message ?? (ACTIVE.has(s) ? live : "");
    message.title = run?.message ?? ""; // the last status message, e.g. "worker 12345 started"
    message.classList.toggle("cmb-error", Boolean(run?.error));
    const request = run?.input_request;
    ask.hidden = !request;
    if (request) prompt.textContent = request.prompt ?? "Input:";
  }

  return {
    root,
    results,
    /** @param {{run?: object, dag?: object, cost?: object, console?: object, artifacts?: object}} parts */
    update(parts) {
      if (parts.run !== undefined) updateRun(parts.run);
      if (parts.dag !== undefined) {
        dag = parts.dag;
        dagPanel.update(dag);
        progress.update(undefined, dag);
        if (ACTIVE.has(run?.status) && !cancelling && run?.status !== "cancelling" && !run?.error)
          message.textContent = progress.current().state;
        if (dagPanel.selected) dagPanel.onSelect(dagPanel.selected);
      }
      if (parts.cost !== undefined) cost.update(parts.cost);
      if (parts.run !== undefined || parts.dag !== undefined || parts.cost !== undefined)
        charts.update(parts);
      if (parts.console !== undefined) consolePanel.update(parts.console);
      if (parts.artifacts !== undefined) {
        const before = files;
        files = parts.artifacts?.items ?? [];
        results.update(parts.artifacts);
        if (dagPanel.selected && before !== files) dagPanel.onSelect(dagPanel.selected);
      }
    },
    /** Draws the Results again (e.g. thumbnails arrived). */
    redrawResults(artifacts) {
      results.key = null;
      results.update(artifacts);
    },
    /** Opens (or, with null, closes) a node's details, e.g. the selection a new view restores. */
    select(nodeId) {
      if (dagPanel.selected !== (nodeId || null)) dagPanel.select(nodeId || null);
    },
    destroy() {
      progress.stop();
      root.remove();
    },
  };
}
