"""KernelTables without root: rtnetlink messages encoded by pyroute2 (an independent
encoder) are applied one by one, and the result must equal a fresh load of the final
state (the same messages decoded by pyroute2, as a dump returns them)."""

from __future__ import annotations

import socket
import struct

import pytest

from v6core._core.addr import parse_prefix
from v6core.responder.kernel import (
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_DELROUTE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWROUTE,
    KernelTables,
)

pytest.importorskip("pyroute2")
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg  # noqa: E402
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: E402
from pyroute2.netlink.rtnl.rtmsg import rtmsg  # noqa: E402

AUTO = "2001:db8:f440:2::/64"
INTEREST = [parse_prefix(AUTO)]


def route(mtype: int, dst: str, plen: int, oif: int | None, *, prio: int | None = 1024,
          table: int = 254, rtype: int = 1) -> bytes:
    m = rtmsg()
    m["header"]["type"] = mtype
    m["family"] = socket.AF_INET6
    m["dst_len"] = plen
    m["table"] = min(table, 252) if table > 255 else table
    m["type"] = rtype
    attrs = [("RTA_TABLE", table)]
    if plen:
        attrs.append(("RTA_DST", dst))
    if oif is not None:
        attrs.append(("RTA_OIF", oif))
    if prio is not None:
        attrs.append(("RTA_PRIORITY", prio))
    m["attrs"] = attrs
    m.encode()
    return bytes(m.data)


def addr(mtype: int, address: str, index: int) -> bytes:
    m = ifaddrmsg()
    m["header"]["type"] = mtype
    m["family"] = socket.AF_INET6
    m["prefixlen"] = 64
    m["index"] = index
    m["attrs"] = [("IFA_ADDRESS", address)]
    m.encode()
    return bytes(m.data)


def link(mtype: int, index: int, up: bool) -> bytes:
    m = ifinfmsg()
    m["header"]["type"] = mtype
    m["index"] = index
    m["flags"] = 1 if up else 0
    m["attrs"] = [("IFLA_IFNAME", f"if{index}")]
    m.encode()
    return bytes(m.data)


def decoded(raw: bytes, cls):
    m = cls(raw)
    m.decode()
    return m


def fresh(addrs: list[bytes], routes: list[bytes]) -> KernelTables:
    """What a dump of this state gives: main-table routes only, as get_routes(table=254)."""
    t = KernelTables(INTEREST)
    rs = [decoded(r, rtmsg) for r in routes]
    t.load([decoded(a, ifaddrmsg) for a in addrs],
           [r for r in rs if (r.get_attr("RTA_TABLE") or r["table"]) == 254])
    return t


def same(a: KernelTables, b: KernelTables) -> None:
    assert sorted(a.own) == sorted(b.own)
    assert a.linklocal == b.linklocal
    assert a.route_map == b.route_map
    ra, rb = a.routes, b.routes
    assert (ra is None) == (rb is None)
    if ra is not None and rb is not None:
        assert sorted(ra) == sorted(rb)


def test_events_applied_one_by_one_equal_a_fresh_dump():
    kernel_routes: dict[tuple, bytes] = {}   # the test's model of the kernel's main table
    kernel_addrs: dict[tuple, bytes] = {}
    t = KernelTables(INTEREST)
    t.load([], [])
    steps = [
        ("r+", ("::", 0, 2, 1024)),
        ("r+", ("2001:db8:f440:2::", 64, 2, 256)),
        ("r+", ("2001:db8:f440:2:646f:636b:6572:0", 112, 3, 1024)),
        ("r+", ("2001:db8:f440:2::77", 128, 3, 1024)),
        ("r+", ("2001:db8:f440:2::77", 128, 4, 10)),      # lower metric: wins
        ("r+", ("2001:db8:9999::", 48, 5, 1024)),           # outside the auto prefix
        ("a+", ("fe80::1", 2)),
        ("a+", ("2001:db8:f440:2::2", 2)),
        ("a+", ("fe80::2", 2)),
        ("a+", ("fe80::3", 3)),
        ("r-", ("2001:db8:f440:2::77", 128, 4, 10)),      # back to the metric-1024 one
        ("a-", ("fe80::1", 2)),                            # fe80::2 is the link-local now
        ("r-", ("2001:db8:f440:2:646f:636b:6572:0", 112, 3, 1024)),
    ]
    for kind, args in steps:
        if kind[0] == "r":
            dst, plen, oif, prio = args
            raw = route(RTM_NEWROUTE if kind == "r+" else RTM_DELROUTE, dst, plen, oif,
                        prio=prio)
            if kind == "r+":
                kernel_routes[(dst, plen, prio)] = route(RTM_NEWROUTE, dst, plen, oif, prio=prio)
            else:
                del kernel_routes[(dst, plen, prio)]
        else:
            a, index = args
            raw = addr(RTM_NEWADDR if kind == "a+" else RTM_DELADDR, a, index)
            if kind == "a+":
                kernel_addrs[args] = addr(RTM_NEWADDR, a, index)
            else:
                del kernel_addrs[args]
        t.apply(raw)
        same(t, fresh(list(kernel_addrs.values()), list(kernel_routes.values())))
    assert t.dumps == 1
    assert t.events == len(steps)         # each read in place, none by a dump
    assert t.route_map[(parse_prefix("2001:db8:f440:2::77/128"))] == 3
    assert t.linklocal == {2: "fe80::2", 3: "fe80::3"}
    rt = t.routes
    assert rt is not None
    assert rt.lookup("2001:db8:f440:2::77") == 3
    assert rt.lookup("2001:db8:f440:2::78") == 2


