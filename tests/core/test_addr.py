"""The address core against the ``ipaddress`` module (an independent oracle)."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from v6core._core import addr
from v6core.errors import AddressError, Scope

ints128 = st.integers(min_value=0, max_value=(1 << 128) - 1)
# bias towards the interesting shapes: zero runs, mapped IPv4, small values
shaped = st.one_of(
    ints128,
    st.builds(lambda words: int.from_bytes(b"".join(w.to_bytes(2, "big") for w in words), "big"),
              st.lists(st.sampled_from([0, 0, 0, 1, 0xFFFF, 0xDB8, 0x2001, 0xFE80]),
                       min_size=8, max_size=8)),
    st.integers(min_value=0, max_value=(1 << 32) - 1).map(lambda v: 0xFFFF00000000 | v),
)


def v6(i: int) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(i)


@given(shaped)
@example(0)
@example(1)
@example(0x20010DB8000000000001000000000001)
def test_format_matches_ipaddress(i):
    a = v6(i)
    packed = a.packed
    if a.ipv4_mapped is not None:
        assert addr.to_text(packed) == str(a.ipv4_mapped)
        assert addr.to_text(packed, ipv4=False) == f"::ffff:{a.ipv4_mapped}"
    else:
        assert addr.to_text(packed) == str(a)          # RFC 5952 compressed form
        assert addr.to_text(packed, ipv4=False) == str(a)


@given(shaped)
def test_parse_every_text_form(i):
    a = v6(i)
    for text in {str(a), a.exploded, a.exploded.upper(), str(a).upper()}:
        assert addr.pack(text) == a.packed
    assert addr.pack(a) == a.packed
    assert addr.pack(a.packed) == a.packed
    assert addr.to_ipaddress(a.packed) == (a.ipv4_mapped or a)


@given(st.integers(min_value=0, max_value=(1 << 32) - 1))
def test_ipv4_is_mapped(i):
    a4 = ipaddress.IPv4Address(i)
    mapped = ipaddress.IPv6Address(0xFFFF00000000 | i).packed
    assert addr.pack(str(a4)) == mapped
    assert addr.pack(a4) == mapped
    assert addr.pack(a4.packed) == mapped
    assert addr.is_v4mapped(str(a4))
    assert addr.to_text(str(a4)) == str(a4)


@given(st.text(alphabet="0123456789abcdefABCDEF:.", max_size=46))
@settings(max_examples=3000)
def test_accepts_exactly_what_ipaddress_accepts(text):
    try:
        expected = ipaddress.ip_address(text)
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(AddressError) as info:
            addr.pack(text)
        assert repr(text) in str(info.value)
    else:
        want = expected.packed if expected.version == 6 else \
            ipaddress.IPv6Address(0xFFFF00000000 | int(expected)).packed
        assert addr.pack(text) == want


@pytest.mark.parametrize("bad", [
    "", " ", "1::2::3", "12345::", "1.2.3", "1.2.3.256", "01.2.3.4", "fe80::1%eth0",
    "2001:db8::/32", "::ffff:1.2.3.4.5", "g::", "1:2:3:4:5:6:7:8:9", "\x00::1", "::1\x00",
    "é::1", "1" * 100,
])
def test_bad_text_names_the_input(bad):
    with pytest.raises(AddressError) as info:
        addr.pack(bad)
    assert isinstance(info.value, ValueError)
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("bad", [b"\x01\x02\x03", 5, None, 1.5, ["::1"]])
def test_bad_objects(bad):
    with pytest.raises(AddressError):
        addr.pack(bad)


@given(shaped, st.integers(min_value=0, max_value=128))
def test_prefix_parse_mask_contains(i, plen):
    net = ipaddress.IPv6Network((i, plen), strict=False)
    p, n = addr.parse_prefix(f"{v6(i)}/{plen}")
    assert (p, n) == (net.network_address.packed, plen)
    assert addr.mask(v6(i).packed, plen) == net.network_address.packed
    if net.network_address != v6(i):
        with pytest.raises(AddressError, match="host bits"):
            addr.parse_prefix(f"{v6(i)}/{plen}", strict=True)
    assert addr.in_prefix(v6(i).packed, p, plen)
    # the first address past the network is outside (unless the net is the whole tail)
    after = int(net.broadcast_address) + 1
    if after < (1 << 128):
        assert not addr.in_prefix(v6(after).packed, p, plen)
        assert (v6(after) in net) is False


@given(st.integers(min_value=0, max_value=(1 << 32) - 1), st.integers(min_value=0, max_value=32))
def test_ipv4_prefix_is_mapped(i, plen):
    net4 = ipaddress.IPv4Network((i, plen), strict=False)
    p, n = addr.parse_prefix(f"{ipaddress.IPv4Address(i)}/{plen}")
    assert n == plen + 96
    assert p == ipaddress.IPv6Address(0xFFFF00000000 | int(net4.network_address)).packed


def _mapped_net(net4: ipaddress.IPv4Network) -> tuple[bytes, int]:
    """ipaddress's IPv4 network as v6core stores it: IPv4-mapped, length + 96."""
    return (ipaddress.IPv6Address(0xFFFF00000000 | int(net4.network_address)).packed,
            net4.prefixlen + 96)


