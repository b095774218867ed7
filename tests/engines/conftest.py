"""The cmbagent engine's tests: the real cmbagent against the scripted OpenAI-compatible (and Mistral
OCR) server on 127.0.0.1, the one test double; everything else is real.

Every test that uses ``seed_engine_env`` runs once per cmbagent environment (:data:`ENVS`): the newest
cmbagent on Python 3.13 (``make cmbagent-313``) and the post30 fallback on the kernel's 3.11
(``make cmbagent-311``), plus MARS's cmbagent-update when ``make cmbagent-update`` made it. A missing
environment skips its tests locally; in CI (``$CI`` set) a missing required one fails them instead."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from cmbjupyter.testing.llm_server import ScriptedLLMServer

ROOT: Final = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class CmbagentEnv:
    """One cmbagent environment: its link in the clone, the make target that builds it, whether CI
    needs it, and whether its cmbagent has the newest API (every mode, ``restart_at_step``)."""

    name: str
    link: str
    target: str
    required: bool
    newest: bool
    interpreter: str  # the Python it runs on, major.minor

    @property
    def python(self) -> Path:
        return ROOT / self.link / "bin" / "python"


#: The environments the engine's tests run against.
ENVS: Final = (
    CmbagentEnv("post63-py313", ".venv-cmbagent-313", "cmbagent-313", True, newest=True, interpreter="3.13"),
    CmbagentEnv("post30-py311", ".venv-cmbagent", "cmbagent-311", True, newest=False, interpreter="3.11"),
    CmbagentEnv(
        "update-py313", ".venv-cmbagent-update", "cmbagent-update", False, newest=True, interpreter="3.13"
    ),
)


@pytest.fixture(scope="session", params=ENVS, ids=[env.name for env in ENVS])
def cmbagent_env(request) -> CmbagentEnv:
    env: CmbagentEnv = request.param
    if not env.python.exists():
        message = f"{env.python} is missing (`make {env.target}` makes it)"
        if env.required and os.environ.get("CI"):
            pytest.fail(f"{message}: `make cmbagent` (part of `make test`) installs it")
        pytest.skip(message)
    return env


@pytest.fixture
def cmbagent_python(cmbagent_env) -> str:
    return str(cmbagent_env.python)


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
    monkeypatch.setenv("MISTRAL_API_KEY", "mistral-test-offline")
    monkeypatch.setenv("MISTRAL_SERVER_URL", llm_server.mistral_url)
    monkeypatch.setenv("CMBJUPYTER_PYTHON", cmbagent_python)
    monkeypatch.delenv("CMBJUPYTER_ENGINE", raising=False)
    monkeypatch.chdir(tmp_path)
    yield llm_server
    llm_server.reset()
