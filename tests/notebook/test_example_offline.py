"""notebooks/07-cmbagent-offline.ipynb says whether its calls are paid, and what it says is true: run a
second time in the same kernel (its own scripted server set OPENAI_API_KEY the first time) it is still
offline and says so. Its setup cell runs twice in a real kernel, with no key and no CMBJUPYTER_OFFLINE."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "07-cmbagent-offline.ipynb"


def test_a_second_run_in_the_same_kernel_is_still_offline_and_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("CMBJUPYTER_OFFLINE", raising=False)
    setup = next(
        cell.source for cell in nbformat.read(NOTEBOOK, 4).cells if "ScriptedLLMServer" in cell.source
    )
    report = "print(offline, os.environ['OPENAI_BASE_URL'] == server.base_url)"
    book = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in (setup, report, setup, report)]
    )
    NotebookClient(
        book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    said = ["".join(output.get("text", "") for output in cell.outputs) for cell in book.cells]
    for first_line in (said[0], said[2]):
        assert first_line.splitlines()[0] == "offline scripted LLM"
    assert said[1] == said[3] == "True True\n"
