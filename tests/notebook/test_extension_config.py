"""``%%cmbagent`` without ``%load_ext``: loaded through IPython's extensions config, in a real kernel."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient


def test_the_magic_loads_from_the_ipython_extensions_config(tmp_path, monkeypatch):
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_kernel_config.py").write_text("c.InteractiveShellApp.extensions = ['cmbjupyter']\n")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("CMBJUPYTER_SERVER", "off")  # this test is about the config, not server mode
    book = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%%cmbagent --engine python --session from-config\nresult = 6 * 7"),
            nbformat.v4.new_code_cell("print(_.status, _.result['result'])"),
        ]
    )
    NotebookClient(
        book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    assert book.cells[1].outputs[0]["text"] == "completed 42\n"
    assert (tmp_path / ".cmbagent" / "sessions" / "from-config.json").exists()
