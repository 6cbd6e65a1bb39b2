"""NDP codec: validation rules (one failing frame each), builders and parser against scapy.

scapy is the independent oracle: the failing frames below are built by scapy with one
rule broken (its own checksum, unless the checksum is the point), our frames are dissected
by scapy, and scapy's frames are parsed by us.
"""

from __future__ import annotations

import ipaddress
import mmap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from v6core._core import ndp
from v6core.errors import DropReason, ParseError

scapy_l2 = pytest.importorskip("scapy.layers.l2")
inet6 = pytest.importorskip("scapy.layers.inet6")
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_Redirect,
    ICMPv6ND_RS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptMTU,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptRDNSS,
    ICMPv6NDOptRedirectedHdr,
    ICMPv6NDOptSrcLLAddr,
    ICMPv6NDOptUnknown,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    in6_chksum,
)
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"
LL_A = "fe80::a"
TGT = "2001:db8::2"
SNM = "ff02::1:ff00:2"


def eth(dst="33:33:ff:00:00:02"):
    return Ether(src=MAC_A, dst=dst)


def ns_ok():
    return (eth() / IPv6(src=LL_A, dst=SNM, hlim=255) / ICMPv6ND_NS(tgt=TGT)
            / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A))


def icmp_raw(ip, msg: bytes):
    """An IPv6 packet carrying ``msg`` as ICMPv6 with the checksum scapy computes."""
    ip = ip.copy()
    ip.nh = 58
    ck = in6_chksum(58, ip, msg[:2] + b"\0\0" + msg[4:])
    return ip / Raw(msg[:2] + ck.to_bytes(2, "big") + msg[4:])


def ns_bytes_short(n):
    body = bytes(ICMPv6ND_NS(tgt=TGT))[:n]
    return eth() / icmp_raw(IPv6(src=LL_A, dst=SNM, hlim=255), body)


def unknown_opt(otype, length, total):
    return ICMPv6NDOptUnknown(type=otype, len=length, data=b"\x02" * (total - 2))


def ra(src=LL_A, **kw):
    return eth("33:33:00:00:00:01") / IPv6(src=src, dst="ff02::1", hlim=255) / ICMPv6ND_RA(**kw)


def redirect(src=LL_A, tgt="fe80::9", dst="2001:db8::7"):
    return (eth("02:00:00:00:00:0b") / IPv6(src=src, dst="2001:db8::1", hlim=255)
            / ICMPv6ND_Redirect(tgt=tgt, dst=dst))


def _ext_chain(n):
    p = IPv6(src=LL_A, dst=SNM, hlim=255)
    for _ in range(n):
        p = p / IPv6ExtHdrDestOpt()
    return eth() / p / ICMPv6ND_NS(tgt=TGT)


