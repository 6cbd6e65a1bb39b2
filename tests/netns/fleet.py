"""Fifty namespaces, each with an address and a running process: a host full of containers."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from tests.nsutil import NetNS
from tests.support import wait_until


def _settled(ns: NetNS, p: subprocess.Popen) -> bool:
    """``ip netns exec`` has entered the namespace and exec'd the command."""
    try:
        return (os.stat(f"/proc/{p.pid}/ns/net").st_ino == os.stat(f"/run/netns/{ns.name}").st_ino
                and os.path.basename(os.readlink(f"/proc/{p.pid}/exe")) != "ip")
    except OSError:
        return False


@contextmanager
def fleet(n: int = 50) -> Iterator[list[tuple[NetNS, subprocess.Popen]]]:
    made: list[tuple[NetNS, subprocess.Popen]] = []
    try:
        for i in range(n):
            ns = NetNS.create("fleet")
            ns.ip("-6", "addr", "add", f"fd00:{i + 1:x}::2/128", "dev", "lo")
            p = ns.popen("sleep", "600")
            made.append((ns, p))
        # scanning before the last child has moved in would find its namespace empty
        for ns, p in made:
            wait_until(lambda ns=ns, p=p: _settled(ns, p), 10, what=f"{ns.name}'s process")
        yield made
    finally:
        for ns, p in made:
            p.kill()
            p.wait()
            ns.delete()
