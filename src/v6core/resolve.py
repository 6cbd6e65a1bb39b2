"""The getaddrinfo-facing layer: the host's addresses, kernel source probes, re-ordering.

Sources are found the way the C libraries find them: a UDP socket ``connect()`` to the
destination and ``getsockname()`` (no packet is sent), one socket per family reused
(disconnected with ``AF_UNSPEC`` between destinations, as glibc does, because Linux keeps
a connected UDP socket's first source otherwise).  Source flags (deprecated, optimistic,
home, temporary), prefix lengths and interface indexes come from the kernel's address
list over rtnetlink (``RTM_GETADDR``, what glibc's ``__check_pf`` reads), falling back to
``/proc/net/if_inet6`` for IPv6 when netlink is unavailable.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from v6core._core import addr as _addr
from v6core.policy import PolicyTable
from v6core.select import SourceAddress, sort_destinations

__all__ = [
    "InterfaceAddress",
    "host_addresses",
    "kernel_sources",
    "getaddrinfo",
    "system_policy",
]

# linux/if_addr.h
IFA_F_TEMPORARY = 0x01
IFA_F_OPTIMISTIC = 0x04
IFA_F_HOMEADDRESS = 0x10
IFA_F_DEPRECATED = 0x20
IFA_F_TENTATIVE = 0x40
_IFA_ADDRESS = 1
_IFA_LOCAL = 2
_IFA_FLAGS = 8
_RTM_NEWADDR = 20
_RTM_GETADDR = 22
_NLM_F_REQUEST = 0x01
_NLM_F_DUMP = 0x300
_NLMSG_ERROR = 2
_NLMSG_DONE = 3


@dataclass(frozen=True)
class InterfaceAddress:
    """One address the kernel lists (``ip addr``): packed 16 bytes (IPv4 as mapped)."""

    packed: bytes
    prefixlen: int           # as the kernel reports it (IPv4 0..32)
    ifindex: int
    flags: int               # IFA_F_* (32-bit, from IFA_FLAGS when present)
    scope: int               # rtnetlink scope (RT_SCOPE_*)

    @property
    def address(self) -> str:
        return _addr.to_text(self.packed)

    def source(self) -> SourceAddress:
        """As a SourceAddress carrying the kernel's flags."""
        return _source_from_raw((self.packed, self.prefixlen, self.ifindex, self.flags,
                                 self.scope))


def _netlink_addresses() -> list[InterfaceAddress]:
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                      socket.NETLINK_ROUTE)
    try:
        s.settimeout(2.0)
        s.bind((0, 0))
        req = struct.pack("=IHHII", 16 + 8, _RTM_GETADDR, _NLM_F_REQUEST | _NLM_F_DUMP, 1, 0)
        req += struct.pack("=BBBBI", socket.AF_UNSPEC, 0, 0, 0, 0)
        s.send(req)
        out: list[InterfaceAddress] = []
        done = False
        while not done:
            data = s.recv(65536)
            if not data:
                break
            off = 0
            while off + 16 <= len(data):
                length, mtype, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, off)
                if length < 16 or off + length > len(data):
                    done = True
                    break
                if mtype == _NLMSG_DONE:
                    done = True
                    break
                if mtype == _NLMSG_ERROR:
                    code = struct.unpack_from("=i", data, off + 16)[0]
                    raise OSError(-code, os.strerror(-code))
                if mtype == _RTM_NEWADDR:
                    a = _parse_ifaddr(data[off + 16: off + length])
                    if a is not None:
                        out.append(a)
                off += (length + 3) & ~3
        return out
    finally:
        s.close()


def _parse_ifaddr(msg: bytes) -> InterfaceAddress | None:
    if len(msg) < 8:
        return None
    family, plen, flags, scope, index = struct.unpack_from("=BBBBI", msg, 0)
    if family not in (socket.AF_INET, socket.AF_INET6):
        return None
    local = address = None
    off = 8
    while off + 4 <= len(msg):
        rlen, rtype = struct.unpack_from("=HH", msg, off)
        if rlen < 4:
            break
        val = msg[off + 4: off + rlen]
        if rtype == _IFA_LOCAL:
            local = val
        elif rtype == _IFA_ADDRESS:
            address = val
        elif rtype == _IFA_FLAGS and len(val) >= 4:
            flags = struct.unpack_from("=I", val)[0]
        off += (rlen + 3) & ~3
    raw = local if local is not None else address
    if raw is None:
        return None
    if family == socket.AF_INET:
        if len(raw) != 4:
            return None
        packed = b"\0" * 10 + b"\xff\xff" + raw
    else:
        if len(raw) != 16:
            return None
        packed = raw
    return InterfaceAddress(packed, plen, index, flags, scope)


def _proc_addresses() -> list[InterfaceAddress]:
    out = []
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 6:
                    continue
                out.append(InterfaceAddress(bytes.fromhex(parts[0]), int(parts[2], 16),
                                            int(parts[1], 16), int(parts[4], 16),
                                            int(parts[3], 16)))
    except OSError:
        pass
    return out


def _raw_addresses() -> list[tuple[bytes, int, int, int, int]]:
    try:
        from v6core._sysprobe import ifaddrs

        return ifaddrs()
    except (ImportError, OSError):
        pass
    try:
        nl = _netlink_addresses()
    except OSError:
        nl = _proc_addresses()
    return [(a.packed, a.prefixlen, a.ifindex, a.flags, a.scope) for a in nl]


def host_addresses() -> list[InterfaceAddress]:
    """The kernel's address list (both families), over rtnetlink (what glibc's
    ``__check_pf`` reads); IPv6 only, from /proc/net/if_inet6, when netlink fails."""
    return [InterfaceAddress(*r) for r in _raw_addresses()]


