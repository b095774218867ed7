"""A real ``jupyter server`` with the cmbjupyter extension, in a subprocess: for tests and benchmarks
that must kill, stop or measure a server the way a user's would be (the pytest-jupyter fixtures run
one in the test's own process instead).

Everything the server writes stays under ``folder`` (its config, runtime, data and root folders), so
it never sees the user's Jupyter setup, and it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["free_port", "start_jupyter_server"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_jupyter_server(
    folder: Path, *, sessions_dir: Path, port: int, token: str, settings: Iterable[str] = ()
) -> subprocess.Popen[bytes]:
    """Start the server (not waiting for it to answer); ``settings`` are extra config lines such as
    ``"c.CmbJupyter.finished_tasks_memory_mb = 8"``. Its root_dir is ``folder / "root"``."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.py"
    lines = [
        "c.ServerApp.jpserver_extensions = {'cmbjupyter.server': True}",
        f"c.CmbJupyter.sessions_dir = {str(sessions_dir)!r}",
        *settings,
    ]
    config.write_text("\n".join(lines) + "\n")
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(folder / "config"),
        "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
        "JUPYTER_DATA_DIR": str(folder / "data"),
    }
    root = folder / "root"
    root.mkdir()
    command = [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", "--ip=127.0.0.1"]
    command += [f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
    command += [f"--config={config}"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
