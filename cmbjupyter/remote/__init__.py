"""The kernel side of server mode: find the Jupyter server that holds this kernel's folder, submit
tasks to its cmbjupyter extension and follow them (docs/architecture.md: "Where tasks run").

* :mod:`.discovery` finds the server (runtime files, or ``CMBJUPYTER_SERVER_URL``);
* :mod:`.client` talks to it (REST with ``urllib``, events over tornado's WebSocket client);
* :mod:`.runs` turns a server task into the same :class:`~cmbjupyter.runs.Run` kernel mode returns.

Nothing here imports jupyter_server or :mod:`cmbjupyter.server` (the extension side): a kernel pays
for a few file reads and one loopback request, and the two hosts share only the wire format.
"""
