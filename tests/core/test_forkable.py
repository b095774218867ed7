"""Which sessions can be forked: one list (protocol.json's ``forkable``) for the server's fork and
the browser's Fork button (js/src/fork.js reads the same file; js/test/fork.test.js)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cmbjupyter
from cmbjupyter import books, fork
from cmbjupyter.errors import ConfigError
from cmbjupyter.fork import fork_config
from tests.core.test_fork import THREE_STEPS

PROTOCOL = Path(cmbjupyter.__file__).parent / "protocol.json"


def test_the_forkable_engines_and_modes_are_protocol_json_s():
    forkable = json.loads(PROTOCOL.read_text())["forkable"]
    assert {engine: tuple(modes) for engine, modes in forkable.items()} == books.FORKABLE
    assert forkable["python"] == ["*"]
    assert tuple(forkable["cmbagent"]) == fork.CMBAGENT_RESTART_MODES  # what fork.py checks


async def test_a_session_of_an_engine_not_listed_is_refused_with_its_reason(executor, sessions, tmp_path):
    config = {"engine": "python", "mode": "planning-control", "work_dir": str(tmp_path / "p")}
    await executor.execute("parent", THREE_STEPS, {**config, "session_id": "p"})
    fork_config(sessions, "p", 2)  # listed: forks
    log = str(sessions.event_log_path("p"))
    await executor.execute("replayed", log, {**config, "engine": "replay", "session_id": "r"})
    assert "replay" not in books.FORKABLE
    refused = "the replay engine in mode 'planning-control' cannot restart mid-way"
    with pytest.raises(ConfigError, match=refused):
        fork_config(sessions, "r", 2)
