"""Compare two runs: what changed between session A and session B, as one stable JSON document.

Scientists iterate (another model for step 3, an edited plan) and need to see what that changed:
each step's status, time, tokens and cost side by side with the difference; the plots paired by
file name; code and text files as unified diffs (:mod:`difflib`); the final results and context
variables key by key. The document's shape is versioned (``"v": 1``) and documented in
``docs/reports.md``; the CLI, the magic, the REST route and the sidebar all show this one document.
Differences are always ``B - A``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Final

from .runrecord import MAX_TEXT_BYTES, RunRecord, seconds_between

__all__ = ["COMPARE_VERSION", "MAX_DIFF_WORK", "compare", "render_text", "unified_diff", "value_diff"]

#: The version of the comparison document (bumped on any incompatible change of its shape).
COMPARE_VERSION: Final = 1
#: The numbers of a step that are compared.
_STEP_NUMBERS: Final = ("duration_s", "tokens", "cost_usd")
#: The numbers of a run's totals that are compared.
_TOTAL_NUMBERS: Final = (
    "duration_s",
    "calls",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
)
#: Line pairs difflib may weigh in one comparison (its cost grows with the product of the changed
#: lines of two files: 16M is about 1.5 s on one core, all of it for files that differ everywhere).
MAX_DIFF_WORK: Final = 16_000_000
#: Digits kept of a difference (float noise such as 0.1 + 0.2 is not a change).
_DIGITS: Final = 10


def _minus(b: Any, a: Any) -> float | int | None:
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)):
        return None
    if not isinstance(b, (int, float)):
        return None
    diff = b - a
    return diff if isinstance(diff, int) else round(diff, _DIGITS)


def unified_diff(a: str, b: str, name_a: str, name_b: str) -> str:
    """The unified diff of two texts ('' when they are equal)."""
    lines = difflib.unified_diff(
        a.splitlines(keepends=True), b.splitlines(keepends=True), fromfile=name_a, tofile=name_b
    )
    marker = "\n\\ No newline at end of file\n"
    return "".join(line if line.endswith("\n") else line + marker for line in lines)


def value_diff(a: Any, b: Any) -> dict[str, Any]:
    """Two mappings key by key (``added``/``removed``/``changed``/``same``), any other values as a pair."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        shared = sorted(a.keys() & b.keys(), key=str)
        return {
            "added": {k: b[k] for k in sorted(b.keys() - a.keys(), key=str)},
            "removed": {k: a[k] for k in sorted(a.keys() - b.keys(), key=str)},
            "changed": {k: {"a": a[k], "b": b[k]} for k in shared if a[k] != b[k]},
            "same": [k for k in shared if a[k] == b[k]],
        }
    return {"equal": a == b, "a": a, "b": b}


def _step_pairs(a: RunRecord, b: RunRecord) -> list[dict[str, Any]]:
    steps_a = {s["id"]: s for s in a.steps()}
    steps_b = {s["id"]: s for s in b.steps()}
    order = list(steps_a) + [i for i in steps_b if i not in steps_a]
    rows = []
    for node_id in order:
        sa, sb = steps_a.get(node_id), steps_b.get(node_id)
        diff: dict[str, Any] = {"status_changed": (sa or {}).get("status") != (sb or {}).get("status")}
        for key in _STEP_NUMBERS:
            diff[key] = _minus((sb or {}).get(key), (sa or {}).get(key)) if sa and sb else None
        label = (sa or sb or {}).get("label", node_id)
        rows.append({"id": node_id, "label": label, "a": sa, "b": sb, "diff": diff})
    return rows


def _totals(record: RunRecord) -> dict[str, Any]:
    cost = record.cost
    summary = record.summary()
    row: dict[str, Any] = {"duration_s": seconds_between(summary["created_at"], summary["ended_at"])}
    for key in _TOTAL_NUMBERS[1:-1]:
        row[key] = cost.get(key) or 0
    row["cost_usd"] = cost.get("total_usd") or 0.0
    return row


def _files(a: RunRecord, b: RunRecord) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(plots, other files) of the two manifests, paired by path."""
    by_a = {x["path"]: x for x in a.artifacts()}
    by_b = {x["path"]: x for x in b.artifacts()}
    plots: dict[str, Any] = {"paired": [], "only_a": [], "only_b": []}
    files: list[dict[str, Any]] = []
    budget = [MAX_DIFF_WORK]  # what is left of it, spent file by file in path order
    for path in sorted(by_a.keys() | by_b.keys()):
        xa, xb = by_a.get(path), by_b.get(path)
        category = (xa or xb or {}).get("category")
        if category == "plot":
            if xa and xb:
                plots["paired"].append(
                    {"path": path, "a": _file_row(xa), "b": _file_row(xb), "same": _same(xa, xb)}
                )
            else:
                plots["only_a" if xa else "only_b"].append(path)
            continue
        files.append(_file_diff(a, b, path, xa, xb, category, budget))
    return plots, files


def _file_row(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in ("size", "sha256", "step")}


def _same(xa: Mapping[str, Any], xb: Mapping[str, Any]) -> bool:
    return bool(xa.get("sha256")) and xa.get("sha256") == xb.get("sha256")


def _text(record: RunRecord, artifact: Mapping[str, Any]) -> str | None:
    """The file's text as the run left it (None if binary, too large, gone or since rewritten)."""
    data = record.read_artifact(artifact, MAX_TEXT_BYTES)
    if data is None or b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _file_diff(
    a: RunRecord,
    b: RunRecord,
    path: str,
    xa: Mapping[str, Any] | None,
    xb: Mapping[str, Any] | None,
    category: Any,
    budget: list[int],
) -> dict[str, Any]:
    row: dict[str, Any] = {"path": path, "category": category, "status": "", "diff": None, "note": None}
    if not (xa and xb):
        row["status"] = "only_a" if xa else "only_b"
        return row
    if _same(xa, xb):
        row["status"] = "same"
        return row
    row["status"] = "changed"
    ta, tb = _text(a, xa), _text(b, xb)
    if ta is None or tb is None:
        row["note"] = "sha256 differs; not compared as text (binary, too large, or changed since the run)"
        return row
    work = _diff_work(ta.splitlines(), tb.splitlines())
    if work > budget[0]:
        row["note"] = f"sha256 differs; not diffed: the files differ on too many lines ({work:,} line pairs)"
        return row
    budget[0] -= work
    row["diff"] = unified_diff(ta, tb, f"a/{path}", f"b/{path}")
    return row