# One frame (or more) per validation rule, built by scapy.
FAILING = {
    DropReason.ETH_TRUNC: [bytes(ns_ok())[:13], bytes(eth() / Dot1Q(vlan=3))[:16]],
    DropReason.ETHERTYPE: [eth() / IP() / UDP(), eth() / Dot1Q(vlan=3) / IP() / UDP()],
    DropReason.VLAN_STACK: [
        eth() / Dot1Q(vlan=3) / Dot1Q(vlan=4) / ns_ok()[IPv6],
        eth() / Dot1AD(vlan=3) / Dot1Q(vlan=4) / ns_ok()[IPv6],
    ],
    DropReason.IP6_TRUNC: [bytes(ns_ok())[:14 + 39]],
    DropReason.IP6_VERSION: [eth() / IPv6(version=4, src=LL_A, dst=SNM, hlim=255)
                             / ICMPv6ND_NS(tgt=TGT)],
    DropReason.IP6_PLEN: [bytes(ns_ok())[:-1],
                          eth() / IPv6(src=LL_A, dst=SNM, hlim=255, plen=200)
                          / ICMPv6ND_NS(tgt=TGT)],
    DropReason.SRC_MULTICAST: [eth() / IPv6(src="ff02::1", dst=SNM, hlim=255)
                               / ICMPv6ND_NS(tgt=TGT)],
    DropReason.EXT_TRUNC: [
        eth() / IPv6(src=LL_A, dst=SNM, hlim=255) / IPv6ExtHdrDestOpt(len=9)
        / ICMPv6ND_NS(tgt=TGT),
        eth() / IPv6(src=LL_A, dst=SNM, hlim=255, nh=60, plen=6) / Raw(b"\x3a\x00" + b"\1" * 6),
    ],
    DropReason.EXT_HBH_POS: [eth() / IPv6(src=LL_A, dst=SNM, hlim=255) / IPv6ExtHdrDestOpt()
                             / IPv6ExtHdrHopByHop() / ICMPv6ND_NS(tgt=TGT)],
    DropReason.EXT_LIMIT: [_ext_chain(9)],
    DropReason.FRAGMENT: [eth() / IPv6(src=LL_A, dst=SNM, hlim=255) / IPv6ExtHdrFragment()
                          / ICMPv6ND_NS(tgt=TGT)],
    DropReason.NOT_ICMPV6: [eth() / IPv6(src=LL_A, dst=SNM, hlim=255) / UDP(),
                            eth() / IPv6(src=LL_A, dst=SNM, hlim=255, nh=59)],
    DropReason.ICMP_TRUNC: [eth() / IPv6(src=LL_A, dst=SNM, hlim=255, nh=58) / Raw(b"\x87\x00")],
    DropReason.NOT_ND: [eth() / IPv6(src=LL_A, dst=SNM, hlim=255) / ICMPv6EchoRequest()],
    DropReason.HOP_LIMIT: [eth() / IPv6(src=LL_A, dst=SNM, hlim=64) / ICMPv6ND_NS(tgt=TGT)],
    DropReason.CODE: [eth() / IPv6(src=LL_A, dst=SNM, hlim=255) / ICMPv6ND_NS(tgt=TGT, code=1)],
    DropReason.ICMP_LEN: [
        ns_bytes_short(20),
        eth() / icmp_raw(IPv6(src=LL_A, dst="ff02::1", hlim=255), bytes(ICMPv6ND_RA())[:12]),
        eth() / icmp_raw(IPv6(src=LL_A, dst="ff02::2", hlim=255), bytes(ICMPv6ND_RS())[:6]),
        eth() / icmp_raw(IPv6(src=LL_A, dst="ff02::1", hlim=255), bytes(ICMPv6ND_NA(tgt=TGT))[:23]),
        eth() / icmp_raw(IPv6(src=LL_A, dst="2001:db8::1", hlim=255),
                         bytes(ICMPv6ND_Redirect())[:39]),
    ],
    DropReason.CHECKSUM: [eth() / IPv6(src=LL_A, dst=SNM, hlim=255)
                          / ICMPv6ND_NS(tgt=TGT, cksum=0x1234)],
    DropReason.OPT_LEN_ZERO: [eth() / IPv6(src=LL_A, dst=SNM, hlim=255) / ICMPv6ND_NS(tgt=TGT)
                              / ICMPv6NDOptSrcLLAddr(len=0, lladdr=MAC_A)],
    DropReason.OPT_TRUNC: [
        eth() / IPv6(src=LL_A, dst=SNM, hlim=255) / ICMPv6ND_NS(tgt=TGT) / Raw(b"\x01"),
        eth() / IPv6(src=LL_A, dst=SNM, hlim=255) / ICMPv6ND_NS(tgt=TGT)
        / ICMPv6NDOptSrcLLAddr(len=2, lladdr=MAC_A),
    ],
    DropReason.OPT_LLAO_LEN: [
        eth() / IPv6(src=LL_A, dst=SNM, hlim=255) / ICMPv6ND_NS(tgt=TGT) / unknown_opt(1, 2, 16),
        eth("02:00:00:00:00:0b") / IPv6(src=TGT, dst=LL_A, hlim=255)
        / ICMPv6ND_NA(tgt=TGT, S=1) / unknown_opt(2, 3, 24),
    ],
    DropReason.OPT_SIZE: [ra() / unknown_opt(5, 2, 16), ra() / unknown_opt(3, 3, 24)],
    DropReason.TARGET_MULTICAST: [
        eth() / IPv6(src=LL_A, dst=SNM, hlim=255) / ICMPv6ND_NS(tgt="ff02::1"),
        eth("33:33:00:00:00:01") / IPv6(src=LL_A, dst="ff02::1", hlim=255)
        / ICMPv6ND_NA(tgt="ff05::2", S=0),
        redirect(tgt="ff02::5", dst="ff02::5"),
    ],
    DropReason.UNSPEC_DST: [
        eth("02:00:00:00:00:0b") / IPv6(src="::", dst=TGT, hlim=255) / ICMPv6ND_NS(tgt=TGT),
        eth("33:33:00:00:00:01") / IPv6(src="::", dst="ff02::1", hlim=255) / ICMPv6ND_NS(tgt=TGT),
    ],
    DropReason.UNSPEC_SLLAO: [
        eth() / IPv6(src="::", dst=SNM, hlim=255) / ICMPv6ND_NS(tgt=TGT)
        / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A),
        eth("33:33:00:00:00:02") / IPv6(src="::", dst="ff02::2", hlim=255) / ICMPv6ND_RS()
        / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A),
    ],
    DropReason.NA_SOLICITED_MCAST: [eth("33:33:00:00:00:01") / IPv6(src=TGT, dst="ff02::1", hlim=255)
                                    / ICMPv6ND_NA(tgt=TGT, S=1)],
    DropReason.SRC_NOT_LINKLOCAL: [ra(src="2001:db8::1"), redirect(src="2001:db8::1")],
    DropReason.REDIRECT_DST_MULTICAST: [redirect(dst="ff02::1")],
    DropReason.REDIRECT_TARGET: [redirect(tgt="2001:db8::8", dst="2001:db8::7")],
}


