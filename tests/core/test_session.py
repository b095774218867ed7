"""Sessions: saved on every phase change, atomically, bounded, redacted, private, and always listable."""

from __future__ import annotations

import json
import os
import stat

import pytest

from cmbjupyter import SessionManager
from cmbjupyter.errors import InvalidSessionId, SessionCorrupt, SessionNotFound, SessionWriteError
from cmbjupyter.session import ENTRY_CHARS, HISTORY_ENTRIES


def test_the_seed_methods_create_save_complete_and_suspend(sessions):
    sid = sessions.create_session("s1", mode="one-shot", task="fit", config={"mode": "one-shot"})
    sessions.save_session_state(sid, [{"role": "system", "content": "hi"}], {"x": 1}, "planning", 2)
    record = sessions.load_session("s1")
    assert (
        record["status"] == "active" and record["current_phase"] == "planning" and record["current_step"] == 2
    )
    assert record["context_variables"] == {"x": 1} and record["version"] == 1
    sessions.suspend_session("s1", reason="worker died")
    assert sessions.load_session("s1")["status"] == "suspended"
    sessions.complete_session("s1", result={"ok": True})
    assert sessions.load_session("s1")["result"] == {"ok": True}


def test_the_default_root_is_dot_cmbagent_sessions(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    SessionManager().save_session_state("s", [], {}, "p")
    assert (tmp_path / ".cmbagent" / "sessions" / "s.json").is_file()


def test_conversation_history_is_bounded_and_each_entry_capped(sessions):
    history = [
        {"role": "agent", "content": f"{i}" + "x" * (ENTRY_CHARS * 2)} for i in range(HISTORY_ENTRIES * 3)
    ]
    sessions.save_session_state("s", history, {}, "p")
    saved = sessions.load_session("s")["conversation_history"]
    assert len(saved) == HISTORY_ENTRIES
    assert saved[0]["content"].startswith(str(HISTORY_ENTRIES * 2))
    assert all(len(e["content"]) < ENTRY_CHARS + 50 for e in saved)


def test_context_values_that_are_not_json_become_their_repr(sessions):
    class Model:
        def __repr__(self):
            return "Model(lcdm)"

    sessions.save_session_state("s", [], {"model": Model(), "nan": float("nan"), "s": {1}}, "p")
    assert sessions.load_session("s")["context_variables"] == {"model": "Model(lcdm)", "nan": None, "s": [1]}


def test_secrets_are_never_written(sessions, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-abcdefghijklmnop")
    config = {"env": {"MY_SERVICE_PASSWORD": "hunter2hunter2"}, "api_keys": {"OPENAI": "sk-other-1234567890"}}
    sessions.create_session("s", task="use sk-test-abcdefghijklmnop please", config=config)
    sessions.save_session_state(
        "s",
        [{"role": "agent", "content": "key is sk-other-1234567890 and hunter2hunter2"}],
        {"token": "abc", "note": "sk-test-abcdefghijklmnop"},
        "p",
    )
    raw = sessions.path("s").read_text()
    for secret in ("sk-test-abcdefghijklmnop", "hunter2hunter2", "sk-other-1234567890", '"abc"'):
        assert secret not in raw
    assert "[redacted]" in raw


def test_session_files_are_private(sessions):
    sessions.save_session_state("s", [], {}, "p")
    assert stat.S_IMODE(os.stat(sessions.root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(sessions.path("s")).st_mode) == 0o600


@pytest.mark.parametrize("bad", ["../escape", "a/b", "nul\x00", "x" * 129, "", "..", ".hidden", None, 42])
def test_session_ids_that_could_escape_the_root_are_refused(sessions, bad):
    with pytest.raises(InvalidSessionId, match="invalid session id"):
        sessions.save_session_state(bad, [], {}, "p")
    assert not sessions.root.exists() or list(sessions.root.iterdir()) == []


def test_a_write_that_fails_keeps_the_previous_version_and_leaves_no_temp_file(sessions, monkeypatch):
    sessions.save_session_state("s", [], {"v": 1}, "first")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(SessionWriteError, match="No space left on device; the previous version is kept"):
        sessions.save_session_state("s", [], {"v": 2}, "second")
    monkeypatch.undo()
    assert sessions.load_session("s")["context_variables"] == {"v": 1}
    assert sorted(p.name for p in sessions.root.iterdir()) == ["s.json"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"version": 1, "session_id": "s", "stat', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[]", "no format version"),
        (b'{"version": 99}', "format version 99, written by a newer cmbjupyter"),
        (b"\x00\xff", "not valid JSON"),
    ],
)
def test_damaged_sidecars_are_clear_errors_and_listed_as_damaged(sessions, content, message):
    sessions.save_session_state("good", [], {}, "p")
    sessions.root.joinpath("bad.json").write_bytes(content)
    with pytest.raises(SessionCorrupt, match=message):
        sessions.load_session("bad")
    listing = {s["session_id"]: s for s in sessions.list_sessions()}
    assert listing["good"]["status"] == "active"
    assert listing["bad"]["status"] == "damaged" and message.split(",")[0] in listing["bad"]["error"]


def test_a_missing_session_is_session_not_found_a_key_error(sessions):
    with pytest.raises(SessionNotFound, match="no session 'ghost'") as info:
        sessions.load_session("ghost")
    assert isinstance(info.value, KeyError)


async def test_the_executor_saves_on_every_phase_change_and_at_the_end(run_python, sessions, monkeypatch):
    saved_phases = []
    original = SessionManager.save_session_state

    def spy(
        self,
        session_id,
        conversation_history=None,
        context_variables=None,
        current_phase=None,
        current_step=None,
        **fields,
    ):
        saved_phases.append((current_phase, current_step))
        return original(
            self, session_id, conversation_history, context_variables, current_phase, current_step, **fields
        )

    monkeypatch.setattr(SessionManager, "save_session_state", spy)
    await run_python(
        "phase('planning')\nphase('execution', step=1)\nphase('execution', step=2)",
        session_id="phased",
        mode="planning-control",
    )
    assert saved_phases == [("planning", None), ("execution", 1), ("execution", 2), ("execution", 2)]
    record = sessions.load_session("phased")
    assert record["status"] == "completed"
    assert [n["status"] for n in record["dag"]["nodes"]] == ["completed"] * 4
    assert record["prices_version"] == "genai-prices 0.2.3"


async def test_a_long_run_is_saved_periodically_while_events_arrive(sessions):
    from cmbjupyter import IsolatedTaskExecutor

    executor = IsolatedTaskExecutor(session_manager=sessions, save_interval=0.2)
    await executor.execute(
        "t",
        "import time\nfor i in range(10):\n    print(i)\n    time.sleep(0.1)",
        {"engine": "python", "session_id": "periodic"},
    )
    history = sessions.load_session("periodic")["conversation_history"]
    assert [h["content"] for h in history] == [str(i) for i in range(10)]


async def test_the_event_log_is_written_beside_the_sidecar_and_replays_to_the_same_state(
    run_python, sessions
):
    from cmbjupyter.events import iter_log
    from cmbjupyter.state import RunState

    await run_python(
        "phase('planning')\nrecord_usage('gpt-4o', 10, 10)\nprint('hi')",
        session_id="logged",
        mode="planning-control",
    )
    with sessions.event_log_path("logged").open("rb") as log:
        events = list(iter_log(log))
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    state = RunState.from_events(events)
    record = sessions.load_session("logged")
    assert state.cost["total_usd"] == record["cost"]["total_usd"]
    assert state.status == "completed"
    assert json.loads(sessions.path("logged").read_text())["event_log"].endswith("logged.events.jsonl")


async def test_a_suspended_session_resumes_at_its_step_with_its_context(executor, sessions):
    from cmbjupyter.errors import TaskFailed

    task = """
start = config.get("restart_at_step") or 1
for n in range(start, 4):
    step(n, {"last": n})
    if n == 2 and not config.get("resume"):
        raise RuntimeError("crash at step 2")
result = {"started_at": start, "context": dict(context)}
"""
    with pytest.raises(TaskFailed, match="crash at step 2"):
        await executor.execute("first", task, {"engine": "python", "mode": "control", "session_id": "r1"})
    record = sessions.load_session("r1")
    assert record["status"] == "suspended" and record["current_step"] == 2
    result = await executor.resume("r1")
    assert result["result"]["started_at"] == 2
    assert result["result"]["context"]["last"] == 3
    assert sessions.load_session("r1")["status"] == "completed"
    assert sessions.load_session("r1")["resumed"] == 1
