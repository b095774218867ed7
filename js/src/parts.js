// A RunState snapshot as the view's parts: what cmbjupyter.widget.widget_parts sends the RunWidget.

import { RUN_KEYS } from "./protocol.js";

export function partsOf(snapshot) {
  const s = snapshot ?? {};
  const manifest = s.artifacts ?? {};
  return {
    run: Object.fromEntries(RUN_KEYS.map((k) => [k, s[k] ?? null])),
    dag: s.dag ?? { nodes: {}, edges: [], current: null },
    cost: s.cost ?? {},
    console: { lines: s.output ?? [], count: s.output_count ?? 0 },
    artifacts: {
      work_dir: s.work_dir ?? null,
      items: manifest.items ?? [],
      count: manifest.count ?? 0,
      dropped: manifest.dropped ?? 0,
    },
    transcript: {
      items: s.transcript?.items ?? [],
      count: s.transcript?.count ?? 0,
      dropped: s.transcript?.dropped ?? 0,
    },
  };
}
