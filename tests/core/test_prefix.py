"""Longest-prefix match against brute force (ipaddress for small tables, a numpy scan
for large ones), over random tables with overlapping prefix lengths."""

from __future__ import annotations

import ipaddress
import random
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from v6core._core.addr import pack_many
from v6core._core.prefix import PrefixTable
from v6core.errors import AddressError

ALL = (1 << 128) - 1


def brute_ipaddress(prefixes, values, address):
    """The value of the longest prefix containing ``address``; later duplicates win."""
    a = ipaddress.IPv6Address(address)
    best_len, best = -1, None
    for (p, plen), v in zip(prefixes, values):
        if a in ipaddress.IPv6Network((p, plen), strict=False) and plen >= best_len:
            best_len, best = plen, v
    return best


# prefixes clustered around a few bases so that they nest and overlap
bases = st.sampled_from([0, 0x20010DB8 << 96, (0x20010DB8 << 96) | (1 << 80), 0xFFFF00000000, ALL])
prefix_st = st.tuples(
    st.one_of(st.integers(0, ALL), bases, st.builds(lambda b, d: (b ^ d) & ALL, bases,
                                                     st.integers(0, (1 << 64) - 1))),
    st.integers(0, 128),
)


@given(st.lists(prefix_st, min_size=1, max_size=30), st.lists(st.integers(0, ALL), max_size=20))
@settings(max_examples=300, deadline=None)
def test_small_tables_against_ipaddress(prefixes, extra_queries):
    values = list(range(len(prefixes)))
    table = PrefixTable([(ipaddress.IPv6Address(p), plen) for p, plen in prefixes], values)
    queries = set(extra_queries)
    for p, plen in prefixes:               # every interval edge, and just outside it
        net = ipaddress.IPv6Network((p, plen), strict=False)
        first, last = int(net.network_address), int(net.broadcast_address)
        queries.update(x for x in (first - 1, first, last, last + 1) if 0 <= x <= ALL)
    for q in sorted(queries):
        want = brute_ipaddress(prefixes, values, q)
        assert table.lookup(ipaddress.IPv6Address(q).packed) == want, (hex(q), prefixes)
    arr = pack_many([ipaddress.IPv6Address(q).packed for q in sorted(queries)])
    got = table.lookup_many(arr).tolist()
    assert got == [-1 if (w := brute_ipaddress(prefixes, values, q)) is None else w
                   for q in sorted(queries)]


def random_table(rng: random.Random, n: int):
    """n prefixes: a mix of clustered nested ones and random ones, lengths 0..128."""
    base = 0x20010DB8 << 96
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.6:
            a = base | rng.getrandbits(96)
            plen = rng.choice([32, 40, 48, 56, 64, 64, 64, 80, 96, 112, 120, 128, rng.randint(33, 128)])
        elif r < 0.8 and out:
            parent, plen0 = out[rng.randrange(len(out))]
            plen = rng.randint(plen0, 128)
            a = parent | (rng.getrandbits(128) & (ALL >> plen0))
        elif r < 0.9:
            a = 0xFFFF00000000 | rng.getrandbits(32)
            plen = rng.randint(96, 128)
        else:
            a = rng.getrandbits(128)
            plen = rng.randint(0, 128)
        out.append((a & ~(ALL >> plen) & ALL, plen))
    return out


def brute_numpy(prefixes, values, queries):
    """Vectorised scan of every prefix for every query (an independent check)."""
    p_hi = np.array([p >> 64 for p, _ in prefixes], dtype=np.uint64)
    p_lo = np.array([p & (2**64 - 1) for p, _ in prefixes], dtype=np.uint64)
    lens = np.array([plen for _, plen in prefixes], dtype=np.int64)
    masks = [(ALL << (128 - plen)) & ALL for _, plen in prefixes]
    m_hi = np.array([m >> 64 for m in masks], dtype=np.uint64)
    m_lo = np.array([m & (2**64 - 1) for m in masks], dtype=np.uint64)
    vals = np.array(values, dtype=np.int64)
    # a later duplicate of equal length wins: rank = length * N + position
    rank = lens * len(prefixes) + np.arange(len(prefixes))
    out = []
    for q in queries:
        qh, ql = np.uint64(q >> 64), np.uint64(q & (2**64 - 1))
        hit = ((qh & m_hi) == p_hi) & ((ql & m_lo) == p_lo)
        out.append(int(vals[np.argmax(np.where(hit, rank, -1))]) if hit.any() else -1)
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 1000, 20000, 100000])
def test_random_tables_against_scan(n):
    rng = random.Random(n)
    prefixes = random_table(rng, n)
    values = [rng.randrange(1 << 40) for _ in prefixes]
    table = PrefixTable([(ipaddress.IPv6Address(p), plen) for p, plen in prefixes], values)
    queries = []
    for p, plen in rng.sample(prefixes, min(n, 300)):
        last = p | (ALL >> plen)
        queries += [x for x in (p - 1, p, last, last + 1, p | (rng.getrandbits(128) & (ALL >> plen)))
                    if 0 <= x <= ALL]
    queries += [rng.getrandbits(128) for _ in range(200)]
    queries += [(0x20010DB8 << 96) | rng.getrandbits(96) for _ in range(200)]
    want = brute_numpy(prefixes, values, queries)
    arr = pack_many([q.to_bytes(16, "big") for q in queries])
    assert table.lookup_many(arr).tolist() == want
    assert [table.lookup(q.to_bytes(16, "big"), -1) for q in queries[:200]] == want[:200]


