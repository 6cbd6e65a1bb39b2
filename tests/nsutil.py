"""Small helpers for tests that build network namespaces (root only).

Every namespace is named ``v6t-<role>-<pid>-<n>`` so that parallel or leftover runs
never collide, and traffic stays inside namespaces the test made.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from dataclasses import dataclass

_counter = itertools.count()


def unavailable_reason() -> str | None:
    """Why namespace tests cannot run here, or None if they can."""
    if os.geteuid() != 0:
        return "not running as root"
    if shutil.which("ip") is None:
        return "iproute2 'ip' command not found"
    probe = f"v6t-probe-{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return f"'ip netns add' failed: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def sh(*cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


@dataclass
class NetNS:
    name: str

    @classmethod
    def create(cls, role: str) -> NetNS:
        name = f"v6t-{role}-{os.getpid()}-{next(_counter)}"
        sh("ip", "netns", "add", name)
        ns = cls(name)
        ns.ip("link", "set", "lo", "up")
        # no DAD delays in tests: addresses are usable at once
        ns.sysctl("net.ipv6.conf.all.accept_dad", "0")
        ns.sysctl("net.ipv6.conf.default.accept_dad", "0")
        return ns

    def run(self, *cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", self.name, *cmd, check=check, timeout=timeout)

    def popen(self, *cmd: str, **kw) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.name, *cmd], **kw)

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return sh("ip", "-n", self.name, *args, check=check)

    def sysctl(self, key: str, value: str) -> None:
        self.run("sysctl", "-qw", f"{key}={value}")

    def veth(self, other: NetNS, name: str, peer: str) -> None:
        """A veth pair: ``name`` in this namespace, ``peer`` in ``other``; both up."""
        tmp_a, tmp_b = f"v6ta{os.getpid() % 10000}{next(_counter)}", f"v6tb{os.getpid() % 10000}{next(_counter)}"
        sh("ip", "link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b)
        sh("ip", "link", "set", tmp_a, "netns", self.name, "name", name)
        sh("ip", "link", "set", tmp_b, "netns", other.name, "name", peer)
        self.ip("link", "set", name, "up")
        other.ip("link", "set", peer, "up")

    def delete(self) -> None:
        sh("ip", "netns", "del", self.name, check=False)
