"""ndp.inspect() on frames that fail early: fields past the failing stage are None, and
neither repr() nor any attribute raises, whatever the bytes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.guarded import Guarded
from v6core._core import ndp
from v6core.errors import DropReason

MAC = "02:00:00:00:00:0a"
RA = ndp.build_ra(src="fe80::1", src_mac=MAC, slla=MAC, mtu=1500,
                  prefixes=[("2001:db8::", 64, 0xC0, 100, 50)])
NS = ndp.build_ns(src="fe80::a", target="2001:db8::2", src_mac=MAC, slla=MAC)
ATTRS = sorted(n for n in dir(ndp.NDPFrame) if not n.startswith("_"))


def _all_attributes(f: ndp.NDPFrame) -> dict[str, object]:
    return {n: getattr(f, n) for n in ATTRS}


def test_empty_frame():
    f = ndp.inspect(b"")
    assert f.reason == DropReason.ETH_TRUNC
    assert repr(f) == "<NDPFrame ? invalid=ETH_TRUNC@0>"
    a = _all_attributes(f)
    for name in ("src", "dst", "target", "destination", "type", "code", "hop_limit", "flags",
                 "icmp", "checksum", "cur_hop_limit", "sll", "tll", "nonce", "mtu"):
        assert a[name] is None, name
    assert a["options"] == [] and a["prefixes"] == []


def test_not_ipv6_has_no_addresses():
    # an ARP frame: the old view returned bytes 8..24 and 24..40 of it as "addresses"
    arp = bytes.fromhex("ffffffffffff020000000001" "0806") + bytes(46)
    f = ndp.inspect(arp)
    assert f.reason == DropReason.ETHERTYPE
    assert f.src is None and f.dst is None and f.hop_limit is None
    assert "src=" not in repr(f) and "invalid=ETHERTYPE@12" in repr(f)


def test_truncated_ra_fields_are_none():
    # an RA whose ICMPv6 message is only its 4-byte header (Payload Length 4)
    frame = bytearray(RA[:14 + 40 + 4])
    frame[14 + 4:14 + 6] = (4).to_bytes(2, "big")
    f = ndp.inspect(bytes(frame))
    assert f.reason == DropReason.ICMP_LEN
    assert f.type == 134 and f.type_name == "RA"
    assert f.cur_hop_limit is None and f.router_lifetime is None
    assert f.reachable_time is None and f.retrans_timer is None and f.flags is None
    assert f.src is not None and bytes(f.src) == bytes.fromhex("fe80" + "00" * 13 + "01")
    repr(f)


def test_checksum_failure_keeps_headers_but_not_body():
    bad = bytearray(NS)
    bad[14 + 40 + 2] ^= 0xFF
    f = ndp.inspect(bytes(bad))
    assert f.reason == DropReason.CHECKSUM
    assert f.type == 135 and f.checksum == int.from_bytes(bad[56:58], "big")
    assert f.target is None            # the C parser stops before decoding the body
    assert repr(f).startswith("<NDPFrame NS src=fe80::a dst=ff02::1:ff00:2 invalid=CHECKSUM")


def test_valid_frames_unchanged():
    f = ndp.inspect(RA)
    assert f.reason == DropReason.OK
    assert (f.cur_hop_limit, f.router_lifetime, f.mtu) == (64, 1800, 1500)
    assert repr(ndp.inspect(NS)) == "<NDPFrame NS src=fe80::a dst=ff02::1:ff00:2 target=2001:db8::2>"


try:
    GUARD = Guarded()
except OSError as exc:                     # pragma: no cover - platform without mprotect
    GUARD = None
    GUARD_WHY = str(exc)


def _prefixes_of_seeds():
    seeds = [RA, NS, ndp.build_na(src="2001:db8::2", dst="fe80::a", dst_mac=MAC,
                                  target="2001:db8::2", src_mac=MAC, tlla=MAC)]
    return st.sampled_from(seeds).flatmap(
        lambda s: st.tuples(st.just(s), st.integers(0, len(s)),
                            st.binary(max_size=8))).map(lambda t: t[0][:t[1]] + t[2])


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=120), _prefixes_of_seeds()), ip6=st.booleans(),
       cksum=st.booleans())
def test_inspect_never_raises(data, ip6, cksum):
    if GUARD is None:
        pytest.skip(f"guard pages unavailable: {GUARD_WHY}")
    f = ndp.inspect(GUARD.at_end(data), ip6=ip6, verify_checksum=cksum)
    a = _all_attributes(f)
    text = repr(f)
    assert text.startswith("<NDPFrame ") and text.endswith(">")
    for name in ("src", "dst", "target", "destination"):
        assert a[name] is None or len(a[name]) == 16, name
    if f.reason != DropReason.OK:
        assert f"invalid={f.reason.name}@{f.bad_off}" in text
    if a["src"] is None:
        assert f.reason in (DropReason.ETH_TRUNC, DropReason.ETHERTYPE, DropReason.VLAN_STACK,
                            DropReason.IP6_TRUNC, DropReason.IP6_VERSION)
