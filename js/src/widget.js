// The anywidget entry of cmbjupyter.widget.RunWidget: traits in, "cancel"/"input"/"file"/"fork" messages out,
// and "approve" {plan} / "reject" {feedback} from the plan panel ("plan_error" comes back if refused).
// The open node (`selected`) lives in the model, not the view: the output is re-published on phase
// changes (so saved notebooks hold the latest state), which renders a new view that restores it.
// A file opened in the Results panel is asked of the kernel ({"type": "file", "id", "path"}) and
// comes back as one binary buffer (or {"error"}); nothing but the manifest travels unasked.
// Plot thumbnails travel once each beside the `artifacts` trait ({"type": "thumbnails", "items"}),
// kept per model for every view of it; a view missing some asks for them. Transcript items travel
// the same way ({"type": "transcript", "items"}: transcript_channel.js), into one store per run,
// and what the reader did (tab, filters, where the transcript and console were scrolled) is kept per
// run too (per_run.js), so the view rendered on the next phase change is where the last one was.

import { perRun } from "./per_run.js";
import { transcriptChannel } from "./transcript_channel.js";
import { createRunView } from "./view.js";

const PARTS = ["run", "dag", "cost", "console", "artifacts", "transcript"];
const FILE_TIMEOUT = 60_000; // ms: a kernel busy with another cell answers once that cell is done

let nextRequest = 0;
const THUMBNAILS = new WeakMap(); // model -> Map(key -> data URL), shared by the model's views

/** `fetchFile(path)` through the widget's comm, and the handler of the kernel's answers. */
function fileChannel(model) {
  const pending = new Map(); // request id -> {resolve, reject, timer}
  const onMessage = (msg, buffers) => {
    if (msg?.type !== "file" || !pending.has(msg.id)) return;
    const { resolve, reject, timer } = pending.get(msg.id);
    pending.delete(msg.id);
    clearTimeout(timer);
    if (msg.error) return reject(new Error(msg.error));
    const view = buffers?.[0];
    const buffer = view
      ? view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength)
      : new ArrayBuffer(0);
    resolve({ buffer, mime: msg.mime });
  };
  const fetchFile = (path) =>
    new Promise((resolve, reject) => {
      const id = `f${(nextRequest += 1)}`;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error("the kernel did not answer (is it busy or gone?)"));
      }, FILE_TIMEOUT);
      pending.set(id, { resolve, reject, timer });
      model.send({ type: "file", id, path });
    });
  return { fetchFile, onMessage, pending };
}

/** `onFork(request)` through the widget's comm: the kernel forks and answers the new session's id. */
function forkChannel(model) {
  const pending = new Map(); // request id -> {resolve, reject}
  const onMessage = (msg) => {
    if (msg?.type !== "fork" || !pending.has(msg.id)) return;
    const { resolve, reject } = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) reject(new Error(msg.error));
    else resolve({ session_id: msg.session_id });
  };
  const fork = ({ session: _session, ...request }) =>
    new Promise((resolve, reject) => {
      const id = `k${(nextRequest += 1)}`;
      pending.set(id, { resolve, reject });
      model.send({ type: "fork", id, ...request });
    });
  return { fork, onMessage };
}

export default {
  render({ model, el }) {
    const files = fileChannel(model);
    const forks = forkChannel(model);
    if (!THUMBNAILS.has(model)) THUMBNAILS.set(model, new Map());
    const thumbnails = THUMBNAILS.get(model);
    const transcript = transcriptChannel(model);
    const onThumbnails = (msg) => {
      if (msg?.type !== "thumbnails") return;
      for (const [key, url] of Object.entries(msg.items ?? {})) thumbnails.set(key, url);
      view.redrawResults(model.get("artifacts"));
    };
    const onPlanError = (msg) => {
      if (msg?.type === "plan_error") view.planError(msg.message ?? "the decision was refused");
    };
    model.on("msg:custom", files.onMessage);
    model.on("msg:custom", forks.onMessage);
    model.on("msg:custom", onThumbnails);
    model.on("msg:custom", onPlanError);
    const view = createRunView(el, {
      onCancel: () => model.send({ type: "cancel" }),
      onInput: (text) => model.send({ type: "input", text }),
      onApprove: (plan) => model.send({ type: "approve", plan }),
      onReject: (feedback) => model.send({ type: "reject", feedback }),
      onSelect: (id) => {
        if ((model.get("selected") || null) === (id || null)) return;
        model.set("selected", id || "");
        model.save_changes();
      },
      fetchFile: files.fetchFile,
      onFork: forks.fork,
      thumbnail: (record) => (record.thumb ? thumbnails.get(record.thumb) : undefined),
      store: transcript.store,
      state: perRun(model, "view", () => ({})),
    });
    view.update(Object.fromEntries(PARTS.map((p) => [p, model.get(p)])));
    view.select(model.get("selected"));
    const askMissing = () => {
      const missing = (model.get("artifacts")?.items ?? [])
        .map((r) => r.thumb)
        .filter((k) => k && !thumbnails.has(k));
      if (missing.length) model.send({ type: "thumbnails", keys: missing });
    };
    askMissing();
    transcript.ask();
    const restore = () => view.select(model.get("selected"));
    model.on("change:selected", restore);
    const handlers = PARTS.map((part) => {
      const handler = () => view.update({ [part]: model.get(part) });
      model.on(`change:${part}`, handler);
      return [part, handler];
    });
    return () => {
      for (const [part, handler] of handlers) model.off(`change:${part}`, handler);
      model.off("change:selected", restore);
      model.off("msg:custom", files.onMessage);
      model.off("msg:custom", forks.onMessage);
      model.off("msg:custom", onThumbnails);
      transcript.off();
      model.off("msg:custom", onPlanError);
      for (const { timer } of files.pending.values()) clearTimeout(timer);
      view.destroy();
    };
  },
};
