"""A ``--background`` run's plots and final state land in its own cell's saved outputs, even those it
makes after the cell finished (a real kernel, executed by nbclient as nbval and ``jupyter execute`` do).

The task waits for a file the next cell writes, so its plot is made while that cell runs, never
before: the order is forced by the notebook, not by timing.
"""

from __future__ import annotations

import base64

import nbformat
from nbclient import NotebookClient

TASK = """%%cmbagent --engine python --background --kernel --session s-bg-late --work-dir {work}
import os, time
import matplotlib.pyplot as plt
deadline = time.monotonic() + 120
while not os.path.exists("go"):  # the next cell says when
    assert time.monotonic() < deadline, "the next cell never ran"
    time.sleep(0.02)
os.makedirs("data", exist_ok=True)
fig, ax = plt.subplots()
ax.plot([1, 2, 3], [1, 4, 9])
fig.savefig("data/late.png")
"""

LATER = """run = _
open(r"{work}/go", "w").close()
run.wait(120)
print(run.status, [a.path for a in run.artifacts])
"""


def images(cell) -> list[bytes]:
    return [
        base64.b64decode(o["data"]["image/png"]) for o in cell.outputs if "image/png" in o.get("data", {})
    ]


def test_a_background_runs_late_plot_is_saved_in_its_cell(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    sources = ["%load_ext cmbjupyter", TASK.format(work=work), LATER.format(work=work)]
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(
        book, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    _load, shown, later = book.cells
    assert "completed ['data/late.png']" in "".join(o.get("text", "") for o in later.outputs), later.outputs
    assert images(shown) == [(work / "data" / "late.png").read_bytes()]  # in the run's cell ...
    assert images(later) == []  # ... not in the cell that happened to run when it was made
    # The run's own output was brought up to date at its end too (it stayed "queued" before).
    summary = shown.outputs[0]["data"]["application/vnd.cmbagent.run+json"]
    assert summary["status"] == "completed", summary
