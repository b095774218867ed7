"""Data in and results out, from a real kernel of a real server: ``--inputs`` and ``run.artifacts``.

The same cell runs in server mode (the server's worker) and with ``--kernel`` (the kernel's own
worker): the notebook's numpy array and DataFrame reach the task as files, the task's files come
back as ``run.artifacts`` that ``.load()`` as numpy and pandas objects, and
``cmbjupyter.results.load(session, path)`` -- the sidebar's loader cell -- finds them by session.
"""

from __future__ import annotations

import pytest

LOAD = "%load_ext cmbjupyter"

DATA = """
import numpy as np, pandas as pd
cl_obs = np.arange(1.0, 11.0)
df = pd.DataFrame({"ell": [2, 3, 4], "cl": [1.0, 2.0, 4.0]})
"""

#: Reads its inputs, writes a .npy and a .csv under data/. (The worker's watcher reports the files
#: too; the task names them itself so that the test holds whatever the watcher's timing.)
TASK = """%%cmbagent --engine python --session {session} --inputs cl_obs,df {flags}
import os
import numpy as np, pandas as pd
emit.event("work_dir", {{"path": os.getcwd()}})
cl = np.load("data/inputs/cl_obs.npy")
table = pd.read_csv("data/inputs/df.csv")
np.save("data/fit.npy", cl * 2)
table.assign(model=table.cl * 2).to_csv("data/model.csv", index=False)
for path, mime in (("data/fit.npy", "application/octet-stream"), ("data/model.csv", "text/csv")):
    emit.event("artifact", {{"path": path, "category": "data", "mime": mime, "size": os.path.getsize(path)}})
result = {{"sum": float(cl.sum()), "rows": len(table)}}
"""

REPORT = """
import cmbjupyter.results
run = _
made = {{a.path: a for a in run.artifacts}}
print("WHERE", run.where, run.status, run.result["result"])
print("ARTIFACTS", sorted(p for p in made if not p.startswith("data/inputs/")))
print("FIT", made["data/fit.npy"].load().tolist(), made["data/fit.npy"].category)
print("MODEL", made["data/model.csv"].load()["model"].tolist())
print("BY SESSION", cmbjupyter.results.load("{session}", "data/model.csv").shape)
print("BYTES", made["data/model.csv"].open().read()[:11])
if run.where == "server":  # a kernel that cannot see the server's files: streamed by the server
    from dataclasses import replace
    print("STREAMED", replace(made["data/model.csv"], work_dir="/nowhere").load().shape)
"""


@pytest.mark.parametrize(("flags", "where"), [("", "server"), ("--kernel", "kernel")])
async def test_inputs_in_and_artifacts_out(notebook_kernel, jp_root_dir, flags, where):
    session = f"s-results-{where}"
    kernel = await notebook_kernel(f"results-{where}.ipynb")
    await kernel.execute(LOAD)
    await kernel.execute(DATA)
    await kernel.execute(TASK.format(session=session, flags=flags))
    printed = await kernel.execute(REPORT.format(session=session))
    assert f"WHERE {where} completed {{'sum': 55.0, 'rows': 3}}" in printed, printed
    assert "ARTIFACTS ['data/fit.npy', 'data/model.csv']" in printed, printed
    assert "FIT [2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0] data" in printed
    assert "MODEL [2.0, 4.0, 8.0]" in printed
    assert "BY SESSION (3, 3)" in printed, printed
    assert "BYTES b'ell,cl,mode'" in printed
    assert ("STREAMED (3, 3)" in printed) == (where == "server"), printed
    inputs = jp_root_dir / "data" / "inputs"  # the notebook's folder is the work dir
    assert (inputs / "cl_obs.npy").is_file() and (inputs / "manifest.json").is_file()


#: The RunWidget's file channel as the browser uses it, in a kernel that cannot see the server's work dir
#: (another machine or folder: the work dir the server names does not exist here).
WIDGET_FILE = """
run = _
widget = run.view.widget
sent = []
widget.send = lambda content, buffers=None: sent.append((content, buffers))
widget.artifacts = {**widget.artifacts, "work_dir": "/nowhere/on/this/machine"}
for number, path in enumerate(["data/model.csv", "data/missing.csv", "../../etc/passwd"]):
    widget._handle_message(widget, {"type": "file", "id": number, "path": path}, [])
for content, buffers in sent:
    print("FILE", content["id"], content.get("mime"), bytes(buffers[0])[:11] if buffers else content["error"])
"""


async def test_the_widget_opens_a_file_the_kernel_cannot_see_through_the_server(notebook_kernel):
    kernel = await notebook_kernel("widget-files.ipynb")
    await kernel.execute(LOAD)
    await kernel.execute(DATA)
    await kernel.execute(TASK.format(session="s-widget-files", flags=""))
    printed = await kernel.execute(WIDGET_FILE)
    assert "FILE 0 text/csv b'ell,cl,mode'" in printed, printed
    assert "FILE 1 None no file 'data/missing.csv'" in printed, printed  # the server's 404, said
    assert "FILE 2 None no file '../../etc/passwd'" in printed, printed  # confined on both sides


TRY = """
from IPython.core.error import UsageError
try:
    line = "--engine python --session s-bad-in --inputs {names}"
    get_ipython().run_cell_magic("cmbagent", line, "result = 1")
except UsageError as exc:
    print("USAGE", exc)
"""


async def test_an_unknown_variable_or_type_is_a_usage_error(api, notebook_kernel, jp_root_dir):
    kernel = await notebook_kernel("bad-inputs.ipynb")
    await kernel.execute(LOAD)
    await kernel.execute("import threading\nlock = threading.Lock()")
    printed = await kernel.execute(TRY.format(names="nothere,lock"))
    assert "USAGE --inputs: no variable 'nothere'" in printed, printed
    printed = await kernel.execute(TRY.format(names="lock"))
    assert "USAGE input 'lock' is a _thread.lock" in printed, printed
    assert not (jp_root_dir / "data").exists()  # nothing written
    assert not [t for t in (await api.get("tasks"))["tasks"] if t["session_id"] == "s-bad-in"]
