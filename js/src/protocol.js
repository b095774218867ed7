// Names shared with the Python side, from one file (cmbjupyter/protocol.json, also read by
// cmbjupyter/widget.py and cmbjupyter/books.py): the run fields of a RunWidget, the statuses of a run
// still going, and the engines and modes whose runs restart at a plan step (can be forked).

import protocol from "../../cmbjupyter/protocol.json" with { type: "json" };

/** @type {readonly string[]} The `run` part's keys (cmbjupyter.widget.widget_parts). */
export const RUN_KEYS = Object.freeze([...protocol.run_keys]);

/** @type {ReadonlySet<string>} A run in one of these can still be cancelled. */
export const ACTIVE = new Set(protocol.active_statuses);

/** @type {ReadonlyMap<string, ReadonlySet<string>>} engine -> the modes in which its runs restart at
 * a plan step ("*": every mode), so a finished session of it can be forked from a step. */
export const FORKABLE = new Map(
  Object.entries(protocol.forkable).map(([engine, modes]) => [engine, new Set(modes)]),
);
