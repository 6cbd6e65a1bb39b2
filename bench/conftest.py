"""Shared benchmark plumbing.

Every benchmark records ``extra_info["items"]`` (items handled per round) and
``extra_info["role"]`` ("v6core" or "peer"); at the end of the run this prints, per
group, items/s of each side and the ratio, so each figure stands beside its peer.
``V6CORE_BENCH_QUICK=1`` (set by CI, which runs the suites once with
``--benchmark-disable`` to keep them working) shrinks the inputs.
"""

from __future__ import annotations

import os

QUICK = bool(os.environ.get("V6CORE_BENCH_QUICK"))


def scale(full: int, quick: int) -> int:
    return quick if QUICK else full


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or session.disabled or not session.benchmarks:
        return
    groups: dict[str, dict[str, float]] = {}
    for bench in session.benchmarks:
        info = bench.extra_info
        if "items" not in info or not bench.stats:
            continue
        rate = info["items"] / bench.stats.min
        groups.setdefault(bench.group or bench.name, {})[f"{info.get('role', '?')}:{bench.name}"] = rate
    if not groups:
        return
    tr = terminalreporter
    tr.section("v6core against its peers (items/s from each side's fastest round)")
    for group, rates in sorted(groups.items()):
        ours = {k: v for k, v in rates.items() if k.startswith("v6core:")}
        peers = {k: v for k, v in rates.items() if k.startswith("peer:")}
        for name, rate in sorted(rates.items()):
            tr.write_line(f"{group:<28} {name:<48} {rate:>16,.0f}/s")
        if ours and peers:
            best_peer = max(peers.values())
            for name, rate in ours.items():
                tr.write_line(f"{group:<28} {'ratio ' + name.split(':', 1)[1]:<48} "
                              f"{rate / best_peer:>15,.1f}x")
