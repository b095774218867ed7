"""A real cmbagent run (offline, the scripted server) exported as a notebook: the engineer's script
as it ran (the run's code_execution events) is a code cell of its step, its plot is embedded, the
Methods cell names the cmbagent and AG2 versions the run used; executed with nbclient in a real
kernel (the main environment's, which has no cmbagent), the notebook makes the run's files again,
byte for byte, and prints what the run printed."""

from __future__ import annotations

import hashlib

import nbformat
import pytest
from nbclient import NotebookClient

from cmbjupyter import IsolatedTaskExecutor, SessionManager
from cmbjupyter.export import export_notebook
from cmbjupyter.runrecord import RunRecord
from tests.engines.test_cmbagent_artifacts import plotting_engineer

#: What the scripted engineer runs for the re-execution: numpy and matplotlib only (cmbagent's own
#: code is not needed to reproduce a step; the artifacts tests' script imports cmbagent to prove
#: which interpreter ran it, so its notebook needs cmbagent's environment).
DETERMINISTIC_CODE = """
import os
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
os.makedirs("data", exist_ok=True)
ell = np.arange(2, 50)
cl = 1.0 / (ell * (ell + 1.0))
np.savetxt("data/cl_tt.csv", np.column_stack([ell, cl]), delimiter=",", header="ell,cl", comments="")
plt.plot(ell, cl)
plt.savefig("data/cl_tt.png", dpi=100)
print(f"sum of C_ell: {cl.sum():.12f}")
"""


async def test_a_cmbagent_run_exports_its_script_plot_and_versions(seed_engine_env, tmp_path):
    seed_engine_env.script.append(plotting_engineer())
    sessions = SessionManager(tmp_path / "sessions")
    executor = IsolatedTaskExecutor(session_manager=sessions)
    await executor.execute(
        "t1",
        "Plot the CMB TT power spectrum.",
        {"engine": "cmbagent", "mode": "one-shot", "session_id": "cb"},
    )
    book = export_notebook(RunRecord.load(sessions, "cb"))
    code = [c for c in book.cells if c.cell_type == "code"]
    # the scripted engineer's script, then the scripted server's default answer: both ran, in order
    assert [c.metadata["cmbagent"] for c in code] == [{"step": "execute", "source": "code_execution"}] * 2
    assert [c.source.split("\n", 1)[0] for c in code] == [
        "# filename: codebase/plot_cl.py",
        "# filename: codebase/answer.py",
    ]
    assert 'plt.savefig("data/cl_tt.png"' in code[0].source
    embedded = {name for c in book.cells for name in c.get("attachments", {})}
    assert embedded == {"data_cl_tt.png"}
    methods = book.cells[-1].source
    assert "| cmbagent | cmbagent 0.0.1.post" in methods and "| AG2 | cmbagent-autogen 0.0.91" in methods
    assert "| Engine | cmbagent |" in methods and "| Models | gpt-4.1-2025-04-14 (5 calls" in methods


@pytest.mark.parametrize(("mode", "folder"), [("one-shot", ""), ("planning-control", "control/")])
async def test_the_exported_notebook_executed_makes_the_runs_files_again(
    seed_engine_env, tmp_path, mode, folder
):
    seed_engine_env.script.append(plotting_engineer(DETERMINISTIC_CODE))
    sessions = SessionManager(tmp_path / "sessions")
    executor = IsolatedTaskExecutor(session_manager=sessions)
    config = {"engine": "cmbagent", "mode": mode, "session_id": "rx", "max_plan_steps": 1}
    await executor.execute("t1", "Plot the CMB TT power spectrum.", config)
    record = RunRecord.load(sessions, "rx")
    # the files the script made, where the run's work dir has them (planning-control's executor
    # works in the control/ folder of it)
    made = {a["path"]: a["sha256"] for a in record.artifacts() if "data/" in a["path"]}
    assert sorted(made) == [f"{folder}data/cl_tt.csv", f"{folder}data/cl_tt.png"]
    ran = [e["data"] for _, e in record.stepped_events("code_execution") if e["data"]["exit_code"] == 0]
    book = export_notebook(record)
    sources = "\n".join(c.source for c in book.cells if c.cell_type == "code")
    assert "import cmbagent" not in sources and "from cmbagent" not in sources, "no cmbagent needed"
    entered = [
        c.source for c in book.cells if c.get("metadata", {}).get("cmbagent", {}).get("source") == "folder"
    ]
    assert len(entered) == (1 if folder else 0) and all(
        "os.chdir(os.path.join(RUN_DIR, 'control'))" in e for e in entered
    )

    replay = tmp_path / "replay"  # an empty folder, as a reader would run the notebook in
    replay.mkdir()
    client = NotebookClient(
        book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(replay)}}
    )
    client.execute()
    nbformat.validate(book)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(o.get("output_type") != "error" for c in code for o in c.outputs)
    scripts = [c for c in code if c.metadata["cmbagent"]["source"] == "code_execution"]
    printed = ["".join(o.get("text", "") for o in c.outputs if o.get("name") == "stdout") for c in scripts]
    # what each script printed in the run (cmbagent's executor reports its stdout), printed again
    assert [p.strip() for p in printed] == [r["output"].strip() for r in ran]
    assert printed[0].startswith("sum of C_ell: ")
    # the table and the plot, byte for byte: the kernel has the worker's numpy and matplotlib
    # versions' output formats (same matplotlib 3.11.2: Agg's PNG is byte-identical)
    again = {path: hashlib.sha256((replay / path).read_bytes()).hexdigest() for path in made}
    assert again == made
