"""The responder's lab: a router, a host running the responder, a container behind it.

::

    [rtr] eth0 ----veth---- uplink [host] ctr0 ----veth---- eth0 [ctr]
    2001:db8:f440:2::1/64          2001:db8:f440:2::2/64
    (the whole /64 on-link)        2001:db8:f440:2:646f:636b:6572:1/112 on ctr0
                                                   2001:db8:f440:2:646f:636b:6572:5/112

The router's kernel believes the whole /64 is on its link and solicits every address;
the container's address is answered for by the responder on the host's ``uplink``, and
the host routes the traffic on.  Every wait here is bounded.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

PREFIX64 = "2001:db8:f440:2::/64"
CPREFIX = "2001:db8:f440:2:646f:636b:6572::/112"
RTR = "2001:db8:f440:2::1"
HOST = "2001:db8:f440:2::2"
HOST_CTR = "2001:db8:f440:2:646f:636b:6572:1"
CTR = "2001:db8:f440:2:646f:636b:6572:5"
SRC = str(Path(__file__).resolve().parents[2] / "src")
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def in_netns(name: str):
    """Run the block in network namespace ``name`` (this thread), then come back."""
    with open("/proc/self/ns/net") as home, open(f"/run/netns/{name}") as target:
        if _libc.setns(target.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({name})")
        try:
            yield
        finally:
            if _libc.setns(home.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns(back)")


def packet_socket(ns: str, ifname: str, proto: int = 0x86DD) -> socket.socket:
    """A plain AF_PACKET socket on ``ifname`` inside ``ns`` (no filter)."""
    with in_netns(ns):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
        s.bind((ifname, proto))
    return s


def wait_until(pred, timeout: float, step: float = 0.05, what: str = "condition"):
    end = time.monotonic() + timeout
    while True:
        r = pred()
        if r:
            return r
        if time.monotonic() >= end:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


class Lab:
    def __init__(self, make_netns, tmp: Path):
        self.tmp = tmp
        self.rtr = make_netns("rtr")
        self.host = make_netns("host")
        self.ctr = make_netns("ctr")
        self.proc: subprocess.Popen | None = None
        self.control = str(tmp / "respond.sock")
        self.log = tmp / "respond.log"
        self.rtr.veth(self.host, "eth0", "uplink")
        self.host.veth(self.ctr, "ctr0", "eth0")
        self.rtr.ip("addr", "add", f"{RTR}/64", "dev", "eth0", "nodad")
        self.host.ip("addr", "add", f"{HOST}/64", "dev", "uplink", "nodad")
        self.host.ip("addr", "add", f"{HOST_CTR}/112", "dev", "ctr0", "nodad")
        self.ctr.ip("addr", "add", f"{CTR}/112", "dev", "eth0", "nodad")
        self.ctr.ip("-6", "route", "add", "default", "via", HOST_CTR, "dev", "eth0")
        self.host.sysctl("net.ipv6.conf.all.forwarding", "1")
        # Link-local addresses appear once the links are up (no DAD here)
        wait_until(lambda: "fe80" in self.host.ip("-6", "addr", "show", "dev", "uplink").stdout,
                   5, what="host link-local")
        self.rtr_mac = self.mac(self.rtr, "eth0")
        self.host_mac = self.mac(self.host, "uplink")

    @staticmethod
    def mac(ns, ifname: str) -> str:
        out = ns.run("cat", f"/sys/class/net/{ifname}/address").stdout
        return out.strip()

    def linklocal(self, ns, ifname: str) -> str:
        out = ns.ip("-6", "-o", "addr", "show", "dev", ifname, "scope", "link").stdout
        return out.split()[3].split("/")[0]

    # -- the responder --------------------------------------------------------------------

    def start(self, *args: str, config: str | None = None, ready: bool = True,
              extra_env: dict | None = None) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "v6core", "respond", "--control", self.control]
        if config is not None:
            path = self.tmp / "respond.toml"
            path.write_text(config)
            cmd += ["-c", str(path)]
        cmd += list(args)
        env = dict(os.environ, PYTHONPATH=SRC, **(extra_env or {}))
        self.logf = open(self.log, "ab")  # noqa: SIM115 (closed in stop())
        self.proc = self.host.popen(*cmd, stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        if ready:
            self.wait_ready()
        return self.proc

    def write_config(self, config: str) -> None:
        path = self.tmp / "respond.toml"
        tmp = self.tmp / "respond.toml.new"
        tmp.write_text(config)
        os.replace(tmp, path)

    def wait_ready(self, timeout: float = 10) -> None:
        def ok():
            if self.proc.poll() is not None:
                raise RuntimeError(f"responder exited {self.proc.returncode}: {self.log_text()}")
            return os.path.exists(self.control) and self.stats() is not None
        wait_until(ok, timeout, what="the responder's control socket")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stats(self) -> dict | None:
        from v6core.responder.stats import parse, query
        try:
            return parse(query(self.control, timeout=2))
        except (OSError, ValueError):
            return None

    def counter(self, metric: str, **labels) -> int:
        st = self.stats() or {}
        want = tuple(sorted(labels.items()))
        return st.get((f"v6core_respond_{metric}", want), 0)

    def stop(self, timeout: float = 5) -> int:
        if self.proc is None:
            return 0
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise
        finally:
            self.logf.close()
        self.proc = None
        return rc

    # -- probes from the router -----------------------------------------------------------

    def flush(self) -> None:
        self.rtr.ip("-6", "neigh", "flush", "dev", "eth0")

    def ping(self, addr: str = CTR, tries: int = 1, wait: float = 1.0,
             flush: bool = True) -> bool:
        """ICMPv6 echo from the router (its kernel resolves ``addr`` with real NS)."""
        for _ in range(tries):
            if flush:
                self.flush()
            if icmp_echo(self.rtr.name, addr, wait):
                return True
        return False


_seq = 0


def icmp_echo(ns: str, addr: str, wait: float) -> bool:
    """One echo request from namespace ``ns`` to ``addr``; True if the reply came in time."""
    global _seq
    _seq = (_seq + 1) & 0xFFFF
    ident = os.getpid() & 0xFFFF
    with in_netns(ns):
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    with s:
        # the kernel fills the ICMPv6 checksum of raw ICMPv6 sockets (RFC 3542 3.1)
        payload = struct.pack("!BBHHH", 128, 0, 0, ident, _seq) + b"v6core-lab"
        s.sendto(payload, (addr, 0))
        end = time.monotonic() + wait
        while (left := end - time.monotonic()) > 0:
            s.settimeout(left)
            try:
                data, src = s.recvfrom(2048)
            except TimeoutError:
                return False
            if (len(data) >= 8 and data[0] == 129 and src[0] == addr
                    and struct.unpack("!HH", data[4:8]) == (ident, _seq)):
                return True
        return False
