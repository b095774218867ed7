"""Results of a run on another machine: its small files come back to the host's copy of its work
dir (and its work_dir event names that copy); larger ones are listed with where they are. The other
machine is a LocalCluster worker whose host name differs from the host's (the host's is changed in
this test process only: the Dask workers are processes of their own)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from cmbjupyter.backends._dask_files import HOST_DIR
from cmbjupyter.state import RunState

PLOT = """
import os
import matplotlib.pyplot as plt
os.makedirs("data", exist_ok=True)
plt.plot([1, 2, 3], [1, 4, 9])
plt.savefig("data/fit.png")
with open("data/big.bin", "wb") as f:
    f.write(os.urandom(50_000))
"""


@pytest.fixture
def backend() -> str:
    return "dask"


@pytest.fixture
def elsewhere(monkeypatch, tmp_path) -> Path:
    """The host runs in its own folder, on a machine of another name than the Dask workers'."""
    host = tmp_path / "host"
    host.mkdir()
    monkeypatch.chdir(host)
    monkeypatch.setattr("socket.gethostname", lambda: "cmbjupyter-test-host")
    return host


def read(path: Path) -> bytes:
    return path.read_bytes()


def exists(path: Path) -> bool:
    return path.exists()


async def test_a_plot_made_on_a_remote_dask_worker_shows_up(run_python, collected, elsewhere, tmp_path):
    remote = tmp_path / "remote"
    await run_python(PLOT, work_dir=str(remote), artifact_transfer_max_bytes=45_000)
    (work_dir,) = collected.of("work_dir")
    copy = Path(work_dir["path"])
    assert copy.parent == elsewhere / HOST_DIR and work_dir["remote"].endswith(f":{remote}")
    found = {a["path"]: a for a in collected.of("artifact")}
    plot, big = found["data/fit.png"], found["data/big.bin"]
    assert plot["size"] < 45_000 < big["size"]
    # The plot came back: the host's copy has its exact bytes, before its event was dispatched.
    assert read(copy / "data/fit.png") == read(remote / "data/fit.png")
    assert hashlib.sha256(read(copy / "data/fit.png")).hexdigest() == plot["sha256"]
    assert "remote" not in plot and plot["category"] == "plot"
    # The big file stayed there; its event says where.
    assert not exists(copy / "data/big.bin")
    address, _, path = big["remote"].rpartition(":")
    assert path == str(remote / "data/big.bin") and address.startswith("tcp://")
    state = RunState.from_events(collected.events)
    assert state.work_dir == str(copy) and set(state.artifacts) == {"data/fit.png", "data/big.bin"}


async def test_on_the_hosts_own_machine_nothing_is_copied(run_python, collected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    await run_python(PLOT, work_dir=str(tmp_path / "remote"))
    (work_dir,) = collected.of("work_dir")
    assert work_dir == {"path": str(tmp_path / "remote")}
    assert not exists(tmp_path / HOST_DIR)
    assert {a["path"] for a in collected.of("artifact")} == {"data/fit.png", "data/big.bin"}
