"""Entry point of the isolated worker:
``python -m cmbjupyter.worker --event-fd N --control-fd M [--host-pid P] [--warm ENGINE]``.

The host passes two private pipes: events go out on one, the task spec (and later, human input)
comes in on the other. The very first thing the worker does, before importing anything beyond the
interpreter's own modules, is to say it is up: the host marks the DAG's ``start`` node completed on
that event, so a user sees the run start as soon as a bare interpreter would. Right after, it ties
its life to the host's (``--host-pid``, see ``_guard.py``): a worker never outlives its host.

``--warm ENGINE``: a pool's worker (``cmbjupyter/backends/warm.py``). It ties its life to its host
the same way, imports the engine's heavy modules (``_warm.py``), says ``warm`` and waits for its
one task (``cold`` instead: the engine did not import); it says it is up (the same first event)
once the task's environment and folder are set.

The host starts it as ``python -c "...; start(sys.argv[1:])"`` (``backends/local.py``), the same
as ``-m`` without runpy: ``-m`` imports ``runpy`` and ``importlib.util`` first, which took 5 ms of CPU before
the first event, half of what a bare ``python -c pass`` takes.
"""

import os
import sys
import time


def _hello(event_fd: int, status: str = "running") -> None:
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int((now % 1) * 1e6):06d}+00:00"
    pid = os.getpid()
    os.write(
        event_fd,
        b'{"v":1,"type":"status","ts":"%s","data":{"status":"%s",'
        b'"message":"worker %d started","pid":%d}}\n' % (stamp.encode(), status.encode(), pid, pid),
    )


def _options(argv: list[str]) -> tuple[int, int, int | None, str | None]:
    options = dict(zip(argv[::2], argv[1::2], strict=False))
    try:
        host = options.get("--host-pid")
        event_fd, control_fd = int(options["--event-fd"]), int(options["--control-fd"])
        return event_fd, control_fd, int(host) if host else None, options.get("--warm")
    except (KeyError, ValueError):
        sys.exit(
            "usage: python -m cmbjupyter.worker --event-fd N --control-fd M [--host-pid P] [--warm ENGINE]"
        )


def start(argv: list[str]) -> None:
    """Run the worker with ``argv`` (the options above); never returns."""
    event_fd, control_fd, host_pid, warm = _options(argv)
    if warm is None:
        _hello(event_fd)
    from ._guard import arm

    guard = arm(host_pid, event_fd)  # race-free even now: it checks the host is still the parent
    if warm is not None:
        from ._warm import preload

        _hello(event_fd, "warm" if preload(warm) else "cold")
    from .runner import main

    main(event_fd, control_fd, guard, hello=None if warm is None else lambda: _hello(event_fd))


if __name__ == "__main__":
    start(sys.argv[1:])
