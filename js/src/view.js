// The run view: header (status, phase, step, cancel), the plan (editable while it awaits approval:
// plan.js), DAG, node details (with the node's files), cost meter, Results (the run's files),
// console, input.
//
// Shared by the anywidget entry (widget.js) and any other host (the sidebar): it knows nothing of
// comms. `update(parts)` takes any subset of {run, dag, cost, console, artifacts, transcript} (the
// RunWidget traits; a `transcript` part with `items` (a snapshot's) adds those to the transcript)
// and redraws only those parts; files are fetched through `actions.fetchFile(path)`. The transcript
// items live in a TranscriptStore (`actions.store`, else the view's own), and what the reader did
// (tab, filters, scroll places) in `actions.state`, so a host can keep both across views.

import { ConsolePanel, consoleState } from "./console.js";
import { CostPanel } from "./cost.js";
import { DagPanel } from "./dag.js";
import { forkControl, restartLine } from "./fork.js";
import { copyText, duration, el, tokens, usd } from "./format.js";
import { OutcomeLine } from "./outcome.js";
import { ACTIVE } from "./protocol.js";
import { PlanPanel } from "./plan.js";
import { Progress } from "./progress.js";
import { ResultsPanel, fileList, loaderCode } from "./results.js";
import css from "./style.js";
import { Tabs } from "./tabs.js";
import { ChartsPanel } from "./timeline.js";
import { TranscriptPanel, transcriptState } from "./transcript.js";
import { nodeTranscript } from "./transcript_items.js";
import { TranscriptStore, ofNode } from "./transcript_store.js";

/** @typedef {[string, string, (button: HTMLElement) => void]} FileButton A file's action: label, class, handler. */

function details(node, files, onOpen, transcript, fork) {
  const box = el("div", "cmb-details");
  const restored = node.restored ? " · restored" : "";
  box.appendChild(
    el("div", "cmb-details-title", `${node.label ?? node.id} · ${node.status ?? "pending"}${restored}`),
  );
  const facts = [
    ["restored", node.restored ? "from the earlier run: not re-run, costs nothing here" : ""],
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
  if (transcript) box.appendChild(transcript);
  if (fork) box.appendChild(fork);
  return box;
}

/**
 * @param {HTMLElement} host
 * @param {{onCancel?: () => void, onInput?: (text: string) => void, onSelect?: (id: string) => void,
 *          onApprove?: (steps: object[]) => void, onReject?: (feedback: string) => void,
 *          fetchFile?: (path: string) => Promise<{buffer: ArrayBuffer, mime?: string}>,
 *          thumbnail?: (record: object) => string | undefined,
 *          fileButtons?: (record: object, run: object) => FileButton[],
 *          insertCell?: (code: string) => void, store?: TranscriptStore,
 *          state?: {transcript?: object, console?: object, tabs?: object},
 *          onFork?: (request: object) => Promise<{session_id?: string}>}} actions
 */
export function createRunView(host, actions = {}) {
  const root = el("div", "cmbjupyter-run");
  const store = actions.store ?? new TranscriptStore();
  const state = actions.state ?? {};
  state.transcript ??= transcriptState();
  state.console ??= consoleState();
  state.tabs ??= {};
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
  const restart = el("div", "cmb-restart-slot");
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
  let nodeItemsKey = null;
  const showNode = (id) => {
    const node = id ? dag?.nodes?.[id] : null;
    const own = node ? files.filter((r) => r.node_id === node.id) : [];
    const items = node ? store.items.filter((item) => ofNode(item, node)) : [];
    nodeItemsKey = `${id}|${items.length}|${items.at(-1)?.id}`;
    const onFilter = () => {
      tabs.show("transcript");
      transcript.showStep(node.step ?? "");
    };
    const said = items.length ? nodeTranscript(items, transcript.actions, onFilter) : null;
    const fork = node ? forkControl(node, run, actions.onFork) : null;
    detailBox.replaceChildren(...(node ? [details(node, own, open, said, fork)] : []));
  };
  const dagPanel = new DagPanel(left, (id) => {
    showNode(id);
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
  const outcome = new OutcomeLine(root, root, (id) => {
    tabs.show("transcript");
    transcript.reveal(id);
  });
  const transcript = new TranscriptPanel(root, {
    store,
    state: state.transcript,
    insertCell: actions.insertCell,
  });
  const consolePanel = new ConsolePanel(root, state.console);
  const tabs = new Tabs(
    root,
    [
      ["transcript", "Transcript", transcript.root],
      ["console", "Console", consolePanel.box],
    ],
    state.tabs,
  );
  root.append(style, header, outcome.root, restart, message, ask);
  const plan = new PlanPanel(root, { onApprove: actions.onApprove, onReject: actions.onReject });
  root.append(body, charts.root, results.root, tabs.root);
  host.appendChild(root);
  // A selected node's details follow its transcript (redrawn only when it has new items).
  const unsubscribe = store.subscribe(() => {
    const id = dagPanel.selected;
    if (!id) return;
    const node = dag?.nodes?.[id];
    const items = node ? store.items.filter((item) => ofNode(item, node)) : [];
    if (`${id}|${items.length}|${items.at(-1)?.id}` !== nodeItemsKey) showNode(id);
  });

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
    const line = restartLine(run);
    restart.replaceChildren(...(line ? [line] : []));
    const request = run?.input_request;
    ask.hidden = !request;
    if (request) prompt.textContent = request.prompt ?? "Input:";
    outcome.update(run?.outcome);
    plan.update(run?.plan);
  }

  return {
    root,
    results,
    transcript,
    store,
    /** @param {{run?: object, dag?: object, cost?: object, console?: object, artifacts?: object,
     *           transcript?: {count?: number, dropped?: number, items?: object[]}}} parts */
    update(parts) {
      if (parts.transcript !== undefined) {
        const part = parts.transcript ?? {};
        if (part.items) store.append(part.items, part);
        else store.setMeta(part);
      }
      if (parts.run !== undefined) {
        const ended = ACTIVE.has(run?.status) && !ACTIVE.has(parts.run?.status);
        updateRun(parts.run);
        if (ended && dagPanel.selected) dagPanel.onSelect(dagPanel.selected); // Fork appears
      }
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
    /** A plan decision was refused (bad edit, no longer awaited): shown in the plan panel. */
    planError(text) {
      plan.showError(text);
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
      unsubscribe();
      transcript.destroy();
      consolePanel.follower.disconnect();
      progress.stop();
      root.remove();
    },
  };
}
