"""Fifty namespaces, each with an address and a running process: a host full of containers."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from tests.nsutil import NetNS


@contextmanager
def fleet(n: int = 50) -> Iterator[list[tuple[NetNS, subprocess.Popen]]]:
    made: list[tuple[NetNS, subprocess.Popen]] = []
    try:
        for i in range(n):
            ns = NetNS.create("fleet")
            ns.ip("-6", "addr", "add", f"fd00:{i + 1:x}::2/128", "dev", "lo")
            p = ns.popen("sleep", "600")
            made.append((ns, p))
        yield made
    finally:
        for ns, p in made:
            p.kill()
            p.wait()
            ns.delete()
