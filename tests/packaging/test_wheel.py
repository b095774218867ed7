"""What a user installs, checked as JupyterLab's extension template checks it, in isolation: the sdist
is built from a bare checkout (git's files only: npm builds the widget and the sidebar), the wheel is
built from that sdist with neither npm nor node on PATH, and installed in a fresh venv with JupyterLab.
There, `jupyter server extension list` and `jupyter labextension list` say cmbjupyter is enabled and OK
with its version (one version: js/package.json), JupyterLab's own `browser_check` starts with it, and
Debian's Chromium loads JupyterLab with the sidebar and no page error (`browser_check`'s browser step
would download a browser of its own; nothing here may)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.browser.conftest import serving
from tests.browser.test_sidebar import open_sidebar

ROOT = Path(__file__).resolve().parents[2]
VERSION = json.loads((ROOT / "js" / "package.json").read_text())["version"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _run(command: list[str], **kwargs) -> str:
    """Run ``command``; its output (stdout and stderr, colours removed), or a failure that shows it."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, **kwargs)
    output = ANSI.sub("", done.stdout + done.stderr)
    assert done.returncode == 0, f"{' '.join(map(str, command))} exited {done.returncode}:\n{output[-4000:]}"
    return output


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    """The sdist of a bare checkout: git's files only (no widget, no sidebar, no node_modules)."""
    checkout = tmp_path_factory.mktemp("checkout")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        source, target = ROOT / name, checkout / name
        if source.is_file() and not source.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    out = tmp_path_factory.mktemp("sdist")
    _run([sys.executable, "-m", "build", "--sdist", "--outdir", str(out), str(checkout)])
    [built] = out.glob("cmbjupyter-*.tar.gz")
    return built


@pytest.fixture(scope="module")
def wheel(sdist, tmp_path_factory) -> Path:
    """The wheel built from the sdist with only a python on PATH: no npm, no node."""
    bare = tmp_path_factory.mktemp("bare-path")
    (bare / "python").symlink_to(sys.executable)
    assert shutil.which("npm", path=str(bare)) is None and shutil.which("node", path=str(bare)) is None
    env = {"PATH": str(bare), "HOME": os.environ.get("HOME", str(bare))}
    if "PYTHONPATH" in os.environ:  # where this interpreter finds `build`, as the sdist's build did
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(sdist)], env=env)
    [built] = out.glob("cmbjupyter-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh(wheel, tmp_path_factory) -> dict[str, str]:
    """A fresh venv with the wheel and JupyterLab (the `lab` extra); its clean environment."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", str(venv)])
    home = tmp_path_factory.mktemp("jupyter-home")
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", str(home)),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{wheel}[lab]"], env=env)
    return env | {"python": str(venv / "bin" / "python"), "jupyter": str(venv / "bin" / "jupyter")}


def _clean(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in ("python", "jupyter")}


def test_the_sdist_ships_both_builds_and_no_node_modules(sdist):
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert "cmbjupyter/static/widget.js" in names
    assert "cmbjupyter/labextension/package.json" in names
    assert any(n.startswith("cmbjupyter/labextension/static/remoteEntry.") for n in names)
    assert {"LICENSE", "js/install.json", "cmbjupyter/py.typed"} <= names
    assert not any("node_modules" in n for n in names)


def test_the_wheel_carries_the_widget_the_sidebar_and_the_server_config(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        data = f"cmbjupyter-{VERSION}.data/data"
        lab = f"{data}/share/jupyter/labextensions/cmbjupyter"
        assert f"{data}/etc/jupyter/jupyter_server_config.d/cmbjupyter.json" in names
        assert {"cmbjupyter/static/widget.js", "cmbjupyter/py.typed", f"{lab}/install.json"} <= names
        assert json.loads(archive.read(f"{lab}/package.json"))["version"] == VERSION
        assert any(n.startswith(f"{lab}/static/remoteEntry.") for n in names)
        assert not any(n.startswith("cmbjupyter/labextension/") for n in names), "shipped once, as data"
        bundle = b"".join(
            archive.read(n) for n in names if n.startswith(f"{lab}/static/") and n.endswith(".js")
        )
        assert b"cmbagent-sidebar" in bundle
        metadata = archive.read(f"cmbjupyter-{VERSION}.dist-info/METADATA").decode()
    assert f"Version: {VERSION}\n" in metadata
    assert "Classifier: Framework :: Jupyter :: JupyterLab :: Extensions :: Prebuilt" in metadata
    assert "License-File: LICENSE" in metadata
    assert not re.search(r"^Requires-Dist: jupyterlab\b(?!.*extra)", metadata, re.M), "JupyterLab is an extra"


def test_jupyter_lists_the_server_extension_and_the_sidebar_enabled_ok_with_the_version(fresh):
    servers = _run([fresh["jupyter"], "server", "extension", "list"], env=_clean(fresh))
    assert re.search(r"cmbjupyter\.server enabled\b", servers), servers
    assert f"cmbjupyter.server {VERSION} OK" in servers, servers
    labs = _run([fresh["jupyter"], "labextension", "list"], env=_clean(fresh))
    assert f"cmbjupyter v{VERSION} enabled OK (python, cmbjupyter)" in labs, labs
    imported = _run(
        [fresh["python"], "-c", "import cmbjupyter; print(cmbjupyter.__version__)"], env=_clean(fresh)
    )
    assert imported.strip() == VERSION


def test_jupyterlab_browser_check_passes_with_the_extension(fresh, tmp_path):
    """The server side of `python -m jupyterlab.browser_check`: JupyterLab starts with every extension and
    logs no error (its browser step is the next test, in Debian's Chromium)."""
    _run(
        [fresh["python"], "-m", "jupyterlab.browser_check", "--no-browser-test", "--allow-root"],
        cwd=tmp_path,
        env=_clean(fresh),
    )


@pytest.mark.browser
def test_jupyterlab_of_the_fresh_venv_loads_the_sidebar_without_page_errors(fresh, page, tmp_path):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    with pytest.MonkeyPatch.context() as patch:  # the server runs the installed wheel, not this checkout
        for name in ("PYTHONPATH", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH"):
            patch.delenv(name, raising=False)
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
            patch.setenv(name, fresh[name])
        with serving(
            "lab",
            tmp_path,
            "--LabApp.news_url=",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            python=fresh["python"],
        ) as lab:
            sidebar = open_sidebar(page, lab)
            assert "cmbagent sessions" in sidebar.inner_text()
    assert errors == []
