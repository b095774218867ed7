"""Export a session as a notebook: the run's reproducible record, for a paper or a colleague.

The notebook (nbformat 4) holds, in order: a title cell (task, mode, session, date); the approved
plan as markdown; for each step its summary, the code the agents ran as code cells (in order,
runnable) and its plots embedded as attachments; the final result; and a Methods cell (models,
versions, price table, tokens and cost per step, seeds, the event log's sha256).

Where the code comes from, best first:

1. ``code_execution`` events in the event log (what the agents really executed; a failed attempt
   is shown as text, not as a cell that would stop the notebook);
2. the engineer's scripts the run left under ``codebase/`` (cmbagent), by the step that wrote them;
3. for the ``python`` engine, the task itself, split at its ``phase(...)``/``step(n)`` calls, after
   a cell that defines those helpers as no-ops (so the task's own computation runs unchanged).

Executing the notebook (``jupyter nbconvert --execute`` or nbclient) in an empty folder makes the
step outputs again wherever the code is deterministic, at the paths the run's work dir has them:
cmbagent's executor runs the agents' scripts in a folder of the work dir (``control/`` in
planning-control), which a script's ``# filename: codebase/x.py`` line and the file the run left
(``control/codebase/x.py``) tell, so a cell that enters the same folder comes before such code.
"""

from __future__ import annotations

import ast
import base64
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ._folds import BUCKETS
from .dag import PHASE_NODES, step_node_id
from .runrecord import MAX_TEXT_BYTES, RunRecord

__all__ = ["MAX_EMBED_BYTES", "export_notebook", "python_chunks", "save_notebook", "write_notebook"]

#: Largest plot embedded in the notebook (a larger one is named by its path instead).
MAX_EMBED_BYTES: Final = 4 * 1024 * 1024
#: Cell magics for the languages agents run besides Python.
_MAGICS: Final = {"bash": "%%bash\n", "sh": "%%bash\n", "shell": "%%bash\n"}
#: The python engine's helpers, made no-ops: the notebook replays the code, not the run's events.
_PYTHON_HELPERS: Final = """\
# The python engine's helpers, as no-ops: this notebook replays the task's code, not its events.
context = {context}
config = {config}


def phase(name, step=None, context_update=None, **kwargs):
    context.update(context_update or kwargs.get("context") or {{}})


def step(n, context_update=None):
    context.update(context_update or {{}})


def record_usage(*args, **kwargs):
    pass


def ask(prompt):
    raise RuntimeError("the run asked a human here: " + prompt)


class _Emitter:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


emit = _Emitter()
"""


def _md(text: str, **meta: Any) -> Any:  # meta: the cell's "cmbagent" metadata (step, source)
    return new_markdown_cell(text, metadata={"cmbagent": meta} if meta else {})


def _code(text: str, **meta: Any) -> Any:
    return new_code_cell(text, metadata={"cmbagent": meta})


def _fenced(text: str, language: str = "") -> str:
    fence = "````" if "```" in text else "```"
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def _node_of_call(statement: ast.stmt) -> str | None:
    """The DAG node a top-level ``step(n)`` or ``phase("name")`` statement starts, else None."""
    call = statement.value if isinstance(statement, ast.Expr) else None
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or not call.args:
        return None
    first = call.args[0]
    if not isinstance(first, ast.Constant):
        return None
    if call.func.id == "step" and isinstance(first.value, int):
        return step_node_id(first.value)
    if call.func.id == "phase" and isinstance(first.value, str):
        return first.value
    return None


def python_chunks(task: str, nodes: set[str]) -> list[tuple[str | None, str]]:
    """The python-engine task split into ``(node_id, source)`` chunks at its phase/step calls
    (``None``: code before the first); one chunk of the whole task when it does not parse."""
    try:
        tree = ast.parse(task)
    except SyntaxError:
        return [(None, task)]
    lines = task.splitlines(keepends=True)
    chunks: list[tuple[str | None, str]] = []
    node, start = None, 0
    for statement in tree.body:
        target = _node_of_call(statement)
        if target is not None and target not in nodes:
            target = PHASE_NODES.get(target) if PHASE_NODES.get(target) in nodes else None
        if target is not None and target != node:
            first = statement.lineno - 1
            if "".join(lines[start:first]).strip():
                chunks.append((node, "".join(lines[start:first])))
            node, start = target, first
    if "".join(lines[start:]).strip():
        chunks.append((node, "".join(lines[start:])))
    return chunks


