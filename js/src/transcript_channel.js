// The widget's side of the transcript transport (the kernel's is cmbjupyter/widget.py): items travel
// beside the small `transcript` trait ({count, dropped, last_id}), once each, in
// {"type": "transcript", "items": [...], "reset"?: true} messages; a view that (re)renders asks
// {"type": "transcript", "since": <last id held>} for what it misses. One TranscriptStore per run
// (per_run.js), shared by every view of it (a new one on each phase change); each view listens while
// it lives (anywidget drops a view's listeners with it), and a new view asks for what came between.

import { perRun } from "./per_run.js";
import { TranscriptStore } from "./transcript_store.js";

/**
 * The run's store, with this view's listeners on `model`.
 * @param {{get: (key: string) => any, on: Function, off: Function, send: (msg: object) => void}} model
 * @returns {{store: TranscriptStore, ask: () => void, off: () => void}}
 */
export function transcriptChannel(model) {
  const store = perRun(model, "transcript", () => new TranscriptStore());
  const onMessage = (msg) => {
    if (msg?.type !== "transcript" || !Array.isArray(msg.items)) return;
    const meta = model.get("transcript") ?? {};
    if (msg.reset) store.reset(msg.items, meta);
    else store.append(msg.items, meta);
  };
  const onMeta = () => store.setMeta(model.get("transcript") ?? {});
  model.on("msg:custom", onMessage);
  model.on("change:transcript", onMeta);
  onMeta();
  /** Asks the kernel for the kept items after the last one held (all of them when none is). */
  const ask = () => {
    const meta = model.get("transcript");
    if (meta && Number(meta.last_id ?? meta.count ?? 0) > store.lastId)
      model.send({ type: "transcript", since: store.lastId });
  };
  const off = () => {
    model.off("msg:custom", onMessage);
    model.off("change:transcript", onMeta);
  };
  return { store, ask, off };
}
