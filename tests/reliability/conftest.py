"""Fixtures of the reliability suite (the core suite's executor/collector fixtures, reused)."""

from tests.core.conftest import collected, executor, run_python, sessions  # noqa: F401 - pytest fixtures
