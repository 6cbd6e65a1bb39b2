"""Helpers for tests that start v6core in a subprocess (a namespace world, the daemon, the CLI).

The child must import the same v6core as the test process: the in-place build under
src/ during development, the installed package under CI.  So the path is taken from
the imported package, never assumed to be src/.
"""

from __future__ import annotations

import os
import sys
import time

import v6core

#: the directory that holds the v6core package the tests import
V6CORE_PATH = os.path.dirname(os.path.dirname(os.path.abspath(v6core.__file__)))
#: the interpreter running the tests (a venv's python under CI)
PYTHON = sys.executable


def subprocess_env(**extra: str) -> dict[str, str]:
    """os.environ with PYTHONPATH set so that a child ``python -m v6core`` finds this v6core."""
    path = os.environ.get("PYTHONPATH")
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = V6CORE_PATH + (os.pathsep + path if path else "")
    return env


def wait_until(pred, timeout: float, step: float = 0.05, what: str = "condition"):
    end = time.monotonic() + timeout
    while True:
        r = pred()
        if r:
            return r
        if time.monotonic() >= end:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)