def _plan(record: RunRecord) -> list[Any]:
    """The approved plan: the sidecar's, else the event log's last approved (else last proposed)
    plan, else the DAG's step descriptions, else the config's ``plan``."""
    saved = record.sidecar.get("plan")
    if isinstance(saved, Mapping) and isinstance(saved.get("steps"), list):
        return list(saved["steps"])
    proposed = approved = None
    for _, event in record.stepped_events("plan_proposed", "plan_decision"):
        data = event["data"]
        if event["type"] == "plan_proposed" and isinstance(data.get("plan"), list):
            proposed = data["plan"]
        elif event["type"] == "plan_decision" and data.get("approved"):
            approved = data["plan"] if isinstance(data.get("plan"), list) else proposed
    if approved or proposed:
        return list(approved or proposed or ())
    steps = [s.get("description") for s in record.steps() if s.get("type") == "step"]
    if any(steps):
        return steps
    config = record.sidecar.get("config")
    plan = config.get("plan") if isinstance(config, Mapping) else None
    return list(plan) if isinstance(plan, list) else []


def _plan_markdown(plan: list[Any]) -> str:
    if not plan:
        return "## Plan\n\nNo plan was recorded for this run."
    lines = ["## Plan", ""]
    for n, item in enumerate(plan, start=1):
        if isinstance(item, Mapping):
            text = item.get("sub_task") or item.get("task") or item.get("description") or json.dumps(item)
            agent = f" *({item['agent']})*" if item.get("agent") else ""
            lines.append(f"{n}. {text}{agent}")
            lines += [f"    - {b}" for b in item.get("bullets") or ()]
        else:
            lines.append(f"{n}. {item}")
    return "\n".join(lines)


def _code_cells(record: RunRecord, nodes: set[str]) -> dict[str | None, list[Any]]:
    """The code cells of each DAG node (``None``: not tied to a node), from the best source there is."""
    cells: dict[str | None, list[Any]] = {}
    for where, event in record.stepped_events("code_execution"):
        data = event["data"]
        code, language = str(data.get("code") or ""), str(data.get("language") or "python").lower()
        node = where["node_id"] if where["node_id"] in nodes else None
        if data.get("exit_code") not in (0, None):
            text = f"A failed attempt (exit code {data.get('exit_code')}), not run here:\n\n"
            cells.setdefault(node, []).append(_md(text + _fenced(code, language), step=node))
        elif language in ("python", "py", "python3") or language in _MAGICS:
            cells.setdefault(node, []).append(
                _code(_MAGICS.get(language, "") + code, step=node, source="code_execution")
            )
    if cells:
        return cells
    for artifact in record.artifacts():
        path = artifact["path"]
        if "codebase" in path.split("/")[:-1] and path.endswith(".py"):  # cmbagent: [control/]codebase/
            data = record.read_artifact(artifact, MAX_TEXT_BYTES)
            if data is not None:
                node = artifact.get("node_id") if artifact.get("node_id") in nodes else None
                text = data.decode("utf-8", "replace")
                named = path in text.split("\n", 1)[0]  # cmbagent's scripts start "# filename: ..."
                source = text if named else f"# {path}\n{text}"
                cells.setdefault(node, []).append(_code(source, step=node, source="codebase"))
    if cells or record.sidecar.get("engine") != "python":
        return cells
    config = record.sidecar.get("config") if isinstance(record.sidecar.get("config"), Mapping) else {}
    initial = dict(config.get("context") or {}) if isinstance(config.get("context"), Mapping) else {}
    helpers = _PYTHON_HELPERS.format(context=repr(initial), config=repr(dict(config)))
    cells[None] = [_code(helpers, step=None, source="helpers")]
    for node, source in python_chunks(str(record.sidecar.get("task") or ""), nodes):
        cells.setdefault(node if node in nodes else None, []).append(_code(source, step=node, source="task"))
    return cells


