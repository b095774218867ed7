"""The versions a cmbagent run records (the exported notebook's Methods cell names them)."""

from __future__ import annotations

import os
import subprocess

CODE = (
    "from cmbjupyter.worker.engines.cmbagent_api import ag2_version, distribution\n"
    "print(' '.join(distribution())); print(ag2_version())"
)


def test_the_cmbagent_and_ag2_versions_of_each_environment(cmbagent_python):
    out = subprocess.run(
        [cmbagent_python, "-c", CODE], capture_output=True, text=True, check=True, timeout=120, env=os.environ
    ).stdout.splitlines()
    cmbagent, ag2 = out
    assert cmbagent.split()[0] in ("cmbagent", "cmbagent-update") and cmbagent.split()[1][0].isdigit()
    assert (
        ag2.split()[0] in ("cmbagent-autogen", "ag2", "pyautogen", "autogen") and ag2.split()[1][0].isdigit()
    )
