"""Facts about the host, parsed from a :class:`~v6core.doctor.system.SystemView`.

Pure functions of the view: interfaces and their IPv6 sysctls, addresses with their
flags and lifetimes, IPv6 routes, listening sockets, proxy neighbour entries and the
C library that the system's programs are linked against.
"""

from __future__ import annotations

import ipaddress
import json
import re
import struct
from dataclasses import dataclass, field

from v6core.doctor.system import SystemView

__all__ = [
    "Interface", "Address", "Route6", "Socket", "Libc",
    "interfaces", "addresses", "routes6", "sockets", "proxy_neighbours", "libc",
    "elf_interpreter", "INFINITY_LFT",
]

#: lifetime value meaning "forever" (0xffffffff), as the kernel reports it
INFINITY_LFT = 0xFFFFFFFF

# /proc/net/if_inet6 flag bits (include/uapi/linux/if_addr.h, IFA_F_*)
_IFA_F = {
    "temporary": 0x01, "nodad": 0x02, "optimistic": 0x04, "dadfailed": 0x08,
    "home": 0x10, "deprecated": 0x20, "tentative": 0x40, "permanent": 0x80,
}
_SYSCTLS = ("forwarding", "accept_ra", "proxy_ndp", "disable_ipv6", "autoconf",
            "use_tempaddr", "accept_dad")


@dataclass
class Interface:
    """A network interface and its ``/proc/sys/net/ipv6/conf/<name>`` values."""

    name: str
    sysctl: dict[str, int] = field(default_factory=dict)
    is_bridge: bool = False
    bridge: str | None = None          # the bridge this interface is a port of

    def get(self, key: str, default: int = 0) -> int:
        return self.sysctl.get(key, default)


@dataclass
class Address:
    """An interface address (IPv4 or IPv6) with the kernel's flags and lifetimes.

    Lifetimes are seconds, ``INFINITY_LFT`` for forever, None when the source (the
    /proc/net/if_inet6 fallback) does not carry them.
    """

    ifname: str
    address: str
    prefixlen: int
    family: int                        # 4 or 6
    scope: str = "global"              # global | link | host | site
    deprecated: bool = False
    temporary: bool = False
    tentative: bool = False
    optimistic: bool = False
    dadfailed: bool = False
    home: bool = False
    dynamic: bool = False
    mngtmpaddr: bool = False
    preferred_lft: int | None = None
    valid_lft: int | None = None

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return ipaddress.ip_address(self.address)

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_interface(f"{self.address}/{self.prefixlen}").network

    def flag_words(self) -> list[str]:
        return [w for w in ("deprecated", "temporary", "tentative", "optimistic", "dadfailed",
                            "home", "dynamic", "mngtmpaddr") if getattr(self, w)]


@dataclass
class Route6:
    """One line of /proc/net/ipv6_route."""

    dst: ipaddress.IPv6Network
    gateway: str | None
    metric: int
    flags: int
    dev: str

    RTF_GATEWAY = 0x0002
    RTF_REJECT = 0x0200
    RTF_ADDRCONF = 0x40000
    RTF_LOCAL = 0x80000000

    @property
    def local(self) -> bool:
        return bool(self.flags & self.RTF_LOCAL)

    @property
    def reject(self) -> bool:
        return bool(self.flags & self.RTF_REJECT)

    @property
    def from_ra(self) -> bool:
        return bool(self.flags & self.RTF_ADDRCONF)


@dataclass
class Socket:
    """A bound socket from /proc/net/{tcp,tcp6,udp,udp6}."""

    proto: str                         # "tcp" or "udp"
    family: int                        # 4 or 6 (the table it came from)
    address: str
    port: int
    state: int
    inode: int
    uid: int

    @property
    def listening(self) -> bool:
        # TCP_LISTEN is 0x0A; an unconnected UDP socket sits in TCP_CLOSE (0x07)
        return self.state == 0x0A if self.proto == "tcp" else self.state == 0x07


@dataclass
class Libc:
    """Which C library the system's programs use."""

    name: str | None                   # "glibc", "musl" or None (unknown)
    version: str | None = None
    interpreter: str | None = None
    evidence: list[str] = field(default_factory=list)


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def interfaces(view: SystemView) -> dict[str, Interface]:
    """Interfaces named in /proc/sys/net/ipv6/conf (or /sys/class/net), with sysctls."""
    names = [n for n in view.listdir("/proc/sys/net/ipv6/conf") if n not in ("all", "default")]
    if not names:
        names = view.listdir("/sys/class/net")
    out: dict[str, Interface] = {}
    for name in names:
        iface = Interface(name)
        for key in _SYSCTLS:
            v = _int(view.read(f"/proc/sys/net/ipv6/conf/{name}/{key}"))
            if v is not None:
                iface.sysctl[key] = v
        iface.is_bridge = view.exists(f"/sys/class/net/{name}/bridge")
        if view.exists(f"/sys/class/net/{name}/brport"):
            master = view.readlink(f"/sys/class/net/{name}/master") or ""
            iface.bridge = master.rstrip("/").rsplit("/", 1)[-1] or "?"
        out[name] = iface
    return out


