"""Benchmarks: v6core.sort_destinations against a pure-Python ipaddress peer, and the
overhead of v6core.getaddrinfo over socket.getaddrinfo for a hosts-file name.

Run:  PYTHONPATH=src python -m pytest bench/bench_select.py --benchmark-only -p no:cacheprovider

sort_destinations keeps a bounded cache of parsed text addresses (sortkey.pyx), and the
peer keeps the same one (text -> parsed address, 4096 entries, cleared when full), so
each side is timed in two pairs:

* warm: the same destination and source strings every round (every parse is a cache hit);
* cold: both caches emptied first, then fresh strings every round (every parse misses
  the cache): each round's addresses have new low 16 bits (``::1``, which has none, gets
  a new spelling of its zero groups), and no string repeats within the test.

Both sides of a pair get the same inputs and the same timing (pytest-benchmark's rounds;
cold rounds take one call each, with their inputs made in an untimed setup).  Every
benchmark asserts its answer: v6core's order is the peer's (on every cold round's input).
The getaddrinfo benchmarks need root: they move this process into a fresh mount and
network namespace for the module (an overlay /etc/hosts with a two-address name and veth
addresses) and move it back afterwards.
"""

from __future__ import annotations

import ctypes
import functools
import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

import v6core
from bench.conftest import scale
from v6core import SourceAddress, sort_destinations

# ------------------------------------------------------------------ the pure-Python peer
# A straightforward RFC 6724 section 6 implementation with the ipaddress module: parse the
# addresses (through the same bounded text cache v6core keeps), look the policy table up
# by containment, compare pairwise.

_PEER_TABLE = [(ipaddress.IPv6Network(p), prec, label) for p, prec, label in (
    ("::1/128", 50, 0), ("::/0", 40, 1), ("::ffff:0:0/96", 35, 4), ("2002::/16", 30, 2),
    ("2001::/32", 5, 5), ("fc00::/7", 3, 13), ("::/96", 1, 3), ("fec0::/10", 1, 11),
    ("3ffe::/16", 1, 12))]
_PEER_TABLE.sort(key=lambda r: -r[0].prefixlen)

# the memoisation v6core's sortkey.pyx has: text -> parsed address, bounded, cleared when full
_PEER_PARSED: dict[str, ipaddress.IPv6Address] = {}
_PARSED_MAX = 4096


def _peer_v6(a: str) -> ipaddress.IPv6Address:
    hit = _PEER_PARSED.get(a)
    if hit is not None:
        return hit
    ip = ipaddress.ip_address(a)
    a6 = ipaddress.IPv6Address("::ffff:" + a) if ip.version == 4 else ip
    if len(_PEER_PARSED) >= _PARSED_MAX:
        _PEER_PARSED.clear()
    _PEER_PARSED[a] = a6
    return a6


def _peer_policy(a6: ipaddress.IPv6Address) -> tuple[int, int]:
    for net, prec, label in _PEER_TABLE:
        if a6 in net:
            return prec, label
    return 0, -1


def _peer_scope(a6: ipaddress.IPv6Address) -> int:
    if a6.is_multicast:
        return a6.packed[1] & 0xF
    if a6.is_link_local or a6 == ipaddress.IPv6Address("::1"):
        return 2
    if a6.is_site_local:
        return 5
    v4 = a6.ipv4_mapped
    if v4 is not None and (v4.is_loopback or v4.is_link_local):
        return 2
    return 14