#: The cell that runs the code after it where cmbagent's executor ran it (``{folder}``: in the work dir).
_FOLDER_CELL: Final = """\
# cmbagent's executor ran the code below in {where}: so does this notebook,
# under the folder it started in, so the files it makes are where the run's are.
import os

RUN_DIR = globals().setdefault("RUN_DIR", os.getcwd())
os.makedirs(os.path.join(RUN_DIR, {folder!r}), exist_ok=True)
os.chdir(os.path.join(RUN_DIR, {folder!r}))
"""


def _folder(source: str, paths: set[str]) -> str | None:
    """The folder of the work dir a cmbagent script ran in: where the run left the file its first
    line names (``# filename: codebase/x.py``); None when that does not tell (one place, or none)."""
    first = source.split("\n", 1)[0]
    if not first.startswith("# filename:"):
        return None
    name = first.removeprefix("# filename:").strip()
    found = {p[: -len(name)] for p in paths if name and (p == name or p.endswith("/" + name))}
    return found.pop() if len(found) == 1 else None


def _in_folders(cells: list[Any], paths: set[str]) -> list[Any]:
    """``cells`` with a cell entering the executor's folder before the code that ran elsewhere."""
    out, here = [], ""
    for cell in cells:
        meta = cell.get("metadata", {}).get("cmbagent", {})
        if cell.cell_type == "code" and meta.get("source") in ("code_execution", "codebase"):
            folder = _folder(cell.source, paths)
            if folder is not None and folder != here:
                where = f"{folder} of the run's work dir" if folder else "the run's work dir"
                text = _FOLDER_CELL.format(where=where, folder=folder.rstrip("/"))
                out.append(_code(text, step=meta.get("step"), source="folder"))
                here = folder
        out.append(cell)
    return out


def _plots_cell(record: RunRecord, plots: list[Mapping[str, Any]], node: str | None) -> Any | None:
    attachments, lines = {}, []
    for plot in plots:
        path = plot["path"]
        data = record.read_artifact(plot, MAX_EMBED_BYTES)
        name = path.replace("/", "_")
        if data is None:
            lines.append(f"*{path}: not embedded (gone or changed since the run, or too large)*")
            continue
        attachments[name] = {plot.get("mime") or "image/png": base64.b64encode(data).decode()}
        lines.append(f"**{path}**\n\n![{path}](attachment:{name})")
    if not lines:
        return None
    cell = _md("\n\n".join(lines), step=node, source="plots")
    if attachments:
        cell["attachments"] = attachments
    return cell


def _step_markdown(step: Mapping[str, Any]) -> str:
    lines = [f"## {step['label']}", ""]
    if step.get("description"):
        lines += [str(step["description"]), ""]
    duration = f"{step['duration_s']:.1f} s" if step.get("duration_s") is not None else "-"
    agent = f", agent {step['agent']}" if step.get("agent") else ""
    lines.append(
        f"Status **{step['status']}**{agent}, {duration}, {step['tokens']} tokens, ${step['cost_usd']:.6f}."
    )
    return "\n".join(lines)