@given(st.integers(min_value=0, max_value=(1 << 32) - 1), st.integers(min_value=0, max_value=32))
@example(0x0A000000, 8)
def test_ipv4_prefix_pairs_take_the_family_from_the_address(i, plen):
    # (IPv4Address, len), (4 packed bytes, len) and (dotted text, len) all count IPv4 bits
    net4 = ipaddress.IPv4Network((i, plen), strict=False)
    want = _mapped_net(net4)
    a4 = ipaddress.IPv4Address(i)
    for form in (a4, a4.packed, bytearray(a4.packed), memoryview(a4.packed), str(a4)):
        assert addr.parse_prefix((form, plen)) == want, form
    assert addr.parse_prefix(net4) == want


def test_ipv4_prefix_pair_regression():
    # these returned ::/8 (the length taken as IPv6 bits)
    want = _mapped_net(ipaddress.IPv4Network("10.0.0.0/8"))
    assert addr.parse_prefix((ipaddress.IPv4Address("10.0.0.0"), 8)) == want
    assert addr.parse_prefix((b"\n\0\0\0", 8)) == want


@pytest.mark.parametrize("pair", [(ipaddress.IPv4Address("10.0.0.0"), 33), (b"\n\0\0\0", 40),
                                  ("10.0.0.0", 104), (ipaddress.IPv6Address("::1"), 129)])
def test_prefix_pair_length_is_checked_against_its_family(pair):
    with pytest.raises(AddressError, match="length"):
        addr.parse_prefix(pair)


@given(shaped, st.integers(min_value=0, max_value=128))
def test_ipv6_prefix_pairs(i, plen):
    net = ipaddress.IPv6Network((i, plen), strict=False)
    want = (net.network_address.packed, plen)
    assert addr.parse_prefix((v6(i), plen)) == want
    assert addr.parse_prefix((v6(i).packed, plen)) == want
    assert addr.parse_prefix((str(v6(i)), plen)) == want


@pytest.mark.parametrize("bad", ["2001:db8::/129", "10.0.0.0/33", "2001:db8::/", "2001:db8::/x",
                                 "2001:db8::/-1", "/32", "2001:db8::/ 32", "zz/8"])
def test_bad_prefix_names_the_input(bad):
    with pytest.raises(AddressError) as info:
        addr.parse_prefix(bad)
    assert repr(bad) in str(info.value)


def _ref_common(a: int, b: int) -> int:
    x = a ^ b
    return 128 - x.bit_length()


@given(shaped, shaped, st.integers(min_value=0, max_value=128))
def test_common_prefix_len(a, b, cap):
    assert addr.common_prefix_len(v6(a).packed, v6(b).packed) == _ref_common(a, b)
    assert addr.common_prefix_len(v6(a).packed, v6(b).packed, cap) == min(_ref_common(a, b), cap)


def _ref_scope(a: ipaddress.IPv6Address, v4_all_global: bool) -> int:
    # RFC 6724 sections 3.1 and 3.2, written from the RFC with ipaddress predicates
    if a.is_multicast:
        return a.packed[1] & 0x0F
    if a in ipaddress.IPv6Network("fe80::/10") or a == ipaddress.IPv6Address(1):
        return 2
    if a.is_site_local:
        return 5
    if a.ipv4_mapped is not None and not v4_all_global:
        v4 = a.ipv4_mapped
        if v4.is_loopback or v4.is_link_local:
            return 2
    return 14


@given(shaped, st.booleans())
@example(int(ipaddress.IPv6Address("::ffff:127.0.0.1")), False)
@example(int(ipaddress.IPv6Address("::ffff:169.254.3.4")), False)
@example(int(ipaddress.IPv6Address("::ffff:169.254.3.4")), True)
@example(int(ipaddress.IPv6Address("ff05::2")), False)
@example(int(ipaddress.IPv6Address("fec0::2")), False)
def test_scope(i, musl):
    assert addr.scope(v6(i).packed, v4_all_global=musl) == _ref_scope(v6(i), musl)


def test_scope_enum_names():
    assert Scope(addr.scope("fe80::1")) is Scope.LINK
    assert Scope(addr.scope("2001:db8::1")) is Scope.GLOBAL
    assert Scope(addr.scope("ff08::1")) is Scope.ORGANIZATION


