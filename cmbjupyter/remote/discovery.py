"""Find the Jupyter server a kernel belongs to, without importing jupyter_server.

A running jupyter_server writes ``jpserver-<pid>.json`` (url with base_url, token, pid, root_dir)
into jupyter_core's runtime directory; kernels it starts share that directory. Reading those files
directly costs a few file reads, where ``jupyter_server.serverapp.list_running_servers`` would
import the whole server into the kernel.

Environment (checked first):

* ``CMBJUPYTER_SERVER=off`` (or ``0``/``no``/``none``/``kernel``): never use a server (kernel mode).
* ``CMBJUPYTER_SERVER_URL`` (+ ``CMBJUPYTER_SERVER_TOKEN``, else ``JUPYTER_TOKEN``): use this server
  only, e.g. a remote one or one behind JupyterHub (``https://hub/user/me/``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..config import server_setting

__all__ = ["ServerInfo", "candidates", "running_servers"]


@dataclass(frozen=True)
class ServerInfo:
    """Where a server listens: ``url`` includes its base_url and ends with ``/``."""

    url: str
    token: str = ""
    pid: int | None = None
    root_dir: str | None = None
    source: str = "runtime"


def _runtime_dir(environ: Mapping[str, str]) -> Path:
    if environ.get("JUPYTER_RUNTIME_DIR"):
        return Path(environ["JUPYTER_RUNTIME_DIR"])
    from jupyter_core.paths import jupyter_runtime_dir  # small; already imported by every kernel

    return Path(jupyter_runtime_dir())


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_servers(runtime_dir: str | os.PathLike[str] | None = None) -> list[ServerInfo]:
    """Servers whose runtime file is present and whose process is alive, newest first.

    Servers listening on a UNIX socket only are skipped (the client speaks TCP).
    """
    folder = Path(runtime_dir) if runtime_dir is not None else _runtime_dir(os.environ)
    found: list[tuple[float, ServerInfo]] = []
    for path in folder.glob("jpserver-*.json"):
        try:
            info = json.loads(path.read_text())
            mtime = path.stat().st_mtime
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict) or not info.get("url") or info.get("sock"):
            continue
        if not _alive(info.get("pid")):
            continue
        url = str(info["url"])
        found.append(
            (
                mtime,
                ServerInfo(
                    url=url if url.endswith("/") else url + "/",
                    token=str(info.get("token") or ""),
                    pid=info.get("pid"),
                    root_dir=info.get("root_dir"),
                ),
            )
        )
    return [info for _mtime, info in sorted(found, key=lambda item: item[0], reverse=True)]


def _contains(root: str | None, path: str) -> bool:
    if not root:
        return False
    try:
        return os.path.commonpath([os.path.realpath(root), os.path.realpath(path)]) == os.path.realpath(root)
    except ValueError:
        return False


def candidates(environ: Mapping[str, str] | None = None, cwd: str | None = None) -> list[ServerInfo]:
    """The servers to try, newest first: the env override alone, else the running servers whose
    root_dir holds ``cwd`` (the kernel's folder). Another server on the machine (someone else's lab,
    a test server) is never used: it could not open the notebook's relative paths, and its sidebar
    would not be the one the user is looking at. Empty when disabled."""
    environ = os.environ if environ is None else environ
    setting = server_setting(environ)
    if setting.disabled:
        return []
    if setting.url:
        return [ServerInfo(url=setting.url, token=setting.token, source="env")]
    cwd = cwd or os.getcwd()
    servers = running_servers(_runtime_dir(environ))
    return [server for server in servers if _contains(server.root_dir, cwd)]
