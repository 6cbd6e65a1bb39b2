"""Compile xdp_ndp.c into xdp_ndp.o with ``clang -target bpf`` (run by setup.py).

The object is shipped inside the package (``v6core/responder/bpf/xdp_ndp.o``) and loaded
at run time by :mod:`v6core.responder.xdp`.  Without clang (or Linux's UAPI headers) the
build goes on without it, and ``v6core respond --xdp`` then says so.  ``CLANG`` names
another compiler; the object is rebuilt only when the source is newer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "xdp_ndp.c")
OBJ = os.path.join(HERE, "xdp_ndp.o")


def build_bpf() -> str | None:
    """Build the object if needed; its path, or None (with a warning) when it cannot be."""
    if os.path.exists(OBJ) and os.path.getmtime(OBJ) >= os.path.getmtime(SRC):
        return OBJ
    clang = shutil.which(os.environ.get("CLANG", "clang"))
    if clang is None:
        print("v6core: clang not found; building without the XDP program "
              "(`v6core respond --xdp` will be unavailable)", file=sys.stderr)
        return None
    cmd = [clang, "-O2", "-g", "-Wall", "-Werror", "-target", "bpf"]
    try:   # <asm/types.h> lives in the multiarch include directory on Debian
        arch = subprocess.run([clang, "-print-multiarch"], capture_output=True, text=True,
                              check=True).stdout.strip()
        if arch:
            cmd.append(f"-I/usr/include/{arch}")
    except (OSError, subprocess.CalledProcessError):
        pass
    cmd += ["-c", SRC, "-o", OBJ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"v6core: compiling the XDP program failed; building without it:\n{r.stderr}",
              file=sys.stderr)
        return None
    return OBJ


if __name__ == "__main__":
    sys.exit(0 if build_bpf() else 1)