def global_sysctl(view: SystemView, key: str, which: str = "all") -> int | None:
    return _int(view.read(f"/proc/sys/net/ipv6/conf/{which}/{key}"))


def addresses(view: SystemView) -> tuple[list[Address], str]:
    """The host's addresses and where they came from (``ip -j addr`` or rtnetlink, with
    lifetimes and IPv4; else /proc/net/if_inet6, IPv6 only, no lifetimes)."""
    for how, get in (("ip -j addr show", lambda: view.run(["ip", "-j", "addr", "show"])),
                     ("rtnetlink (pyroute2)", view.netlink_addresses)):
        text = get()
        if text:
            try:
                return parse_ip_json(text), how
            except (ValueError, KeyError, TypeError, AttributeError):
                pass
    text = view.read("/proc/net/if_inet6")
    if text is not None:
        return parse_if_inet6(text), "/proc/net/if_inet6"
    return [], "nothing (no ip command, no /proc/net/if_inet6)"


def parse_ip_json(text: str) -> list[Address]:
    """Addresses from ``ip -j addr show`` (iproute2 JSON)."""
    out: list[Address] = []
    for link in json.loads(text):
        name = link.get("ifname", "?")
        for a in link.get("addr_info", []):
            fam = {"inet": 4, "inet6": 6}.get(a.get("family"))
            if fam is None or "local" not in a:
                continue
            out.append(Address(
                ifname=a.get("label", name) if fam == 6 else name,
                address=str(ipaddress.ip_address(a["local"])),
                prefixlen=int(a.get("prefixlen", 128 if fam == 6 else 32)),
                family=fam,
                scope={"universe": "global"}.get(a.get("scope", "global"), a.get("scope", "global")),
                deprecated=bool(a.get("deprecated")),
                temporary=bool(a.get("temporary")),
                tentative=bool(a.get("tentative")),
                optimistic=bool(a.get("optimistic")),
                dadfailed=bool(a.get("dadfailed")),
                home=bool(a.get("home")),
                dynamic=bool(a.get("dynamic")),
                mngtmpaddr=bool(a.get("mngtmpaddr")),
                preferred_lft=a.get("preferred_life_time"),
                valid_lft=a.get("valid_life_time"),
            ))
    return out


def parse_if_inet6(text: str) -> list[Address]:
    """IPv6 addresses from /proc/net/if_inet6: address, ifindex, prefix length, scope,
    flags (hex), name.  No lifetimes there; a zero preferred lifetime shows as the
    deprecated flag."""
    out: list[Address] = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 6 or len(f[0]) != 32:
            continue
        addr = ipaddress.IPv6Address(bytes.fromhex(f[0]))
        scope = int(f[3], 16) & 0xF0
        flags = int(f[4], 16)
        a = Address(
            ifname=f[5], address=str(addr), prefixlen=int(f[2], 16), family=6,
            scope={0x00: "global", 0x10: "host", 0x20: "link", 0x40: "site"}.get(scope, "global"),
        )
        for word, bit in _IFA_F.items():
            if word != "permanent" and word != "nodad" and flags & bit:
                setattr(a, word, True)
        a.dynamic = not (flags & _IFA_F["permanent"])
        out.append(a)
    return out


def routes6(view: SystemView) -> list[Route6]:
    """IPv6 routes of every table from /proc/net/ipv6_route (cache entries skipped)."""
    text = view.read("/proc/net/ipv6_route") or ""
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 10:
            continue
        try:
            dst = ipaddress.IPv6Network((bytes.fromhex(f[0]), int(f[1], 16)), strict=False)
            gw = ipaddress.IPv6Address(bytes.fromhex(f[4]))
            flags = int(f[8], 16)
            if flags & 0x01000000:     # RTF_CACHE
                continue
            out.append(Route6(dst, None if gw.is_unspecified else str(gw), int(f[5], 16),
                              flags, f[9]))
        except ValueError:
            continue
    return out


def _hex_addr(text: str) -> str:
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    # four host-order 32-bit words
    words = [raw[i:i + 4][::-1] for i in range(0, 16, 4)]
    return str(ipaddress.IPv6Address(b"".join(words)))


def parse_proc_net(text: str, proto: str, family: int) -> list[Socket]:
    """Sockets from one /proc/net/{tcp,tcp6,udp,udp6} table (addresses are written as
    host-order 32-bit words in hex; the port as big-endian hex)."""
    out = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 10 or ":" not in f[1]:
            continue
        try:
            addr_hex, port_hex = f[1].split(":")
            out.append(Socket(proto, family, _hex_addr(addr_hex), int(port_hex, 16),
                              int(f[3], 16), int(f[9]), int(f[7])))
        except ValueError:
            continue
    return out


def sockets(view: SystemView) -> tuple[list[Socket], list[str]]:
    """All sockets of the four tables, and the tables that could not be read."""
    out: list[Socket] = []
    missing = []
    for proto in ("tcp", "udp"):
        for fam, suffix in ((4, ""), (6, "6")):
            path = f"/proc/net/{proto}{suffix}"
            text = view.read(path)
            if text is None:
                missing.append(path)
                continue
            out.extend(parse_proc_net(text, proto, fam))
    return out, missing


