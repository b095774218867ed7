"""The ``cmbagent`` engine (placeholder until the Engines issue lands): says clearly what is missing."""

from __future__ import annotations

from typing import Any

from ...errors import EngineError

__all__ = ["run"]


def run(task: str, config: dict[str, Any], emit: Any) -> dict[str, Any]:
    raise EngineError(
        "the cmbagent engine is not available in this build of cmbjupyter: "
        "use engine='python' or engine='replay', or a 'package.module:callable' engine"
    )
