// What the browser keeps per run, across the views of a RunWidget. anywidget hands each view its own
// proxy of the model (and drops the listeners a view added when the view goes), so the model object
// cannot key what outlives a view: the run can (its session and task ids), under the widget manager
// the views share. The output is re-published on each phase change, which renders a new view: it
// finds here the transcript and the reader's state (tab, filters, scroll places) the last one had.

const KEPT = new WeakMap(); // widget manager (or the model, where there is none) -> Map(key -> object)

/** The run a model shows ("session|task"), or null before it has ids. */
export function runKey(model) {
  const run = model.get("run") ?? {};
  return run.session_id || run.task_id ? `${run.session_id ?? ""}|${run.task_id ?? ""}` : null;
}

/**
 * The object kept under `name` for the model's run, made by `make()` the first time; a fresh one,
 * not kept, while the run has no ids yet.
 * @template T
 * @param {{get: (key: string) => any, widget_manager?: object}} model
 * @param {string} name
 * @param {() => T} make
 * @returns {T}
 */
export function perRun(model, name, make) {
  const key = runKey(model);
  if (key === null) return make();
  const owner = model.widget_manager ?? model;
  if (!KEPT.has(owner)) KEPT.set(owner, new Map());
  const kept = KEPT.get(owner);
  const full = `${name}|${key}`;
  if (!kept.has(full)) kept.set(full, make());
  return kept.get(full);
}
