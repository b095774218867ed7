// The anywidget entry of cmbjupyter.widget.RunWidget: traits in, "cancel"/"input"/"file" messages out.
// The open node (`selected`) lives in the model, not the view: the output is re-published on phase
// changes (so saved notebooks hold the latest state), which renders a new view that restores it.
// A file opened in the Results panel is asked of the kernel ({"type": "file", "id", "path"}) and
// comes back as one binary buffer (or {"error"}); nothing but the manifest travels unasked.

import { createRunView } from "./view.js";

const PARTS = ["run", "dag", "cost", "console", "artifacts"];
const FILE_TIMEOUT = 60_000; // ms: a kernel busy with a cell answers once the cell is done

let nextRequest = 0;

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
    const buffer = view ? view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) : new ArrayBuffer(0);
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
    model.on("msg:custom", files.onMessage);
    const view = createRunView(el, {
      onCancel: () => model.send({ type: "cancel" }),
      onInput: (text) => model.send({ type: "input", text }),
      onSelect: (id) => {
        if ((model.get("selected") || null) === (id || null)) return;
        model.set("selected", id || "");
        model.save_changes();
      },
      fetchFile: files.fetchFile,
    });
    view.update(Object.fromEntries(PARTS.map((p) => [p, model.get(p)])));
    view.select(model.get("selected"));
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
      for (const { timer } of files.pending.values()) clearTimeout(timer);
      view.destroy();
    };
  },
};
