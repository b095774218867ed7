"""Reports made from saved sessions: compare two runs, export one as a notebook, its cost ledger.

Two real python-engine runs of a 3-step plan (each in its own work dir) differ in a power, the
model of step 2, a plot only one of them makes and a context variable; the comparison of their
sessions is checked whole. The export of a run is executed with nbclient in an empty folder and
must make the same files (same sha256) and print the same lines.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from cmbjupyter.compare import compare, render_text
from cmbjupyter.export import export_notebook, python_chunks, write_notebook
from cmbjupyter.ledger import LEDGER_COLUMNS, ledger_csv, ledger_json
from cmbjupyter.runrecord import RunRecord

PLAN = ["make the data", "plot it", "write the analysis"]
PRICES = {"gpt-4o-mini": {"input": 1.0, "output": 2.0}, "gpt-4o": {"input": 5.0, "output": 10.0}}
TASK = textwrap.dedent(
    """\
    step(1)
    record_usage('gpt-4o-mini', 1000, 100, agent='engineer')
    import numpy as np
    x = np.linspace(0, 1, 11)
    np.savetxt('data.txt', x**POWER, fmt='%.6f')
    print('mean', round(float((x**POWER).mean()), 6))
    step(2)
    record_usage(MODEL, 2000, 200, agent='engineer', cache_read_tokens=500)
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    plt.figure()
    plt.plot(x, x**POWER)
    plt.savefig('fit.png')
    plt.savefig('only_TAG.png')
    step(3)
    with open('analysis.py', 'w') as f:
        f.write(f'power = {POWER}\\nlabel = "TAG"\\n')
    context['power'] = POWER
    EXTRA
    result = {'mean': round(float((x**POWER).mean()), 6), 'n': 11}
    """
)


def _task(power: int, model: str, tag: str, extra: str = "") -> str:
    return (TASK.replace("POWER", str(power)).replace("MODEL", repr(model)).replace("TAG", tag)).replace(
        "EXTRA", extra
    )


def _price(model: str, inp: int, out: int, read: int = 0) -> float:
    p = PRICES[model]
    return ((inp - read) * p["input"] + read * p["input"] + out * p["output"]) / 1_000_000


@pytest.fixture
def two_runs(run_python, sessions, tmp_path):
    """Sessions ``a`` and ``b``: the same plan run twice with changes."""

    async def make():
        for sid, task in (
            ("a", _task(2, "gpt-4o-mini", "a")),
            ("b", _task(3, "gpt-4o", "b", "context['extra'] = True")),
        ):
            (tmp_path / sid).mkdir()
            await run_python(
                task,
                task_id=f"t-{sid}",
                mode="control",
                plan=PLAN,
                session_id=sid,
                work_dir=str(tmp_path / sid),
                prices=PRICES,
            )
        return RunRecord.load(sessions, "a"), RunRecord.load(sessions, "b")

    return make


def _variable(doc: dict) -> None:
    """Check, then blank, what differs between any two runs (times)."""
    for side in ("a", "b"):
        assert doc[side].pop("created_at") < doc[side].pop("ended_at")
    for row in [*doc["steps"], doc["totals"]]:
        for side in ("a", "b"):
            assert row[side]["duration_s"] >= 0
            row[side]["duration_s"] = None
        assert isinstance(row["diff"]["duration_s"], float)
        row["diff"]["duration_s"] = None


async def test_compare_two_python_runs_exactly(two_runs, tmp_path):
    a, b = await two_runs()
    doc = compare(a, b)
    _variable(doc)
    a1, a2 = _price("gpt-4o-mini", 1000, 100), _price("gpt-4o-mini", 2000, 200, 500)
    b1, b2 = _price("gpt-4o-mini", 1000, 100), _price("gpt-4o", 2000, 200, 500)

    def step(n, cost_a, cost_b, tokens=1100):
        side = {"type": "step", "status": "completed", "duration_s": None, "description": PLAN[n - 1]}
        sa = {"id": f"step_{n}", "label": f"Step {n}", **side, "tokens": tokens, "cost_usd": cost_a}
        sb = {**sa, "cost_usd": cost_b}
        diff = {
            "status_changed": False,
            "duration_s": None,
            "tokens": 0,
            "cost_usd": round(cost_b - cost_a, 10),
        }
        return {"id": f"step_{n}", "label": f"Step {n}", "a": sa, "b": sb, "diff": diff}

    execution = {
        "id": "execution",
        "label": "Control",
        "type": "phase",
        "status": "completed",
        "agent": "control",
    }
    execution.update(duration_s=None, tokens=0, cost_usd=0.0)
    totals_a = {"duration_s": None, "calls": 2, "input_tokens": 3000, "output_tokens": 300}
    totals_a.update(cache_read_tokens=500, cache_write_tokens=0, cost_usd=a1 + a2)
    totals_b = {**totals_a, "cost_usd": b1 + b2}
    zero = dict.fromkeys(
        ("calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"), 0
    )
    common = {
        "mode": "control",
        "engine": "python",
        "status": "completed",
        "prices_version": a.summary()["prices_version"],
    }
    manifest = {
        (side, x["path"]): {"size": x["size"], "sha256": x["sha256"], "step": x["step"]}
        for side, record in (("a", a), ("b", b))
        for x in record.artifacts()
    }
    expected = {
        "v": 1,
        "a": {"session_id": "a", "task": _task(2, "gpt-4o-mini", "a"), **common},
        "b": {"session_id": "b", "task": _task(3, "gpt-4o", "b", "context['extra'] = True"), **common},
        "task_diff": doc["task_diff"],  # checked below
        "steps": [
            {
                "id": "execution",
                "label": "Control",
                "a": execution,
                "b": execution,
                "diff": {"status_changed": False, "duration_s": None, "tokens": 0, "cost_usd": 0.0},
            },
            step(1, a1, b1),
            step(2, a2, b2, tokens=2200),
            step(3, 0.0, 0.0, tokens=0),
        ],
        "totals": {
            "a": totals_a,
            "b": totals_b,
            "diff": {"duration_s": None, **zero, "cost_usd": round(b1 + b2 - a1 - a2, 10)},
        },
        "plots": {
            "paired": [
                {
                    "path": "fit.png",
                    "a": manifest["a", "fit.png"],
                    "b": manifest["b", "fit.png"],
                    "same": False,
                }
            ],
            "only_a": ["only_a.png"],
            "only_b": ["only_b.png"],
        },
        "files": [
            {
                "path": "analysis.py",
                "category": "code",
                "status": "changed",
                "note": None,
                "diff": '--- a/analysis.py\n+++ b/analysis.py\n@@ -1,2 +1,2 @@\n-power = 2\n-label = "a"\n'
                '+power = 3\n+label = "b"\n',
            },
            {
                "path": "data.txt",
                "category": "report",
                "status": "changed",
                "note": None,
                "diff": "--- a/data.txt\n+++ b/data.txt\n@@ -1,11 +1,11 @@\n 0.000000\n"
                + "".join(f"-{(i / 10) ** 2:.6f}\n" for i in range(1, 10))
                + "".join(f"+{(i / 10) ** 3:.6f}\n" for i in range(1, 10))
                + " 1.000000\n",
            },
        ],
        "result": {"added": {}, "removed": {}, "changed": {"mean": {"a": 0.35, "b": 0.275}}, "same": ["n"]},
        "context": {
            "added": {"extra": True},
            "removed": {},
            "changed": {"power": {"a": 2, "b": 3}},
            "same": [],
        },
    }
    assert doc == expected
    assert "-np.savetxt('data.txt', x**2, fmt='%.6f')" in doc["task_diff"].splitlines()
    json.dumps(doc)  # the document is plain JSON
    text = render_text(compare(a, b))
    assert "plot fit.png: differs" in text and "plot only_b.png: only in B" in text
    assert "~ power: 2 -> 3" in text and "+ extra = True" in text and "+power = 3" in text


async def test_a_session_compared_with_itself_has_no_differences(two_runs):
    a, _ = await two_runs()
    doc = compare(a, a)
    assert all(not r["diff"]["status_changed"] and r["diff"]["cost_usd"] == 0 for r in doc["steps"])
    assert [p["same"] for p in doc["plots"]["paired"]] == [True, True]
    assert {f["status"] for f in doc["files"]} == {"same"} and doc["task_diff"] == ""
    assert doc["result"]["changed"] == {} and doc["context"]["changed"] == {}


async def test_a_file_rewritten_after_the_run_is_not_passed_off_as_the_runs(two_runs, tmp_path):
    a, b = await two_runs()
    (tmp_path / "b" / "analysis.py").write_text("something else\n")
    row = next(f for f in compare(a, b)["files"] if f["path"] == "analysis.py")
    assert row["diff"] is None and "changed since the run" in row["note"]


def test_python_tasks_split_at_their_step_calls():
    task = "import os\nphase('planning')\nx = 1\nstep(1)\ny = 2\nstep(2)\nstep(2)\nz = 3\n"
    chunks = python_chunks(task, {"planning", "step_1", "step_2"})
    assert chunks == [
        (None, "import os\n"),
        ("planning", "phase('planning')\nx = 1\n"),
        ("step_1", "step(1)\ny = 2\n"),
        ("step_2", "step(2)\nstep(2)\nz = 3\n"),
    ]
    assert python_chunks("step(1)\nx = (", {"step_1"}) == [(None, "step(1)\nx = (")]


async def test_the_exported_notebook_reruns_to_the_same_outputs(two_runs, tmp_path):
    a, _ = await two_runs()
    book = export_notebook(a)
    kinds = [(c.cell_type, c.metadata.get("cmbagent", {}).get("source")) for c in book.cells]
    assert kinds[:3] == [("markdown", "title"), ("markdown", "plan"), ("code", "helpers")]
    assert kinds[-1] == ("markdown", "methods")
    title, plan, methods = book.cells[0].source, book.cells[1].source, book.cells[-1].source
    assert "Session **a**, mode **control**, engine **python**" in title
    assert plan.splitlines()[2:] == ["1. make the data", "2. plot it", "3. write the analysis"]
    assert f"| Event log sha256 | {hashlib.sha256(a.log_path.read_bytes()).hexdigest()} |" in methods
    assert "| Price table | genai-prices" in methods and "| Models | gpt-4o-mini (2 calls" in methods
    embedded = [c for c in book.cells if c.get("attachments")]
    assert {name for c in embedded for name in c.attachments} == {"fit.png", "only_a.png"}
    step_code = [
        c.metadata["cmbagent"]["step"]
        for c in book.cells
        if c.metadata.get("cmbagent", {}).get("source") == "task"
    ]
    assert step_code == ["step_1", "step_2", "step_3"]

    replay = tmp_path / "replay"
    replay.mkdir()
    path = write_notebook(a, replay / "a.ipynb")
    with pytest.raises(FileExistsError, match="nothing was overwritten"):
        write_notebook(a, path)
    executed = nbformat.read(path, as_version=4)
    NotebookClient(
        executed, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(replay)}}
    ).execute()
    for artifact in a.artifacts():
        made = replay / artifact["path"]
        assert hashlib.sha256(made.read_bytes()).hexdigest() == artifact["sha256"], artifact["path"]
    printed = [o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    logged = [e["data"]["message"] for e in a.events() if e["type"] == "output"]
    assert "mean 0.35\n" in printed and "mean 0.35" in logged


async def test_the_cost_ledger_has_one_row_per_llm_call(two_runs):
    _, b = await two_runs()
    doc = ledger_json(b)
    rows = doc["rows"]
    for row in rows:
        assert row.pop("time").startswith("20")
    assert rows == [
        {
            "step": 1,
            "agent": "engineer",
            "model": "gpt-4o-mini",
            "input_tokens": 1000,
            "output_tokens": 100,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "cost_usd": _price("gpt-4o-mini", 1000, 100),
            "price_table": "config",
        },
        {
            "step": 2,
            "agent": "engineer",
            "model": "gpt-4o",
            "input_tokens": 2000,
            "output_tokens": 200,
            "cache_read_tokens": 500,
            "cache_write_tokens": 0,
            "cost_usd": _price("gpt-4o", 2000, 200, 500),
            "price_table": "config",
        },
    ]
    assert doc["v"] == 1 and doc["columns"] == list(LEDGER_COLUMNS) and doc["unpriced_calls"] == 0
    assert doc["total_usd"] == pytest.approx(b.cost["total_usd"])
    lines = ledger_csv(b).splitlines()
    assert lines[0].split(",") == list(LEDGER_COLUMNS)
    assert LEDGER_COLUMNS[4:] == (
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "cost_usd",
        "price_table",
    )
    assert lines[2].split(",")[1:] == [
        "2",
        "engineer",
        "gpt-4o",
        "2000",
        "200",
        "500",
        "0",
        str(_price("gpt-4o", 2000, 200, 500)),
        "config",
    ]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cmbjupyter.cli", "--sessions-dir", "sessions", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_the_cli_compares_exports_and_prints_the_ledger(two_runs, tmp_path):
    _, b = await two_runs()
    as_json = _cli("compare", "a", "b", "--json", cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    assert doc["v"] == 1 and doc["context"]["changed"] == {"power": {"a": 2, "b": 3}}
    text = _cli("compare", "a", "b", cwd=tmp_path).stdout
    assert text.startswith("A: a (control, completed)   B: b (control, completed)")
    assert "plot only_a.png: only in A" in text
    exported = _cli("export", "a", "--to", "a-record.ipynb", cwd=tmp_path)
    assert exported.stdout == "exported session a to a-record.ipynb\n"
    assert (
        nbformat.read(tmp_path / "a-record.ipynb", as_version=4).metadata["cmbagent"]["exported_from"] == "a"
    )
    again = _cli("export", "a", "--to", "a-record.ipynb", cwd=tmp_path)
    assert again.returncode == 2 and "a-record.ipynb exists" in again.stderr
    csv_out = _cli("sessions", "cost", "b", "--csv", cwd=tmp_path).stdout
    assert csv_out == ledger_csv(b)
    assert json.loads(_cli("sessions", "cost", "b", "--json", cwd=tmp_path).stdout) == json.loads(
        json.dumps(ledger_json(b))
    )
    missing = _cli("compare", "a", "ghost", cwd=tmp_path)
    assert missing.returncode == 2 and "no session 'ghost'" in missing.stderr
    bad = _cli("sessions", "cost", "../etc", cwd=tmp_path)
    assert bad.returncode == 2 and "invalid session id" in bad.stderr
    no_id = _cli("sessions", "cost", cwd=tmp_path)
    assert no_id.returncode == 2 and "sessions cost needs a session id" in no_id.stderr


async def test_the_export_takes_the_code_the_agents_ran_from_the_event_log(run_python, sessions, tmp_path):
    """``code_execution`` events (issue 14) win over the task's own code; a failed attempt is text."""
    work = tmp_path / "work"
    work.mkdir()
    task = textwrap.dedent(
        """\
        step(1)
        emit.code_execution("python", "import nope", exit_code=1, output="ModuleNotFoundError")
        emit.code_execution("python", "print(6 * 7)", exit_code=0, output="42\\n", duration_s=0.1)
        step(2)
        emit.code_execution("bash", "echo done > done.txt", exit_code=0, duration_s=0.1)
        """
    )
    await run_python(task, session_id="ran", mode="control", plan=["compute", "finish"], work_dir=str(work))
    book = export_notebook(RunRecord.load(sessions, "ran"))
    code = [(c.metadata["cmbagent"]["step"], c.source) for c in book.cells if c.cell_type == "code"]
    assert code == [("step_1", "print(6 * 7)"), ("step_2", "%%bash\necho done > done.txt")]
    failed = [c.source for c in book.cells if "A failed attempt (exit code 1)" in c.source]
    assert failed == ["A failed attempt (exit code 1), not run here:\n\n```python\nimport nope\n```"]
    replay = tmp_path / "replay"
    replay.mkdir()
    NotebookClient(
        book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(replay)}}
    ).execute()
    assert (replay / "done.txt").read_text() == "done\n"
    assert next(o["text"] for c in book.cells if c.cell_type == "code" for o in c.outputs) == "42\n"


