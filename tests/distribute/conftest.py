"""Helpers of the multi-device tests: run a body of `_scripts.py` in a fresh subprocess and read its result."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(ROOT, "tests", "distribute", "_scripts.py")


def run_script(which, env_extra, timeout=600):
    """The `RESULT` json of `python tests/distribute/_scripts.py <which>` with `env_extra` on top of this process's
    environment (the JAX cache and XLA flags of tests/conftest.py are inherited)."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **env_extra)
    proc = subprocess.run([sys.executable, SCRIPTS, which], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        pytest.fail(f"{which} subprocess failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return json.loads(lines[-1][len("RESULT "):])
