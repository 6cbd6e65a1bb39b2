"""The host's IPv6 addresses and main-table routes, kept current from rtnetlink events.

The daemon dumps addresses and routes once (at start, after a netlink overrun
(``ENOBUFS``) and after a failed read) with :meth:`KernelTables.load`, then feeds every
``RTM_NEWADDR``/``RTM_DELADDR``/``RTM_NEWROUTE``/``RTM_DELROUTE`` message to
:meth:`KernelTables.apply` and every link event to :meth:`KernelTables.link_event`.  A
host with a full routing table thus costs one dump, not one per event.

Only the routes ``auto`` rules can ever look up are kept: unicast routes of the main
table (254) with one output interface whose prefix overlaps an ``auto`` rule's prefix
(contains it or lies inside it).  For a prefix routed several times the lowest metric
(``RTA_PRIORITY``) wins, as in the kernel's own lookup.

IPv6 deletes the routes through an interface that goes down or away without telling
user space (``fib6_clean_all_skip_notify``), so a link event drops them here too.

Messages are parsed from their raw bytes (``nlmsghdr`` first, host byte order: rtnetlink(7));
dumps come as pyroute2 messages.  Both meet in the same two keyed dictionaries.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable, Sequence
from typing import Any

from v6core._core.prefix import PrefixTable

__all__ = [
    "RTM_NEWLINK", "RTM_DELLINK", "RTM_NEWADDR", "RTM_DELADDR", "RTM_NEWROUTE",
    "RTM_DELROUTE", "KernelTables",
]

RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_NEWADDR = 20
RTM_DELADDR = 21
RTM_NEWROUTE = 24
RTM_DELROUTE = 25
IFA_ADDRESS = 1
RTA_DST = 1
RTA_OIF = 4
RTA_PRIORITY = 6
RTA_TABLE = 15
RT_TABLE_MAIN = 254
RTN_UNICAST = 1
IFF_UP = 0x1
NLMSG_HDRLEN = 16

#: a route's identity in the main table: (destination, length, metric)
RouteKey = tuple[bytes, int, int]


def _whole(msg: bytes, need: int) -> bool:
    """The message is at least ``need`` bytes and as long as its nlmsghdr says."""
    return len(msg) >= max(need, 4) and need <= struct.unpack_from("=I", msg, 0)[0] <= len(msg)


def _attrs(msg: bytes, off: int) -> dict[int, bytes]:
    """The rtattr TLVs of ``msg`` from ``off`` (a truncated or zero-length one ends them)."""
    out: dict[int, bytes] = {}
    end = len(msg)
    if end >= 4:
        end = min(end, struct.unpack_from("=I", msg, 0)[0])
    while off + 4 <= end:
        alen, atype = struct.unpack_from("=HH", msg, off)
        if alen < 4 or off + alen > end:
            break
        out[atype & 0x3FFF] = msg[off + 4:off + alen]
        off += (alen + 3) & ~3
    return out


def _overlaps(a: bytes, alen: int, b: bytes, blen: int) -> bool:
    n = min(alen, blen)
    if n == 0:
        return True
    shift = 128 - n
    return int.from_bytes(a, "big") >> shift == int.from_bytes(b, "big") >> shift


class KernelTables:
    """Addresses (all interfaces) and the routes ``auto`` rules need, with counters.

    Parameters
    ----------
    interest : sequence of (bytes, int), optional
        The ``auto`` rules' prefixes (16-byte network, length).  None or empty: no route
        is kept and :attr:`routes` is None.
    """

    def __init__(self, interest: Sequence[tuple[bytes, int]] | None = None) -> None:
        self.interest = list(interest or ())
        self._addrs: dict[tuple[int, bytes], None] = {}   # (ifindex, address), dump order
        self._routes: dict[RouteKey, int] = {}             # -> output ifindex
        self._own: PrefixTable | None = None
        self._route_table: PrefixTable | None = None
        self._own_stale = True
        self._routes_stale = True
        self.dumps = 0      # full reads of addresses and routes
        self.events = 0     # address and route messages applied

    # -- filling --------------------------------------------------------------------------

    def load(self, addrs: Iterable[Any], routes: Iterable[Any]) -> None:
        """Replace everything with a dump: pyroute2 ``ifaddrmsg``s and ``rtmsg``s
        (``get_addr(family=AF_INET6)``, ``get_routes(family=AF_INET6, table=254)``)."""
        self._addrs = {}
        for a in addrs:
            text = a.get_attr("IFA_ADDRESS")
            if text:
                self._addrs[(int(a["index"]), socket.inet_pton(socket.AF_INET6, text))] = None
        self._routes = {}
        if self.interest:
            for r in routes:
                table = r.get_attr("RTA_TABLE")
                oif = r.get_attr("RTA_OIF")
                dst = r.get_attr("RTA_DST")
                self._put_route(int(table if table is not None else r["table"]), int(r["type"]),
                                socket.inet_pton(socket.AF_INET6, dst) if dst else bytes(16),
                                int(r["dst_len"]), int(r.get_attr("RTA_PRIORITY") or 0),
                                None if oif is None else int(oif), add=True)
        self._own_stale = self._routes_stale = True
        self.dumps += 1

    def apply(self, msg: bytes) -> bool:
        """Apply one raw rtnetlink message (from its ``nlmsghdr``); True if a table changed.

        Messages of other types, families or tables, and truncated ones, change nothing.
        """
        if not _whole(msg, NLMSG_HDRLEN + 8):
            return False
        mtype = struct.unpack_from("=H", msg, 4)[0]
        if mtype in (RTM_NEWADDR, RTM_DELADDR):
            family, _plen, _flags, _scope, index = struct.unpack_from("=BBBBi", msg, NLMSG_HDRLEN)
            addr = _attrs(msg, NLMSG_HDRLEN + 8).get(IFA_ADDRESS)
            if family != socket.AF_INET6 or addr is None or len(addr) != 16:
                return False
            self.events += 1
            key = (index, bytes(addr))
            if (key in self._addrs) == (mtype == RTM_NEWADDR):
                return False   # already known, or never known
            if mtype == RTM_NEWADDR:
                self._addrs[key] = None
            else:
                del self._addrs[key]
            self._own_stale = True
            return True
        if mtype in (RTM_NEWROUTE, RTM_DELROUTE):
            if not _whole(msg, NLMSG_HDRLEN + 12):
                return False
            family, dst_len, _sl, _tos, table, _proto, _scope, rtype = struct.unpack_from(
                "=8B", msg, NLMSG_HDRLEN)
            if family != socket.AF_INET6 or dst_len > 128:
                return False
            at = _attrs(msg, NLMSG_HDRLEN + 12)
            if RTA_TABLE in at and len(at[RTA_TABLE]) == 4:
                table = struct.unpack("=I", at[RTA_TABLE])[0]
            dst = at.get(RTA_DST, bytes(16))
            oif = at.get(RTA_OIF)
            prio = at.get(RTA_PRIORITY)
            if len(dst) != 16:
                return False
            self.events += 1
            return self._put_route(table, rtype, bytes(dst), dst_len,
                                   struct.unpack("=I", prio)[0] if prio and len(prio) == 4 else 0,
                                   struct.unpack("=i", oif)[0] if oif and len(oif) == 4 else None,
                                   add=mtype == RTM_NEWROUTE)
        return False

    def link_event(self, msg: bytes) -> bool:
        """An ``RTM_NEWLINK``/``RTM_DELLINK`` message: an interface down or gone loses its
        routes (the kernel drops them silently) and, when gone, its addresses."""
        if not _whole(msg, NLMSG_HDRLEN + 16):
            return False
        mtype = struct.unpack_from("=H", msg, 4)[0]
        index, flags = struct.unpack_from("=iI", msg, NLMSG_HDRLEN + 4)
        changed = False
        if mtype == RTM_DELLINK or (mtype == RTM_NEWLINK and not flags & IFF_UP):
            gone = [k for k, oif in self._routes.items() if oif == index]
            for k in gone:
                del self._routes[k]
            if gone:
                self._routes_stale = changed = True
        if mtype == RTM_DELLINK:
            gone_a = [k for k in self._addrs if k[0] == index]
            for ka in gone_a:
                del self._addrs[ka]
            if gone_a:
                self._own_stale = changed = True
        return changed

    def _put_route(self, table: int, rtype: int, dst: bytes, dst_len: int, prio: int,
                   oif: int | None, *, add: bool) -> bool:
        if table != RT_TABLE_MAIN or not self.interest:
            return False
        if not any(_overlaps(dst, dst_len, p, n) for p, n in self.interest):
            return False
        dst = (int.from_bytes(dst, "big") & ~((1 << (128 - dst_len)) - 1)
               & ((1 << 128) - 1)).to_bytes(16, "big")
        key = (dst, dst_len, prio)
        if add and rtype == RTN_UNICAST and oif is not None:
            if self._routes.get(key) == oif:
                return False
            self._routes[key] = oif
        elif self._routes.pop(key, None) is None:
            return False   # a route we never kept (another type, multipath, not ours)
        self._routes_stale = True
        return True

    # -- reading --------------------------------------------------------------------------

    def samples(self) -> list[tuple[str, str, str, list[tuple[dict[str, str], int]]]]:
        """Metric families (:func:`~.stats.render_families`): dumps and applied events."""
        return [
            ("v6core_respond_kernel_dumps_total", "counter",
             "Full reads of the host's IPv6 addresses and routes (start, netlink overrun, "
             "failed read).", [({}, self.dumps)]),
            ("v6core_respond_kernel_events_total", "counter",
             "IPv6 address and route events read and applied in place (no dump).", [({}, self.events)]),
        ]

    @property
    def own(self) -> list[str]:
        """The host's addresses as ``"addr/128"`` text, each once, in first-seen order."""
        seen: dict[bytes, None] = {}
        for _, a in self._addrs:
            seen.setdefault(a, None)
        return [socket.inet_ntop(socket.AF_INET6, a) + "/128" for a in seen]

    @property
    def own_table(self) -> PrefixTable | None:
        """The host's addresses as a /128 table (None: none), rebuilt only after a change."""
        if self._own_stale:
            own = self.own
            self._own = PrefixTable(own) if own else None
            self._own_stale = False
        return self._own

    @property
    def linklocal(self) -> dict[int, str]:
        """ifindex -> the first (in dump, then arrival, order) fe80::/10 address on it."""
        out: dict[int, str] = {}
        for index, a in self._addrs:
            if a[0] == 0xFE and a[1] & 0xC0 == 0x80 and index not in out:
                out[index] = socket.inet_ntop(socket.AF_INET6, a)
        return out

    @property
    def route_map(self) -> dict[tuple[bytes, int], int]:
        """(prefix, length) -> output ifindex of its lowest-metric unicast route."""
        best: dict[tuple[bytes, int], tuple[int, int]] = {}
        for (dst, n, prio), oif in self._routes.items():
            cur = best.get((dst, n))
            if cur is None or prio < cur[0]:
                best[(dst, n)] = (prio, oif)
        return {k: v[1] for k, v in best.items()}

    @property
    def routes(self) -> PrefixTable | None:
        """The kept routes as prefix -> ifindex (None: none), rebuilt only after a change."""
        if self._routes_stale:
            m = self.route_map
            self._route_table = PrefixTable(list(m), list(m.values())) if m else None
            self._routes_stale = False
        return self._route_table
