"""Session summaries saved in notebooks: in metadata and in outputs, read back, written atomically."""

from __future__ import annotations

import os
import stat

import nbformat
import pytest

from cmbjupyter.notebook import MIMETYPE, output_metadata, sessions_from_notebook, write_session_summary


def _summary(session_id="s1", status="completed", ended="2026-01-01T00:00:02+00:00", **extra):
    return {
        "session_id": session_id,
        "status": status,
        "mode": "one-shot",
        "phase": "execution",
        "step": 1,
        "ended_at": ended,
        "nodes": {"start": "completed"},
        "cost": {"total_usd": 0.01},
        **extra,
    }


@pytest.fixture
def notebook_path(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("%%cmbagent\ntask"))
    path = tmp_path / "analysis.ipynb"
    nbformat.write(nb, path)
    path.chmod(0o644)
    return path


def test_a_summary_is_written_into_the_notebook_file_atomically_keeping_its_permissions(notebook_path):
    write_session_summary(notebook_path, _summary())
    write_session_summary(notebook_path, _summary("s2", status="suspended"))
    nb = nbformat.read(notebook_path, as_version=4)
    assert set(nb.metadata["cmbagent"]["sessions"]) == {"s1", "s2"}
    assert stat.S_IMODE(os.stat(notebook_path).st_mode) == 0o644
    assert [p.name for p in notebook_path.parent.iterdir()] == ["analysis.ipynb"]
    nbformat.validate(nb)


def test_summaries_are_read_back_from_metadata_and_from_outputs_latest_wins(notebook_path):
    write_session_summary(notebook_path, _summary(status="active", ended="2026-01-01T00:00:01+00:00"))
    nb = nbformat.read(notebook_path, as_version=4)
    final = _summary()
    nb.cells[0].outputs = [
        nbformat.v4.new_output(
            "display_data", data={MIMETYPE: final, "text/plain": "run"}, metadata=output_metadata(final)
        )
    ]
    nb.cells[0].outputs.append(
        nbformat.v4.new_output(
            "display_data", data={"text/plain": "x"}, metadata=output_metadata(_summary("headless"))
        )
    )
    sessions = sessions_from_notebook(nb)
    assert sessions["s1"]["status"] == "completed"
    assert sessions["headless"]["status"] == "completed"


def test_secrets_and_tracebacks_never_reach_the_notebook(notebook_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-notebook-secret-123456")
    summary = _summary(error={"message": "bad key sk-notebook-secret-123456", "traceback": "Traceback ..."})
    write_session_summary(notebook_path, summary)
    text = notebook_path.read_text()
    assert "sk-notebook-secret-123456" not in text and "Traceback" not in text
    assert "[redacted]" in output_metadata(summary)["cmbagent"]["session"]["error"]["message"]