def _methods(record: RunRecord, steps: list[Mapping[str, Any]]) -> str:
    from . import __version__

    s, cost = record.sidecar, record.cost
    result = s.get("result") if isinstance(s.get("result"), Mapping) else {}
    config = s.get("config") if isinstance(s.get("config"), Mapping) else {}
    models = cost.get("by_model") or {}
    lines = ["## Methods", "", "| | |", "| --- | --- |"]
    model_text = "; ".join(
        f"{m} ({v.get('calls', 0)} calls, {v.get('input_tokens', 0)} in / {v.get('output_tokens', 0)} out)"
        for m, v in models.items()
    )
    seeds = {k: v for k, v in config.items() if "seed" in str(k).lower()}
    rows = {
        "Models": model_text or "no LLM calls recorded",
        "Engine": s.get("engine") or "-",
        "cmbagent": result.get("cmbagent_version") or "not used by this run",
        "AG2": result.get("ag2_version") or "not recorded by this run",
        "cmbjupyter": f"{s.get('cmbjupyter_version') or 'not recorded'} (exported with {__version__})",
        "Price table": s.get("prices_version") or cost.get("prices") or "-",
        "Total": f"${cost.get('total_usd') or 0:.6f}, {cost.get('input_tokens', 0)} in / "
        f"{cost.get('output_tokens', 0)} out tokens, {cost.get('calls', 0)} calls",
        "Seeds": json.dumps(seeds) if seeds else "none set (LLM sampling is not seeded)",
        "Event log sha256": record.log_sha256() or "no event log",
    }
    lines += [f"| {k} | {v} |" for k, v in rows.items()]
    lines += ["", "| step | status | tokens | cost (USD) |", "| --- | --- | --- | --- |"]
    lines += [f"| {x['label']} | {x['status']} | {x['tokens']} | {x['cost_usd']:.6f} |" for x in steps]
    by_step = cost.get("by_step") or {}
    if by_step:
        lines += ["", "| plan step | calls | input | output | cache read | cache write | cost (USD) |"]
        lines.append("| --- | --- | --- | --- | --- | --- | --- |")
        for n, b in by_step.items():
            numbers = [b.get(k, 0) for k in ("calls", *BUCKETS)]
            lines.append(f"| {n} | " + " | ".join(map(str, numbers)) + f" | {b.get('usd', 0):.6f} |")
    return "\n".join(lines)


def export_notebook(record: RunRecord) -> Any:
    """The session as an ``nbformat`` notebook (a NotebookNode; validated)."""
    s = record.sidecar
    steps = record.steps()
    nodes = {x["id"] for x in steps}
    task = str(s.get("task") or "")
    title = task.strip().splitlines()[0][:120] if task.strip() else record.session_id
    header = [
        f"# {title}",
        "",
        f"Session **{record.session_id}**, mode **{s.get('mode')}**, engine **{s.get('engine')}**, "
        f"{s.get('status')}; run {s.get('created_at')}.",
        "",
        "Task:",
        "",
        _fenced(task, "python" if s.get("engine") == "python" else ""),
    ]
    cells = [_md("\n".join(header), source="title"), _md(_plan_markdown(_plan(record)), source="plan")]
    code = _code_cells(record, nodes)
    plots: dict[str | None, list[Mapping[str, Any]]] = {}
    for artifact in record.artifacts():
        if artifact.get("category") == "plot":
            node = artifact.get("node_id") if artifact.get("node_id") in nodes else None
            plots.setdefault(node, []).append(artifact)
    cells += code.get(None, [])
    for step in steps:
        cells.append(_md(_step_markdown(step), step=step["id"], source="summary"))
        cells += code.get(step["id"], [])
        plot_cell = _plots_cell(record, plots.get(step["id"], []), step["id"])
        if plot_cell is not None:
            cells.append(plot_cell)
    other = _plots_cell(record, plots.get(None, []), None)
    if other is not None:
        cells += [_md("## Other plots", source="plots"), other]
    cells = _in_folders(cells, {a["path"] for a in record.artifacts()})
    cells.append(_md("## Result\n\n" + _fenced(json.dumps(record.final_result, indent=2), "json")))
    cells.append(_md(_methods(record, steps), source="methods"))
    notebook = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "cmbagent": {"exported_from": record.session_id, "event_log_sha256": record.log_sha256()},
        },
    )
    nbformat.validate(notebook)
    return notebook


def save_notebook(notebook: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``notebook`` to ``path`` (a new ``.ipynb`` file: one that exists is never overwritten)."""
    target = Path(path)
    if target.suffix != ".ipynb":
        raise ValueError(f"the notebook's file name must end in .ipynb, not {target.name!r}")
    try:
        with open(target, "x", encoding="utf-8") as file:
            nbformat.write(notebook, file)
    except FileExistsError:
        raise FileExistsError(f"{target} exists; choose another file (nothing was overwritten)") from None
    return target


def write_notebook(record: RunRecord, path: str | os.PathLike[str]) -> Path:
    """Export the session and write it to ``path`` (see :func:`save_notebook`)."""
    if Path(path).suffix != ".ipynb":
        raise ValueError(f"the notebook's file name must end in .ipynb, not {Path(path).name!r}")
    return save_notebook(export_notebook(record), path)
