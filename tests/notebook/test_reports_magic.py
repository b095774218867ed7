"""``%cmbagent compare`` and ``%cmbagent export`` in a real kernel (kernel mode), on real sessions."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook


def _run(session: str, value: int) -> str:
    return (
        f'%%cmbagent --engine python --mode control --session {session} --config \'{{"plan": ["one"]}}\'\n'
        f"step(1)\ncontext['k'] = {value}\nprint('value', {value})\nresult = {{'value': {value}}}"
    )


def test_compare_and_export_from_the_magic(tmp_path, monkeypatch):
    monkeypatch.setenv("CMBJUPYTER_SERVER", "off")
    book = new_notebook(
        cells=[
            new_code_cell("%load_ext cmbjupyter"),
            new_code_cell(_run("a", 1)),
            new_code_cell(_run("b", 2)),
            new_code_cell("%cmbagent compare a b"),
            new_code_cell("doc = %cmbagent compare a b\nprint(doc['v'], doc['context']['changed'])"),
            new_code_cell("%cmbagent export a --to a-record.ipynb"),
            new_code_cell("%cmbagent export a --to a-record.ipynb"),
            new_code_cell("%cmbagent compare a"),
            new_code_cell("%cmbagent compare a ghost"),
        ]
    )
    NotebookClient(
        book,
        timeout=180,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    shown = book.cells[3].outputs[0]["data"]
    assert shown["text/plain"].startswith("A: a (control, completed)   B: b (control, completed)")
    assert "~ k: 1 -> 2" in shown["text/plain"] and "<pre class='cmbagent-compare'>" in shown["text/html"]
    assert book.cells[4].outputs[0]["text"] == "1 {'k': {'a': 1, 'b': 2}}\n"
    assert book.cells[5].outputs[0]["text"] == "exported session a to a-record.ipynb\n"
    exported = nbformat.read(tmp_path / "a-record.ipynb", as_version=4)
    assert exported.metadata["cmbagent"]["exported_from"] == "a"
    assert any("print('value', 1)" in c.source for c in exported.cells if c.cell_type == "code")
    # IPython shows a UsageError as one line on stderr, not as a traceback
    errors = [
        "".join(o.get("text", "") for o in c.outputs if o.get("name") == "stderr") for c in book.cells[6:]
    ]
    assert errors[0] == "UsageError: a-record.ipynb exists; choose another file (nothing was overwritten)\n"
    assert errors[1] == "UsageError: usage: %cmbagent compare A B\n"
    assert errors[2].startswith("UsageError: no session 'ghost'")
