// Names shared with the Python side, from one file (cmbjupyter/protocol.json, also read by
// cmbjupyter/widget.py): the run fields of a RunWidget and the statuses of a run still going.

import protocol from "../../cmbjupyter/protocol.json" with { type: "json" };

/** @type {readonly string[]} The `run` part's keys (cmbjupyter.widget.widget_parts). */
export const RUN_KEYS = Object.freeze([...protocol.run_keys]);

/** @type {ReadonlySet<string>} A run in one of these can still be cancelled. */
export const ACTIVE = new Set(protocol.active_statuses);
