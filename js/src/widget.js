// The anywidget entry of cmbjupyter.widget.RunWidget: traits in, "cancel"/"input"/"file" messages out.
// The open node (`selected`) lives in the model, not the view: the output is re-published on phase
// changes (so saved notebooks hold the latest state), which renders a new view that restores it.
// A file opened in the Results panel is asked of the kernel ({"type": "file", "id", "path"}) and
// comes back as one binary buffer (or {"error"}); nothing but the manifest travels unasked.
// Plot thumbnails travel once each beside the `artifacts` trait ({"type": "thumbnails", "items"}),
// kept per model for every view of it; a view missing some asks for them.

import { createRunView } from "./view.js";

const PARTS = ["run", "dag", "cost", "console", "artifacts"];
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

export default {
  render({ model, el }) {
    const files = fileChannel(model);
    if (!THUMBNAILS.has(model)) THUMBNAILS.set(model, new Map());
    const thumbnails = THUMBNAILS.get(model);
    const onThumbnails = (msg) => {
      if (msg?.type !== "thumbnails") return;
      for (const [key, url] of Object.entries(msg.items ?? {})) thumbnails.set(key, url);
      view.redrawResults(model.get("artifacts"));
    };
    model.on("msg:custom", files.onMessage);
    model.on("msg:custom", onThumbnails);
    const view = createRunView(el, {
      onCancel: () => model.send({ type: "cancel" }),
      onInput: (text) => model.send({ type: "input", text }),
      onSelect: (id) => {
        if ((model.get("selected") || null) === (id || null)) return;
        model.set("selected", id || "");
        model.save_changes();
      },
      fetchFile: files.fetchFile,
      thumbnail: (record) => (record.thumb ? thumbnails.get(record.thumb) : undefined),
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
      model.off("msg:custom", onThumbnails);
      for (const { timer } of files.pending.values()) clearTimeout(timer);
      view.destroy();
    };
  },
};
