"""Results of a real cmbagent run (offline, the scripted server): the code the engineer writes runs
with the worker's interpreter, and the plot and table it saves under ``data/`` are artifact events
with the step, the DAG node and the agent that made them (a one-shot has no steps)."""

from __future__ import annotations

import json
import os

import pytest

from cmbjupyter import IsolatedTaskExecutor, SessionManager
from cmbjupyter.state import RunState
from cmbjupyter.testing.llm_server import Rule

#: What the scripted engineer writes: only the worker's environment (.venv-cmbagent) has cmbagent,
#: so the import proves which interpreter ran it; matplotlib makes a real PNG.
ENGINEER_CODE = """
import os, sys
import cmbagent  # only in the worker's environment
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
os.makedirs("data", exist_ok=True)
ell = list(range(2, 50))
plt.plot(ell, [1.0 / (l * (l + 1)) for l in ell])
plt.savefig("data/cl_tt.png", dpi=100)
with open("data/cl_tt.csv", "w") as f:
    f.write("ell,cl\\n" + "".join(f"{l},{1.0 / (l * (l + 1))}\\n" for l in ell))
print("ran with", sys.prefix)
"""


def venv_of(python: str) -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(python)))


def files_exist(work_dir: str, paths: list[str]) -> bool:
    return all(os.path.isfile(os.path.join(work_dir, path)) for path in paths)


class Collected(list):
    async def __call__(self, event_type, data):
        self.append({"type": event_type, "data": data})

    def of(self, event_type):
        return [e["data"] for e in self if e["type"] == event_type]


def plotting_engineer(code: str = ENGINEER_CODE) -> Rule:
    """The scripted engineer's answer, once: the script (``code``) that plots C_ell and saves its table."""
    return Rule(
        match="format the response provided by the engineer agent",
        content=json.dumps(
            {
                "filename": "plot_cl.py",
                "relative_path": "codebase",
                "code_explanation": "Plot C_ell and save it with its table.",
                "modification_summary": "none",
                "python_code": code,
            }
        ),
        times=1,
    )


@pytest.mark.parametrize(
    ("mode", "where"),
    [
        ("one-shot", {"phase": "execution", "step": None, "node_id": "execute"}),
        ("planning-control", {"phase": "control", "step": 1, "node_id": "step_1"}),
    ],
)
async def test_the_engineers_plot_and_table_are_artifacts_made_with_the_workers_python(
    seed_engine_env, cmbagent_python, tmp_path, mode, where
):
    seed_engine_env.script.append(plotting_engineer())
    executor = IsolatedTaskExecutor(session_manager=SessionManager(tmp_path / "sessions"))
    collected = Collected()
    result = await executor.execute(
        "t1",
        "Plot the CMB TT power spectrum.",
        {"engine": "cmbagent", "mode": mode, "session_id": "plots"},
        output_callback=collected,
    )
    work_dir = result["work_dir"]
    assert collected.of("work_dir") == [{"path": work_dir}]
    assert work_dir.endswith(os.path.join("cmbagent_output", "plots"))
    printed = "\n".join(c["output"] for c in collected.of("code_execution") if c["exit_code"] == 0)
    assert f"ran with {venv_of(cmbagent_python)}" in printed, "the worker's Python ran the code"
    found = {a["path"]: a for a in collected.of("artifact")}
    plot = next(a for path, a in found.items() if path.endswith("data/cl_tt.png"))
    table = next(a for path, a in found.items() if path.endswith("data/cl_tt.csv"))
    assert plot["category"] == "plot" and plot["mime"] == "image/png" and plot["size"] > 1000
    assert table["category"] == "data" and table["mime"] == "text/csv"
    for record in (plot, table):
        assert record["agent"] == "engineer"
        assert {key: record[key] for key in where} == where
    assert files_exist(work_dir, [plot["path"], table["path"]])
    script = next(a for path, a in found.items() if path.endswith("codebase/plot_cl.py"))
    assert script["category"] == "code", "the script the executor ran"
    assert {a["category"] for path, a in found.items() if "_report_" in path} == {"log"}
    assert result["context"]["displayed_images"][0].endswith(plot["path"])  # cmbagent displayed it...
    assert found[plot["path"]]["displayed"] is True  # ...so its latest record says so
    state = RunState.from_events(collected)
    assert state.work_dir == work_dir and plot["path"] in state.artifacts
    record = executor.session_manager.load_session("plots")
    assert record["work_dir"] == work_dir
    assert plot["path"] in {a["path"] for a in record["artifacts"]["items"]}
