"""Host faults: the host killed mid-save, a full disk, damaged sidecars. Every sidecar stays the old
or the new version, never torn, and every damaged one is a clear error that never stops a listing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from typing import Final

import pytest

from cmbjupyter import SessionManager
from cmbjupyter.errors import SessionCorrupt, SessionWriteError

#: Kills at least this many savers (the README's "100 trials")...
TRIALS: Final = 100
#: ...and goes on until the kills landed after this many different saved versions, within MAX_TRIALS.
DISTINCT_KILL_POINTS: Final = 10
#: A generous bound: each trial targets one of 20 versions, so about 20 trials are enough on any machine.
MAX_TRIALS: Final = 1000

SAVER = textwrap.dedent(
    """
    import sys
    from cmbjupyter import SessionManager

    sessions = SessionManager(sys.argv[1])
    history = [{"role": "agent", "content": "x" * 3000} for _ in range(100)]
    version = 0
    while True:
        version += 1
        sessions.save_session_state("torn", history, {"version": version, "pad": "y" * (version % 7) * 1000},
                                    "execution", version)
        print(version, flush=True)
    """
)


def test_kill_9_during_save_never_leaves_a_torn_sidecar(tmp_path):
    """Each trial lets the saver finish a random number of saves (it says which, so the kill points
    do not depend on how fast this machine is), then kills it a random moment into the next one."""
    root = tmp_path / "sessions"
    SessionManager(root).save_session_state("torn", [], {"version": 0}, "start", 0)
    rng = random.Random(7)
    versions = set()
    trials = 0
    while trials < TRIALS or len(versions) <= DISTINCT_KILL_POINTS:
        assert trials < MAX_TRIALS, f"{trials} kills landed after only {len(versions)} different versions"
        trials += 1
        process = subprocess.Popen([sys.executable, "-c", SAVER, str(root)], stdout=subprocess.PIPE)
        target = rng.randint(1, 20)
        for line in process.stdout:  # the saved versions, one a line
            if int(line) >= target:
                break
        else:
            pytest.fail(f"the saver ended (code {process.wait()}) before it was killed")
        time.sleep(rng.uniform(0.0, 0.005))  # somewhere inside one of the next saves
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        record = SessionManager(root).load_session("torn")  # raises SessionCorrupt if torn
        assert record["context_variables"]["version"] == record["current_step"] >= target
        versions.add(record["current_step"])
    leftovers = [p.name for p in root.iterdir() if p.name != "torn.json"]
    assert all(name.startswith(".torn.json.") for name in leftovers)  # at most orphaned temp files
    assert SessionManager(root).list_sessions()[0]["session_id"] == "torn"


def _mount_tmpfs(path) -> bool:
    path.mkdir()
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(path)], capture_output=True
        ).returncode
        == 0
    )


@pytest.fixture
def full_disk(tmp_path):
    """A 192 KiB tmpfs (as root), else a process file-size limit: writes past it fail for real."""
    path = tmp_path / "small-disk"
    mounted = _mount_tmpfs(path)
    yield path, mounted
    if mounted:
        subprocess.run(["umount", str(path)], check=False)


def test_a_full_disk_is_a_clear_error_and_the_previous_state_is_kept(full_disk):
    path, mounted = full_disk
    code = textwrap.dedent(
        f"""
        import resource, sys
        from cmbjupyter import SessionManager
        from cmbjupyter.errors import SessionWriteError
        sessions = SessionManager({str(path / "sessions")!r})
        sessions.save_session_state("s", [], {{"v": 1}}, "first")
        if not {mounted}:
            resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        big = [{{"role": "agent", "content": "z" * 4000}} for _ in range(100)]
        try:
            sessions.save_session_state("s", big, {{"v": 2}}, "second")
        except SessionWriteError as exc:
            print("ERROR", exc)
        print("KEPT", sessions.load_session("s")["context_variables"])
        """
    )
    env = dict(os.environ)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGXFSZ, signal.SIG_IGN),
        timeout=60,
    )
    assert "ERROR could not save session 's'" in out.stdout, out.stderr
    assert ("No space left on device" if mounted else "File too large") in out.stdout
    assert "the previous version is kept" in out.stdout
    assert "KEPT {'v': 1}" in out.stdout
    assert sorted(p.name for p in (path / "sessions").iterdir()) == ["s.json"]


async def test_a_run_on_a_full_disk_goes_on_and_says_why_its_session_was_not_saved(
    executor, collected, monkeypatch
):
    import cmbjupyter.session as session_module

    original = session_module.atomic_write

    def failing_atomic_write(path, payload, **kwargs):
        if path.name == "ondisk.json" and b'"current_phase":"execution"' in payload:
            raise OSError(28, "No space left on device")
        return original(path, payload, **kwargs)

    monkeypatch.setattr(session_module, "atomic_write", failing_atomic_write)
    result = await executor.execute(
        "t",
        "phase('planning')\nphase('execution')\nresult = 1",
        {"engine": "python", "mode": "planning-control", "session_id": "ondisk"},
        collected,
    )
    assert result["result"] == 1
    warnings = [w["message"] for w in collected.of("warning")]
    assert any("No space left on device; the previous version is kept" in w for w in warnings)
    record = executor.session_manager.load_session("ondisk")
    assert record["current_phase"] == "planning"  # the last version that could be written


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b'{"version": 1, "session_id": "s", "conversation_history": [',
        b"\x89PNG\r\n\x1a\n",
        json.dumps({"version": 1000}).encode(),
        b"null",
        json.dumps({"version": "1"}).encode(),
    ],
)
def test_damaged_sidecars_never_stop_list_sessions(sessions, content):
    for i in range(3):
        sessions.save_session_state(f"good{i}", [], {}, "p")
    sessions.root.joinpath("damaged.json").write_bytes(content)
    listing = sessions.list_sessions()
    assert len(listing) == 4
    damaged = next(s for s in listing if s["session_id"] == "damaged")
    assert damaged["status"] == "damaged" and str(sessions.root) in damaged["error"]
    with pytest.raises(SessionCorrupt):
        sessions.load_session("damaged")


def test_an_unreadable_sidecar_is_damaged_not_a_crash(sessions):
    if os.geteuid() == 0:
        path = sessions.root / "locked.json"
        sessions.save_session_state("ok", [], {}, "p")
        path.mkdir()  # a directory where a file should be: unreadable even for root
    else:
        sessions.save_session_state("locked", [], {}, "p")
        (sessions.root / "locked.json").chmod(0)
    listing = {s["session_id"]: s["status"] for s in sessions.list_sessions()}
    assert listing["locked"] == "damaged"


def test_write_errors_are_os_errors_with_the_errno(sessions, monkeypatch):
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(13, "Permission denied")))
    with pytest.raises(SessionWriteError) as info:
        sessions.save_session_state("s", [], {}, "p")
    assert isinstance(info.value, OSError) and info.value.errno == 13
    assert str(info.value).endswith("Permission denied; the previous version is kept")
