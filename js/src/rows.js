// The sidebar's state patching, pure (no DOM, no JupyterLab: js/test/rows.test.js runs it): the
// `updates` feed's messages patch the task summaries held, and the session rows are the sidecars
// (GET sessions pages) with those live summaries folded in.

/**
 * Applies `updates` messages to `tasks` (task id -> summary): a `full` message replaces them all
 * (a new connection, e.g. after a server restart), the others patch the tasks they carry.
 * @param {Map<string, any>} tasks
 * @param {any[]} messages
 * @returns {any[]} the task summaries applied, in order
 */
export function patchTasks(tasks, messages) {
  const applied = [];
  for (const m of messages) {
    if (m?.type !== "tasks") continue;
    if (m.full) tasks.clear();
    for (const t of m.tasks ?? []) {
      tasks.set(t.task_id, t);
      applied.push(t);
    }
  }
  return applied;
}

/**
 * Session rows, newest first: each sidecar (with its `live` part), then the live task of that
 * session over it (a task's fields are newer than the file's).
 * @param {Map<string, any>} sessions session id -> sidecar row
 * @param {Map<string, any>} tasks task id -> summary
 */
export function rowsOf(sessions, tasks) {
  const rows = new Map();
  for (const s of sessions.values())
    rows.set(s.session_id, { ...s, ...(s.live ?? {}), session_id: s.session_id });
  for (const t of tasks.values()) {
    if (!t.session_id) continue;
    rows.set(t.session_id, { ...(rows.get(t.session_id) ?? {}), ...t });
  }
  return [...rows.values()].sort((a, b) =>
    String(b.started_at ?? "").localeCompare(String(a.started_at ?? "")),
  );
}