def socket_owners(view: SystemView, inodes: set[int]) -> dict[int, str]:
    """inode -> "name[pid]" for the processes whose fds we may read (all of them as root,
    our own otherwise)."""
    owners: dict[int, str] = {}
    if not inodes:
        return owners
    for pid in view.listdir("/proc"):
        if not pid.isdigit():
            continue
        for fd in view.listdir(f"/proc/{pid}/fd"):
            target = view.readlink(f"/proc/{pid}/fd/{fd}") or ""
            m = re.search(r"socket:\[(\d+)\]", target)
            if m and int(m.group(1)) in inodes and int(m.group(1)) not in owners:
                comm = (view.read(f"/proc/{pid}/comm") or "?").strip()
                owners[int(m.group(1))] = f"{comm}[{pid}]"
    return owners


def proxy_neighbours(view: SystemView) -> list[tuple[str, str]] | None:
    """(address, dev) of the kernel's proxy NDP entries (``ip -6 neigh show proxy``), or
    None when the command is unavailable."""
    text = view.run(["ip", "-6", "neigh", "show", "proxy"])
    if text is None:
        return None
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 3 and f[1] == "dev":
            try:
                out.append((str(ipaddress.IPv6Address(f[0])), f[2]))
            except ValueError:
                continue
    return out


def elf_interpreter(data: bytes) -> str | None:
    """The PT_INTERP path of an ELF image (its first bytes), or None (static, not ELF,
    or the header lies beyond ``data``)."""
    if len(data) < 0x40 or data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return None
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    if is64:
        phoff, = struct.unpack_from(end + "Q", data, 0x20)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 0x36)
    else:
        phoff, = struct.unpack_from(end + "I", data, 0x1C)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 0x2A)
    for i in range(min(phnum, 256)):
        off = phoff + i * phentsize
        if off + (56 if is64 else 32) > len(data):
            return None
        ptype, = struct.unpack_from(end + "I", data, off)
        if ptype != 3:                 # PT_INTERP
            continue
        if is64:
            p_offset, = struct.unpack_from(end + "Q", data, off + 8)
            p_filesz, = struct.unpack_from(end + "Q", data, off + 32)
        else:
            p_offset, p_filesz = struct.unpack_from(end + "I", data, off + 4)[0], \
                struct.unpack_from(end + "I", data, off + 16)[0]
        if p_offset + p_filesz > len(data) or p_filesz == 0:
            return None
        return data[p_offset:p_offset + p_filesz].split(b"\0", 1)[0].decode("ascii", "replace")
    return None


def _libc_of_interp(interp: str) -> str | None:
    base = interp.rsplit("/", 1)[-1]
    if base.startswith("ld-musl-"):
        return "musl"
    if base.startswith(("ld-linux", "ld64.so", "ld.so")):
        return "glibc"
    return None


def libc(view: SystemView, programs: tuple[str, ...] = ("/bin/sh", "/usr/bin/env")) -> Libc:
    """Which C library the system's programs use: the ELF interpreter of /bin/sh (then
    /usr/bin/env), else ``ldd --version``, else the presence of /lib/ld-musl-*."""
    result = Libc(None)
    for prog in programs:
        real = view.realpath(prog)
        data = view.read_bytes(real)
        if data is None:
            continue
        interp = elf_interpreter(data)
        if interp is None:
            result.evidence.append(f"{prog}" + (f" -> {real}" if real != prog else "")
                                   + ": no ELF interpreter (static or not ELF)")
            continue
        name = _libc_of_interp(interp)
        result.evidence.append(f"{prog}" + (f" -> {real}" if real != prog else "")
                               + f": ELF interpreter {interp}")
        if name:
            result.name, result.interpreter = name, interp
            break
    musl_loaders = [f"/lib/{n}" for n in view.listdir("/lib") if n.startswith("ld-musl-")]
    if result.name is None:
        text = view.run(["ldd", "--version"])
        if text and re.search(r"GLIBC|GNU libc", text):
            result.name = "glibc"
            result.evidence.append("ldd --version names GNU libc")
        elif text and "musl" in text:
            result.name = "musl"
            result.evidence.append("ldd --version names musl")
        elif musl_loaders:
            result.name = "musl"
            result.evidence.append(f"{musl_loaders[0]} is present")
    elif result.name == "glibc" and musl_loaders:
        result.evidence.append(f"{musl_loaders[0]} is also present (musl-linked programs, "
                               "e.g. static Alpine tools, order addresses differently)")
    # version
    if result.name == "glibc":
        text = view.run(["ldd", "--version"]) or ""
        m = re.search(r"(\d+\.\d+)\s*$", text.splitlines()[0] if text else "")
        if m:
            result.version = m.group(1)
    elif result.name == "musl":
        loader = result.interpreter or (musl_loaders[0] if musl_loaders else None)
        if loader:
            text = view.run([loader], check=False)
            m = re.search(r"Version\s+(\S+)", text or "")
            if m:
                result.version = m.group(1)
    return result

