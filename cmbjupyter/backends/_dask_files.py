"""The files a run makes on a Dask worker, brought to the host that shows them.

On another machine, the run's work dir is not the host's: the plots a scientist wants to see are
there. Both halves of the transfer live here:

* the remote relay (:class:`RemoteFiles`, in ``_dask_remote.py``) reads each reported file of at most
  ``artifact_transfer_max_bytes`` (default :data:`DEFAULT_MAX_BYTES`) and sends it on the events
  queue as an ``["artifact_file", {"path", "data" (base64), "sha256"}]`` record just before its
  ``artifact`` event; a larger file stays there, and its event says where: ``remote:
  "<Dask worker address>:<absolute path>"``;
* the host (:class:`HostCopy`, in ``_dask_worker.py``) writes those files into its copy of the work
  dir, ``<host cwd>/dask_output/<run key>/`` (same relative paths), and the run's ``work_dir`` event
  names that copy (with ``remote`` naming the original), so thumbnails, file routes and the kernel's
  ``run.artifacts`` read the host's copy as they read a local run's folder.

When the Dask worker runs on the host's own machine (a LocalCluster: its host name is the host's), the
work dir is already where the host can read it, and nothing is copied.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import socket
from typing import Any, Final

from ..events import Event

__all__ = ["DEFAULT_MAX_BYTES", "HOST_DIR", "HostCopy", "RemoteFiles", "host_name"]

#: Files up to this size come back to the host (config ``artifact_transfer_max_bytes``).
DEFAULT_MAX_BYTES: Final = 5 * 1024 * 1024
#: The folder (under the host's cwd) holding the host's copies of remote runs' work dirs.
HOST_DIR: Final = "dask_output"


def host_name() -> str:
    """This machine's name, as the relay and the host compare them."""
    return socket.gethostname()


def _inside(root: str, relative: str) -> str | None:
    """The absolute path of ``relative`` under ``root``, or None when it would leave it."""
    real_root = os.path.realpath(root)
    path = os.path.realpath(os.path.join(root, relative))
    return path if os.path.commonpath([path, real_root]) == real_root and path != real_root else None


class RemoteFiles:
    """The relay's half: adds the bytes of small reported files to the records it sends."""

    def __init__(self, address: str, host: str | None, max_bytes: int | None) -> None:
        self.address = address
        #: Copy only when the host is another machine (it cannot read this one's files).
        self.enabled = host is not None and host != host_name()
        self.max_bytes = DEFAULT_MAX_BYTES if max_bytes is None else int(max_bytes)
        self.work_dir: str | None = None

    def records(self, batch: list[Event]) -> list[Any]:
        """``batch`` with an ``artifact_file`` record before each artifact event it can carry."""
        if not self.enabled:
            return batch  # type: ignore[return-value]
        records: list[Any] = []
        for event in batch:
            kind, data = event.get("type"), event.get("data")
            if kind == "work_dir" and isinstance(data, dict) and isinstance(data.get("path"), str):
                self.work_dir = data["path"]
            elif kind == "artifact" and isinstance(data, dict) and self.work_dir is not None:
                record = self._file(data)
                if record is not None:
                    records.append(["artifact_file", record])
            records.append(event)
        return records

    def _file(self, data: dict[str, Any]) -> dict[str, Any] | None:
        relative = data.get("path")
        path = _inside(self.work_dir or "", relative) if isinstance(relative, str) else None
        if path is None:
            return None
        size = data.get("size")
        if not isinstance(size, int) or size > self.max_bytes:
            data["remote"] = f"{self.address}:{path}"
            return None
        try:
            with open(path, "rb") as f:
                content = f.read(self.max_bytes + 1)
        except OSError:
            return None
        sha = hashlib.sha256(content).hexdigest()
        if len(content) > self.max_bytes or sha != data.get("sha256"):
            return None  # it changed since: its next artifact event brings it
        return {"path": relative, "data": base64.b64encode(content).decode("ascii"), "sha256": sha}


class HostCopy:
    """The host's half: the local copy of a remote run's work dir."""

    def __init__(self, base: str, key: str) -> None:
        self.root = os.path.join(os.path.abspath(base), HOST_DIR, key)
        self.active = False
        self.remote: str | None = None

    def started(self, info: dict[str, Any]) -> None:
        """The relay said where the worker runs: another machine's files are copied here."""
        self.active = info.get("host") not in (None, host_name())
        self.remote = info.get("worker")

    def event(self, event: Event) -> None:
        """A remote ``work_dir`` names the host's copy (and, as ``remote``, the original)."""
        data = event.get("data")
        if self.active and event.get("type") == "work_dir" and isinstance(data, dict):
            data["remote"] = f"{self.remote}:{data.get('path')}"
            data["path"] = self.root

    def write(self, record: Any) -> None:
        """Write one transferred file (confined to the copy; a bad record is ignored)."""
        if not self.active or not isinstance(record, dict) or not isinstance(record.get("path"), str):
            return
        os.makedirs(self.root, exist_ok=True)
        path = _inside(self.root, record["path"])
        if path is None:
            return
        with contextlib.suppress(OSError, ValueError, TypeError):
            content = base64.b64decode(record["data"], validate=True)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            temporary = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.part")
            with open(temporary, "wb") as f:
                f.write(content)
            os.replace(temporary, path)
