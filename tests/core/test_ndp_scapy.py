"""scapy as the oracle, with random fields and random option sets (hypothesis).

* frames scapy builds parse identically in v6core (every field and every option);
* frames v6core builds from those parsed fields are byte-for-byte scapy's frame
  (round trip), which also checks our checksums against scapy's.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from v6core._core import ndp
from v6core.errors import DropReason

pytest.importorskip("scapy.layers.inet6")
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_Redirect,
    ICMPv6ND_RS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptMTU,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptRDNSS,
    ICMPv6NDOptRouteInfo,
    ICMPv6NDOptSrcLLAddr,
    ICMPv6NDOptUnknown,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrHopByHop,
)
from scapy.layers.l2 import Dot1Q, Ether  # noqa: E402

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

macs = st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02x}" for x in b))
unicast = st.integers(0, 2**128 - 1).filter(lambda x: (x >> 120) != 0xFF and x != 0).map(
    lambda x: str(ipaddress.IPv6Address(x)))
linklocal = st.integers(0, 2**64 - 1).map(
    lambda x: str(ipaddress.IPv6Address((0xFE80 << 112) | x)))
multicast = st.integers(0, 2**112 - 1).map(
    lambda x: str(ipaddress.IPv6Address((0xFF << 120) | x)))
vlans = st.none() | st.tuples(st.integers(0, 4095), st.integers(0, 7))


def opt_mtu():
    return st.integers(0, 2**32 - 1).map(lambda m: ICMPv6NDOptMTU(mtu=m))


def opt_prefix():
    return st.builds(
        lambda p, plen, fl, v, pr: ICMPv6NDOptPrefixInfo(
            prefix=p, prefixlen=plen, L=fl >> 1, A=fl & 1, validlifetime=v, preferredlifetime=pr),
        unicast, st.integers(0, 128), st.integers(0, 3), st.integers(0, 2**32 - 1),
        st.integers(0, 2**32 - 1))


def opt_nonce():
    return st.integers(1, 3).flatmap(
        lambda n: st.binary(min_size=8 * n - 2, max_size=8 * n - 2).map(
            lambda d: ICMPv6NDOptUnknown(type=14, len=n, data=d)))


def opt_other():
    return st.one_of(
        st.lists(unicast, min_size=1, max_size=3).map(lambda d: ICMPv6NDOptRDNSS(dns=d)),
        st.builds(lambda p, n: ICMPv6NDOptRouteInfo(prefix=p, plen=n), unicast,
                  st.integers(0, 64)),
        st.tuples(st.integers(6, 255).filter(lambda t: t != 14), st.integers(1, 4)).flatmap(
            lambda tl: st.binary(min_size=8 * tl[1] - 2, max_size=8 * tl[1] - 2).map(
                lambda d: ICMPv6NDOptUnknown(type=tl[0], len=tl[1], data=d))),
    )


def ignored_llao(otype):
    # a link-layer option the message does not use: any length, and ignored (RFC 4861 7.1.1)
    return st.integers(1, 3).flatmap(
        lambda n: st.binary(min_size=8 * n - 2, max_size=8 * n - 2).map(
            lambda d: ICMPv6NDOptUnknown(type=otype, len=n, data=d)))


def options(sllao: bool, tllao: bool):
    kinds = [opt_mtu(), opt_prefix(), opt_nonce(), opt_other()]
    kinds.append(macs.map(lambda m: ICMPv6NDOptSrcLLAddr(lladdr=m)) if sllao
                 else ignored_llao(1))
    kinds.append(macs.map(lambda m: ICMPv6NDOptDstLLAddr(lladdr=m)) if tllao
                 else ignored_llao(2))
    return st.lists(st.one_of(kinds), max_size=5)


@st.composite
def scapy_frames(draw):
    kind = draw(st.sampled_from(["NS", "NS_DAD", "NA", "RS", "RA", "Redirect"]))
    dst_mac, src_mac = draw(macs), draw(macs)
    if kind == "NS":
        src, tgt = draw(unicast), draw(unicast)
        dst = draw(st.sampled_from([str(ipaddress.IPv6Address(ndp.solicited_node(tgt))), tgt]))
        msg, opts = ICMPv6ND_NS(tgt=tgt), draw(options(True, False))
    elif kind == "NS_DAD":
        src, tgt = "::", draw(unicast)
        dst = str(ipaddress.IPv6Address(ndp.solicited_node(tgt)))
        msg, opts = ICMPv6ND_NS(tgt=tgt), draw(options(False, False).filter(
            lambda os: not any(bytes(o)[0] == 1 for o in os)))    # no SLLAO from ::
    elif kind == "NA":
        src, tgt = draw(unicast), draw(unicast)
        dst = draw(unicast | multicast)
        s = 0 if dst.startswith("ff") else draw(st.integers(0, 1))
        msg = ICMPv6ND_NA(tgt=tgt, R=draw(st.integers(0, 1)), S=s, O=draw(st.integers(0, 1)))
        opts = draw(options(False, True))
    elif kind == "RS":
        src = draw(unicast | st.just("::"))
        dst = draw(st.sampled_from(["ff02::2", draw(unicast)]))
        msg, opts = ICMPv6ND_RS(), draw(options(src != "::", False).filter(
            lambda os: src != "::" or not any(bytes(o)[0] == 1 for o in os)))
    elif kind == "RA":
        src, dst = draw(linklocal), draw(st.sampled_from(["ff02::1", draw(unicast)]))
        msg = ICMPv6ND_RA(chlim=draw(st.integers(0, 255)), M=draw(st.integers(0, 1)),
                          O=draw(st.integers(0, 1)), H=draw(st.integers(0, 1)),
                          prf=draw(st.integers(0, 3)),
                          routerlifetime=draw(st.integers(0, 65535)),
                          reachabletime=draw(st.integers(0, 2**32 - 1)),
                          retranstimer=draw(st.integers(0, 2**32 - 1)))
        opts = draw(options(True, False))
    else:
        src, dst = draw(linklocal), draw(unicast)
        rdst = draw(unicast)
        tgt = draw(st.sampled_from([rdst, draw(linklocal)]))
        msg, opts = ICMPv6ND_Redirect(tgt=tgt, dst=rdst), draw(options(False, True))
    ip = IPv6(src=src, dst=dst, hlim=255)
    if draw(st.booleans()):               # hop-by-hop only first (RFC 8200 section 4.1)
        ip = ip / IPv6ExtHdrHopByHop()
    for _ in range(draw(st.integers(0, 2))):
        ip = ip / IPv6ExtHdrDestOpt()
    pkt = ip / msg
    for o in opts:
        pkt = pkt / o
    vlan = draw(vlans)
    l2 = Ether(dst=dst_mac, src=src_mac)
    frame = l2 / Dot1Q(vlan=vlan[0], prio=vlan[1]) / pkt if vlan else l2 / pkt
    return frame, opts


def _a(text):
    return ipaddress.IPv6Address(text).packed


def _m(text):
    return bytes.fromhex(text.replace(":", ""))


@SETTINGS
@given(scapy_frames())
def test_scapy_frames_parse_identically(case):
    pkt, opts = case
    frame = bytes(pkt)
    f = ndp.parse(frame)
    sc = Ether(frame)
    ip = sc[IPv6]
    assert f.reason == DropReason.OK
    assert bytes(f.src) == _a(ip.src) and bytes(f.dst) == _a(ip.dst)
    assert bytes(f.src_mac) == _m(sc.src) and bytes(f.dst_mac) == _m(sc.dst)
    if Dot1Q in sc:
        assert f.vlan_id == sc[Dot1Q].vlan and f.vlan_tci >> 13 == sc[Dot1Q].prio
    else:
        assert f.vlan_tci is None
    # every option, in order, byte for byte
    assert [(o.type, bytes(o.data)) for o in f.options] == [(bytes(o)[0], bytes(o)) for o in opts]
    # options the message uses (RFC 4861 sections 6.1, 7.1, 8.1); the rest are ignored
    used = {133: {1, 14}, 134: {1, 3, 5, 14}, 135: {1, 14}, 136: {2, 14}, 137: {2, 4}}[f.type]
    first = {}
    for o in opts:
        if bytes(o)[0] in used:
            first.setdefault(bytes(o)[0], bytes(o))
    assert (bytes(f.sll) if f.sll is not None else None) == (first[1][2:8] if 1 in first else None)
    assert (bytes(f.tll) if f.tll is not None else None) == (first[2][2:8] if 2 in first else None)
    assert f.mtu == (int.from_bytes(first[5][4:8], "big") if 5 in first else None)
    assert (bytes(f.nonce) if f.nonce is not None else None) == (first[14][2:] if 14 in first else None)
    pis = [o for o in opts if bytes(o)[0] == 3 and 3 in used]
    assert [(bytes(p.prefix), p.plen, p.valid, p.preferred) for p in f.prefixes] == [
        (_a(o.prefix), o.prefixlen, o.validlifetime, o.preferredlifetime) for o in pis]
    if ICMPv6ND_NS in sc:
        assert f.type == 135 and bytes(f.target) == _a(sc[ICMPv6ND_NS].tgt)
    elif ICMPv6ND_NA in sc:
        na = sc[ICMPv6ND_NA]
        assert f.type == 136 and bytes(f.target) == _a(na.tgt)
        assert (f.router, f.solicited, f.override) == (bool(na.R), bool(na.S), bool(na.O))
    elif ICMPv6ND_RA in sc:
        ra = sc[ICMPv6ND_RA]
        assert f.type == 134
        assert (f.cur_hop_limit, f.router_lifetime, f.reachable_time, f.retrans_timer) == (
            ra.chlim, ra.routerlifetime, ra.reachabletime, ra.retranstimer)
        assert f.flags == bytes(ra)[5]
    elif ICMPv6ND_Redirect in sc:
        rd = sc[ICMPv6ND_Redirect]
        assert f.type == 137 and bytes(f.target) == _a(rd.tgt)
        assert bytes(f.destination) == _a(rd.dst)
    else:
        assert f.type == 133 and ICMPv6ND_RS in sc


def _vlan(sc):
    return None if Dot1Q not in sc else (sc[Dot1Q].prio << 13) | sc[Dot1Q].vlan


@st.composite
def canonical(draw):
    """Frames whose option order is our builders' (so a rebuild must match byte-exactly)."""
    kind = draw(st.sampled_from(["NA", "NS", "RS", "RA"]))
    dst_mac, src_mac = draw(macs), draw(macs)
    l2 = Ether(dst=dst_mac, src=src_mac)
    vlan = draw(vlans)
    if vlan:
        l2 = l2 / Dot1Q(vlan=vlan[0], prio=vlan[1])
    if kind == "NA":
        dst = draw(unicast)
        p = IPv6(src=draw(unicast), dst=dst, hlim=255) / ICMPv6ND_NA(
            tgt=draw(unicast), R=draw(st.integers(0, 1)), S=draw(st.integers(0, 1)),
            O=draw(st.integers(0, 1)))
        if draw(st.booleans()):
            p = p / ICMPv6NDOptDstLLAddr(lladdr=draw(macs))
    elif kind == "NS":
        tgt = draw(unicast)
        p = IPv6(src=draw(unicast), dst=draw(st.sampled_from([tgt, draw(unicast)])),
                 hlim=255) / ICMPv6ND_NS(tgt=tgt)
        if draw(st.booleans()):
            p = p / ICMPv6NDOptSrcLLAddr(lladdr=draw(macs))
        if draw(st.booleans()):
            n = draw(st.integers(1, 2))
            p = p / ICMPv6NDOptUnknown(type=14, len=n, data=draw(
                st.binary(min_size=8 * n - 2, max_size=8 * n - 2)))
    elif kind == "RS":
        p = IPv6(src=draw(unicast), dst=draw(unicast), hlim=255) / ICMPv6ND_RS()
        if draw(st.booleans()):
            p = p / ICMPv6NDOptSrcLLAddr(lladdr=draw(macs))
    else:
        p = IPv6(src=draw(linklocal), dst=draw(unicast), hlim=255) / ICMPv6ND_RA(
            chlim=draw(st.integers(0, 255)), M=draw(st.integers(0, 1)),
            O=draw(st.integers(0, 1)), routerlifetime=draw(st.integers(0, 65535)),
            reachabletime=draw(st.integers(0, 2**32 - 1)),
            retranstimer=draw(st.integers(0, 2**32 - 1)))
        if draw(st.booleans()):
            p = p / ICMPv6NDOptSrcLLAddr(lladdr=draw(macs))
        if draw(st.booleans()):
            p = p / ICMPv6NDOptMTU(mtu=draw(st.integers(1, 2**32 - 1)))
        for _ in range(draw(st.integers(0, 3))):
            p = p / draw(opt_prefix())
    return bytes(l2 / p)


