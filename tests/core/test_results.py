"""``run.artifacts``: the manifest as Artifact objects that open and load the run's real files."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import cmbjupyter
from cmbjupyter.errors import NotFound
from cmbjupyter.results import Artifact, ArtifactList

#: Step 1's engineer writes two files and names them (the worker's watcher reports them too).
MAKES = """
import os, json
import numpy as np
emit.event("work_dir", {"path": os.getcwd()})
step(1)
emit.output("saving the spectrum", agent="engineer")
os.makedirs("data", exist_ok=True)
np.save("data/cl.npy", np.arange(5.0))
with open("data/fit.json", "w") as f:
    json.dump({"h0": 67.4}, f)
for path in ("data/cl.npy", "data/fit.json"):
    fields = {"category": "data", "step": 1, "agent": "engineer", "size": os.path.getsize(path)}
    emit.event("artifact", {"path": path, **fields})
result = 1
"""


@pytest.fixture(autouse=True)
def sessions_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CMBJUPYTER_SESSIONS_DIR", str(tmp_path / "sessions"))


def test_a_runs_artifacts_load_its_files(tmp_path):
    run = cmbjupyter.run(
        MAKES, engine="python", mode="planning-control", display=False, work_dir=str(tmp_path)
    )
    run.wait(timeout=60)
    made = {a.path: a for a in run.artifacts}
    assert isinstance(run.artifacts, ArtifactList)
    cl = made["data/cl.npy"]
    record = run.state.artifacts["data/cl.npy"]  # the latest record (the task's or the watcher's)
    assert (cl.category, cl.step, cl.size) == ("data", 1, 168)
    assert (cl.agent, cl.sha256, cl.mime) == (record.get("agent"), record.get("sha256"), record.get("mime"))
    assert cl.work_dir == str(tmp_path)
    assert cl.load().tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert made["data/fit.json"].load() == {"h0": 67.4}
    assert repr(cl) == f"<Artifact data/cl.npy data (step 1, {cl.agent}) 168 B>"
    assert "<td>data/cl.npy</td>" in run.artifacts._repr_html_()


@pytest.fixture
def files(tmp_path):
    (tmp_path / "data").mkdir()
    np.savez(tmp_path / "data" / "arrays.npz", a=np.ones(3), b=np.zeros(2))
    pd.DataFrame({"ell": [2, 3], "cl": [1.5, 2.5]}).to_csv(tmp_path / "data" / "cl.csv", index=False)
    (tmp_path / "data" / "cl.tsv").write_text("ell\tcl\n2\t1.5\n")
    Image.new("RGB", (30, 20), "blue").save(tmp_path / "plot.png")
    (tmp_path / "notes.md").write_text("# H0 = 67.4\n")
    (tmp_path / "blob.bin").write_bytes(b"\xff\x00\xfe")
    (tmp_path.parent / "outside.json").write_text(json.dumps({"secret": 1}))
    os.symlink(tmp_path.parent / "outside.json", tmp_path / "leak.json")
    return tmp_path


def test_every_kind_loads_as_its_python_object(files):
    def load(path):
        return Artifact(path, work_dir=str(files)).load()

    assert {k: v.tolist() for k, v in load("data/arrays.npz").items()} == {"a": [1.0] * 3, "b": [0.0] * 2}
    assert load("data/cl.csv")["cl"].tolist() == [1.5, 2.5]
    assert load("data/cl.tsv")["cl"].tolist() == [1.5]
    image = load("plot.png")
    assert image.size == (30, 20)
    assert load("notes.md") == "# H0 = 67.4\n"
    assert load("blob.bin") == b"\xff\x00\xfe"


def test_a_file_outside_the_work_dir_is_never_opened(files):
    for path in ("leak.json", "../outside.json", str(files.parent / "outside.json"), "gone.csv"):
        with pytest.raises(NotFound):
            Artifact(path, work_dir=str(files)).open()
    remote = Artifact.from_record(
        {"path": "big.fits", "remote": "tcp://10.0.0.5:4000:/scratch/big.fits"}, str(files)
    )
    with pytest.raises(NotFound, match="stayed on the Dask worker"):
        remote.open()


def test_a_missing_library_is_named(files, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match=r"loading 'data/cl\.csv' needs pandas"):
        Artifact("data/cl.csv", work_dir=str(files)).load()
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match="needs Pillow"):
        Artifact("plot.png", work_dir=str(files)).load()
