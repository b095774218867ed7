"""The local backend: the worker is a subprocess of this host, in a process group of its own.

Three pipes come back from the worker: the private event pipe, and its file descriptors 1 and 2,
which catch whatever C extensions, child processes or faulthandler write below Python. All three
are read by asyncio protocols that turn bytes into batches of events on one queue, so the executor
consumes a single ordered stream. When the consumer falls behind, reading pauses (the worker then
blocks on its writes): memory stays bounded instead of queueing a flood.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Final, Protocol

from ..events import Event, LineDecoder, dumps, output_event
from .process_tree import TREE_VAR, identity, signal_tree

__all__ = [
    "HIGH_WATER",
    "LOW_WATER",
    "LocalBackend",
    "LocalWorker",
    "WarmSource",
    "interpreter_environment",
    "signal_name",
    "worker_environ",
]

#: How a worker starts: ``python -m cmbjupyter.worker`` without runpy, whose imports took 5 ms of
#: CPU before the worker's first event (its options follow on the command line).
BOOT: Final = "import sys; from cmbjupyter.worker.__main__ import start; start(sys.argv[1:])"

#: Events waiting for the consumer before the pipes stop being read (a few MB at most).
HIGH_WATER: Final = 8192
LOW_WATER: Final = 1024
#: A partial line on stdout/stderr is sent after this many seconds without its newline.
PARTIAL_LINE_DELAY: Final = 0.1
#: Longest stdout/stderr line sent as one event; longer lines are split.
LINE_CHARS: Final = 64 * 1024
#: The directory that holds the ``cmbjupyter`` package, put on PYTHONPATH of foreign interpreters.
PACKAGE_PARENT: Final = str(Path(__file__).resolve().parents[2])


class _Feed(asyncio.Protocol):
    """Reads one pipe into the worker's queue (events, or text lines made into output events)."""

    def __init__(self, worker: LocalWorker, stream: str | None) -> None:
        self.worker = worker
        self.stream = stream  # None: the event pipe
        self.transport: asyncio.ReadTransport | None = None
        self._decoder = LineDecoder() if stream is None else None
        self._text = codecs.getincrementaldecoder("utf-8")("replace") if stream else None
        self._partial = ""
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._decoder is not None:
            batch = self._decoder.feed(data)
        else:
            batch = self._lines(self._text.decode(data))  # type: ignore[union-attr]
        if batch:
            self.worker._push(batch)

    def _lines(self, text: str, final: bool = False) -> list[Event]:
        *lines, self._partial = (self._partial + text).split("\n")
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        events = [event for line in lines for event in self._pieces(line.rstrip("\r"), line_ends=True)]
        if self._partial and (final or len(self._partial) >= LINE_CHARS):
            partial, self._partial = self._partial, ""
            events += self._pieces(partial, line_ends=final)
        if self._partial:
            self._timer = asyncio.get_running_loop().call_later(PARTIAL_LINE_DELAY, self._flush_partial)
        return events

    def _pieces(self, line: str, *, line_ends: bool) -> list[Event]:
        """One line (or the start of one) as events of at most LINE_CHARS; every piece but a line's
        last is marked ``partial``, so the host redacts a secret cut between two pieces."""
        stream = self.stream or "stdout"
        events = []
        for start in range(0, max(len(line), 1), LINE_CHARS):
            event = output_event(line[start : start + LINE_CHARS], stream)
            if not line_ends or start + LINE_CHARS < len(line):
                event["data"]["partial"] = True
            events.append(event)
        return events

    def _flush_partial(self) -> None:
        self._timer = None
        if self._partial:
            partial, self._partial = self._partial, ""
            self.worker._push(self._pieces(partial, line_ends=False))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._decoder is not None:
            rest = self._decoder.close()
        else:
            rest = self._lines(self._text.decode(b"", final=True), final=True)  # type: ignore[union-attr]
        if rest:
            self.worker._push(rest)
        self.worker._closed(self.stream)


