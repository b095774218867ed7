"""The wheel users install: built from a bare checkout (no prebuilt widget, no labextension, no
node_modules), it carries the RunWidget bundle, the prebuilt JupyterLab sidebar and the server
extension's config, so `pip install cmbjupyter` needs no node."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    checkout = tmp_path_factory.mktemp("checkout")
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        source, target = ROOT / name, checkout / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(checkout), "--no-deps", "-q", "-w", str(out)],
        check=True,
        timeout=900,
    )
    [built] = out.glob("cmbjupyter-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_carries_the_widget_the_sidebar_and_the_server_config(wheel):
    names = set(wheel.namelist())
    data = next(
        n.split("/")[0]
        for n in names
        if n.endswith(".data/data/etc/jupyter/jupyter_server_config.d/cmbjupyter.json")
    )
    assert "cmbjupyter/static/widget.js" in names
    lab = f"{data}/data/share/jupyter/labextensions/cmbjupyter"
    assert f"{lab}/package.json" in names
    assert any(n.startswith(f"{lab}/static/remoteEntry.") for n in names)
    assert not any(n.startswith("cmbjupyter/labextension/") for n in names), "shipped once, as data"
    assert b"cmbagent-sidebar" in b"".join(
        wheel.read(n) for n in names if n.startswith(f"{lab}/static/") and n.endswith(".js")
    )
