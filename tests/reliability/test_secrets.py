"""Secrets never leave the process: API keys from the environment, the worker's env, the config and
the context are absent from every file cmbjupyter writes (sidecars, event logs, notebook metadata,
exported logs) -- checked by grepping the whole output tree."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from cmbjupyter.errors import TaskFailed
from cmbjupyter.notebook import write_session_summary

HOST_KEY = "sk-host-env-key-0123456789abcdef"
WORKER_SECRET = "worker-env-secret-ABCDEFGH"
CONFIG_KEY = "sk-config-key-9876543210"

LEAKY_TASK = f"""
import os, sys
print("my key is", os.environ["OPENAI_API_KEY"])
print("worker secret:", os.environ["SURVEY_DB_PASSWORD"], file=sys.stderr)
os.write(1, ("C level " + os.environ["SURVEY_DB_PASSWORD"] + "\\n").encode())
emit.output("agent saw " + config["api_keys"]["OPENAI"], agent="engineer")
phase("planning", context={{"token": "{CONFIG_KEY}", "note": "uses " + os.environ["OPENAI_API_KEY"],
                            "nested": {{"password": "hunter2hunter2"}}}})
record_usage("gpt-4o-mini", 10, 10)
emit.event("custom", {{"leak": os.environ["SURVEY_DB_PASSWORD"]}})
raise RuntimeError("failed with key " + os.environ["OPENAI_API_KEY"])
"""


def _grep(root, *secrets):
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            found += [(str(path), s) for s in secrets if s.encode() in content]
    return found


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", HOST_KEY)


async def test_no_secret_reaches_sidecars_event_logs_or_the_callback(
    secret_env, executor, collected, tmp_path
):
    config = {
        "engine": "python",
        "mode": "planning-control",
        "session_id": "leaky",
        "env": {"SURVEY_DB_PASSWORD": WORKER_SECRET},
        "api_keys": {"OPENAI": CONFIG_KEY},
    }
    with pytest.raises(TaskFailed) as info:
        await executor.execute("leaky", LEAKY_TASK, config, collected)
    assert HOST_KEY not in info.value.message  # the raised error is redacted too
    everything = repr(collected.events)
    for secret in (HOST_KEY, WORKER_SECRET, CONFIG_KEY, "hunter2hunter2"):
        assert secret not in everything
    assert "[redacted]" in everything
    summary = executor.state("leaky") or None
    notebook = tmp_path / "analysis.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), notebook)
    record = executor.session_manager.load_session("leaky")
    write_session_summary(
        notebook,
        {
            "session_id": "leaky",
            "status": record["status"],
            "error": record.get("error"),
            "context": record["context_variables"],
        },
    )
    assert summary is None
    assert _grep(tmp_path, HOST_KEY, WORKER_SECRET, CONFIG_KEY, "hunter2hunter2") == []
    assert executor.session_manager.event_log_path("leaky").stat().st_size > 0


def test_the_cli_export_is_redacted(secret_env, tmp_path):
    task = (
        "import os\nprint(os.environ['OPENAI_API_KEY'])\n"
        "phase('planning', context={'k': os.environ['OPENAI_API_KEY']})"
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cmbjupyter.cli",
            "run",
            task,
            "--engine",
            "python",
            "--session",
            "c",
            "--log",
            "export.jsonl",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "export.jsonl").stat().st_size > 0
    assert _grep(tmp_path, HOST_KEY) == []