@SETTINGS
@given(canonical())
def test_round_trip_byte_exact(frame):
    f = ndp.parse(frame)
    common = dict(src=bytes(f.src), dst=bytes(f.dst), src_mac=bytes(f.src_mac),
                  dst_mac=bytes(f.dst_mac), vlan=f.vlan_tci)
    if f.type == 136:
        out = ndp.build_na(target=bytes(f.target), router=f.router, solicited=f.solicited,
                           override=f.override, tlla=f.tll, **common)
    elif f.type == 135:
        out = ndp.build_ns(target=bytes(f.target), slla=f.sll, nonce=f.nonce, **common)
    elif f.type == 133:
        out = ndp.build_rs(slla=f.sll, **common)
    else:
        out = ndp.build_ra(cur_hop_limit=f.cur_hop_limit, flags=f.flags,
                           router_lifetime=f.router_lifetime, reachable_time=f.reachable_time,
                           retrans_timer=f.retrans_timer, slla=f.sll, mtu=f.mtu,
                           prefixes=[(bytes(p.prefix), p.plen, p.flags, p.valid, p.preferred)
                                     for p in f.prefixes], **common)
    assert out == frame
    assert _vlan(Ether(out)) == f.vlan_tci


@SETTINGS
@given(scapy_frames())
def test_scapy_frames_with_a_wrong_checksum_are_refused(case):
    frame = bytearray(bytes(case[0]))
    f = ndp.parse(frame)
    frame[f.icmp_off + 2] ^= 0x01
    assert ndp.validate(frame) == DropReason.CHECKSUM