def peer_sort(dests: list[str], sources: dict[str, str | None]) -> list[str]:
    info = []
    for i, d in enumerate(dests):
        d6 = _peer_v6(d)
        s = sources[d]
        s6 = _peer_v6(s) if s is not None else None
        prec, label = _peer_policy(d6)
        info.append({
            "i": i, "d": d, "d6": d6, "s6": s6, "prec": prec, "label": label,
            "scope": _peer_scope(d6),
            "slabel": _peer_policy(s6)[1] if s6 else None,
            "sscope": _peer_scope(s6) if s6 else None,
            "v4": d6.ipv4_mapped is not None,
        })

    def cpl(x: dict) -> int:
        n = 128 - (int(x["s6"]) ^ int(x["d6"])).bit_length()
        return min(n - 96, 32) if x["v4"] else min(n, 64)

    def cmp(a: dict, b: dict) -> int:
        if (a["s6"] is None) != (b["s6"] is None):
            return -1 if a["s6"] is not None else 1
        if a["s6"] is not None:
            ma, mb = a["scope"] == a["sscope"], b["scope"] == b["sscope"]
            if ma != mb:
                return -1 if ma else 1
            la, lb = a["label"] == a["slabel"], b["label"] == b["slabel"]
            if la != lb:
                return -1 if la else 1
        if a["prec"] != b["prec"]:
            return -1 if a["prec"] > b["prec"] else 1
        if a["scope"] != b["scope"]:
            return -1 if a["scope"] < b["scope"] else 1
        if a["s6"] is not None and a["v4"] == b["v4"]:
            ca, cb = cpl(a), cpl(b)
            if ca != cb:
                return -1 if ca > cb else 1
        return -1 if a["i"] < b["i"] else 1

    return [x["d"] for x in sorted(info, key=functools.cmp_to_key(cmp))]


# ------------------------------------------------------------------ workloads

DESTS = {
    2: ["198.51.100.7", "2001:db8:5::1"],
    4: ["198.51.100.7", "2001:db8:5::1", "fd00:9::1", "2001:db8:1::9"],
    16: ["198.51.100.7", "2001:db8:5::1", "fd00:9::1", "2001:db8:1::9", "10.0.0.9",
         "2002:c633:6401::1", "fe80::1", "192.0.2.99", "2001:db8:1:0:8000::1",
         "2001:db8:ff::3", "127.0.0.1", "::1", "fd00:1::7", "169.254.3.3", "2001::7",
         "203.0.113.9"],
}


def _source_of(d: str) -> str | None:
    """The template source of template destination ``d``."""
    if d == "fe80::1":
        return None
    if d in ("::1", "127.0.0.1"):
        return d
    if "." in d:
        return "192.0.2.2"
    if d.startswith("fd00"):
        return "fd00:1::2"
    return "2001:db8:1::2"


def _sources(dests: list[str]) -> dict[str, str | None]:
    return {d: _source_of(d) for d in dests}


def _fresh(text: str, k: int) -> str:
    """Round ``k``'s spelling of template address ``text``: the same kind of address (same
    prefix, hence the same scope and policy row) with bits 0-15 set to ``k``; ``::1`` keeps
    its value and gets the ``k``-th spelling of its seven zero groups (1-4 digits each)."""
    k &= 0xFFFF
    if text == "::1":
        return ":".join("0" * (1 + ((k >> (2 * g)) & 3)) for g in range(7)) + ":1"
    a = ipaddress.ip_address(text)
    return str(type(a)((int(a) & ~0xFFFF) | k))


def cold_inputs(n: int, rounds: int) -> list[tuple[list[str], dict[str, str | None]]]:
    """``rounds`` workloads shaped like DESTS[n], no string repeating within 2**14 rounds
    (far more rounds than it takes the 4096-entry caches to be cleared)."""
    out = []
    for r in range(rounds):
        k = 1 + r % 0x3FFF
        dests = [_fresh(d, k) for d in DESTS[n]]
        srcs = {}
        for t, d in zip(DESTS[n], dests, strict=True):
            s = _source_of(t)
            srcs[d] = None if s is None else (d if s == t else _fresh(s, k ^ 0x8000))
        out.append((dests, srcs))
    return out


COLD_ROUNDS = scale(2000, 5)


def _empty_caches() -> None:
    """Start a cold test with neither side's parse cache holding an input of it (earlier
    tests and answer checks parse the same strings).  The peer's cache is cleared; v6core's
    (sortkey.pyx, unreachable from Python, cleared when it reaches 4096 entries) is filled
    with 2 x 4096 + 1 strings that no workload uses, which clears it at least once."""
    _PEER_PARSED.clear()
    junk = [f"3fff:ffff::{i:x}" for i in range(2 * _PARSED_MAX + 1)]
    assert len(sort_destinations(junk, lambda _d: None, flavor="rfc6724")) == len(junk)