def _diff_work(a: list[str], b: list[str]) -> int:
    """What diffing ``a`` and ``b`` costs: the product of their lines once the lines they share at
    the start and at the end are set aside (an edit in the middle of a long file is cheap)."""
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return (len(a) - head - tail) * (len(b) - head - tail)


def compare(a: RunRecord, b: RunRecord) -> dict[str, Any]:
    """The comparison document of runs ``a`` and ``b`` (schema: ``docs/reports.md``, version 1)."""
    plots, files = _files(a, b)
    totals_a, totals_b = _totals(a), _totals(b)
    task_a, task_b = a.sidecar.get("task") or "", b.sidecar.get("task") or ""
    return {
        "v": COMPARE_VERSION,
        "a": a.summary(),
        "b": b.summary(),
        "task_diff": unified_diff(str(task_a), str(task_b), f"a/{a.session_id}", f"b/{b.session_id}"),
        "steps": _step_pairs(a, b),
        "totals": {
            "a": totals_a,
            "b": totals_b,
            "diff": {k: _minus(totals_b[k], totals_a[k]) for k in _TOTAL_NUMBERS},
        },
        "plots": plots,
        "files": files,
        "result": value_diff(a.final_result, b.final_result),
        "context": value_diff(a.context, b.context),
    }


def _num(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "$":
        return f"${value:.6f}"
    if isinstance(value, float):
        return f"{value:.2f}{unit}"
    return f"{value}{unit}"


def _signed(value: Any, unit: str = "") -> str:
    if value is None:
        return ""
    text = _num(abs(value), unit)
    return ("+" if value > 0 else "-" if value < 0 else "±") + text


#: How the text form names a file's status.
_FILE_STATUS: Final = {"same": "same", "changed": "changed", "only_a": "only in A", "only_b": "only in B"}


def _cell(side: Mapping[str, Any] | None) -> str:
    if side is None:
        return "-"
    tokens = side.get("tokens", (side.get("input_tokens") or 0) + (side.get("output_tokens") or 0))
    status = side.get("status") or ""
    duration, cost = _num(side.get("duration_s"), "s"), _num(side.get("cost_usd"), "$")
    return f"{status} {duration} {tokens} tok {cost}".strip()


def render_text(doc: Mapping[str, Any]) -> str:
    """The comparison as plain text (the CLI's and the magic's form)."""
    a, b = doc["a"], doc["b"]
    lines = [
        f"A: {a['session_id']} ({a['mode']}, {a['status']})   "
        f"B: {b['session_id']} ({b['mode']}, {b['status']})",
        f"{'step':<20} {'A':<38} {'B':<38} B - A",
    ]
    for row in [*doc["steps"], {"label": "total", **doc["totals"]}]:
        d = row["diff"]
        changes = (_signed(d.get("duration_s"), "s"), _signed(d.get("cost_usd"), "$"))
        change = " ".join(x for x in changes if x)
        if d.get("status_changed"):
            change += " (status changed)"
        lines.append(f"{str(row['label'])[:20]:<20} {_cell(row['a']):<38} {_cell(row['b']):<38} {change}")
    plots = doc["plots"]
    lines += [f"plot {p['path']}: {'same' if p['same'] else 'differs'}" for p in plots["paired"]]
    lines += [f"plot {path}: only in A" for path in plots["only_a"]]
    lines += [f"plot {path}: only in B" for path in plots["only_b"]]
    for f in doc["files"]:
        lines.append(f"file {f['path']}: {_FILE_STATUS.get(f['status'], f['status'])}")
        if f["diff"]:
            lines.append(f["diff"].rstrip("\n"))
        elif f["note"]:
            lines.append(f"  {f['note']}")
    if doc["task_diff"]:
        lines += ["task:", doc["task_diff"].rstrip("\n")]
    for name in ("result", "context"):
        lines += _value_lines(name, doc[name])
    return "\n".join(lines)


def _value_lines(name: str, diff: Mapping[str, Any]) -> list[str]:
    if "equal" in diff:
        shown = "same" if diff["equal"] else f"{diff['a']!r} -> {diff['b']!r}"
        return [f"{name}: {shown}"]
    lines = [f"{name}: {len(diff['same'])} same"]
    lines += [f"  + {k} = {v!r}" for k, v in diff["added"].items()]
    lines += [f"  - {k} = {v!r}" for k, v in diff["removed"].items()]
    lines += [f"  ~ {k}: {v['a']!r} -> {v['b']!r}" for k, v in diff["changed"].items()]
    return lines
