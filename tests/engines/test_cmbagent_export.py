"""A real cmbagent run (offline, the scripted server) exported as a notebook: the engineer's script
as it ran (the run's code_execution events) is a code cell of its step, its plot is embedded, the
Methods cell names the cmbagent and AG2 versions the run used."""

from __future__ import annotations

from cmbjupyter import IsolatedTaskExecutor, SessionManager
from cmbjupyter.export import export_notebook
from cmbjupyter.runrecord import RunRecord
from tests.engines.test_cmbagent_artifacts import plotting_engineer


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
