"""KernelTables against the real kernel: the rtnetlink events a namespace emits while its
routes, addresses and links change are applied in place, and after every step the result
must equal a fresh dump of that namespace (root; the kernel is the oracle)."""

from __future__ import annotations

import socket
import time

import pytest
from respond_lab import in_netns

from v6core._core.addr import parse_prefix
from v6core.responder.daemon import RTMGRP_IPV6_IFADDR, RTMGRP_IPV6_ROUTE, RTMGRP_LINK
from v6core.responder.kernel import RTM_DELLINK, RTM_NEWLINK, KernelTables

pytestmark = pytest.mark.netns
pyroute2 = pytest.importorskip("pyroute2")

AUTO = "2001:db8:f440:2::/64"


def _drain(nl: socket.socket, t: KernelTables, settle: float = 0.2) -> int:
    """Apply every queued event (waiting ``settle`` s for stragglers); the count read."""
    n = 0
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        try:
            buf = nl.recv(1 << 20)
        except BlockingIOError:
            time.sleep(0.02)
            continue
        off = 0
        while off + 16 <= len(buf):
            length, mtype = int.from_bytes(buf[off:off + 4], "little"), \
                int.from_bytes(buf[off + 4:off + 6], "little")
            if length < 16:
                break
            msg = buf[off:off + length]
            if mtype in (RTM_NEWLINK, RTM_DELLINK):
                t.link_event(msg)
            else:
                t.apply(msg)
            n += 1
            off += (length + 3) & ~3
    return n


def _dump(ipr) -> KernelTables:
    f = KernelTables([parse_prefix(AUTO)])
    f.load(ipr.get_addr(family=socket.AF_INET6),
           ipr.get_routes(family=socket.AF_INET6, table=254))
    return f


def test_events_from_the_kernel_keep_the_tables_equal_to_a_dump(make_netns):
    host = make_netns("kern")
    peer = make_netns("kpeer")
    host.veth(peer, "up0", "eth0")
    host.veth(peer, "dn0", "eth1")
    with in_netns(host.name):
        nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
        nl.bind((0, RTMGRP_LINK | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE))
        nl.setblocking(False)
        from pyroute2 import IPRoute
        ipr = IPRoute()
    try:
        t = _dump(ipr)
        steps = [
            ("addr", "add", "2001:db8:f440:2::2/64", "dev", "up0"),
            ("route", "add", "2001:db8:f440:2:646f:636b:6572::/112", "dev", "dn0"),
            ("route", "add", "2001:db8:f440:2::77/128", "dev", "dn0", "metric", "2000"),
            ("route", "add", "2001:db8:f440:2::77/128", "dev", "up0", "metric", "10"),
            ("route", "add", "2001:db8:9999::/48", "dev", "dn0"),
            ("route", "add", "default", "via", "fe80::1", "dev", "up0"),
            ("route", "replace", "2001:db8:f440:2::77/128", "dev", "dn0", "metric", "10"),
            ("route", "del", "2001:db8:f440:2::77/128", "metric", "10"),
            ("addr", "add", "fd00::2/64", "dev", "dn0"),
            ("addr", "del", "2001:db8:f440:2::2/64", "dev", "up0"),
            ("link", "set", "dn0", "down"),          # its routes go without an event
            ("link", "set", "dn0", "up"),
            ("route", "add", "2001:db8:f440:2:646f:636b:6572::/112", "dev", "dn0"),
            ("link", "del", "dn0"),
        ]
        events = 0
        for step in steps:
            host.ip("-6", *step)
            events += _drain(nl, t)
            fresh = _dump(ipr)
            assert sorted(t.own) == sorted(fresh.own), step
            assert t.linklocal == fresh.linklocal, step
            assert t.route_map == fresh.route_map, step
            assert t.dumps == 1, "never re-dumped"
        assert events >= len(steps)
        # only the default route through up0 is left for the auto prefix
        (up0,) = ipr.link_lookup(ifname="up0")
        rt = t.routes
        assert rt is not None and rt.lookup("2001:db8:f440:2::77") == up0
    finally:
        nl.close()
        ipr.close()