def test_tables_are_rebuilt_only_after_a_change():
    t = KernelTables(INTEREST)
    t.apply(route(RTM_NEWROUTE, "2001:db8:f440:2::", 64, 2))
    first = t.routes
    assert t.apply(route(RTM_NEWROUTE, "2001:db8:f440:2::", 64, 2)) is False   # no change
    assert t.routes is first
    assert t.apply(route(RTM_NEWROUTE, "2001:db8:f440:2::", 64, 3)) is True    # replaced
    assert t.routes is not first and t.routes is not None
    assert t.routes.lookup("2001:db8:f440:2::1") == 3


def test_other_tables_types_and_junk_change_nothing():
    t = KernelTables(INTEREST)
    t.load([], [])
    before = (t.route_map, t.own)
    assert not t.apply(route(RTM_NEWROUTE, "2001:db8:f440:2::", 64, 2, table=255))   # local
    assert not t.apply(route(RTM_NEWROUTE, "2001:db8:f440:2::", 64, 2, table=1000))  # RTA_TABLE
    assert not t.apply(route(RTM_NEWROUTE, "2001:db8:f440:2::", 64, 2, rtype=6))     # prohibit
    assert not t.apply(route(RTM_NEWROUTE, "2001:db8:f440:2::", 64, None))           # multipath
    assert not t.apply(route(RTM_DELROUTE, "2001:db8:f440:2::", 64, 2))              # unknown
    assert not t.apply(addr(RTM_DELADDR, "fe80::9", 2))
    good = route(RTM_NEWROUTE, "2001:db8:f440:2::", 64, 2)
    for cut in range(len(good)):         # every truncation: no exception, maybe no change
        KernelTables(INTEREST).apply(good[:cut])
    junk = bytearray(good)
    struct.pack_into("=HH", junk, 28, 2, 1)   # an rtattr shorter than its header
    KernelTables(INTEREST).apply(bytes(junk))
    assert (t.route_map, t.own) == before
    # no auto rule: no route is ever kept
    t2 = KernelTables()
    assert not t2.apply(good) and t2.routes is None


def test_a_replace_to_another_type_removes_the_route():
    t = KernelTables(INTEREST)
    t.apply(route(RTM_NEWROUTE, "2001:db8:f440:2::", 64, 2))
    assert t.apply(route(RTM_NEWROUTE, "2001:db8:f440:2::", 64, None, rtype=2))  # local-type
    assert t.routes is None


def test_link_down_drops_its_routes_and_link_gone_its_addresses():
    t = KernelTables(INTEREST)
    t.apply(route(RTM_NEWROUTE, "2001:db8:f440:2::", 64, 2))
    t.apply(route(RTM_NEWROUTE, "2001:db8:f440:2::77", 128, 3))
    t.apply(addr(RTM_NEWADDR, "fe80::3", 3))
    assert not t.link_event(link(RTM_NEWLINK, 3, up=True))
    assert t.link_event(link(RTM_NEWLINK, 3, up=False))
    assert t.route_map == {parse_prefix(AUTO): 2}
    assert t.linklocal == {3: "fe80::3"}          # addresses stay while it is only down
    assert t.link_event(link(RTM_DELLINK, 3, up=False))
    assert t.linklocal == {} and t.own == []
    for cut in range(40):
        t.link_event(link(RTM_DELLINK, 2, up=False)[:cut])
    assert t.route_map == {parse_prefix(AUTO): 2}


def test_samples_report_dumps_and_events():
    t = KernelTables(INTEREST)
    t.load([], [])
    t.apply(route(RTM_NEWROUTE, "2001:db8:f440:2::", 64, 2))
    fams = {name: samples for name, _, _, samples in t.samples()}
    assert fams["v6core_respond_kernel_dumps_total"] == [({}, 1)]
    assert fams["v6core_respond_kernel_events_total"] == [({}, 1)]
