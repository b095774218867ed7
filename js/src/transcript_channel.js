// The widget's side of the transcript transport (the kernel's is cmbjupyter/widget.py): items travel
// beside the small `transcript` trait ({count, dropped, last_id}), once each, in
// {"type": "transcript", "items": [...], "reset"?: true} messages; a view that (re)renders asks
// {"type": "transcript", "since": <last id held>} for what it misses. One TranscriptStore per model,
// listening for the model's lifetime, so every view of the run (a new one on each phase change)
// shares what arrived, and a message arriving while no view is shown is not lost.

import { TranscriptStore } from "./transcript_store.js";

const CHANNELS = new WeakMap(); // model -> {store, ask}

/**
 * The model's store (created, and its listener added, the first time).
 * @param {{get: (key: string) => any, on: Function, send: (msg: object) => void}} model
 * @returns {{store: TranscriptStore, ask: () => void}}
 */
export function transcriptChannel(model) {
  let channel = CHANNELS.get(model);
  if (channel) return channel;
  const store = new TranscriptStore();
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
  channel = { store, ask };
  CHANNELS.set(model, channel);
  return channel;
}