def _source_from_raw(r: tuple[bytes, int, int, int, int]) -> SourceAddress:
    f = r[3]
    return SourceAddress(r[0], r[1], bool(f & IFA_F_DEPRECATED), bool(f & IFA_F_TEMPORARY),
                         bool(f & IFA_F_HOMEADDRESS), False, False, r[2],
                         optimistic=bool(f & IFA_F_OPTIMISTIC))


# ------------------------------------------------------------------ kernel source probes

def kernel_sources(destinations: Iterable[Any], *, flags: bool = True,
                   addresses: Sequence[InterfaceAddress] | None = None
                   ) -> list[SourceAddress | None]:
    """Source(D) for each destination as the kernel would choose it, or None.

    ``destinations``: addresses (text, ``ipaddress``, ``"fe80::1%eth0"``) or getaddrinfo
    sockaddr tuples (their scope id is used).  With ``flags``, each source carries the
    kernel's flags, prefix length and interface index for that address (None when the
    kernel does not list it).
    """
    from v6core._sysprobe import udp_sources

    packed: list[bytes] = []
    zones: list[int] = []
    for d in destinations:
        p, z = _packed_and_zone(d)
        packed.append(p)
        zones.append(z)
    raw = udp_sources(packed, zones)
    if not flags:
        return [None if r is None else SourceAddress(r) for r in raw]
    if addresses is not None:
        rows = [(a.packed, a.prefixlen, a.ifindex, a.flags, a.scope) for a in addresses]
    else:
        rows = _raw_addresses()
    table = {row[0]: row for row in rows}
    out: list[SourceAddress | None] = []
    for r in raw:
        if r is None:
            out.append(None)
        elif r in table:
            out.append(_source_from_raw(table[r]))
        else:
            out.append(SourceAddress(r))
    return out


def _packed_and_zone(dest: Any) -> tuple[bytes, int]:
    scope_id = 0
    if isinstance(dest, tuple):
        host = dest[0]
        if len(dest) >= 4:
            scope_id = dest[3]
    elif isinstance(dest, bytes) and len(dest) in (4, 16):
        return _addr.pack(dest), 0
    else:
        host = str(dest)
    if isinstance(host, str) and "%" in host:
        host, zone = host.split("%", 1)
        if not scope_id:   # a sockaddr's own scope id already names the interface
            scope_id = int(zone) if zone.isdigit() else socket.if_nametoindex(zone)
    return _addr.pack(host), scope_id


# ------------------------------------------------------------------ getaddrinfo

_policy_lock = threading.Lock()
_policy_cache: dict[str, tuple[tuple, PolicyTable]] = {}


def system_policy(gai_conf: str | os.PathLike[str] | None = None) -> PolicyTable:
    """The table v6core.getaddrinfo uses: ``gai_conf``, else $V6CORE_GAI_CONF, else
    /etc/gai.conf, parsed with glibc semantics; glibc's built-in table when absent.
    Parsed files are cached by path, size and modification time."""
    path = os.fspath(gai_conf) if gai_conf is not None else (
        os.environ.get("V6CORE_GAI_CONF") or "/etc/gai.conf")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if gai_conf is not None or os.environ.get("V6CORE_GAI_CONF"):
            raise
        return PolicyTable.glibc_default()
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    with _policy_lock:
        hit = _policy_cache.get(path)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    table = PolicyTable.from_gai_conf(path)
    with _policy_lock:
        _policy_cache[path] = (stamp, table)
    return table


def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
                flags: int = 0, *, flavor: str = "glibc", policy: PolicyTable | None = None,
                gai_conf: str | os.PathLike[str] | None = None) -> list:
    """``socket.getaddrinfo``, with the results re-ordered by ``flavor`` and ``policy``.

    Same arguments and return type as :func:`socket.getaddrinfo`.  The policy is
    ``policy``, else the gai.conf named by ``gai_conf`` / $V6CORE_GAI_CONF / /etc/gai.conf
    (glibc semantics).  Sources come from kernel probes (:func:`kernel_sources`).  Entries
    for one address stay together; ties under rule 10 keep the order the C library
    returned (the original DNS or hosts order is not visible from Python).
    """
    results = socket.getaddrinfo(host, port, family, type, proto, flags)
    keys: list[tuple] = []
    first: dict[tuple, tuple] = {}
    for fam, _t, _p, _c, sa in results:
        if fam not in (socket.AF_INET, socket.AF_INET6):
            continue
        k = (fam, sa[0], sa[3] if len(sa) > 3 else 0)
        if k not in first:
            first[k] = sa
            keys.append(k)
    if len(keys) < 2:
        return results
    if policy is None:
        policy = system_policy(gai_conf)
    # musl's key reads no address flags or prefix lengths: skip the netlink dump there
    srcs = kernel_sources([first[k] for k in keys], flags=flavor != "musl")
    # a link-local result may carry its zone ("fe80::1%eth0", as nss-mdns returns for
    # .local names); the zone went to the source probe above, the ordering needs none
    dests = [k[1].partition("%")[0] for k in keys]
    pos = _order_positions(dests, srcs, flavor, policy)
    rank = {keys[i]: r for r, i in enumerate(pos)}
    return sorted(results, key=lambda e: rank.get(
        (e[0], e[4][0], e[4][3] if len(e[4]) > 3 else 0), len(rank)))


def _order_positions(dests: list[str], srcs: list[SourceAddress | None], flavor: str,
                     policy: PolicyTable) -> list[int]:
    packed = [_addr.pack(d) for d in dests]
    ordered = sort_destinations(packed, srcs, flavor=flavor, policy=policy)
    where = {id(p): i for i, p in enumerate(packed)}
    return [where[id(p)] for p in ordered]
