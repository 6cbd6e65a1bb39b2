"""Bulk ordering benchmarks: musl keys, grouped ordering, and ``v6core simulate``.

Peers of ``bulk.musl_keys`` in the same run, on the same numpy buffers:

* the same kernel in plain C: v6core's branch-free C (src/v6core/_core/bulk_musl.h, which
  the extension includes too, bench/musl_kernel_loop.c around it) built with the extension's flags
  (``-O2 -fno-strict-aliasing -fwrapv``) into a temporary .so and called through ctypes:
  Cython against C, the same algorithm;
* a plain C loop written the way musl's lookup_name.c reads (bench/musl_keys.c, same
  flags): the obvious C program;
* pure Python with ``ipaddress``, one row at a time (on fewer rows).

Every benchmark checks its answer (every peer's keys equal the kernel's; ``order_groups``
against ``sort_destinations`` on a sample of groups; ``simulate`` against its own
totals).  Figures are medians of the rounds (bench/conftest.py prints the pairs and
ratios).  Run:

    PYTHONPATH=src python -m pytest bench/bench_bulk.py --benchmark-only -p no:cacheprovider

``V6CORE_BENCH_ROWS`` (default 10_000_000; 20_000 under ``V6CORE_BENCH_QUICK``) sets the
row count; ``V6CORE_BENCH_LOOKUPS`` (default 10_000_000; 20_000 quick) the lookups of the
simulate benchmark.
"""

from __future__ import annotations

import ctypes
import gc
import ipaddress
import itertools
import os
import shutil
import subprocess
import time
import tracemalloc

import numpy as np
import pytest

from bench.conftest import scale
from v6core import simulate as sim
from v6core._core import bulk, bulk_keys
from v6core._core.bulk_common import threads_for

ROWS = int(os.environ.get("V6CORE_BENCH_ROWS", scale(10_000_000, 20_000)))
LOOKUPS = int(os.environ.get("V6CORE_BENCH_LOOKUPS", scale(10_000_000, 20_000)))
PY_ROWS = min(ROWS, scale(20_000, 2_000))
HERE = os.path.dirname(os.path.abspath(__file__))
CORE_SRC = os.path.join(os.path.dirname(HERE), "src", "v6core", "_core")
# the flags setup.py's extensions end up with (sysconfig's -O3 -fwrapv, then setup.py's -O2)
C_FLAGS = ["-O2", "-fno-strict-aliasing", "-fwrapv"]
MUSL_GROUP = f"musl keys, {ROWS:,} rows"


