"""The jupyter_server extension (server mode: docs/architecture.md, "Where tasks run"): it runs in the Jupyter
server and owns the tasks it runs.

* :mod:`.app` (``CmbJupyter``, the ExtensionApp: traitlets and the route table);
* :mod:`.handlers` (REST) and :mod:`.websocket` (event streams), on :mod:`._base`'s auth;
* :mod:`.registry` (queue, running tasks), :mod:`.replay` (per-task event buffers),
  :mod:`.recovery` (sessions across server restarts).

The kernel side (finding this server, submitting, following) is :mod:`cmbjupyter.remote`; neither
package imports the other. The extension point below imports the app only when jupyter_server asks.
"""

from __future__ import annotations

from typing import Any

from .._version import __version__

# __version__: `jupyter server extension list` shows it beside "cmbjupyter.server ... OK".
__all__ = ["__version__", "_jupyter_server_extension_points"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Where jupyter_server finds the extension (``cmbjupyter.server`` in ``jpserver_extensions``)."""
    from .app import CmbJupyter

    return [{"module": "cmbjupyter.server", "app": CmbJupyter}]