def test_every_reason_has_a_failing_frame():
    assert set(FAILING) == set(DropReason) - {DropReason.OK}


@pytest.mark.parametrize(
    ("reason", "i"), [(r, i) for r, frames in FAILING.items() for i in range(len(frames))],
    ids=lambda v: v.name if isinstance(v, DropReason) else str(v))
def test_failing_frame(reason, i):
    frame = bytes(FAILING[reason][i])
    assert ndp.validate(frame) == reason
    with pytest.raises(ParseError) as ei:
        ndp.parse(frame)
    assert ei.value.reason == reason
    assert 0 <= ei.value.offset <= len(frame)
    assert reason.name in str(ei.value)


def test_reason_enum_mirrors_c():
    # the C enum's count is exported through the batch API: all codes round-trip
    assert [int(r) for r in DropReason] == list(range(len(DropReason)))
    for r in DropReason:
        assert r.describe()


def test_bad_offsets_point_at_the_field():
    f = bytes(FAILING[DropReason.HOP_LIMIT][0])
    assert ndp.inspect(f).bad_off == 14 + 7
    f = bytes(FAILING[DropReason.CHECKSUM][0])
    assert ndp.inspect(f).bad_off == 14 + 40 + 2
    f = bytes(FAILING[DropReason.TARGET_MULTICAST][0])
    assert ndp.inspect(f).bad_off == 14 + 40 + 8
    f = bytes(FAILING[DropReason.OPT_LEN_ZERO][0])
    assert ndp.inspect(f).bad_off == 14 + 40 + 24 + 1


# ---------------------------------------------------------------------------------------
# Valid frames that must pass (and must not be refused for the wrong reason)

VALID = {
    "ns_multicast": ns_ok(),
    "ns_dad": eth() / IPv6(src="::", dst=SNM, hlim=255) / ICMPv6ND_NS(tgt=TGT),
    "ns_unicast_nud": eth("02:00:00:00:00:0b") / IPv6(src=LL_A, dst=TGT, hlim=255)
    / ICMPv6ND_NS(tgt=TGT),
    "ns_vlan": eth() / Dot1Q(vlan=7, prio=5) / ns_ok()[IPv6],
    "ns_hbh": eth() / IPv6(src=LL_A, dst=SNM, hlim=255) / IPv6ExtHdrHopByHop()
    / ICMPv6ND_NS(tgt=TGT),
    "ns_three_ext": eth() / IPv6(src=LL_A, dst=SNM, hlim=255) / IPv6ExtHdrHopByHop()
    / IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting() / ICMPv6ND_NS(tgt=TGT),
    "ns_eight_ext": _ext_chain(8),
    # options not specified for NS are ignored whatever their size (RFC 4861 section 7.1.1)
    "ns_ignored_opts": ns_ok() / unknown_opt(2, 3, 24) / unknown_opt(3, 1, 8)
    / unknown_opt(5, 2, 16),
    # Ethernet padding after the IPv6 payload (a 60-byte minimum frame would have it)
    "ns_padded": bytes(eth() / IPv6(src="::", dst=SNM, hlim=255) / ICMPv6ND_NS(tgt=TGT)) + b"\0" * 6,
    "na_solicited": eth(MAC_B) / IPv6(src=TGT, dst=LL_A, hlim=255)
    / ICMPv6ND_NA(tgt=TGT, R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=MAC_A),
    "na_unsolicited": eth("33:33:00:00:00:01") / IPv6(src=TGT, dst="ff02::1", hlim=255)
    / ICMPv6ND_NA(tgt=TGT, R=1, S=0, O=1),
    "rs": eth("33:33:00:00:00:02") / IPv6(src=LL_A, dst="ff02::2", hlim=255) / ICMPv6ND_RS()
    / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A),
    "rs_unspec": eth("33:33:00:00:00:02") / IPv6(src="::", dst="ff02::2", hlim=255) / ICMPv6ND_RS(),
    "ra": ra(M=1, O=1, routerlifetime=600, reachabletime=30000, retranstimer=1000)
    / ICMPv6NDOptSrcLLAddr(lladdr=MAC_A) / ICMPv6NDOptMTU(mtu=1480)
    / ICMPv6NDOptPrefixInfo(prefix="2001:db8:1::", prefixlen=64, validlifetime=86400,
                            preferredlifetime=14400)
    / ICMPv6NDOptPrefixInfo(prefix="2001:db8:2::", prefixlen=48, L=0, A=1)
    / ICMPv6NDOptRDNSS(dns=["2001:db8::53"]),
    "redirect": redirect() / ICMPv6NDOptDstLLAddr(lladdr=MAC_B)
    / ICMPv6NDOptRedirectedHdr(pkt=bytes(IPv6(src="2001:db8::1", dst="2001:db8::7") / UDP())),
    "redirect_onlink": redirect(tgt="2001:db8::7", dst="2001:db8::7"),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_frame_accepted(name):
    frame = bytes(VALID[name])
    f = ndp.parse(frame)
    sc = Ether(frame)
    ip = sc[IPv6]
    assert f.reason == DropReason.OK
    assert bytes(f.src) == ipaddress.IPv6Address(ip.src).packed
    assert bytes(f.dst) == ipaddress.IPv6Address(ip.dst).packed
    assert f.hop_limit == ip.hlim
    assert bytes(f.src_mac) == bytes.fromhex(sc.src.replace(":", ""))
    assert bytes(f.dst_mac) == bytes.fromhex(sc.dst.replace(":", ""))
    assert f.end - f.icmp_off == f.icmp_len
    # the ICMP message is the upper-layer payload scapy sees
    icmp = next(layer for layer in (ICMPv6ND_NS, ICMPv6ND_NA, ICMPv6ND_RS, ICMPv6ND_RA,
                                    ICMPv6ND_Redirect) if layer in sc)
    assert f.type == sc[icmp].type
    assert bytes(f.icmp) == bytes(sc[icmp])[:f.icmp_len]
    assert f.end == f.ip6_off + 40 + ip.plen


