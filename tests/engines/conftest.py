"""The cmbagent engine's tests: the real cmbagent (in .venv-cmbagent, `make cmbagent`) against the
scripted OpenAI-compatible server on 127.0.0.1, the one test double; everything else is real.

Without .venv-cmbagent these tests skip locally; in CI (``$CI`` set) they fail instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cmbjupyter.testing.llm_server import ScriptedLLMServer

CMBAGENT_PYTHON = Path(__file__).resolve().parents[2] / ".venv-cmbagent" / "bin" / "python"


@pytest.fixture
def cmbagent_python() -> str:
    if not CMBAGENT_PYTHON.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CMBAGENT_PYTHON} is missing: `make cmbagent` (part of `make test`) installs it")
        pytest.skip(f"{CMBAGENT_PYTHON} is missing (run `make cmbagent`)")
    return str(CMBAGENT_PYTHON)


@pytest.fixture(scope="session")
def llm_server():
    """One scripted server for the session; ``seed_engine_env`` gives each test a fresh script."""
    with ScriptedLLMServer() as server:
        yield server


@pytest.fixture
def seed_engine_env(monkeypatch, tmp_path, cmbagent_python, llm_server):
    """The default engine (cmbagent) pointed at the scripted server, working in a temporary folder."""
    llm_server.reset()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-offline")
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("CMBJUPYTER_PYTHON", cmbagent_python)
    monkeypatch.delenv("CMBJUPYTER_ENGINE", raising=False)
    monkeypatch.chdir(tmp_path)
    yield llm_server
    llm_server.reset()