class LocalWorker:
    """One running worker process: its event stream, control channel, signals and exit status."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.event_pipe_open = True
        self.event_pipe_closed = asyncio.Event()
        self.pipes_closed = asyncio.Event()
        #: Batches, and the name of each pipe (see :meth:`items`) right after its last batch.
        self._queue: asyncio.Queue[list[Event] | str] = asyncio.Queue()
        self._feeds: list[_Feed] = []
        self._open_feeds = 0
        self._paused = False
        self._queued = 0  # events in the queue
        self._control: int | None = None
        #: Marks every process of this worker's tree (its environment), found even once orphaned.
        self.tree_id = uuid.uuid4().hex

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def returncode(self) -> int | None:
        """The exit status once the worker has exited (negative: killed by that signal)."""
        return self.process.returncode if self.process else None

    async def start(
        self, spec: Mapping[str, Any], *, python: str, env: Mapping[str, str], cwd: str | None = None
    ) -> None:
        await self.launch(python=python, env=env, cwd=cwd)
        await self.send(spec)

    async def launch(
        self, *, python: str, env: Mapping[str, str], cwd: str | None = None, warm: str | None = None
    ) -> None:
        """Start the process and read its pipes; ``warm``: a pool's worker for that engine, which
        imports it and waits for its spec (see ``cmbjupyter/worker/_warm.py``)."""
        loop = asyncio.get_running_loop()
        event_r, event_w = os.pipe()
        control_r, control_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        child_ends = (event_w, control_r, out_w, err_w)
        try:
            self.process = await asyncio.create_subprocess_exec(
                python,
                "-c",
                BOOT,
                "--event-fd",
                str(event_w),
                "--control-fd",
                str(control_r),
                "--host-pid",  # the worker ends itself and its tree when this process is gone
                str(os.getpid()),
                *(("--warm", warm) if warm is not None else ()),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out_w,
                stderr=err_w,
                pass_fds=(event_w, control_r),
                start_new_session=True,
                env={**env, TREE_VAR: self.tree_id},
                cwd=cwd,
            )
        except BaseException:
            for fd in (event_r, control_w, out_r, err_r):
                os.close(fd)
            raise
        finally:
            for fd in child_ends:
                os.close(fd)
        self._control = control_w
        for name, fd in ((None, event_r), ("stdout", out_r), ("stderr", err_r)):
            feed = _Feed(self, name)
            await loop.connect_read_pipe(lambda feed=feed: feed, os.fdopen(fd, "rb", buffering=0))
            self._feeds.append(feed)
            self._open_feeds += 1

    async def warmed(self) -> str | None:
        """Wait until a warm worker has imported its engine: ``"warm"``, or ``"cold"`` if the engine
        did not import; what it printed meanwhile is dropped, so its task's stream starts with the
        task. None if it ended first."""
        while self._open_feeds or not self._queue.empty():
            item = await self._queue.get()
            if item.__class__ is not list:
                continue
            self._queued -= len(item)  # type: ignore[arg-type]
            if self._paused and self._queued <= LOW_WATER:
                self._set_reading(True)
            for event in item:  # type: ignore[union-attr]
                status = event.get("data", {}).get("status") if event.get("type") == "status" else None
                if status in ("warm", "cold"):
                    return status
        return None

    async def send(self, message: Mapping[str, Any]) -> None:
        """Write one control message (the spec, an input answer). Raises BrokenPipeError if gone."""
        if self._control is None:
            raise BrokenPipeError("the worker's control channel is closed")
        payload = (dumps(message) + "\n").encode()
        fd = self._control

        def write() -> None:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]

        await asyncio.to_thread(write)

    async def batches(self) -> AsyncIterator[list[Event]]:
        """Every event of the worker, in batches, until all three pipes are closed."""
        async for item in self.items():
            if item.__class__ is list:
                yield item

    async def items(self) -> AsyncIterator[list[Event] | str]:
        """The batches of :meth:`batches`, with ``"events"``, ``"stdout"`` or ``"stderr"`` in between
        at the point where that pipe closed (after its last batch).

        The Dask forwarder relays this stream as it is, so a host on another machine sees the event
        pipe close at exactly the place a local host would.
        """
        while self._open_feeds or not self._queue.empty():
            item = await self._queue.get()
            if item.__class__ is list:
                self._queued -= len(item)
            if self._paused and self._queued <= LOW_WATER:
                self._set_reading(True)
            yield item

    def _push(self, batch: list[Event]) -> None:
        self._queue.put_nowait(batch)
        self._queued += len(batch)
        if not self._paused and self._queued >= HIGH_WATER:
            self._set_reading(False)

    def _set_reading(self, reading: bool) -> None:
        self._paused = not reading
        for feed in self._feeds:
            if feed.transport is not None and not feed.transport.is_closing():
                (feed.transport.resume_reading if reading else feed.transport.pause_reading)()

    def _closed(self, stream: str | None) -> None:
        if stream is None:
            self.event_pipe_open = False
            self.event_pipe_closed.set()
        self._open_feeds -= 1
        if not self._open_feeds:
            self.pipes_closed.set()
        self._queue.put_nowait(stream or "events")  # also wakes the consumer to see the count drop

    def close_pipes(self) -> None:
        """Stop reading (children that outlived the group kill may hold the pipes open)."""
        for feed in self._feeds:
            if feed.transport is not None and not feed.transport.is_closing():
                feed.transport.close()
        if self._control is not None:
            with contextlib.suppress(OSError):
                os.close(self._control)
            self._control = None

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the worker's whole tree: its process group, its descendants (daemons
        that left the group included: the worker is their subreaper) and, once the worker is gone,
        the processes it left, found by its tree id."""
        if self.process is not None:
            signal_tree(
                self.process.pid, signum, tree_id=self.tree_id, exited=self.process.returncode is not None
            )

    def identity(self) -> dict[str, Any] | None:
        """pid, start time and tree id of the worker (and of this host), for the session sidecar."""
        if self.process is None or self.process.returncode is not None:
            return None
        return identity(self.process.pid, self.tree_id)

    async def wait(self) -> int:
        assert self.process is not None
        return await self.process.wait()

    def pids(self) -> list[int]:
        """The worker and all its descendants (for the memory watchdog)."""
        if self.process is None or self.process.returncode is not None:
            return []
        try:
            import psutil

            root = psutil.Process(self.process.pid)
            return [root.pid, *(p.pid for p in root.children(recursive=True))]
        except Exception:
            return [self.process.pid]


