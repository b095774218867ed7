// A RunState snapshot as the view's parts: what cmbjupyter.widget.widget_parts sends the RunWidget.

const RUN_KEYS = ["task_id", "session_id", "mode", "engine", "status", "message", "phase", "step",
  "started_at", "ended_at", "input_request", "error"];

export function partsOf(snapshot) {
  const s = snapshot ?? {};
  return {
    run: Object.fromEntries(RUN_KEYS.map((k) => [k, s[k] ?? null])),
    dag: s.dag ?? { nodes: {}, edges: [], current: null },
    cost: s.cost ?? {},
    console: { lines: s.output ?? [], count: s.output_count ?? 0 },
  };
}