def cpu_rate(fn, n: int, repeat: int = 3) -> float:
    """Items per CPU-second of the calling thread (median of ``repeat``): a single-core
    figure that holds up when other processes share the machine."""
    times = []
    for _ in range(repeat):
        t = time.thread_time()
        fn()
        times.append(time.thread_time() - t)
    return n / sorted(times)[len(times) // 2]


def _median_rate(benchmark, n: int) -> float | None:
    return None if benchmark.stats is None else n / benchmark.stats.stats.median


# ---------------------------------------------------------------- data

_PREFIXES = [  # (first 8 bytes as int, bits of host part in the high half, weight)
    (0x20010DB800000000, 32, 0.35),   # global
    (0x2001000000000000, 32, 0.05),   # Teredo
    (0x2002000000000000, 48, 0.05),   # 6to4
    (0xFD00000000000000, 56, 0.15),   # ULA
    (0xFE80000000000000, 0, 0.05),    # link-local
    (0x0000000000000000, 0, 0.35),    # IPv4-mapped (low half set below)
]


def make_rows(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """dst, src, flags, pos: a mix of address kinds; sources share a random prefix."""
    rng = np.random.default_rng(seed)
    w = np.array([p[2] for p in _PREFIXES])
    kind = rng.choice(len(_PREFIXES), n, p=w / w.sum())
    base = np.array([p[0] for p in _PREFIXES], dtype=np.uint64)[kind]
    bits = np.array([p[1] for p in _PREFIXES], dtype=np.uint64)[kind]
    rnd = rng.integers(0, 1 << 63, n, dtype=np.uint64)
    mask = np.where(bits > 0, (np.uint64(1) << bits) - np.uint64(1), np.uint64(0))
    hi = base | (rnd & mask)
    lo = rng.integers(0, 1 << 63, n, dtype=np.uint64)
    v4 = kind == len(_PREFIXES) - 1
    lo[v4] = np.uint64(0xFFFF00000000) | (lo[v4] & np.uint64(0xFFFFFFFF))
    dst = np.empty((n, 16), np.uint8)
    dst[:, :8] = hi.astype(">u8").view(np.uint8).reshape(n, 8)
    dst[:, 8:] = lo.astype(">u8").view(np.uint8).reshape(n, 8)
    # source: keep a random number of leading bytes of the destination
    keep = rng.integers(0, 17, n)
    src = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    cols = np.arange(16)
    same = cols[None, :] < keep[:, None]
    src[same] = dst[same]
    src[v4, :12] = dst[v4, :12]                  # IPv4 rows get an IPv4 source
    flags = (rng.random(n) < 0.9).astype(np.uint8)  # FLAG_USABLE on 90 %
    pos = (np.arange(n) % 4).astype(np.uint8)
    return dst, src, flags, pos


@pytest.fixture(scope="module")
def rows():
    return make_rows(ROWS)


@pytest.fixture(scope="module")
def keys_out(rows):
    """One uint64 output for the sort_keys flavours, its pages already touched."""
    return np.zeros(rows[0].shape[0], np.uint64)


@pytest.fixture(scope="module")
def reference(rows):
    dst, src, flags, pos = rows
    return bulk.musl_keys(dst, src, flags, pos, threads=1)


# ---------------------------------------------------------------- peers

_TABLE = [(ipaddress.IPv6Network("::1/128"), 50, 0),
          (ipaddress.IPv6Network("::ffff:0:0/96"), 35, 4),
          (ipaddress.IPv6Network("2002::/16"), 30, 2),
          (ipaddress.IPv6Network("2001::/32"), 5, 5),
          (ipaddress.IPv6Network("fc00::/7"), 3, 13),
          (ipaddress.IPv6Network("::/0"), 40, 1)]
_LOOP = ipaddress.IPv6Address("::1")


def _policy(a):
    for net, prec, label in _TABLE:
        if a in net:
            return prec, label
    raise AssertionError("::/0 matches everything")


def _scope(a):
    if a.is_multicast:
        return a.packed[1] & 15
    if a.is_link_local or a == _LOOP:
        return 2
    if a.is_site_local:
        return 5
    return 14


def python_musl_keys(dst, src, flags, pos):
    """musl's key with the ipaddress module, one row at a time."""
    out = []
    for d16, s16, f, i in zip(dst.tolist(), src.tolist(), flags.tolist(), pos.tolist(),
                              strict=True):
        d = ipaddress.IPv6Address(bytes(d16))
        prec, label = _policy(d)
        dscope = _scope(d)
        key = 0
        if f & 1:
            s = ipaddress.IPv6Address(bytes(s16))
            key |= 1 << 30
            if _scope(s) == dscope:
                key |= 1 << 29
            if _policy(s)[1] == label:
                key |= 1 << 28
            key |= (128 - (int(d) ^ int(s)).bit_length()) << 8
        key |= prec << 20 | (15 - dscope) << 16 | (48 - i)
        out.append(key)
    return out


def _compiler() -> str:
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler (cc or gcc) for the C peers")
    return cc


def _kernel_dir() -> str:
    """The directory of ``bulk_musl.h``, the one C definition of v6core's musl kernel
    (the extension includes it as well)."""
    if not os.path.isfile(os.path.join(CORE_SRC, "bulk_musl.h")):
        pytest.skip(f"{CORE_SRC}: no bulk_musl.h (the kernel's C source) here")
    return CORE_SRC


def _load(so, fn_name: str):
    lib = ctypes.CDLL(str(so))
    fn = getattr(lib, fn_name)
    fn.restype = None
    fn.argtypes = [ctypes.c_void_p] * 5 + [ctypes.c_size_t]
    return lib, fn


@pytest.fixture(scope="module")
def c_loop(tmp_path_factory):
    """musl's algorithm as the obvious C loop (bench/musl_keys.c)."""
    so = tmp_path_factory.mktemp("cpeer") / "musl_keys.so"
    subprocess.run([_compiler(), *C_FLAGS, "-shared", "-fPIC", "-o", str(so),
                    os.path.join(HERE, "musl_keys.c")], check=True)
    return _load(so, "musl_keys")[1]


@pytest.fixture(scope="module")
def c_kernel(tmp_path_factory):
    """v6core's own kernel in a plain C loop (bench/musl_kernel_loop.c)."""
    so = tmp_path_factory.mktemp("ckernel") / "musl_kernel.so"
    subprocess.run([_compiler(), *C_FLAGS, "-shared", "-fPIC", "-I", _kernel_dir(), "-o",
                    str(so), os.path.join(HERE, "musl_kernel_loop.c")], check=True)
    lib, fn = _load(so, "musl_kernel_keys")
    # the tables the extension generated from tables.MUSL_ROWS at import
    t16, fix = bulk_keys.musl_tables()
    lib.musl_kernel_init.restype = None
    lib.musl_kernel_init.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.musl_kernel_init(t16.ctypes.data, fix.ctypes.data)
    return fn


def _c_run(fn, rows, out):
    dst, src, flags, pos = rows
    return lambda: fn(dst.ctypes.data, src.ctypes.data, flags.ctypes.data, pos.ctypes.data,
                      out.ctypes.data, dst.shape[0])


# ---------------------------------------------------------------- musl keys

@pytest.mark.benchmark(group=MUSL_GROUP)
def test_musl_keys_python_peer(benchmark, rows, reference):
    dst, src, flags, pos = (a[:PY_ROWS] for a in rows)
    benchmark.extra_info.update(role="peer", items=PY_ROWS, rows=PY_ROWS)
    got = benchmark.pedantic(python_musl_keys, args=(dst, src, flags, pos),
                             rounds=scale(3, 1), iterations=1)
    assert got == reference[:PY_ROWS].tolist()
    benchmark.extra_info.update(
        keys_per_s=_median_rate(benchmark, PY_ROWS),
        keys_per_cpu_s=cpu_rate(lambda: python_musl_keys(dst, src, flags, pos), PY_ROWS, 1))


@pytest.mark.benchmark(group=MUSL_GROUP)
@pytest.mark.parametrize("peer", ["musl_loop", "same_kernel"])
def test_musl_keys_c_peer(benchmark, rows, reference, peer, request):
    """``musl_loop``: bench/musl_keys.c; ``same_kernel``: v6core's kernel in plain C."""
    fn = request.getfixturevalue("c_loop" if peer == "musl_loop" else "c_kernel")
    out = np.empty(ROWS, np.uint32)
    run = _c_run(fn, rows, out)
    benchmark.extra_info.update(role="peer", items=ROWS, rows=ROWS, flags=" ".join(C_FLAGS))
    benchmark.pedantic(run, rounds=5, iterations=1)
    assert np.array_equal(out, reference)
    benchmark.extra_info.update(keys_per_s=_median_rate(benchmark, ROWS),
                                keys_per_cpu_s=cpu_rate(run, ROWS))


@pytest.mark.benchmark(group=MUSL_GROUP)
@pytest.mark.parametrize("threads", [1, 2])
def test_musl_keys_bulk(benchmark, rows, reference, threads):
    dst, src, flags, pos = rows
    out = np.empty(ROWS, np.uint32)
    benchmark.extra_info.update(role="v6core", items=ROWS, rows=ROWS, threads=threads)
    benchmark.pedantic(bulk.musl_keys, args=(dst, src, flags, pos),
                       kwargs={"out": out, "threads": threads}, rounds=5, iterations=1)
    assert np.array_equal(out, reference)
    info = {"keys_per_s": _median_rate(benchmark, ROWS)}
    if threads == 1:
        info["keys_per_cpu_s"] = cpu_rate(
            lambda: bulk.musl_keys(dst, src, flags, pos, out=out, threads=1), ROWS)
    # memory: what the call allocates beyond its inputs (tracemalloc sees numpy buffers)
    tracemalloc.start()
    bulk.musl_keys(dst, src, flags, pos, threads=threads)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    inputs = dst.nbytes + src.nbytes + flags.nbytes + pos.nbytes
    info.update(input_bytes=inputs, peak_alloc_bytes=peak, peak_over_input=peak / inputs)
    assert peak < inputs                   # only the (N,) uint32 output
    benchmark.extra_info.update(info)


# ---------------------------------------------------------------- grouped ordering

def _groups_of_4(rows):
    """The first (at most) 4,000,000 rows as lookups of 4: n, dst, src, flags, offsets."""
    dst, src, flags, _ = rows
    n = min(ROWS, 4_000_000) // 4 * 4
    return n, dst[:n], src[:n], flags[:n], np.arange(0, n + 1, 4, dtype=np.int64)


@pytest.mark.parametrize("flavor", bulk.FLAVORS)
def test_order_groups(benchmark, rows, flavor):
    n, dst, src, flags, offsets = _groups_of_4(rows)
    benchmark.group = f"order_groups, {n:,} rows in groups of 4 (no peer)"
    benchmark.extra_info.update(role="v6core", items=n)
    res = benchmark.pedantic(bulk.order_groups, args=(dst, src, flags),
                             kwargs={"offsets": offsets, "flavor": flavor,
                                     "want_order": False}, rounds=2, iterations=1)
    # check a sample of groups against the per-call API
    from v6core import sort_destinations
    from v6core._core.addr import to_text_many
    for g in range(0, n // 4, max(1, n // 4 // 300)):
        lo = 4 * g
        s = [to_text_many(src[r:r + 1])[0] if flags[r] else None for r in range(lo, lo + 4)]
        ordered = sort_destinations([bytes(x) for x in dst[lo:lo + 4]], s, flavor=flavor)
        assert bytes(dst[res.first[g]]) == ordered[0], g
    benchmark.extra_info.update(rows=n, groups=n // 4, rows_per_s=_median_rate(benchmark, n),
                                exact_groups=int((res.exact != 0).sum()))


SORT_KEYS_FLAVOURS = {            # name: sort_keys arguments
    "musl": {"flavor": "musl"},
    "go": {"flavor": "go"},
    "rfc6724-update": {"flavor": "rfc6724-update"},
    "rfc6724-update, no learning": {"flavor": "rfc6724-update", "learn_known_local": False},
}


@pytest.mark.parametrize("threads", [None, 1], ids=["all-cores", "1-thread"])
def test_sort_keys_flavors(benchmark, rows, keys_out, threads):
    # The new flavours' key rates beside musl's (aim: within 1.5x); the update also
    # without learning known-local /48s, to show what the learning costs.  The flavours
    # take turns within each round, starting one place later each round (every flavour
    # runs in every place equally often): this VM's speed drifts by tens of per cent
    # over seconds, and a flavour whose rounds all ran in one stretch (one test per
    # flavour, as the fourth run of bench/RESULTS.md did) measured the stretch as much
    # as the kernel; a call right after a large free also ran slower.  One output
    # buffer for every flavour, touched before any round; one warm-up round (tables
    # built and cached).  The figures per flavour are the medians of its own calls
    # (``extra_info["parts"]``; bench/conftest.py prints them with their ratio to
    # musl's); pytest-benchmark's own row times a whole round of the four.  32 rounds:
    # with 16, the update's ratio to musl moved by up to a quarter between runs minutes
    # apart (bench/RESULTS.md, sixth run).
    n, dst, src, flags, offsets = _groups_of_4(rows)
    benchmark.group = (f"sort_keys, {n:,} rows in groups of 4, interleaved rounds, "
                       f"{'1 thread' if threads else 'all cores'}")
    benchmark.extra_info.update(role="v6core", items=n * len(SORT_KEYS_FLAVOURS))
    out = keys_out[:n]
    calls = list(SORT_KEYS_FLAVOURS.items())
    times: dict[str, list[float]] = {name: [] for name, _ in calls}
    rounds = itertools.count()

    def one_round():
        k = next(rounds) % len(calls)
        for name, kw in calls[k:] + calls[:k]:
            t = time.perf_counter()
            bulk.sort_keys(dst, src, flags, offsets=offsets, out=out, threads=threads, **kw)
            times[name].append(time.perf_counter() - t)

    one_round()                                   # the warm-up round, not counted
    for v in times.values():
        v.clear()
    gc.collect()
    benchmark.pedantic(one_round, rounds=scale(32, 1), iterations=1)
    parts = {name: float(np.median(v)) for name, v in times.items()}
    benchmark.extra_info.update(
        rows=n, threads=threads_for(threads, n), parts=parts, parts_items=n,
        parts_base="musl", parts_range={name: [min(v), max(v)] for name, v in times.items()})
    # every flavour's keys, checked on the first 100,000 lookups against order_groups
    # (a small allocation; order_groups is checked against sort_destinations elsewhere)
    m = min(n, 400_000)
    for name, kw in calls:
        keys = bulk.sort_keys(dst[:m], src[:m], flags[:m], offsets=offsets[:m // 4 + 1],
                              **kw)
        res = bulk.order_groups(dst[:m], src[:m], flags[:m], offsets=offsets[:m // 4 + 1],
                                **kw)
        k = keys.reshape(-1, 4)
        ok = res.exact == 0
        if kw["flavor"] == "musl":      # musl's all-IPv4 groups are not sorted: skip them
            ok &= res.rule != 0
        assert np.array_equal((np.argmax(k, axis=1) + offsets[:m // 4])[ok],
                              res.first[ok]), name


# ---------------------------------------------------------------- simulate

def test_simulate_runtime_mix(benchmark):
    benchmark.group = f"simulate, {LOOKUPS:,} lookups, runtime mix, 3 policies (aim < 10 s)"
    benchmark.extra_info.update(role="v6core", items=LOOKUPS)
    ds = sim.synthetic_fleet(lookups=LOOKUPS)
    pols = [sim.parse_policy(p) for p in ("glibc", "musl", "rfc6724-update")]
    rep = benchmark.pedantic(sim.simulate, args=(ds, pols), rounds=1, iterations=1)
    assert rep.lookups == LOOKUPS
    for rs in rep.runtime_stats:
        assert int(rs.sum()) == LOOKUPS
    benchmark.extra_info.update(lookups=LOOKUPS, seconds=rep.seconds)


def test_simulate_lookups(benchmark):
    benchmark.group = f"simulate, {LOOKUPS:,} lookups, 3 policies (no peer)"
    benchmark.extra_info.update(role="v6core", items=LOOKUPS)
    ds = sim.synthetic_fleet(lookups=LOOKUPS)
    pols = [sim.parse_policy(p) for p in ("rfc6724", "glibc", "musl")]
    tracemalloc.start()
    t0 = time.process_time()
    rep = benchmark.pedantic(sim.simulate, args=(ds, pols), kwargs={"runtime_mix": False},
                             rounds=1, iterations=1)
    cpu = time.process_time() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rep.lookups == LOOKUPS
    for s in rep.stats:
        assert s.lookups == LOOKUPS and s.first_class.sum() == s.reachable
    benchmark.extra_info.update(lookups=LOOKUPS, candidates=rep.candidates, policies=3,
                                cpu_s=cpu, lookups_per_s=_median_rate(benchmark, LOOKUPS),
                                peak_alloc_bytes=peak)