def test_vlan_and_ext_fields():
    f = ndp.parse(bytes(VALID["ns_vlan"]))
    assert f.vlan_id == 7 and f.vlan_tci == (5 << 13) | 7 and f.ip6_off == 18
    assert ndp.parse(bytes(VALID["ns_three_ext"])).n_ext == 3
    assert ndp.parse(bytes(VALID["ns_eight_ext"])).n_ext == 8
    f = ndp.parse(bytes(VALID["ns_padded"]))
    assert f.end == len(bytes(VALID["ns_padded"])) - 6


def test_ra_fields_match_scapy():
    frame = bytes(VALID["ra"])
    f = ndp.parse(frame)
    r = Ether(frame)[ICMPv6ND_RA]
    assert f.flags & 0x80 and f.flags & 0x40
    assert (f.cur_hop_limit, f.router_lifetime, f.reachable_time, f.retrans_timer) == (
        r.chlim, r.routerlifetime, r.reachabletime, r.retranstimer)
    assert f.mtu == 1480
    assert bytes(f.sll) == bytes.fromhex(MAC_A.replace(":", ""))
    pis = f.prefixes
    assert [(ipaddress.IPv6Address(bytes(p.prefix)), p.plen, p.flags, p.valid, p.preferred)
            for p in pis] == [
        (ipaddress.IPv6Address("2001:db8:1::"), 64, 0xC0, 86400, 14400),
        (ipaddress.IPv6Address("2001:db8:2::"), 48, 0x40, r[ICMPv6NDOptPrefixInfo:2].validlifetime,
         r[ICMPv6NDOptPrefixInfo:2].preferredlifetime),
    ]
    assert [o.type for o in f.options] == [1, 5, 3, 3, 25]
    assert bytes(f.options[4].data) == bytes(r[ICMPv6NDOptRDNSS])


def test_redirect_fields_match_scapy():
    frame = bytes(VALID["redirect"])
    f = ndp.parse(frame)
    r = Ether(frame)[ICMPv6ND_Redirect]
    assert ipaddress.IPv6Address(bytes(f.target)) == ipaddress.IPv6Address(r.tgt)
    assert ipaddress.IPv6Address(bytes(f.destination)) == ipaddress.IPv6Address(r.dst)
    assert bytes(f.tll) == bytes.fromhex(MAC_B.replace(":", ""))
    assert bytes(f.redirected) == bytes(r[ICMPv6NDOptRedirectedHdr])[8:]


def test_ignored_options_not_recorded():
    f = ndp.parse(bytes(VALID["ns_ignored_opts"]))
    assert f.tll is None and f.mtu is None and f.prefixes == [] and f.n_opts == 4
    assert [o.type for o in f.options] == [1, 2, 3, 5]


