"""The server and a hostile sessions folder: a FIFO, a symlink, a device link or an oversize file never
hangs startup or any route, is never served as content, and a symlinked event log is never appended
to. Listing is paged and runs off the event loop, so other requests are answered meanwhile."""

from __future__ import annotations

import asyncio
import json
import os
import threading

import pytest

from cmbjupyter.session import MAX_SIDECAR_BYTES, SessionManager
from tests.reliability.test_hostile_sessions import SECRET, outside  # noqa: F401 - a pytest fixture

pytestmark = pytest.mark.timeout(180)  # a regression blocks the server's loop: fail, do not hang

#: Generous bound for one request on a loaded machine (a blocked loop never answers at all).
ANSWER_WITHIN = 30


@pytest.fixture
def sessions_dir(tmp_path, outside):  # noqa: F811 - the imported fixture
    """A folder that is hostile before the server starts (its startup reads every sidecar)."""
    root = tmp_path / "sessions"
    SessionManager(root).save_session_state("good", [], {}, "p")
    os.mkfifo(root / "x.json")
    (root / "linked.json").symlink_to(outside)
    (root / "zero.json").symlink_to("/dev/zero")
    with (root / "big.json").open("wb") as file:
        file.truncate(MAX_SIDECAR_BYTES + 1)
    return root


async def _within(awaitable):
    return await asyncio.wait_for(awaitable, ANSWER_WITHIN)


async def test_the_server_starts_and_answers_beside_a_fifo_and_odd_files(api, jp_fetch):
    status = await _within(api.get("status"))
    assert status["name"] == "cmbjupyter"
    server = await _within(jp_fetch("api", "status"))  # jupyter_server's own route
    assert server.code == 200
    listing = await _within(api.get("sessions"))
    rows = {s["session_id"]: s for s in listing["sessions"]}
    assert rows["good"]["status"] == "active"
    reasons = {name: rows[name]["error"] for name in ("x", "linked", "zero", "big")}
    assert all(rows[name]["status"] == "damaged" for name in reasons)
    assert "FIFO" in reasons["x"] and "symbolic link" in reasons["linked"]
    assert "symbolic link" in reasons["zero"] and f"{MAX_SIDECAR_BYTES}-byte limit" in reasons["big"]
    assert "secret" not in json.dumps(listing)


@pytest.mark.parametrize(
    ("session_id", "reason"), [("linked", "symbolic link"), ("x", "FIFO"), ("big", "limit")]
)
async def test_an_odd_sidecar_is_not_served(api, session_id, reason):
    code, body = await _within(api.call("GET", "sessions", session_id))
    assert code == 409 and reason in body["message"] and f"{session_id}.json" in body["message"]
    assert "secret" not in json.dumps(body)


async def test_a_task_never_appends_to_a_symlinked_event_log(api, sessions_dir, tmp_path):
    target = tmp_path / "victim.txt"
    target.write_text("untouched\n")
    (sessions_dir / "logged.events.jsonl").symlink_to(target)
    created = await api.submit("phase('work')\nprint('hello')\nresult = 7", session_id="logged")
    snapshot = await api.wait(created["task_id"])
    assert snapshot["result"]["result"] == 7
    assert target.read_text() == "untouched\n"
    assert (await api.get("sessions", "logged"))["status"] == "completed"


async def test_sessions_are_paged(api, sessions_dir):
    manager = SessionManager(sessions_dir)
    for i in range(12):
        manager.save_session_state(f"p{i:02d}", [], {}, "p")
    everything = (await api.get("sessions"))["sessions"]
    assert len(everything) == 17  # 12 + good + 4 damaged (listed last: they have no update time)
    page = await api.get("sessions", limit="5", offset="3")
    assert page["sessions"] == everything[3:8] and page["total"] == 17
    assert page["offset"] == 3 and page["limit"] == 5
    assert (await api.get("sessions", limit="5", offset="15"))["sessions"] == everything[15:]
    for bad in ({"limit": "-1"}, {"offset": "x"}, {"limit": "1.5"}):
        code, body = await api.call("GET", "sessions", params=bad)
        assert code == 400 and ("limit" in body["message"] or "offset" in body["message"]), body


async def test_a_request_is_answered_while_a_listing_runs(api, jp_fetch, sessions_dir, monkeypatch):
    """The listing waits on a gate (as it would on a slow disk); other requests must not."""
    import cmbjupyter._safefile as safefile

    for i in range(3):
        SessionManager(sessions_dir).save_session_state(f"slow{i}", [], {}, "p")
    gate, inside = threading.Event(), threading.Event()
    real = safefile.read_regular

    def slow_read(path, limit):
        inside.set()
        gate.wait(ANSWER_WITHIN * 2)
        return real(path, limit)

    monkeypatch.setattr(safefile, "read_regular", slow_read)
    listing = asyncio.ensure_future(api.get("sessions"))
    try:
        while not inside.is_set():
            assert not listing.done(), listing
            await asyncio.sleep(0.01)
        assert (await _within(api.get("status")))["name"] == "cmbjupyter"
        assert (await _within(jp_fetch("api", "status"))).code == 200
        assert not listing.done() and not gate.is_set()  # answered while the listing was still held
    finally:
        gate.set()
    rows = {s["session_id"] for s in (await _within(listing))["sessions"]}
    assert {"slow0", "slow1", "slow2", "good"} <= rows
