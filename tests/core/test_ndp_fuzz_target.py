"""Keep the atheris fuzz target working: a short run must finish without a finding."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import subprocess_env

TARGET = Path(__file__).resolve().parent.parent / "fuzz" / "fuzz_ndp.py"


def test_fuzz_target_short_run(tmp_path):
    pytest.importorskip("atheris", reason="atheris not installed (pip install atheris)")
    env = subprocess_env()
    r = subprocess.run([sys.executable, str(TARGET), "-runs=3000", "-seed=1",
                        f"-artifact_prefix={tmp_path}/"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Done 3000 runs" in r.stderr
    assert not list(tmp_path.iterdir())        # no crash/leak/timeout artifacts