def test_duplicate_llao_keeps_first():
    p = ns_ok() / ICMPv6NDOptSrcLLAddr(lladdr=MAC_B)
    f = ndp.parse(bytes(p))
    assert bytes(f.sll) == bytes.fromhex(MAC_A.replace(":", "")) and f.n_opts == 2


# ---------------------------------------------------------------------------------------
# Zero copy from every kind of buffer

def test_buffers_of_every_kind():
    frame = bytes(ns_ok())
    mm = mmap.mmap(-1, 4096)
    mm[100:100 + len(frame)] = frame
    arr = np.zeros(len(frame) + 10, np.uint8)
    arr[5:5 + len(frame)] = np.frombuffer(frame, np.uint8)
    for buf in (frame, bytearray(frame), memoryview(frame), arr[5:5 + len(frame)],
                memoryview(mm)[100:100 + len(frame)]):
        f = ndp.parse(buf)
        assert ipaddress.IPv6Address(bytes(f.target)) == ipaddress.IPv6Address(TGT)
    # the views alias the caller's buffer (no copy)
    ba = bytearray(frame)
    f = ndp.parse(ba)
    tgt = f.target
    ba[14 + 40 + 8 + 15] = 0x77
    assert bytes(tgt)[15] == 0x77
    del f, tgt, buf
    mm.close()  # every view released: nothing kept a hidden export


def test_parse_ip6_without_ethernet():
    frame = bytes(ns_ok())
    f = ndp.parse(frame[14:], ip6=True)
    assert f.ip6_off == 0 and f.icmp_off == 40 and f.src_mac is None
    assert ndp.validate(frame[14:]) != DropReason.OK


def test_checksum_skipping():
    frame = bytes(FAILING[DropReason.CHECKSUM][0])
    assert ndp.validate(frame, verify_checksum=False) == DropReason.OK


# ---------------------------------------------------------------------------------------
# Builders, dissected by scapy

def _scapy_checksum_ok(frame: bytes, layer) -> bool:
    p = Ether(frame)
    ck = p[layer].cksum
    del p[layer].cksum
    return Ether(bytes(p))[layer].cksum == ck


def _mac(s):
    return bytes.fromhex(s.replace(":", ""))


@pytest.mark.parametrize("flags", [(0, 0, 0), (1, 1, 1), (0, 1, 0), (1, 0, 1)])
@pytest.mark.parametrize("vlan", [None, 0x2005])
def test_build_na_scapy(flags, vlan):
    r, s, o = flags
    frame = ndp.build_na(src=TGT, dst=LL_A, target=TGT, src_mac=MAC_B, dst_mac=MAC_A,
                         router=r, solicited=s, override=o, tlla=MAC_B, vlan=vlan)
    p = Ether(frame)
    assert p.dst == MAC_A and p.src == MAC_B
    if vlan is not None:
        assert p[Dot1Q].vlan == 5 and p[Dot1Q].prio == 1
    assert p[IPv6].hlim == 255 and p[IPv6].src == TGT and p[IPv6].dst == LL_A
    na = p[ICMPv6ND_NA]
    assert (na.R, na.S, na.O, na.tgt, na.code) == (r, s, o, TGT, 0)
    assert p[ICMPv6NDOptDstLLAddr].lladdr == MAC_B
    assert _scapy_checksum_ok(frame, ICMPv6ND_NA)
    assert len(frame) == (90 if vlan is not None else 86)
    assert ndp.validate(frame) == DropReason.OK


def test_build_na_unsolicited_multicast_mac():
    frame = ndp.build_na(src=TGT, dst="ff02::1", target=TGT, src_mac=MAC_B, override=True)
    p = Ether(frame)
    assert p.dst == "33:33:00:00:00:01" and ICMPv6NDOptDstLLAddr not in p
    assert _scapy_checksum_ok(frame, ICMPv6ND_NA)


def test_build_ns_scapy_multicast_and_unicast():
    frame = ndp.build_ns(src=LL_A, target="2001:db8::1234:5678", src_mac=MAC_A, slla=MAC_A,
                         nonce=b"\x01\x02\x03\x04\x05\x06")
    p = Ether(frame)
    assert p.dst == "33:33:ff:34:56:78" and p[IPv6].dst == "ff02::1:ff34:5678"
    assert p[ICMPv6ND_NS].tgt == "2001:db8::1234:5678"
    assert p[ICMPv6NDOptSrcLLAddr].lladdr == MAC_A
    assert bytes(p[ICMPv6NDOptSrcLLAddr].payload)[:8] == bytes.fromhex("0e01010203040506")
    assert _scapy_checksum_ok(frame, ICMPv6ND_NS)
    f = ndp.parse(frame)
    assert bytes(f.nonce) == b"\x01\x02\x03\x04\x05\x06"
    frame = ndp.build_ns(src=LL_A, dst=TGT, dst_mac=MAC_B, target=TGT, src_mac=MAC_A)
    p = Ether(frame)
    assert p.dst == MAC_B and p[IPv6].dst == TGT and _scapy_checksum_ok(frame, ICMPv6ND_NS)
    dad = ndp.build_ns(src="::", target=TGT, src_mac=MAC_A)
    assert ndp.validate(dad) == DropReason.OK and Ether(dad)[IPv6].src == "::"


