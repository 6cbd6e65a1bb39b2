"""CompiledPolicy.accelerate: the bulk kernels' per-/16 index of a first-match table gives
the value of the first matching row, as RFC 6724 section 2.1 defines it.

Oracle: the first-match rule written with the ``ipaddress`` module, row by row."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from v6core._core import tables
from v6core._core.sortkey import CompiledPolicy


def _first_match(rows, addr: ipaddress.IPv6Address, default: int) -> int:
    for pfx, plen, val in rows:
        if addr in ipaddress.IPv6Network((ipaddress.IPv6Address(pfx), plen)):
            return val
    return default


def _row(draw) -> tuple[bytes, int, int]:
    plen = draw(st.sampled_from([0, 1, 7, 8, 10, 15, 16, 17, 20, 32, 48, 96, 127, 128]))
    # prefixes near each other, so that short and long rows overlap often
    hi16 = draw(st.sampled_from([0, 1, 0x2001, 0x2002, 0xfc00, 0xfd00, 0xfe80, 0xffff]))
    raw = hi16.to_bytes(2, "big") + draw(st.binary(min_size=14, max_size=14))
    net = ipaddress.IPv6Network((int.from_bytes(raw, "big"), plen), strict=False)
    return net.network_address.packed, plen, draw(st.integers(0, 60))


@st.composite
def tables_and_addresses(draw):
    prec = [_row(draw) for _ in range(draw(st.integers(0, 8)))]
    label = [_row(draw) for _ in range(draw(st.integers(0, 8)))]
    addrs = []
    for pfx, _plen, _ in prec + label:
        base = int.from_bytes(pfx, "big")
        noise = draw(st.integers(0, (1 << 128) - 1))
        host = draw(st.integers(0, 128))          # keep a random part of the prefix
        mask = (1 << 128) - (1 << (128 - host)) if host else 0
        addrs.append((base & mask) | (noise & ~mask & ((1 << 128) - 1)))
    addrs += draw(st.lists(st.integers(0, (1 << 128) - 1), max_size=8))
    return prec, label, draw(st.integers(-1, 60)), draw(st.integers(-1, 60)), addrs


@settings(max_examples=150, deadline=None)
@given(tables_and_addresses())
def test_accelerated_lookup_is_the_first_match(case):
    prec, label, pdef, ldef, addrs = case
    cp = CompiledPolicy(prec, label, (), pdef, ldef)
    cp.accelerate()
    for a in addrs:
        addr = ipaddress.IPv6Address(a)
        assert cp.precedence(addr.packed) == _first_match(prec, addr, pdef), (str(addr), prec)
        assert cp.label(addr.packed) == _first_match(label, addr, ldef), (str(addr), label)


def test_accelerated_builtin_tables():
    """Every built-in table, on addresses inside and just outside each of its rows."""
    for flavor in ("rfc6724", "glibc", "musl", "go", "rfc6724-update"):
        prec, label, scope4 = tables.builtin_lists(flavor)
        cp = CompiledPolicy(prec, label, scope4 or ())
        cp.accelerate()
        probes = set()
        for pfx, plen, _ in list(prec) + list(label):
            base = int.from_bytes(pfx, "big")
            probes.update({base, base | ((1 << (128 - plen)) - 1) if plen < 128 else base,
                           (base - 1) % (1 << 128), (base + (1 << (128 - plen))) % (1 << 128)
                           if plen else base})
        for a in sorted(probes):
            addr = ipaddress.IPv6Address(a)
            assert cp.precedence(addr.packed) == _first_match(prec, addr, 0), (flavor, addr)
            assert cp.label(addr.packed) == _first_match(label, addr, -1), (flavor, addr)
