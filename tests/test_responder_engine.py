"""The responder's sans-IO engine (no root): frames built by scapy go in, the NA that
comes out is dissected by scapy and checked against RFC 4861 sections 4.4, 7.2.4, 7.2.8."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from v6core._core.prefix import PrefixTable
from v6core.errors import DropReason
from v6core.responder.config import Rule
from v6core.responder.engine import (
    COUNTER_RX,
    Engine,
    Port,
    Verdict,
    decide,
    verdict_name,
)

scapy_inet6 = pytest.importorskip("scapy.layers.inet6")
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import Dot1Q, Ether  # noqa: E402

PFX = "2001:db8:f440:2:646f:636b:6572::/112"
T = "2001:db8:f440:2:646f:636b:6572:5"
RTR = "2001:db8:f440:2::1"
RTR_MAC = "02:00:00:00:00:01"
HOST_MAC = "02:00:00:00:00:02"
LL = "fe80::2"


def nsma(target: str) -> str:
    a = ipaddress.IPv6Address(target).packed
    return str(ipaddress.IPv6Address(bytes.fromhex("ff0200000000000000000001ff") + a[13:]))


def ns(target=T, src=RTR, dst=None, slla=RTR_MAC, eth_src=RTR_MAC, eth_dst=None, vlan=None):
    dst = dst or nsma(target)
    eth_dst = eth_dst or ("33:33:" + ":".join(f"{b:02x}" for b in
                                              ipaddress.IPv6Address(dst).packed[12:]))
    p = Ether(src=eth_src, dst=eth_dst)
    if vlan is not None:
        p = p / Dot1Q(vlan=vlan)
    p = p / IPv6(src=src, dst=dst, hlim=255) / ICMPv6ND_NS(tgt=target)
    if slla:
        p = p / ICMPv6NDOptSrcLLAddr(lladdr=slla)
    return bytes(p)


def engine(**kw) -> Engine:
    return Engine([Rule(prefix=PFX, **kw)])


def port(**kw) -> Port:
    return Port(7, bytes.fromhex(HOST_MAC.replace(":", "")), **kw)


def answer(eng, prt, frame, now=0):
    v, out = decide(eng, prt, frame, now)
    assert v == Verdict.ANSWER, verdict_name(v)
    p = Ether(out)
    # the checksum on the wire equals scapy's own computation
    wire = p[ICMPv6ND_NA].cksum
    q = p.copy()
    del q[ICMPv6ND_NA].cksum
    assert Ether(bytes(q))[ICMPv6ND_NA].cksum == wire
    return p


def test_multicast_ns_answered_from_the_target():
    p = answer(engine(), port(), ns())
    assert (p.src, p.dst) == (HOST_MAC, RTR_MAC)
    assert (p[IPv6].src, p[IPv6].dst, p[IPv6].hlim) == (T, RTR, 255)
    na = p[ICMPv6ND_NA]
    assert (na.tgt, na.R, na.S, na.O) == (T, 0, 1, 0)   # proxy: O clear (RFC 4861 7.2.8)
    assert p[ICMPv6NDOptDstLLAddr].lladdr == HOST_MAC


def test_reply_goes_to_the_slla_not_the_frame_source():
    p = answer(engine(), port(), ns(eth_src="02:00:00:00:00:99"))
    assert p.dst == RTR_MAC


def test_unicast_nud_without_slla_goes_to_the_frame_source():
    p = answer(engine(), port(), ns(dst=T, slla=None, eth_dst=HOST_MAC))
    assert p.dst == RTR_MAC and p[IPv6].dst == RTR and p[ICMPv6ND_NA].S == 1


def test_vlan_tag_is_copied():
    p = answer(engine(), port(), ns(vlan=42))
    assert p[Dot1Q].vlan == 42 and p[IPv6].src == T


def test_tagged_frames_must_be_for_us_or_multicast():
    # On a trunk the kernel marks every tagged frame of a VLAN without an interface here
    # as another host's, so the engine checks the destination MAC of tagged frames itself.
    eng, prt = engine(), port()
    other = "02:00:5e:00:53:99"
    v, out = decide(eng, prt, ns(dst=T, eth_dst=other, vlan=42))
    assert v == Verdict.OTHER_HOST and out == b""
    assert verdict_name(v) == "other_host"
    p = answer(eng, prt, ns(dst=T, eth_dst=HOST_MAC, vlan=42))       # unicast, to us
    assert p[Dot1Q].vlan == 42 and p.dst == RTR_MAC
    p = answer(eng, prt, ns(eth_dst="ff:ff:ff:ff:ff:ff", vlan=7))    # broadcast
    assert p[Dot1Q].vlan == 7
    # untagged: the kernel's packet type already decided (unchanged behaviour)
    answer(eng, prt, ns(dst=T, eth_dst=other))
    assert prt.counters[Verdict.OTHER_HOST] == 1


def test_source_modes_flags_and_mac():
    prt = port()
    v, _ = decide(engine(source="link-local"), prt, ns())
    assert v == Verdict.NO_LINKLOCAL
    prt.set_linklocal(LL)
    assert answer(engine(source="link-local"), prt, ns())[IPv6].src == LL
    assert answer(engine(source="2001:db8::53"), prt, ns())[IPv6].src == "2001:db8::53"
    p = answer(engine(router=True, override=True), prt, ns())
    assert (p[ICMPv6ND_NA].R, p[ICMPv6ND_NA].S, p[ICMPv6ND_NA].O) == (1, 1, 1)
    p = answer(engine(solicited=False), prt, ns())
    assert p[ICMPv6ND_NA].S == 0 and p[IPv6].dst == RTR
    p = answer(engine(mac=bytes.fromhex("02005e005301")), prt, ns())
    assert p[ICMPv6NDOptDstLLAddr].lladdr == "02:00:5e:00:53:01"
    assert p.src == HOST_MAC            # the frame still leaves from the interface's MAC


def test_dad_ignored_by_default_and_defended_to_all_nodes():
    dad = ns(src="::", slla=None)
    assert decide(engine(), port(), dad)[0] == Verdict.DAD_IGNORED
    p = answer(engine(dad="defend"), port(), dad)
    assert (p[IPv6].dst, p.dst, p[ICMPv6ND_NA].S) == ("ff02::1", "33:33:00:00:00:01", 0)
    p = answer(engine(dad="defend", solicited=False), port(), dad)
    assert (p[IPv6].dst, p.dst, p[ICMPv6ND_NA].S) == ("ff02::1", "33:33:00:00:00:01", 0)
    # RFC 4861 7.1.1: from :: to a non-solicited-node address, or with an SLLAO: invalid
    assert decide(engine(dad="defend"), port(), ns(src="::", slla=RTR_MAC))[0] == \
        DropReason.UNSPEC_SLLAO
    assert decide(engine(dad="defend"), port(), ns(src="::", dst="ff02::1", slla=None))[0] \
        == DropReason.UNSPEC_DST


def test_unicast_probe_ignored_when_multicast_only():
    assert decide(engine(unicast=False), port(), ns(dst=T, eth_dst=HOST_MAC))[0] == \
        Verdict.UNICAST_IGNORED
    answer(engine(unicast=False), port(), ns())


def test_targets_outside_excluded_and_own():
    eng = Engine([Rule(prefix=PFX, exclude=("2001:db8:f440:2:646f:636b:6572:8/125",))])
    prt = port()
    assert decide(eng, prt, ns(target="2001:db8:f440:2::5"))[0] == Verdict.NO_RULE
    assert decide(eng, prt, ns(target="2001:db8:f440:2:646f:636b:6572:c"))[0] == Verdict.EXCLUDED
    answer(eng, prt, ns(target="2001:db8:f440:2:646f:636b:6572:7"))
    answer(eng, prt, ns(target="2001:db8:f440:2:646f:636b:6572:10"))
    prt.set_own(PrefixTable([f"{T}/128"]))
    assert decide(eng, prt, ns())[0] == Verdict.OWN_ADDRESS
    assert list(eng.answered_counts) == [2] and list(eng.dropped_counts) == [2]
    assert prt.counters[COUNTER_RX] == 5 and prt.counters[Verdict.ANSWER] == 2


def test_longest_prefix_selects_the_rule():
    eng = Engine([Rule(prefix="2001:db8:f440:2::/64", source="link-local", name="wide"),
                  Rule(prefix=PFX, name="narrow")])
    prt = port()
    assert answer(eng, prt, ns())[IPv6].src == T
    assert decide(eng, prt, ns(target="2001:db8:f440:2::9"))[0] == Verdict.NO_LINKLOCAL
    assert eng.names == ("wide", "narrow")
    assert eng.rule_of(T) == (1, False)


def test_auto_rules_follow_the_route_table():
    eng = engine(auto=True)
    prt = port()
    assert decide(eng, prt, ns())[0] == Verdict.AUTO_NO_ROUTE
    prt.set_routes(PrefixTable(["::/0", PFX], [7, 9]))
    answer(eng, prt, ns())                                # routed out of ifindex 9
    prt.set_routes(PrefixTable(["::/0", "2001:db8:f440:2:646f:636b:6572:0/120"], [9, 7]))
    assert decide(eng, prt, ns())[0] == Verdict.AUTO_SAME_IF


def test_global_and_per_source_rate_limits():
    eng = engine()
    prt = port(rate_limit=10)
    t0 = 10**12
    results = [decide(eng, prt, ns(), t0)[0] for _ in range(12)]
    assert results.count(Verdict.ANSWER) == 10 and results[-1] == Verdict.RATE_GLOBAL
    assert decide(eng, prt, ns(), t0 + 100_000_000)[0] == Verdict.ANSWER   # 0.1 s later
    prt = port(rate_limit_source=5, source_slots=16)
    a = [decide(eng, prt, ns(src="2001:db8:f440:2::a"), t0)[0] for _ in range(6)]
    assert a.count(Verdict.ANSWER) == 5 and a[-1] == Verdict.RATE_SOURCE
    b = [decide(eng, prt, ns(src=f"2001:db8:f440:2::{i:x}"), t0)[0] for i in range(0x100, 0x10a)]
    # other sources are not throttled by the first (16 slots: a collision could share one)
    assert b.count(Verdict.ANSWER) >= 8


def test_malformed_frames_get_the_codec_reason():
    good = ns()
    bad_ck = bytearray(good)
    bad_ck[14 + 40 + 2] ^= 0xFF
    assert decide(engine(), port(), bytes(bad_ck))[0] == DropReason.CHECKSUM
    assert decide(engine(), port(), good[:30])[0] == DropReason.IP6_TRUNC
    assert decide(engine(), port(), b"")[0] == DropReason.ETH_TRUNC
    assert decide(engine(), port(), ns(target="ff02::1"))[0] == DropReason.TARGET_MULTICAST
    na = bytes(Ether(src=RTR_MAC, dst=HOST_MAC) / IPv6(src=RTR, dst="ff02::1", hlim=255)
               / ICMPv6ND_NA(tgt=T, S=0))
    assert decide(engine(), port(), na)[0] == Verdict.NOT_NS
    assert verdict_name(int(DropReason.CHECKSUM)) == "checksum"
    assert verdict_name(Verdict.RATE_SOURCE) == "rate_source"


def test_decide_needs_room_for_the_reply():
    from v6core.responder._engine import decide as raw
    with pytest.raises(ValueError):
        raw(engine(), port(), ns(), bytearray(64), 0)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 199), st.integers(0, 255))
def test_random_mutations_never_crash(data, pos, val):
    eng = engine(dad="defend")
    prt = port(rate_limit=1000)
    frame = bytearray(ns() + data)
    frame[pos % len(frame)] = val
    v, out = decide(eng, prt, bytes(frame))
    known = {int(x) for x in DropReason} | {int(x) for x in Verdict}
    assert v in known
    if v == Verdict.ANSWER:
        assert ICMPv6ND_NA in Ether(out)
    else:
        assert out == b""