def test_build_rs_ra_scapy():
    frame = ndp.build_rs(src=LL_A, src_mac=MAC_A, slla=MAC_A)
    p = Ether(frame)
    assert p.dst == "33:33:00:00:00:02" and p[IPv6].dst == "ff02::2"
    assert ICMPv6ND_RS in p and _scapy_checksum_ok(frame, ICMPv6ND_RS)
    frame = ndp.build_ra(src=LL_A, src_mac=MAC_A, managed=True, cur_hop_limit=64,
                         router_lifetime=1800, reachable_time=30000, retrans_timer=1000,
                         slla=MAC_A, mtu=1500,
                         prefixes=[("2001:db8:1::", 64, 0xC0, 86400, 14400)])
    p = Ether(frame)
    r = p[ICMPv6ND_RA]
    assert (r.M, r.O, r.chlim, r.routerlifetime, r.reachabletime, r.retranstimer) == (
        1, 0, 64, 1800, 30000, 1000)
    assert p[ICMPv6NDOptMTU].mtu == 1500
    pi = p[ICMPv6NDOptPrefixInfo]
    assert (pi.prefix, pi.prefixlen, pi.L, pi.A, pi.validlifetime, pi.preferredlifetime) == (
        "2001:db8:1::", 64, 1, 1, 86400, 14400)
    assert _scapy_checksum_ok(frame, ICMPv6ND_RA)


def test_build_icmp6_redirect_is_byte_exact_with_scapy():
    sc = VALID["redirect"]
    msg = bytes(sc[ICMPv6ND_Redirect])
    frame = ndp.build_icmp6(msg, src=LL_A, dst="2001:db8::1", src_mac=MAC_A, dst_mac=MAC_B)
    assert frame == bytes(sc)


def test_na_reply_rules():
    mine = "02:00:00:00:00:99"
    # NS with SLLAO: unicast to the SLLAO, S = 1, source = target
    ns = ns_ok()
    ns[Ether].src = "02:00:00:00:00:55"   # link-layer source differs from the SLLAO
    p = Ether(ndp.build_na_reply(bytes(ns), mine, router=True))
    na = p[ICMPv6ND_NA]
    assert p.dst == MAC_A and p.src == mine
    assert p[IPv6].src == TGT and p[IPv6].dst == LL_A
    assert (na.R, na.S, na.O, na.tgt) == (1, 1, 1, TGT)
    assert p[ICMPv6NDOptDstLLAddr].lladdr == mine
    # DAD probe: to all-nodes, S = 0
    dad = VALID["ns_dad"]
    p = Ether(ndp.build_na_reply(bytes(dad), mine, override=False))
    assert p.dst == "33:33:00:00:00:01" and p[IPv6].dst == "ff02::1"
    assert (p[ICMPv6ND_NA].S, p[ICMPv6ND_NA].O) == (0, 0)
    # No SLLAO: the frame's Ethernet source; the tag is copied; explicit source
    p = Ether(ndp.build_na_reply(bytes(eth() / Dot1Q(vlan=9) / IPv6(src=LL_A, dst=TGT, hlim=255)
                                       / ICMPv6ND_NS(tgt=TGT)), mine, src="fe80::99"))
    assert p.dst == MAC_A and p[Dot1Q].vlan == 9 and p[IPv6].src == "fe80::99"
    assert _scapy_checksum_ok(bytes(p), ICMPv6ND_NA)
    with pytest.raises(ParseError):
        ndp.build_na_reply(bytes(VALID["na_solicited"]), mine)
    with pytest.raises(ParseError):
        ndp.build_na_reply(bytes(FAILING[DropReason.HOP_LIMIT][0]), mine)