async def test_the_export_takes_the_engineers_scripts_under_codebase(run_python, sessions, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    task = textwrap.dedent(
        """\
        import os
        step(1)
        os.makedirs("codebase", exist_ok=True)
        with open("codebase/fit.py", "w") as f:
            f.write("print('fitted')\\n")
        """
    )
    await run_python(task, session_id="cb", mode="control", plan=["fit"], work_dir=str(work))
    book = export_notebook(RunRecord.load(sessions, "cb"))
    code = [c for c in book.cells if c.cell_type == "code"]
    assert [(c.metadata["cmbagent"]["source"], c.source) for c in code] == [
        ("codebase", "# codebase/fit.py\nprint('fitted')\n")
    ]


def _record(tmp_path, name: str, files: dict[str, str]) -> RunRecord:
    """A session record over real files (the sidecar's manifest names them with their sha256)."""
    work = tmp_path / name
    work.mkdir()
    items = []
    for path, text in files.items():
        (work / path).write_text(text)
        digest = hashlib.sha256(text.encode()).hexdigest()
        items.append({"path": path, "category": "report", "size": len(text), "sha256": digest})
    sidecar = {"session_id": name, "work_dir": str(work), "artifacts": {"items": items}}
    return RunRecord(name, sidecar, None)


def test_diffing_is_bounded_but_an_edit_in_a_long_file_is_always_diffed(tmp_path):
    long = "".join(f"line {i}\n" for i in range(40_000))
    edited = long.replace("line 20000\n", "line twenty thousand\n")
    everywhere_a = "".join(f"{i * 2}\n" for i in range(5000))
    everywhere_b = "".join(f"{i * 3 + 1}\n" for i in range(5000))
    a = _record(tmp_path, "a", {"long.txt": long, "table.txt": everywhere_a})
    b = _record(tmp_path, "b", {"long.txt": edited, "table.txt": everywhere_b})
    files = {f["path"]: f for f in compare(a, b)["files"]}
    assert files["long.txt"]["diff"].splitlines()[3:8] == [
        " line 19997",
        " line 19998",
        " line 19999",
        "-line 20000",
        "+line twenty thousand",
    ]
    table = files["table.txt"]
    assert table["status"] == "changed" and table["diff"] is None
    assert (
        table["note"]
        == "sha256 differs; not diffed: the files differ on too many lines (25,000,000 line pairs)"
    )


def test_the_exported_plan_is_the_approved_one(tmp_path):
    """The event log's last approved plan (an edit wins over the proposal), not a rejected one."""
    first = [{"sub_task": "download the maps", "agent": "engineer", "bullets": []}]
    second = [{"sub_task": "simulate a spectrum", "agent": "engineer", "bullets": []}]
    edited = [{"sub_task": "simulate with CAMB", "agent": "engineer", "bullets": ["ell to 2500"]}]
    events = [
        ("plan_proposed", {"plan": first, "request_id": "plan-1"}),
        ("plan_decision", {"request_id": "plan-1", "approved": False, "plan": None, "feedback": "simulate"}),
        ("plan_proposed", {"plan": second, "request_id": "plan-2"}),
        ("plan_decision", {"request_id": "plan-2", "approved": True, "plan": edited, "feedback": None}),
    ]
    log = tmp_path / "p.events.jsonl"
    log.write_text(
        "".join(
            json.dumps({"v": 1, "type": t, "seq": n, "data": d}) + "\n" for n, (t, d) in enumerate(events)
        )
    )
    record = RunRecord("p", {"session_id": "p", "task": "fit", "engine": "cmbagent"}, log)
    plan = export_notebook(record).cells[1].source
    assert plan == "## Plan\n\n1. simulate with CAMB *(engineer)*\n    - ell to 2500"
    log.write_text(
        "".join(
            json.dumps({"v": 1, "type": t, "seq": n, "data": d}) + "\n" for n, (t, d) in enumerate(events[:3])
        )
    )
    assert export_notebook(record).cells[1].source == "## Plan\n\n1. simulate a spectrum *(engineer)*"