def test_ipv4_and_text_forms():
    t = PrefixTable(["::/0", "10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32",
                     ipaddress.ip_network("192.0.2.0/24"), ("2001:db8:1::", 48)])
    assert t.lookup("10.1.2.3") == 2 and t.lookup("10.2.0.0") == 1
    assert t.lookup("192.0.2.9") == 4 and t.lookup("2001:db8:1::1") == 5
    assert t.lookup("2002::") == 0
    assert t.match("10.1.2.3") == ("10.1.0.0/16", 2)
    assert list(t)[1] == ("10.0.0.0/8", 1)
    assert "10.9.9.9" in t and len(t) == 6


def test_no_match_and_duplicates():
    t = PrefixTable(["2001:db8::/32", "2001:db8::/32"], [5, 9])
    assert t.lookup("2001:db8::1") == 9        # the later definition wins
    assert t.lookup("2001:db9::1") is None and t.lookup("2001:db9::1", -1) == -1
    assert "::1" not in t
    empty = PrefixTable([])
    assert empty.lookup("::1") is None and len(empty) == 0


def test_bad_input_names_it():
    with pytest.raises(AddressError, match=r"prefix 1: .*'2001:db8::/200'"):
        PrefixTable(["::/0", "2001:db8::/200"])
    with pytest.raises(ValueError, match="value 0"):
        PrefixTable(["::/0"], [-1])
    with pytest.raises(ValueError, match="2 prefixes but 1 values"):
        PrefixTable(["::/0", "::1/128"], [1])
    with pytest.raises(ValueError, match=r"\(N, 16\)"):
        PrefixTable(["::/0"]).lookup_many(np.zeros((2, 8), np.uint8))


def test_shared_between_threads():
    rng = random.Random(7)
    prefixes = random_table(rng, 5000)
    table = PrefixTable([(ipaddress.IPv6Address(p), plen) for p, plen in prefixes])
    arr = pack_many([((0x20010DB8 << 96) | rng.getrandbits(96)).to_bytes(16, "big")
                     for _ in range(20000)])
    want = table.lookup_many(arr)
    results = []
    threads = [threading.Thread(target=lambda: results.append(table.lookup_many(arr)))
               for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(results) == 4 and all((r == want).all() for r in results)


def test_init_cannot_run_twice():
    # GIL-free readers may hold the compiled arrays: a second __init__ must not swap them
    table = PrefixTable(["2001:db8::/32"], [7])
    with pytest.raises(TypeError, match="immutable"):
        table.__init__(["::/0"], [1])
    assert table.lookup("2001:db8::1") == 7
    assert table.lookup("2001:db9::1") is None
    assert table.prefixes == ((ipaddress.IPv6Address("2001:db8::").packed, 32),)


def test_failed_init_leaves_an_empty_table_that_can_be_initialised():
    table = PrefixTable.__new__(PrefixTable)
    # never initialised: matches nothing (and does not read through a NULL pointer)
    assert table.lookup("2001:db8::1") is None
    assert "2001:db8::1" not in table
    assert table.lookup_many(pack_many(["::1", "10.0.0.1"])).tolist() == [-1, -1]
    with pytest.raises(AddressError):
        table.__init__(["not a prefix"])
    table.__init__(["10.0.0.0/8"])
    assert table.lookup("10.1.2.3") == 0


_ROWS = pack_many(["2001:db8::1", "10.0.0.1", "::"])


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.sampled_from([
        np.zeros(2, np.int64), np.zeros(4, np.int64), np.zeros(3, np.int32),
        np.zeros(3, np.uint64), np.zeros(3, np.float64), np.zeros((3, 1), np.int64),
        np.zeros(6, np.int64)[::2], np.zeros(3, np.int64).view(np.uint64), [0, 0, 0], b"x" * 24,
    ]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.just(np.zeros(3, np.int64)).map(lambda a: (a.setflags(write=False), a)[1]),
))
def test_lookup_many_refuses_bad_out(out):
    table = PrefixTable(["2001:db8::/32", "10.0.0.0/8"])
    with pytest.raises(ValueError, match="^out: "):
        table.lookup_many(_ROWS, out=out)


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.sampled_from([
        np.zeros((3, 15), np.uint8), np.zeros((3, 17), np.uint8), np.zeros((3, 16), np.int8),
        np.zeros((3, 16), np.uint16), np.zeros(48, np.uint8), np.zeros((3, 32), np.uint8)[:, ::2],
        np.zeros((6, 16), np.uint8)[::2], np.zeros((16, 3), np.uint8).T, np.zeros((1, 3, 16), np.uint8),
        b"\0" * 48, None, 5, "::1", [[0] * 16],
    ]),
    st.integers(),
))
def test_lookup_many_refuses_bad_addresses(addresses):
    table = PrefixTable(["2001:db8::/32"])
    with pytest.raises(ValueError, match="^addresses: "):
        table.lookup_many(addresses)


def test_lookup_many_fills_out_and_takes_read_only_input():
    table = PrefixTable(["2001:db8::/32", "10.0.0.0/8"])
    rows = _ROWS.copy()
    rows.setflags(write=False)
    out = np.full(3, 99, np.int64)
    assert table.lookup_many(rows, out=out) is out
    assert out.tolist() == [0, 1, -1]