def test_builder_errors():
    with pytest.raises(ValueError, match="too small"):
        ndp.write_na(bytearray(85), src=TGT, dst=LL_A, dst_mac=MAC_A, target=TGT,
                     src_mac=MAC_B, tlla=MAC_B)
    assert ndp.write_na(bytearray(86), src=TGT, dst=LL_A, dst_mac=MAC_A, target=TGT,
                        src_mac=MAC_B, tlla=MAC_B) == 86
    with pytest.raises(ValueError, match="dst_mac"):
        ndp.build_na(src=TGT, dst=LL_A, target=TGT, src_mac=MAC_B)
    with pytest.raises(ValueError, match="MAC"):
        ndp.build_na(src=TGT, dst="ff02::1", target=TGT, src_mac="02:00:00")
    with pytest.raises(ValueError):
        ndp.build_na(src="not-an-address", dst="ff02::1", target=TGT, src_mac=MAC_B)
    with pytest.raises(TypeError):
        ndp.write_na(b"readonly" * 20, src=TGT, dst="ff02::1", target=TGT, src_mac=MAC_B)


# ---------------------------------------------------------------------------------------
# Solicited-node addresses (RFC 4291 section 2.7.1) and multicast MACs (RFC 2464 section 7)

def test_solicited_node_rfc4291():
    # RFC 4291 section 2.7.1's example: 4037::01:800:200E:8C6C -> FF02::1:FF0E:8C6C
    assert ndp.solicited_node("4037::01:800:200E:8C6C") == ipaddress.IPv6Address(
        "ff02::1:ff0e:8c6c").packed
    assert ndp.multicast_mac("ff02::1:ff0e:8c6c") == bytes.fromhex("3333ff0e8c6c")
    # RFC 2464 section 7: FF02::1 -> 33-33-00-00-00-01
    assert ndp.multicast_mac("ff02::1") == bytes.fromhex("333300000001")
    with pytest.raises(ValueError):
        ndp.multicast_mac("2001:db8::1")


def test_icmp6_checksum_against_scapy():
    sc = Ether(bytes(VALID["ra"]))        # dissected: cksum holds the value scapy wrote
    msg = bytes(sc[ICMPv6ND_RA])
    assert ndp.icmp6_checksum(LL_A, "ff02::1", msg) == 0
    zeroed = msg[:2] + b"\0\0" + msg[4:]
    assert ndp.icmp6_checksum(LL_A, "ff02::1", zeroed) == sc[ICMPv6ND_RA].cksum
    odd = b"\x80\x00\x00\x00\x12\x34\x00\x01\xab"        # odd length
    assert ndp.icmp6_checksum(LL_A, "ff02::1", odd) == in6_chksum(
        58, IPv6(src=LL_A, dst="ff02::1"), odd)


# ---------------------------------------------------------------------------------------
# Batches

def _layout(frames, gap=3):
    buf = bytearray()
    offs, lens = [], []
    for f in frames:
        buf += b"\xee" * gap
        offs.append(len(buf))
        lens.append(len(f))
        buf += f
    return bytes(buf), np.array(offs), np.array(lens)


def test_batch_matches_single():
    frames = [bytes(VALID[k]) for k in sorted(VALID)] + [
        bytes(v[0]) for v in FAILING.values()]
    buf, offs, lens = _layout(frames)
    reasons = ndp.validate_batch(buf, offs, lens)
    assert list(reasons) == [int(ndp.validate(f)) for f in frames]
    r2, pkts = ndp.parse_batch(np.frombuffer(buf, np.uint8), offs, lens)
    assert list(r2) == list(reasons)
    for i, f in enumerate(frames):
        g = ndp.inspect(f)
        assert pkts["type"][i] == (g.type or 0) and pkts["icmp_off"][i] == g.icmp_off
        assert pkts["bad_off"][i] == g.bad_off
        if reasons[i] == 0:
            assert ndp.addresses(pkts["src"][i:i + 1])[0].tobytes() == bytes(g.src)
            if g.target is not None:
                assert ndp.addresses(pkts["target"][i:i + 1])[0].tobytes() == bytes(g.target)
            so = int(pkts["sll_off"][i])
            assert (so != 0) == (g.sll is not None)
            if so:
                assert f[so:so + 6] == bytes(g.sll)


def test_batch_layout_errors():
    with pytest.raises(ValueError, match="frame 1"):
        ndp.validate_batch(b"\0" * 100, [0, 90], [10, 20])
    with pytest.raises(ValueError, match="shape"):
        ndp.validate_batch(b"\0" * 100, [0, 90], [10])
    assert ndp.validate_batch(b"", [], []).shape == (0,)