def _record(benchmark, role: str, n: int) -> None:
    benchmark.extra_info.update(role=role, items=n, destinations=n)
    if benchmark.stats is None:          # --benchmark-disable: ran once, nothing timed
        return
    med = benchmark.stats.stats.median
    benchmark.extra_info["median_us"] = round(med * 1e6, 3)
    benchmark.extra_info["sorts_per_s"] = round(1 / med)


def _sort_v6core(dests, srcs):
    return sort_destinations(dests, srcs, flavor="rfc6724")


# ------------------------------------------------------------------ warm pairs

@pytest.mark.parametrize("n", [2, 4, 16])
@pytest.mark.parametrize("side", ["v6core", "peer"])
def test_sort_warm(benchmark, n, side):
    """The same strings every round: both parse caches hit."""
    benchmark.group = f"sort {n} rfc6724, warm caches"
    dests = DESTS[n]
    srcs = _sources(dests)
    expected = peer_sort(dests, srcs)
    assert _sort_v6core(dests, srcs) == expected
    result = benchmark(_sort_v6core if side == "v6core" else peer_sort, dests, srcs)
    assert result == expected
    _record(benchmark, side, n)


# ------------------------------------------------------------------ cold pairs

@pytest.mark.parametrize("n", [2, 4, 16])
@pytest.mark.parametrize("side", ["v6core", "peer"])
def test_sort_cold(benchmark, n, side):
    """Fresh strings every round: every parse misses both caches."""
    benchmark.group = f"sort {n} rfc6724, cold caches"
    inputs = cold_inputs(n, COLD_ROUNDS)
    _empty_caches()
    # fresh: no destination string repeats in the whole run
    assert len({d for dests, _ in inputs for d in dests}) == len(inputs) * n
    feed = iter(inputs)
    current: list = []

    def setup():
        current[:] = [next(feed)]
        return current[0], {}

    fn = _sort_v6core if side == "v6core" else peer_sort
    last = benchmark.pedantic(fn, setup=setup, rounds=len(inputs), iterations=1)
    # the last round's input (with --benchmark-disable only the first round runs)
    assert last == peer_sort(*current[0])
    for dests, srcs in inputs[:: max(1, len(inputs) // 50)]:
        assert _sort_v6core(dests, srcs) == peer_sort(dests, srcs)
    _record(benchmark, side, n)


# ------------------------------------------------------------------ other flavours

@pytest.mark.parametrize("flavor", ["glibc", "musl"])
def test_sort_flavors_4(benchmark, flavor):
    benchmark.group = "sort 4, other flavours (no peer)"
    dests = DESTS[4]
    srcs = _sources(dests)
    result = benchmark(sort_destinations, dests, srcs, flavor=flavor)
    assert sorted(result) == sorted(dests)
    _record(benchmark, "v6core", 4)


def test_sort_4_source_objects(benchmark):
    benchmark.group = "sort 4, other flavours (no peer)"
    dests = DESTS[4]
    srcs = {d: (SourceAddress(s, 24 if "." in s else 64) if s else None)
            for d, s in _sources(dests).items()}
    result = benchmark(sort_destinations, dests, srcs, flavor="rfc6724")
    assert result == peer_sort(dests, _sources(dests))
    _record(benchmark, "v6core", 4)


# ------------------------------------------------------------------ getaddrinfo overhead

_CLONE_NEWNS = 0x00020000
_CLONE_NEWNET = 0x40000000
HOSTS_NAME = "dual.v6core.test"


@pytest.fixture(scope="module")
def hosts_world():
    """Move this process into a fresh mount+net namespace with a two-address hosts name;
    move it back afterwards."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root for a private /etc/hosts and addresses")
    libc = ctypes.CDLL(None, use_errno=True)
    net_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    mnt_fd = os.open("/proc/self/ns/mnt", os.O_RDONLY)
    tmp = tempfile.mkdtemp(prefix="v6core-bench-")
    if libc.unshare(_CLONE_NEWNS | _CLONE_NEWNET) != 0:
        os.close(net_fd)
        os.close(mnt_fd)
        pytest.skip(f"unshare failed: {os.strerror(ctypes.get_errno())}")
    try:
        cmds = [
            "mount --make-rprivate /",
            f"mount -t tmpfs v6core-bench {tmp}",
            f"mkdir {tmp}/u {tmp}/w",
            f"mount -t overlay overlay -o lowerdir=/etc,upperdir={tmp}/u,workdir={tmp}/w /etc",
            f"printf '127.0.0.1 localhost\\n2001:db8:5::1 {HOSTS_NAME}\\n"
            f"198.51.100.7 {HOSTS_NAME}\\n' > /etc/hosts",
            "printf 'multi on\\n' > /etc/host.conf",
            "sysctl -qw net.ipv6.conf.default.accept_dad=0",
            "ip link set lo up",
            "ip link add v0 type veth peer name v1",
            "ip link set v0 up", "ip link set v1 up",
            "ip addr add 192.0.2.2/24 dev v0",
            "ip -6 addr add fd00:1::2/64 dev v0 nodad",
            "ip route add default dev v0",
            "ip -6 route add default dev v0",
        ]
        for c in cmds:
            subprocess.run(["sh", "-c", c], check=True, timeout=20)
        yield HOSTS_NAME
    finally:
        libc.setns(net_fd, _CLONE_NEWNET)
        libc.setns(mnt_fd, _CLONE_NEWNS)
        os.close(net_fd)
        os.close(mnt_fd)
        shutil.rmtree(tmp, ignore_errors=True)


def _median_call(fn, *args, calls: int = 201, **kw) -> float:
    """Median wall time of single calls (robust to preemption on a shared machine)."""
    import time
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn(*args, **kw)
        times.append(time.perf_counter() - t)
    return sorted(times)[calls // 2]


GAI_GROUP = "getaddrinfo, hosts-file name with 2 addresses"


def _record_call(benchmark, role: str) -> None:
    benchmark.extra_info.update(role=role, items=1)
    if benchmark.stats is not None:
        med = benchmark.stats.stats.median
        benchmark.extra_info.update(calls_per_s=round(1 / med), median_us=round(med * 1e6, 2))


@pytest.mark.benchmark(group=GAI_GROUP)
def test_getaddrinfo_socket(benchmark, hosts_world):
    # the "peer": the C library's own answer, which v6core.getaddrinfo re-orders
    res = benchmark(socket.getaddrinfo, hosts_world, 80, type=socket.SOCK_STREAM)
    assert len(res) == 2
    _record_call(benchmark, "peer")


@pytest.mark.benchmark(group=GAI_GROUP)
@pytest.mark.parametrize("flavor", ["glibc", "musl"])
def test_getaddrinfo_v6core(benchmark, hosts_world, flavor):
    plain = socket.getaddrinfo(hosts_world, 80, type=socket.SOCK_STREAM)
    res = benchmark(v6core.getaddrinfo, hosts_world, 80, type=socket.SOCK_STREAM,
                    flavor=flavor)
    assert sorted(res) == sorted(plain)
    if flavor == "glibc":
        assert res == plain          # the same order glibc chose
    else:
        # musl: the ULA source's label 13 does not match 2001:db8::/32's 1: IPv4 first
        assert res[0][4][0] == "198.51.100.7"
    _record_call(benchmark, "v6core")
    if benchmark.stats is not None:
        base = _median_call(socket.getaddrinfo, hosts_world, 80, type=socket.SOCK_STREAM,
                            calls=scale(201, 5))
        med = benchmark.stats.stats.median
        benchmark.extra_info["socket_getaddrinfo_median_us"] = round(base * 1e6, 2)
        benchmark.extra_info["overhead_us"] = round((med - base) * 1e6, 2)
