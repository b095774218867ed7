"""A hostile sessions folder: symlinks, FIFOs, devices and oversize files where sidecars and event logs
should be. Nothing outside the folder is read or written through a link, nothing blocks, every odd file
is listed as damaged with the reason, and a run whose event log is refused still completes."""

from __future__ import annotations

import json
import os

import pytest

from cmbjupyter.errors import SessionCorrupt
from cmbjupyter.eventlog import EventLog
from cmbjupyter.events import make_event
from cmbjupyter.server.recovery import session_state, suspend_interrupted
from cmbjupyter.session import MAX_SIDECAR_BYTES, SessionManager

pytestmark = pytest.mark.timeout(120)  # a regression blocks on a FIFO: fail, do not hang the suite

SECRET = {"version": 1, "session_id": "outside", "status": "completed", "task": "the outside file's secret"}


@pytest.fixture
def outside(tmp_path):
    path = tmp_path / "outside.json"
    path.write_text(json.dumps(SECRET))
    return path


def _damaged(listing: list[dict], session_id: str) -> dict:
    row = next(s for s in listing if s["session_id"] == session_id)
    assert row["status"] == "damaged", row
    return row


def test_a_symlinked_sidecar_is_neither_read_nor_listed_as_content(sessions, outside):
    sessions.save_session_state("good", [], {}, "p")
    (sessions.root / "linked.json").symlink_to(outside)
    with pytest.raises(SessionCorrupt, match="symbolic link") as info:
        sessions.load_session("linked")
    assert str(sessions.root / "linked.json") in str(info.value)
    for listing in (sessions.list_sessions(), SessionManager(sessions.root).list_sessions()):
        row = _damaged(listing, "linked")
        assert "symbolic link" in row["error"] and "secret" not in json.dumps(listing)
        assert next(s for s in listing if s["session_id"] == "good")["status"] == "active"


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory"])
def test_what_is_not_a_regular_file_is_skipped_with_its_reason(sessions, kind, caplog):
    sessions.save_session_state("good", [], {}, "p")
    odd = sessions.root / "x.json"
    if kind == "fifo":
        os.mkfifo(odd)  # a blocking open would wait for a writer forever
    elif kind == "dev-zero":
        odd.symlink_to("/dev/zero")  # a read to EOF would never end
    else:
        odd.mkdir()
    with pytest.raises(SessionCorrupt, match=r"x\.json"):
        sessions.load_session("x")
    listing = sessions.list_sessions()
    reason = _damaged(listing, "x")["error"]
    assert {"fifo": "FIFO", "dev-zero": "symbolic link", "directory": "directory"}[kind] in reason
    assert "x.json" in caplog.text  # skipped with a warning
    assert suspend_interrupted(sessions) == []  # what a server runs at start: no hang either


def test_an_oversize_sidecar_is_refused_with_the_limit_named(sessions):
    big = sessions.root / "big.json"
    sessions.root.mkdir(parents=True)
    with big.open("wb") as file:
        file.write(b'{"version": 1, "session_id": "big", "task": "')
        file.truncate(MAX_SIDECAR_BYTES + 1)  # sparse: nothing is written, nothing need be read
    with pytest.raises(SessionCorrupt, match=f"{MAX_SIDECAR_BYTES}-byte limit"):
        sessions.load_session("big")
    assert "limit" in _damaged(sessions.list_sessions(), "big")["error"]


def test_the_event_log_never_appends_through_a_symlink(tmp_path, outside):
    before = outside.read_bytes()
    link = tmp_path / "s.events.jsonl"
    link.symlink_to(outside)
    log = EventLog(link)
    log.append(make_event("output", {"message": "hello"}))
    log.close()
    assert outside.read_bytes() == before
    assert log.error is not None and "symbolic link" in log.error and str(link) in log.error


def test_the_event_log_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "s.events.jsonl"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # with a reader, a plain open would succeed
    try:
        log = EventLog(fifo)
        log.append(make_event("output", {"message": "hello"}))
        log.close()
        assert log.error is not None and "FIFO" in log.error
    finally:
        os.close(reader)


async def test_a_run_whose_event_log_is_a_symlink_completes_and_leaves_the_target_alone(
    run_python, sessions, outside, collected
):
    before = outside.read_bytes()
    sessions.root.mkdir(parents=True)
    sessions.event_log_path("linked-log").symlink_to(outside)
    result = await run_python("phase('work')\nprint('hi')\nresult = 42", session_id="linked-log")
    assert result["result"] == 42
    assert outside.read_bytes() == before
    assert sessions.load_session("linked-log")["status"] == "completed"
    warnings = [w["message"] for w in collected.of("warning")]
    assert any("symbolic link" in w and "linked-log.events.jsonl" in w for w in warnings), warnings


def test_a_symlinked_event_log_is_not_read_to_rebuild_a_state(sessions, outside):
    sessions.save_session_state("s", [], {}, "p")
    sessions.event_log_path("s").symlink_to(outside)
    with pytest.raises(SessionCorrupt, match="symbolic link"):
        session_state(sessions, "s")


def test_an_unchanged_folder_is_listed_without_reading_its_sidecars_again(sessions, monkeypatch):
    for i in range(5):
        sessions.save_session_state(f"s{i}", [], {}, "p")
    first = sessions.list_sessions()
    import cmbjupyter._safefile as safefile

    reads: list[str] = []
    real = safefile.read_regular

    def counted(path, limit):
        reads.append(str(path))
        return real(path, limit)

    monkeypatch.setattr(safefile, "read_regular", counted)
    assert sessions.list_sessions() == first and reads == []
    sessions.save_session_state("s3", [], {}, "changed")
    (sessions.root / "s4.json").unlink()
    listing = sessions.list_sessions()
    assert reads == [str(sessions.root / "s3.json")]
    assert {s["session_id"]: s["phase"] for s in listing} == {
        "s0": "p",
        "s1": "p",
        "s2": "p",
        "s3": "changed",
    }
    assert listing[0]["session_id"] == "s3"  # newest first


def test_listing_pages_are_slices_of_the_newest_first_listing(sessions):
    for i in range(7):
        sessions.save_session_state(f"s{i}", [], {}, "p")
    everything = sessions.list_sessions()
    assert [s["session_id"] for s in everything] == [f"s{i}" for i in reversed(range(7))]
    page, total = sessions.list_page(offset=2, limit=3)
    assert total == 7 and page == everything[2:5]
    assert sessions.list_page(offset=6, limit=10) == (everything[6:], 7)
    assert sessions.list_page(offset=9, limit=10) == ([], 7)
    page[0]["mutated"] = True  # a caller's rows are its own
    assert "mutated" not in sessions.list_sessions()[2]
