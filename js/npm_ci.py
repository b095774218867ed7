"""The build function of pyproject.toml's jupyter-builder hook: ``npm ci`` (the lockfile's versions
exactly, failing when package.json and the lockfile disagree), then ``npm run <build_cmd>``.
hatch-jupyter-builder's own ``npm_builder`` always runs ``npm install``, which may rewrite the lockfile.

The hook calls this only when a build output is missing (``skip-if-exists``): a wheel built from the
sdist, which ships both outputs, never runs npm. ``HATCH_JUPYTER_BUILDER_SKIP_NPM=1`` skips it, as
with ``npm_builder``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["build"]


def build(
    target_name: str,
    version: str,
    path: str = "js",
    build_cmd: str = "build",
    editable_build_cmd: str | None = None,
) -> None:
    """``npm ci`` then ``npm run`` the build script, in ``path``."""
    del target_name  # the same build for the sdist and the wheel
    if os.environ.get("HATCH_JUPYTER_BUILDER_SKIP_NPM") == "1":
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "npm is needed to build the widget and the sidebar from a checkout (a wheel built from "
            "the sdist needs none): install Node.js 20 or newer"
        )
    script = (editable_build_cmd or build_cmd) if version == "editable" else build_cmd
    cwd = Path(path).resolve()
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=cwd, check=True)
    subprocess.run([npm, "run", script], cwd=cwd, check=True)
