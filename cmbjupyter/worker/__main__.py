"""Entry point of the isolated worker:
``python -m cmbjupyter.worker --event-fd N --control-fd M [--host-pid P]``.

The host passes two private pipes: events go out on one, the task spec (and later, human input)
comes in on the other. The very first thing the worker does, before importing anything beyond the
interpreter's own modules, is to say it is up: the host marks the DAG's ``start`` node completed on
that event, so a user sees the run start as soon as a bare interpreter would. Right after, it ties
its life to the host's (``--host-pid``, see ``_guard.py``): a worker never outlives its host.
"""

import os
import sys
import time


def _hello(event_fd: int) -> None:
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int((now % 1) * 1e6):06d}+00:00"
    pid = os.getpid()
    os.write(
        event_fd,
        b'{"v":1,"type":"status","ts":"%s","data":{"status":"running",'
        b'"message":"worker %d started","pid":%d}}\n' % (stamp.encode(), pid, pid),
    )


def _options(argv: list[str]) -> tuple[int, int, int | None]:
    options = dict(zip(argv[::2], argv[1::2], strict=False))
    try:
        host = options.get("--host-pid")
        return int(options["--event-fd"]), int(options["--control-fd"]), int(host) if host else None
    except (KeyError, ValueError):
        sys.exit("usage: python -m cmbjupyter.worker --event-fd N --control-fd M [--host-pid P]")


if __name__ == "__main__":
    event_fd, control_fd, host_pid = _options(sys.argv[1:])
    _hello(event_fd)
    from ._guard import arm

    guard = arm(host_pid, event_fd)  # race-free even now: it checks the host is still the parent
    from .runner import main

    main(event_fd, control_fd, guard)
