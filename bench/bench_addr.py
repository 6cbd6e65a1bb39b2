"""The address core beside the ``ipaddress`` module: text conversion and prefix lookups,
single and bulk; and bulk longest-prefix match of 1M addresses in 100,000 prefixes.

    PYTHONPATH=src python -m pytest bench/bench_addr.py --benchmark-only -p no:cacheprovider

Every pair asserts that both sides give the same answer; ``V6CORE_BENCH_QUICK=1`` shrinks
the inputs (2,000 texts, 5,000 prefixes, 20,000 queries).
"""

from __future__ import annotations

import ipaddress
import random

import numpy as np
import pytest

from bench.conftest import scale
from v6core._core import addr
from v6core._core.prefix import PrefixTable

RNG = random.Random(6724)
TEXTS = [str(ipaddress.IPv6Address((0x20010DB8 << 96) | RNG.getrandbits(96)))
         for _ in range(scale(100_000, 2_000))]
TEXTS[::4] = [str(ipaddress.IPv4Address(RNG.getrandbits(32))) for _ in TEXTS[::4]]
POLICY = [("::1/128", 50), ("::/0", 40), ("::ffff:0:0/96", 35), ("2002::/16", 30),
          ("2001::/32", 5), ("fc00::/7", 3), ("::/96", 1), ("fec0::/10", 1), ("3ffe::/16", 1)]


# ---------------------------------------------------------------- text -> address


@pytest.mark.benchmark(group="parse one")
def test_parse_one_v6core(benchmark):
    benchmark.extra_info.update(role="v6core", items=1)
    assert benchmark(addr.pack, "2001:db8:85a3::8a2e:370:7334") == \
        ipaddress.IPv6Address("2001:db8:85a3::8a2e:370:7334").packed


@pytest.mark.benchmark(group="parse one")
def test_parse_one_ipaddress(benchmark):
    benchmark.extra_info.update(role="peer", items=1)
    assert benchmark(lambda t: ipaddress.ip_address(t).packed, "2001:db8:85a3::8a2e:370:7334")


def _peer_pack_many(texts):
    out = np.empty((len(texts), 16), dtype=np.uint8)
    for i, t in enumerate(texts):
        a = ipaddress.ip_address(t)
        if a.version == 4:
            a = ipaddress.IPv6Address(0xFFFF00000000 | int(a))
        out[i] = np.frombuffer(a.packed, dtype=np.uint8)
    return out


@pytest.mark.benchmark(group="parse bulk")
def test_parse_bulk_v6core(benchmark):
    benchmark.extra_info.update(role="v6core", items=len(TEXTS))
    got = benchmark(addr.pack_many, TEXTS)
    assert (got[:500] == _peer_pack_many(TEXTS[:500])).all()


@pytest.mark.benchmark(group="parse bulk")
def test_parse_bulk_ipaddress(benchmark):
    benchmark.extra_info.update(role="peer", items=len(TEXTS))
    got = benchmark.pedantic(_peer_pack_many, (TEXTS,), rounds=3, iterations=1)
    assert (got == addr.pack_many(TEXTS)).all()


@pytest.mark.benchmark(group="format bulk")
def test_format_bulk_v6core(benchmark):
    arr = addr.pack_many(TEXTS)
    benchmark.extra_info.update(role="v6core", items=len(TEXTS))
    assert benchmark(addr.to_text_many, arr) == TEXTS


@pytest.mark.benchmark(group="format bulk")
def test_format_bulk_ipaddress(benchmark):
    objs = [ipaddress.ip_address(t) for t in TEXTS]
    benchmark.extra_info.update(role="peer", items=len(TEXTS))
    assert benchmark.pedantic(lambda: [str(o) for o in objs], rounds=3, iterations=1) == TEXTS


# ---------------------------------------------------------------- policy-size lookups


@pytest.mark.benchmark(group="lookup one (9-row policy)")
def test_lookup_one_v6core(benchmark):
    table = PrefixTable([p for p, _ in POLICY], [v for _, v in POLICY])
    packed = addr.pack("2001:db8::1")
    benchmark.extra_info.update(role="v6core", items=1)
    assert benchmark(table.lookup, packed) == 40     # ::/0: 2001:db8:: is outside 2001::/32