def test_na_replies_batch_equals_single():
    mine = "02:00:00:00:00:99"
    frames = [bytes(VALID["ns_multicast"]), bytes(VALID["na_solicited"]),
              bytes(VALID["ns_dad"]), bytes(FAILING[DropReason.CHECKSUM][0]),
              bytes(VALID["ns_vlan"]), bytes(VALID["ns_hbh"])]
    buf, offs, lens = _layout(frames)
    out = bytearray(1024)
    reasons, oo, ol, count = ndp.write_na_replies(buf, offs, lens, mine, out, router=True)
    assert count == 4
    assert list(reasons) == [int(ndp.validate(f)) for f in frames]
    for i, f in enumerate(frames):
        if ndp.validate(f) == DropReason.OK and f[ndp.inspect(f).icmp_off] == 135:
            assert bytes(out[oo[i]:oo[i] + ol[i]]) == ndp.build_na_reply(f, mine, router=True)
        else:
            assert ol[i] == 0
    # mask selects which solicitations to answer
    reasons, oo, ol, count = ndp.write_na_replies(buf, offs, lens, mine, out,
                                                  mask=[0, 0, 1, 0, 0, 0])
    assert count == 1 and ol[2] > 0 and ol[0] == 0
    with pytest.raises(ValueError, match="too small"):
        ndp.write_na_replies(buf, offs, lens, mine, bytearray(100))


def test_write_na_batch_scapy():
    n = 5
    targets = np.frombuffer(b"".join(ipaddress.IPv6Address(f"2001:db8::{i + 1:x}").packed
                                     for i in range(n)), np.uint8).reshape(n, 16)
    dsts = np.frombuffer(ipaddress.IPv6Address("ff02::1").packed, np.uint8)
    flags = np.array([0x20, 0xA0, 0x00, 0x80, 0x20], np.uint8)
    out = bytearray(86 * n)
    oo, ol = ndp.write_na_batch(out, targets, MAC_B, np.frombuffer(_mac("33:33:00:00:00:01"),
                                                                    np.uint8), dsts, flags=flags)
    assert list(ol) == [86] * n and list(oo) == [86 * i for i in range(n)]
    for i in range(n):
        frame = bytes(out[oo[i]:oo[i] + ol[i]])
        p = Ether(frame)
        na = p[ICMPv6ND_NA]
        assert p[IPv6].src == na.tgt == f"2001:db8::{i + 1:x}" and p[IPv6].dst == "ff02::1"
        assert flags[i] == (na.R << 7 | na.S << 6 | na.O << 5)
        assert p[ICMPv6NDOptDstLLAddr].lladdr == MAC_B and p.dst == "33:33:00:00:00:01"
        assert _scapy_checksum_ok(frame, ICMPv6ND_NA)
        assert frame == ndp.build_na(src=bytes(targets[i]), dst="ff02::1", target=bytes(targets[i]),
                                     src_mac=MAC_B, router=bool(flags[i] & 0x80),
                                     override=bool(flags[i] & 0x20), tlla=MAC_B)
    with pytest.raises(ValueError, match="too small"):
        ndp.write_na_batch(bytearray(86 * n - 1), targets, MAC_B, _mac(MAC_A), dsts)
    with pytest.raises(ValueError, match="shape"):
        ndp.write_na_batch(out, targets, MAC_B, _mac(MAC_A), dsts[:8])


@pytest.mark.parametrize("mac", ["AA-bb-cc-dd-ee-FF", "aa:bb:cc:dd:ee:ff", "a:bb:c:dd:ee:ff",
                                 bytes.fromhex("aabbccddeeff"), bytearray.fromhex("aabbccddeeff"),
                                 np.frombuffer(bytes.fromhex("aabbccddeeff"), np.uint8)])
def test_mac_forms(mac):
    frame = ndp.build_na(src=TGT, dst="ff02::1", target=TGT, src_mac=mac)
    want = "0a:bb:0c:dd:ee:ff" if isinstance(mac, str) and mac.startswith("a:") else "aa:bb:cc:dd:ee:ff"
    assert Ether(frame).src == want


@pytest.mark.parametrize("mac", ["zz:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00",
                                 "aabb.ccdd.eeff", b"\x01\x02"])
def test_mac_errors(mac):
    with pytest.raises(ValueError, match="MAC"):
        ndp.build_na(src=TGT, dst="ff02::1", target=TGT, src_mac=mac)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**128 - 1))
def test_solicited_node_property(a):
    # RFC 4291 section 2.7.1: FF02:0:0:0:0:1:FF00::/104 | the low-order 24 bits
    addr = ipaddress.IPv6Address(a)
    want = ipaddress.IPv6Address(int(ipaddress.IPv6Address("ff02::1:ff00:0")) | (a & 0xFFFFFF))
    assert ndp.solicited_node(str(addr)) == want.packed
    # RFC 2464 section 7: 33-33 then the last four octets
    assert ndp.multicast_mac(want.packed) == b"\x33\x33" + want.packed[12:]
