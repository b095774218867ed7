"""The cost ledger of a session: one row per LLM call, from its event log, as CSV or JSON.

The sidecar keeps totals (by model, agent and step); an audit or a grant report needs each call.
Every ``cost_update`` the host priced is in the session's event log with the call's time, model,
agent, step and the four token buckets (OpenAI's convention: ``input_tokens`` includes the cached
ones), the price in dollars (``None``: unpriced, never $0) and what priced it (the genai-prices
version, ``config`` for a price override, ``engine`` when the engine reported its own cost).
"""

from __future__ import annotations

import csv
import io
from typing import Any, Final

from ._folds import BUCKETS
from .runrecord import RunRecord

__all__ = ["LEDGER_COLUMNS", "LEDGER_VERSION", "ledger_csv", "ledger_json", "ledger_rows"]

#: The version of the ledger's JSON document.
LEDGER_VERSION: Final = 1
#: The columns of a ledger row, in the CSV's order.
LEDGER_COLUMNS: Final = ("time", "step", "agent", "model", *BUCKETS, "cost_usd", "price_table")


def ledger_rows(record: RunRecord) -> list[dict[str, Any]]:
    """One row per logged LLM call (``cost_update`` event), in the order they happened."""
    rows = []
    fallback = record.sidecar.get("prices_version")
    for where, event in record.stepped_events("cost_update"):
        data = event["data"]
        rows.append(
            {
                "time": data.get("timestamp") or event.get("ts"),
                "step": where["step"],
                "agent": data.get("agent"),
                "model": data.get("model"),
                **{key: data.get(key) or 0 for key in BUCKETS},
                "cost_usd": data.get("cost"),
                "price_table": data.get("priced_by") or (None if data.get("unpriced") else fallback),
            }
        )
    return rows


def ledger_json(record: RunRecord) -> dict[str, Any]:
    """``{"v": 1, "session_id", "columns", "rows", "total_usd", "unpriced_calls"}``."""
    rows = ledger_rows(record)
    return {
        "v": LEDGER_VERSION,
        "session_id": record.session_id,
        "columns": list(LEDGER_COLUMNS),
        "rows": rows,
        "total_usd": sum(r["cost_usd"] for r in rows if r["cost_usd"] is not None),
        "unpriced_calls": sum(1 for r in rows if r["cost_usd"] is None),
    }


def ledger_csv(record: RunRecord) -> str:
    """The ledger as CSV with a header row (an unpriced call's cost is empty, not 0)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=LEDGER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in ledger_rows(record):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()
