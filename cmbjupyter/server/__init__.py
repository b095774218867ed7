"""The jupyter_server extension (server mode, DESIGN.md "Where tasks run") and its kernel-side client.

* ``cmbjupyter.server.app.CmbJupyter``: the ExtensionApp (REST + WebSocket under ``/cmbagent/api``).
* ``cmbjupyter.server.client``: what a kernel uses to find a server and submit/watch tasks; it
  never imports jupyter_server, so importing this package from a kernel stays cheap. The
  extension point below imports the app only when jupyter_server asks for it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["_jupyter_server_extension_points"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Where jupyter_server finds the extension (``cmbjupyter.server`` in ``jpserver_extensions``)."""
    from .app import CmbJupyter

    return [{"module": "cmbjupyter.server", "app": CmbJupyter}]