def worker_environ(python: str | None, env: Mapping[str, str] | None) -> tuple[str, dict[str, str]]:
    """The interpreter and the whole environment a worker for ``python`` starts with, cold or warm
    (its PATH and VIRTUAL_ENV those of the interpreter's environment: see interpreter_environment)."""
    environ = dict(os.environ if env is None else env)
    if python:  # another environment (e.g. one with cmbagent): make our worker importable there
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_PARENT, environ.get("PYTHONPATH")]))
    environ.setdefault("PYTHONUNBUFFERED", "1")
    environ["PYTHONFAULTHANDLER"] = "1"
    interpreter = python or sys.executable
    return interpreter, interpreter_environment(interpreter, environ)


class WarmSource(Protocol):
    """Where :class:`LocalBackend` takes pre-started workers from (``cmbjupyter.backends.warm``)."""

    async def take(
        self, spec: Mapping[str, Any], *, python: str, env: Mapping[str, str], cwd: str | None
    ) -> LocalWorker | None: ...


class LocalBackend:
    """Starts workers as local subprocesses (the default backend).

    ``warm_source``: set by :func:`cmbjupyter.backends.warm.install` (the server extension,
    ``cmbjupyter.warm()``): a task takes a pre-started worker from it when one matches.
    """

    name = "local"
    warm_source: ClassVar[WarmSource | None] = None

    async def spawn(
        self,
        spec: Mapping[str, Any],
        *,
        python: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> LocalWorker:
        interpreter, environ = worker_environ(python, env)
        source = LocalBackend.warm_source
        if source is not None:
            warm = await source.take(spec, python=interpreter, env=environ, cwd=cwd)
            if warm is not None:
                return warm
        worker = LocalWorker()
        await worker.start(spec, python=interpreter, env=environ, cwd=cwd)
        return worker


def interpreter_environment(interpreter: str, environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with ``PATH`` (and ``VIRTUAL_ENV``) as an activated environment of ``interpreter``.

    The code the agents write runs in child processes that find ``python`` on PATH (AG2's
    LocalCommandLineCodeExecutor runs ``python <script>``): without this, it is whatever Python the
    kernel's PATH finds first, not the worker's, and a package of the worker's environment
    (camb, cmbagent...) is missing there. The interpreter's own folder comes first on PATH, and
    ``VIRTUAL_ENV`` names its venv (or is removed when it is in none: another venv's would lie).
    The interpreter path is not resolved: a venv's ``python`` is a symlink to its base Python.
    """
    bin_dir = os.path.dirname(os.path.abspath(interpreter))
    rest = [p for p in environ.get("PATH", os.defpath).split(os.pathsep) if p and p != bin_dir]
    result = {**environ, "PATH": os.pathsep.join([bin_dir, *rest])}
    result.pop("VIRTUAL_ENV", None)
    prefix = os.path.dirname(bin_dir)
    if os.path.isfile(os.path.join(prefix, "pyvenv.cfg")):
        result["VIRTUAL_ENV"] = prefix
    return result


def signal_name(returncode: int) -> str | None:
    """``"SIGSEGV"`` for a process killed by signal 11 (returncode -11), else None."""
    if returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"
