"""Build the tiny resolver programs of this directory (lookup.go with CGO_ENABLED=0,
Lookup.java) for tests that run the real runtimes; node runs lookup.js as it is.

Each program prints ``NAME ADDR...`` per name given, in the order its runtime returned;
with ``LOOKUP_HOLD`` set in its environment it then waits until its stdin closes, so a
test can look at the running process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOOKUP_JS = HERE / "lookup.js"


def node() -> str | None:
    return shutil.which("node") or shutil.which("nodejs")


def build_go(out: Path) -> tuple[str | None, str | None]:
    """(path of the static pure-Go lookup binary, None) or (None, why not)."""
    go = shutil.which("go")
    if go is None:
        return None, "go not installed (apt-get install golang-go)"
    env = dict(os.environ, CGO_ENABLED="0", GOCACHE=str(out / "gocache"),
               GOPATH=str(out / "gopath"), GOFLAGS="-mod=mod", GO111MODULE="off")
    exe = out / "lookup-go"
    p = subprocess.run([go, "build", "-o", str(exe), str(HERE / "lookup.go")], env=env,
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return None, f"go build failed: {p.stderr[-300:]}"
    return str(exe), None


def build_java(out: Path) -> tuple[str | None, str | None]:
    """(the java launcher, None) with Lookup.class in ``out`` (the classpath), or
    (None, why not)."""
    java, javac = shutil.which("java"), shutil.which("javac")
    if java is None or javac is None:
        return None, "java/javac not installed (apt-get install openjdk-17-jdk-headless)"
    p = subprocess.run([javac, "-d", str(out), str(HERE / "Lookup.java")],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return None, f"javac failed: {p.stderr[-300:]}"
    return java, None