@pytest.mark.benchmark(group="lookup one (9-row policy)")
def test_lookup_one_ipaddress(benchmark):
    nets = sorted(((ipaddress.ip_network(p), v) for p, v in POLICY), key=lambda r: -r[0].prefixlen)
    a = ipaddress.IPv6Address("2001:db8::1")

    def lookup(a):
        for net, v in nets:
            if a in net:
                return v
        return None

    benchmark.extra_info.update(role="peer", items=1)
    assert benchmark(lookup, a) == 40


# ---------------------------------------------------------------- 1M in 100,000 prefixes


def _big_table(n):
    rng = random.Random(100_000)
    prefixes, values = [], []
    base = 0x20010DB8 << 96
    for i in range(n):
        plen = rng.choice([48, 56, 64, 64, 80, 96, 112, 120, 128])
        a = (base | rng.getrandbits(96)) & ~((1 << (128 - plen)) - 1)
        prefixes.append((ipaddress.IPv6Address(a), plen))
        values.append(i)
    return prefixes, values


BIG_N = scale(100_000, 5_000)
BIG_Q = scale(1_000_000, 20_000)
LPM_GROUP = f"LPM {BIG_Q:,} addresses in {BIG_N:,} prefixes"


@pytest.fixture(scope="module")
def big():
    prefixes, values = _big_table(BIG_N)
    table = PrefixTable(prefixes, values)
    rng = np.random.default_rng(1)
    # half the queries inside random table prefixes, half random in 2001:db8::/32
    q = rng.integers(0, 256, size=(BIG_Q, 16), dtype=np.uint8)
    q[:, :4] = [0x20, 0x01, 0x0D, 0xB8]
    picks = rng.integers(0, BIG_N, size=BIG_Q // 2)
    starts = addr.pack_many([p for p, _ in prefixes])
    hostmask = np.array([list(((1 << (128 - n)) - 1).to_bytes(16, "big")) for n in range(129)],
                        dtype=np.uint8)
    plens = np.array([n for _, n in prefixes])
    inside = slice(0, BIG_Q // 2)
    q[inside] = starts[picks] | (q[inside] & hostmask[plens[picks]])
    # the dict-per-length peer, written the way one would in Python with ipaddress ints
    by_len: dict[int, dict[int, int]] = {}
    for (p, plen), v in zip(prefixes, values):
        by_len.setdefault(plen, {})[int(p) >> (128 - plen)] = v
    lens = sorted(by_len, reverse=True)
    return table, np.ascontiguousarray(q), by_len, lens


def _peer_lookup(rows, by_len, lens):
    out = []
    for r in rows:
        a = int(ipaddress.IPv6Address(bytes(r)))
        for plen in lens:
            v = by_len[plen].get(a >> (128 - plen))
            if v is not None:
                out.append(v)
                break
        else:
            out.append(-1)
    return out


@pytest.mark.benchmark(group=LPM_GROUP)
def test_lpm_bulk_v6core(benchmark, big):
    table, q, by_len, lens = big
    out = np.empty(len(q), dtype=np.int64)
    benchmark.extra_info.update(role="v6core", items=len(q), prefixes=BIG_N)
    benchmark(table.lookup_many, q, out)
    assert out[: len(q) // 2].min() >= 0        # every inside query matched
    assert out[:2000].tolist() == _peer_lookup(q[:2000], by_len, lens)


@pytest.mark.benchmark(group=LPM_GROUP)
def test_lpm_bulk_python_peer(benchmark, big):
    table, q, by_len, lens = big
    sample = q[:20_000]
    benchmark.extra_info.update(role="peer", items=len(sample), prefixes=BIG_N,
                                note="dict per prefix length over ipaddress ints, 20k-row sample")
    got = benchmark.pedantic(_peer_lookup, (sample, by_len, lens), rounds=2, iterations=1)
    assert got == table.lookup_many(sample).tolist()
