"""Kernel data in: ``cmbjupyter.run(task, inputs=...)`` writes the objects as files the task reads.

A real worker (the python engine) loads the files the kernel wrote; bad inputs are refused before
anything is written or started.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import cmbjupyter
from cmbjupyter.errors import ConfigError

#: The task reads its inputs the way agents' code would: from data/inputs/ in its work dir.
READS = """
import json
import numpy as np
import pandas as pd
cl = np.load("data/inputs/cl_obs.npy")
df = pd.read_csv("data/inputs/df.csv")
meta = json.load(open("data/inputs/meta.json"))
result = {"sum": float(cl.sum()), "shape": list(cl.shape), "columns": list(df.columns),
          "rows": len(df), "err": float(df["err"].sum()), "meta": meta}
"""


@pytest.fixture(autouse=True)
def sessions_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CMBJUPYTER_SESSIONS_DIR", str(tmp_path / "sessions"))


@pytest.fixture
def data():
    ell = np.arange(2, 102)
    return {
        "cl_obs": (ell * (ell + 1.0)).reshape(10, 10),
        "df": pd.DataFrame({"ell": ell, "cl": ell * 2.0, "err": np.full(100, 0.5)}),
        "meta": {"experiment": "Planck", "release": 2018},
    }


def test_arrays_tables_and_json_reach_the_worker(tmp_path, data):
    work = tmp_path / "work"
    run = cmbjupyter.run(READS, engine="python", display=False, work_dir=str(work), inputs=data)
    result = run.wait(timeout=60)["result"]
    assert result == {
        "sum": float(data["cl_obs"].sum()),
        "shape": [10, 10],
        "columns": ["ell", "cl", "err"],
        "rows": 100,
        "err": 50.0,
        "meta": {"experiment": "Planck", "release": 2018},
    }
    manifest = json.loads((work / "data" / "inputs" / "manifest.json").read_text())
    entries = {e["name"]: e for e in manifest["inputs"]}
    assert entries["cl_obs"]["file"] == "cl_obs.npy" and entries["cl_obs"]["shape"] == [10, 10]
    assert entries["df"]["columns"] == ["ell", "cl", "err"] and entries["df"]["rows"] == 100
    assert entries["meta"]["file"] == "meta.json"


def test_the_task_names_its_inputs(tmp_path, data):
    from cmbjupyter.inputs import stage_inputs

    task, config = stage_inputs("Fit the spectrum.", {"engine": "cmbagent"}, data, cwd=str(tmp_path))
    folder = tmp_path / "data" / "inputs"
    assert config["work_dir"] == str(tmp_path)
    assert task.startswith("Fit the spectrum.\n\nInput data")
    assert f"cl_obs: {folder / 'cl_obs.npy'} -- numpy array, shape (10, 10), dtype float64" in task
    assert f"df: {folder / 'df.csv'} -- table, 100 rows, columns: ell, cl, err" in task
    assert "numpy.load(" in task and "pandas.read_csv(" in task
    code, _ = stage_inputs("result = 1", {"engine": "python"}, {"x": [1, 2]}, cwd=str(tmp_path))
    assert all(line.startswith("#") for line in code.splitlines()[2:])  # still valid Python


def test_bad_inputs_are_refused_before_anything_is_written(tmp_path, data):
    work = tmp_path / "work"
    cases = [
        ({**data, "model": object()}, "input 'model' is a builtins.object"),
        ({**data, "bad name": 1}, "input names must be Python identifiers"),
        ({"ragged": np.array([[1], [1, 2]], dtype=object)}, "numpy array of Python objects"),
        ({"nan": float("nan")}, "NaN or infinity is not JSON"),
    ]
    for inputs, message in cases:
        with pytest.raises(ConfigError, match=message):
            cmbjupyter.run("result = 1", engine="python", display=False, work_dir=str(work), inputs=inputs)
    with pytest.raises(ConfigError, match="unknown mode"):  # a bad config: no input file either
        cmbjupyter.run(
            "result = 1", engine="python", mode="nope", display=False, work_dir=str(work), inputs=data
        )
    assert not work.exists()
    assert not [r for r in cmbjupyter.runs.runs() if r.state.mode == "nope"]


def test_pickles_only_when_asked(tmp_path):
    class Fit:
        h0 = 67.4

    with pytest.raises(ConfigError, match="inputs_pickle=True"):
        cmbjupyter.run(
            "result = 1", engine="python", display=False, work_dir=str(tmp_path), inputs={"fit": Fit()}
        )
    from cmbjupyter.inputs import stage_inputs

    task, _ = stage_inputs("t", {}, {"fit": complex(1, 2)}, pickle=True, cwd=str(tmp_path))
    assert (tmp_path / "data" / "inputs" / "fit.pkl").is_file() and "pickle of builtins.complex" in task


def test_series_and_parquet(tmp_path):
    from cmbjupyter.inputs import stage_inputs

    series = pd.Series([1.0, 2.0], index=pd.Index([2, 3], name="ell"), name="cl")
    task, _ = stage_inputs("t", {}, {"cl": series}, cwd=str(tmp_path))
    written = pd.read_csv(tmp_path / "data" / "inputs" / "cl.csv", index_col=0)
    assert written["cl"].tolist() == [1.0, 2.0] and written.index.name == "ell"  # the index is kept
    assert "index_col=0" in task
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="parquet needs pyarrow"):
            stage_inputs("t", {}, {"cl": series}, parquet=True, cwd=str(tmp_path / "p"))
        assert not (tmp_path / "p").exists()
    else:
        stage_inputs("t", {}, {"cl": series}, parquet=True, cwd=str(tmp_path))
        assert pd.read_parquet(tmp_path / "data" / "inputs" / "cl.parquet")["cl"].tolist() == [1.0, 2.0]
