"""Engines importable by path (``"tests.core.engines_for_tests:square"``), as users write their own."""

from __future__ import annotations

from typing import Any


def square(task: str, config: dict[str, Any], emit: Any) -> dict[str, Any]:
    emit.output(f"squaring {task}", agent="mathematician")
    return {"square": int(task) ** 2}
