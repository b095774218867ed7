"""A real JupyterLab (started by the tests) and Debian's headless Chromium driven by playwright.

Chromium is the system's (/usr/bin/chromium, installed by `make setup`); playwright never downloads
a browser. Screenshots go to test-artifacts/ for the CI run to keep.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

CHROMIUM = os.environ.get("CMBJUPYTER_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    """Module-scoped: playwright's sync API runs an event loop on this thread while it is open,
    which the asyncio tests of later modules must not find running."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (run `make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    page.close()


def write_notebook(folder: Path, name: str, *cells: str) -> str:
    """A notebook of code ``cells`` (Python 3 kernel) saved as ``folder/name``; returns ``name``."""
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(book, folder / name)
    return name


def _example_root(tmp_path_factory, name: str) -> Path:
    """A fresh folder holding the example notebooks with their outputs cleared."""
    root = tmp_path_factory.mktemp(name)
    notebooks = Path(__file__).resolve().parents[2] / "notebooks"
    for notebook in notebooks.glob("0*.ipynb"):
        book = nbformat.read(notebook, as_version=4)
        for cell in book.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(book, root / notebook.name)
    return root


def _serve(app: str, root: Path, *options: str, python: str = sys.executable, port: int | None = None):
    """Run ``jupyter <app>`` of ``python``'s environment on 127.0.0.1 (``port``, else a free one) in
    ``root`` until the generator is closed."""
    port, token = port or _free_port(), "cmbjupyter-browser-test"
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1", "CMBJUPYTER_SESSIONS_DIR": str(root / "sessions")}
    command = [python, "-m", "jupyter", app, "--no-browser", f"--port={port}", "--ip=127.0.0.1"]
    command += [f"--IdentityProvider.token={token}", "--allow-root", f"--ServerApp.root_dir={root}"]
    command += ["--ServerApp.disable_check_xsrf=False", *options]
    log = open(root / f"{app}.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                log.close()
                raise RuntimeError(
                    f"jupyter {app} did not start:\n{(root / f'{app}.log').read_text()[-3000:]}"
                ) from None
            time.sleep(0.2)
    yield {"url": base, "token": token, "root": root}
    server.terminate()
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@contextlib.contextmanager
def serving(app: str, root: Path, *options: str, **kwargs):
    """``_serve`` as a context manager: the server is stopped on leaving (closing the generator
    instead would skip its stop)."""
    server = _serve(app, root, *options, **kwargs)
    try:
        yield next(server)
    finally:
        next(server, None)


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 with the example notebooks (outputs cleared) as its root."""
    yield from _serve(
        "lab",
        _example_root(tmp_path_factory, "lab"),
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    )


@pytest.fixture(scope="session")
def notebook7(tmp_path_factory):
    """A Jupyter Notebook 7 server on 127.0.0.1 with the example notebooks as its root."""
    yield from _serve(
        "notebook", _example_root(tmp_path_factory, "nb7"), "--JupyterNotebookApp.expose_app_in_browser=True"
    )