# ---------------------------------------------------------------- bulk


@given(st.lists(shaped, max_size=50))
def test_bulk_roundtrip(ints):
    texts = [str(v6(i)) for i in ints]
    arr = addr.pack_many(texts)
    assert arr.shape == (len(ints), 16) and arr.dtype == np.uint8
    assert [bytes(r) for r in arr] == [v6(i).packed for i in ints]
    assert addr.to_text_many(arr) == [addr.to_text(t) for t in texts]


def test_bulk_bad_item_names_index():
    with pytest.raises(AddressError) as info:
        addr.pack_many(["::1", "10.0.0.1", "nope"])
    assert info.value.index == 2 and "item 2" in str(info.value) and "'nope'" in str(info.value)


@given(st.lists(shaped, min_size=1, max_size=40), shaped, st.integers(min_value=0, max_value=128))
def test_bulk_contains_and_common(ints, p, plen):
    arr = addr.pack_many([v6(i).packed for i in ints])
    net = ipaddress.IPv6Network((p, plen), strict=False)
    got = addr.in_prefix_many(arr, (v6(p), plen))
    assert got.tolist() == [v6(i) in net for i in ints]
    other = addr.pack_many([v6(p).packed] * len(ints))
    assert addr.common_prefix_len_many(arr, other).tolist() == [_ref_common(i, p) for i in ints]
    assert addr.scope_many(arr).tolist() == [_ref_scope(v6(i), False) for i in ints]


def test_bulk_shape_errors():
    with pytest.raises(ValueError, match=r"\(N, 16\)"):
        addr.to_text_many(np.zeros((3, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="differ in length"):
        addr.common_prefix_len_many(np.zeros((3, 16), np.uint8), np.zeros((2, 16), np.uint8))
    assert addr.in_prefix_many(np.zeros((0, 16), np.uint8), "::/0").shape == (0,)


def _ro(a):
    a = a.copy()
    a.setflags(write=False)
    return a


_ROWS3 = addr.pack_many(["2001:db8::1", "10.0.0.1", "fe80::1"])
_BAD_ROWS = [
    np.zeros((3, 15), np.uint8), np.zeros((3, 17), np.uint8), np.zeros((3, 16), np.int8),
    np.zeros((3, 16), np.uint16), np.zeros(48, np.uint8), np.zeros((6, 16), np.uint8)[::2],
    np.zeros((3, 32), np.uint8)[:, ::2], np.zeros((16, 3), np.uint8).T,
    np.zeros((1, 3, 16), np.uint8), b"\0" * 48, None, 7, "::1", [[0] * 16], [b"\0" * 16],
]
_BAD_OUTS = [
    np.zeros(2, np.bool_), np.zeros(4, np.bool_), np.zeros(3, np.int64), np.zeros(3, np.float32),
    np.zeros(6, np.bool_)[::2], np.zeros((3, 1), np.bool_), _ro(np.zeros(3, np.bool_)),
    [False] * 3, b"\0\0\0", 3,
]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_BAD_ROWS), st.sampled_from(["to_text_many", "scope_many", "in_prefix_many",
                                                    "cpl_a", "cpl_b"]))
def test_bulk_conversions_refuse_bad_rows_by_name(bad, fn):
    calls = {
        "to_text_many": (lambda: addr.to_text_many(bad), "addresses"),
        "scope_many": (lambda: addr.scope_many(bad), "addresses"),
        "in_prefix_many": (lambda: addr.in_prefix_many(bad, "::/0"), "addresses"),
        "cpl_a": (lambda: addr.common_prefix_len_many(bad, _ROWS3), "a"),
        "cpl_b": (lambda: addr.common_prefix_len_many(_ROWS3, bad), "b"),
    }
    call, name = calls[fn]
    with pytest.raises(ValueError) as ei:
        call()
    assert str(ei.value).startswith(f"{name}: ")


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(_BAD_OUTS))
def test_in_prefix_many_refuses_a_bad_out(out):
    with pytest.raises(ValueError, match="^out: "):
        addr.in_prefix_many(_ROWS3, "2001:db8::/32", out=out)


def test_bulk_conversions_take_read_only_input_and_fill_out():
    ro = _ro(_ROWS3)
    out = np.ones(3, np.bool_)
    assert addr.in_prefix_many(ro, "2001:db8::/32", out=out) is out
    assert out.tolist() == [True, False, False]
    assert addr.to_text_many(ro) == ["2001:db8::1", "10.0.0.1", "fe80::1"]
    assert addr.scope_many(ro).tolist() == [14, 14, 2]
    assert addr.common_prefix_len_many(ro, ro).tolist() == [128, 128, 128]
