"""The package's version. Its one source is ``js/package.json`` (the labextension's version too):
hatch-nodejs-version writes it into the Python metadata when a wheel is built. A checkout on the path
reads that file (a millisecond); an installed package reads its metadata, once, only when asked
(``importlib.metadata`` costs tens of milliseconds, which a worker's start should not pay)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

__all__ = ["__version__"]  # noqa: F822 - a module __getattr__ reads it when asked

#: js/package.json of a checkout (absent from an installed wheel).
_PACKAGE_JSON = Path(__file__).resolve().parents[1] / "js" / "package.json"


@cache
def _version() -> str:
    try:
        package = json.loads(_PACKAGE_JSON.read_text())
    except (OSError, ValueError):
        package = {}
    if isinstance(package, dict) and package.get("name") == "cmbjupyter":
        return str(package["version"])
    from importlib.metadata import version

    return version("cmbjupyter")


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
