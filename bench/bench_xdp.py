"""`v6core respond --xdp` beside the AF_PACKET path and Debian's ndppd, in one run on the
lab of bench_respond.py (root, network namespaces, the same load generator).

    PYTHONPATH=src python -m pytest bench/bench_xdp.py --benchmark-only -s

Per rate (10k, 100k, 200k NS/s and flat out) the three responders are measured one after
the other on the same lab: NS sent, the answered fraction, p50/p99 NS-to-NA latency, the
responder's CPU per NA (schedstat) and the whole system's CPU per NA (busy time of every
CPU from /proc/stat, which is the fair figure here: on veth the XDP program runs in the
sender's context, so the load generator pays for it, see FACTS.md).  The XDP run also
checks from the daemon's counters that the program itself answered.  Results are printed
and put in ``extra_info``; the table goes to bench/results/xdp_table.md (not in quick mode).

Environment: ``V6CORE_BENCH_SECONDS`` per rate (default 3; 0.5 quick),
``V6CORE_BENCH_QUICK=1`` (CI: short runs at 10k only), ``V6CORE_BENCH_XDP_MODE``
(default ``generic``: on veth native XDP_TX frames are dropped unless the peer runs XDP).
Take figures on an idle machine: the load generator, the responders and everything else
share the same cores.
"""

from __future__ import annotations

import os
import shutil

import pytest

from bench.bench_respond import BENCH_PREFIX, NICE, QUICK, SECONDS, BenchLab, pytestmark  # noqa: F401
from v6core.responder.xdp import unavailable

RATES = [10_000] if QUICK else [10_000, 100_000, 200_000, 0]      # 0 = flat out
XDP_MODE = os.environ.get("V6CORE_BENCH_XDP_MODE", "generic")
IMPLS = ("ndppd", "v6core", "v6core-xdp")
ROWS: list[dict] = []


def _system_busy_s() -> float:
    """CPU seconds every CPU spent not idle (all of /proc/stat's first line but idle, iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


class XdpBenchLab(BenchLab):
    def start(self, impl: str) -> int:
        if impl != "v6core-xdp":
            return super().start(impl)
        lab = self.lab
        lab.start("-i", "uplink", "-p", BENCH_PREFIX, "--xdp", XDP_MODE,
                  wrapper=("nice", "-n", NICE))
        self.proc = lab.proc
        self.impl = "v6core"             # stopped like v6core
        self.run(5_000, 0.1)
        return self.proc.pid

    def run(self, rate: float, seconds: float, count: int | None = None) -> dict:
        s0 = _system_busy_s()
        r = super().run(rate, seconds, count)
        r["system_cpu_s"] = _system_busy_s() - s0
        return r


@pytest.fixture(scope="module")
def xlab(tmp_path_factory):
    why = unavailable()
    if why:
        pytest.skip(why)
    if shutil.which("ndppd") is None:
        pytest.skip("Debian's ndppd is not installed")
    b = XdpBenchLab(tmp_path_factory.mktemp("xdp"))
    yield b
    b.close()
    _write_table()


def _row(impl: str, rate: int, r: dict) -> dict:
    n = r["answered"]
    row = dict(impl=impl, rate=rate or "flat out", **r,
               cpu_us_per_na=r["cpu_sched_s"] / n * 1e6 if n else float("nan"),
               system_us_per_na=r["system_cpu_s"] / n * 1e6 if n else float("nan"))
    ROWS.append(row)
    print(f"\n{impl:>10} {str(row['rate']):>9}: sent {r['sent']:>9} ({r['offered_rate']:>9.0f}/s) "
          f"answered {r['fraction']:7.2%} responder {row['cpu_us_per_na']:6.2f} us/NA "
          f"system {row['system_us_per_na']:6.2f} us/NA p50 {r['p50_us']:8.1f} us "
          f"p99 {r['p99_us']:8.1f} us")
    return row


@pytest.mark.parametrize("rate", RATES, ids=[f"{r // 1000}k" if r else "flat" for r in RATES])
def test_xdp_rate(benchmark, xlab, rate):
    rows = {}
    for impl in IMPLS[:-1]:
        xlab.start(impl)
        rows[impl] = _row(impl, rate, xlab.run(rate, SECONDS))
        xlab.stop()
    xlab.start("v6core-xdp")
    holder = {}

    def measured():
        holder["r"] = xlab.run(rate, SECONDS)

    benchmark.pedantic(measured, rounds=1, iterations=1)
    by_xdp = xlab.lab.counter("xdp_answered_total", interface="uplink")
    by_packet = xlab.lab.counter("answered_total", interface="uplink")
    xlab.stop()
    ours = rows["v6core-xdp"] = _row("v6core-xdp", rate, holder["r"])
    af = rows["v6core"]
    benchmark.extra_info.update(
        role="v6core", items=ours["answered"], rate=ours["rate"], xdp_mode=XDP_MODE,
        offered_per_s=round(ours["offered_rate"]), answered_fraction=ours["fraction"],
        cpu_us_per_na=ours["cpu_us_per_na"], system_us_per_na=ours["system_us_per_na"],
        p50_us=ours["p50_us"], p99_us=ours["p99_us"],
        afpacket_answered_fraction=af["fraction"], afpacket_system_us_per_na=af["system_us_per_na"],
        afpacket_p99_us=af["p99_us"], ndppd_answered_fraction=rows["ndppd"]["fraction"],
        ndppd_system_us_per_na=rows["ndppd"]["system_us_per_na"],
        system_cpu_ratio_afpacket_over_xdp=(af["system_us_per_na"] / ours["system_us_per_na"]
                                            if ours["system_us_per_na"] else None))
    # a fast wrong answer is wrong: NAs for targets asked about, and from the program itself
    assert ours["answered"] <= ours["sent"] and ours["received"] >= ours["answered"]
    assert by_xdp >= ours["answered"] * 0.99 and by_packet <= by_xdp * 0.01 + 10, \
        (by_xdp, by_packet, ours["answered"])
    if rate and rate <= 10_000:
        assert ours["fraction"] >= 0.999, ours


def _write_table():
    if not ROWS or QUICK:
        return
    from bench.bench_respond import ROOT
    lines = ["| responder | rate (NS/s) | offered (NS/s) | NS sent | answered | "
             "responder CPU µs/NA | system CPU µs/NA | p50 µs | p99 µs |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in ROWS:
        lines.append(f"| {r['impl']} | {r['rate']} | {r['offered_rate']:,.0f} | {r['sent']:,} | "
                     f"{r['fraction']:.2%} | {r['cpu_us_per_na']:.2f} | "
                     f"{r['system_us_per_na']:.2f} | {r['p50_us']:.1f} | {r['p99_us']:.1f} |")
    (ROOT / "bench" / "results" / "xdp_table.md").write_text(
        f"XDP mode: {XDP_MODE}\n\n" + "\n".join(lines) + "\n")
