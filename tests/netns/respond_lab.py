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

from tests.support import V6CORE_PATH as SRC
from tests.support import wait_until  # noqa: F401  (respond_lab's users import it here)

PREFIX64 = "2001:db8:f440:2::/64"
CPREFIX = "2001:db8:f440:2:646f:636b:6572::/112"
RTR = "2001:db8:f440:2::1"
HOST = "2001:db8:f440:2::2"
HOST_CTR = "2001:db8:f440:2:646f:636b:6572:1"
CTR = "2001:db8:f440:2:646f:636b:6572:5"

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
              extra_env: dict | None = None, wrapper: tuple[str, ...] = ()) -> subprocess.Popen:
        cmd = [*wrapper, sys.executable, "-m", "v6core", "respond", "--control", self.control]
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


# -- the anti-spoofing filter (FACTS.md: nftables cannot compare these fields) -----------

# An ICMPv6 NA (no extension headers) whose IPv6 source (bytes 8-23) differs from its
# target (bytes 48-63 of the IPv6 packet), in libpcap's language for DLT_RAW packets.
SPOOF_FILTER = ("ip6[0] & 0xf0 = 0x60 and ip6[6] = 58 and ip6[40] = 136 and "
                "(ip6[8:4] != ip6[48:4] or ip6[12:4] != ip6[52:4] or "
                "ip6[16:4] != ip6[56:4] or ip6[20:4] != ip6[60:4])")
DLT_RAW = 12  # Linux value (LINKTYPE_RAW 101 in files)


class _BpfInsn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_BpfInsn))]


def pcap_compile_raw(expr: str) -> str:
    """Compile ``expr`` with libpcap for DLT_RAW into xt_bpf's ``--bytecode`` text."""
    pcap = ctypes.CDLL("libpcap.so.0.8")
    pcap.pcap_open_dead.restype = ctypes.c_void_p
    pcap.pcap_geterr.restype = ctypes.c_char_p
    p = pcap.pcap_open_dead(DLT_RAW, 65535)
    prog = _BpfProgram()
    try:
        if pcap.pcap_compile(ctypes.c_void_p(p), ctypes.byref(prog), expr.encode(), 1,
                             ctypes.c_uint32(0xFFFFFFFF)) != 0:
            raise ValueError(pcap.pcap_geterr(ctypes.c_void_p(p)).decode())
        insns = [prog.bf_insns[i] for i in range(prog.bf_len)]
        text = f"{len(insns)}," + ",".join(f"{i.code} {i.jt} {i.jf} {i.k}" for i in insns)
        pcap.pcap_freecode(ctypes.byref(prog))
        return text
    finally:
        pcap.pcap_close(ctypes.c_void_p(p))


def add_spoof_filter(ns) -> None:
    """Drop, on ``ns``'s eth0, every NA whose IPv6 source is not its target."""
    ns.run("ip6tables", "-t", "raw", "-A", "PREROUTING", "-i", "eth0", "-m", "bpf",
           "--bytecode", pcap_compile_raw(SPOOF_FILTER), "-j", "DROP")


def spoof_filter_drops(ns) -> int:
    out = ns.run("ip6tables", "-t", "raw", "-L", "PREROUTING", "-v", "-n", "-x").stdout
    for line in out.splitlines():
        if "DROP" in line and "match bpf" in line:
            return int(line.split()[0])
    raise AssertionError(f"no bpf DROP rule in:\n{out}")


# -- hand-made frames from the router (scapy builds them: an independent encoder) ----------


def ns_frame(lab: Lab, target: str, *, src: str = RTR, dst: str | None = None,
             slla: bool = True, hlim: int = 255, eth_dst: str | None = None):
    from scapy.layers.inet6 import ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
    from scapy.layers.l2 import Ether
    from scapy.utils6 import in6_getnsma, in6_getnsmac
    if dst is None:
        dst = socket.inet_ntop(socket.AF_INET6,
                               in6_getnsma(socket.inet_pton(socket.AF_INET6, target)))
    if eth_dst is None:
        if dst.startswith("ff"):
            eth_dst = in6_getnsmac(socket.inet_pton(socket.AF_INET6, dst))
        else:
            eth_dst = lab.host_mac
    p = (Ether(src=lab.rtr_mac, dst=eth_dst) / IPv6(src=src, dst=dst, hlim=hlim)
         / ICMPv6ND_NS(tgt=target))
    if slla:
        p = p / ICMPv6NDOptSrcLLAddr(lladdr=lab.rtr_mac)
    return p


SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40


def with_tag_from_auxdata(data: bytes, ancdata) -> bytes:
    """The frame as it was on the wire: the kernel moves a received frame's 802.1Q tag
    out of the bytes into PACKET_AUXDATA (packet(7)); put it back after the MACs."""
    for level, kind, raw in ancdata:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(raw) >= 20:
            status, _, _, _, _, tci, tpid = struct.unpack_from("=IIIHHHH", raw)
            if status & TP_STATUS_VLAN_VALID:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = 0x8100
                return data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
    return data


class RouterPort:
    """Send frames out of the router's eth0 and collect the NAs that come back.

    ``tags``: see 802.1Q tags too.  The socket is then bound to ETH_P_ALL (the kernel
    drops the tag of a VLAN with no interface here before it hands the frame to
    ETH_P_IPV6 sockets) and asks for the tags with PACKET_AUXDATA."""

    def __init__(self, lab: Lab, ifname: str = "eth0", *, tags: bool = False):
        self.sock = packet_socket(lab.rtr.name, ifname, 0x0003 if tags else 0x86DD)
        self.sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)

    def close(self) -> None:
        self.sock.close()

    def drain(self) -> None:
        self.sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            for _ in range(100000):
                self.sock.recv(4096)
        self.sock.setblocking(True)

    def send(self, frame) -> None:
        self.sock.send(bytes(frame))

    def nas(self, target: str | None = None, timeout: float = 0.5) -> list:
        """Incoming NAs (for ``target``) seen within ``timeout`` seconds (scapy packets)."""
        from scapy.layers.inet6 import ICMPv6ND_NA
        from scapy.layers.l2 import Ether
        found = []
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data, anc, _, addr = self.sock.recvmsg(4096, 256)
            except TimeoutError:
                break
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            p = Ether(with_tag_from_auxdata(data, anc))
            if ICMPv6ND_NA in p and (target is None or p[ICMPv6ND_NA].tgt == target):
                found.append(p)
                if target is not None:
                    # give a duplicate a moment to show up, then stop
                    end = min(end, time.monotonic() + 0.05)
        return found

    def ask(self, frame, target: str, timeout: float = 0.5) -> list:
        self.drain()
        self.send(frame)
        return self.nas(target, timeout)


# -- a real dockerd inside the host namespace: tests/dockerlab.py (shared) ----------------

DPREFIX = "2001:db8:f440:2:d0c::/112"
