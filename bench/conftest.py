"""Shared benchmark plumbing.

Every benchmark records ``extra_info["items"]`` (items handled per round) and
``extra_info["role"]`` ("v6core" or "peer"), and names its pair with
``@pytest.mark.benchmark(group=...)``.  At the end of a run the summary lists every
suite's figures, grouped by pair: the median time of one round, items/s from that median,
and for each v6core entry its ratio to each peer of the group (peer median / v6core
median per item: how many times faster v6core is).  Medians on both sides, always: the
shared machine preempts often, which inflates means and makes minimums luck.

``V6CORE_BENCH_QUICK=1`` (set by CI, which runs every suite once with tiny rounds to keep
them working) shrinks the inputs; :func:`scale` picks the size.
"""

from __future__ import annotations

import os

QUICK = bool(os.environ.get("V6CORE_BENCH_QUICK"))


def scale(full: int, quick: int) -> int:
    """``full`` normally, ``quick`` under ``V6CORE_BENCH_QUICK``."""
    return quick if QUICK else full


def _group(bench) -> str:
    """"suite: group" of a benchmark, the key the summary lists it under."""
    suite = os.path.basename(str(bench.fullname).split("::", 1)[0]).removesuffix(".py")
    return f"{suite}: {bench.group or bench.name}"


def _rows(session) -> dict[str, list[tuple[str, str, float, float]]]:
    """group -> [(role, test name, median seconds per round, items per round)]."""
    groups: dict[str, list[tuple[str, str, float, float]]] = {}
    for bench in session.benchmarks:
        info = bench.extra_info
        if "items" not in info or not bench.stats or not bench.stats.median:
            continue
        groups.setdefault(_group(bench), []).append(
            (str(info.get("role", "?")), bench.name, float(bench.stats.median),
             float(info["items"])))
    return groups


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or session.disabled or not session.benchmarks:
        return
    groups = _rows(session)
    if not groups:
        return
    tr = terminalreporter
    lines: list[tuple[str, str, str, str, str]] = []
    for group, rows in sorted(groups.items()):
        parts = _parts(session, group)
        if parts:
            lines.extend(parts)
            continue
        for role, name, med, items in sorted(rows, key=lambda r: (r[0] != "v6core", r[1])):
            lines.append((group, role, name, _seconds(med), f"{items / med:,.0f}"))
        ours = [r for r in rows if r[0] == "v6core"]
        peers = [r for r in rows if r[0] == "peer"]
        for _, oname, omed, oitems in ours:
            for _, pname, pmed, pitems in peers:
                # items/s against items/s: the sides may handle different items per round
                ratio = (oitems / omed) / (pitems / pmed)
                label = f"{oname} vs {pname}" if len(ours) > 1 else f"vs {pname}"
                lines.append((group, "ratio", label, "", f"{ratio:,.2f}x"))
    head = ("suite: pair", "role", "benchmark", "median/round", "items/s (ratio)")
    w = [max(len(x[i]) for x in [head, *lines]) for i in range(5)]
    tr.section("v6core against its peers (medians on both sides)")
    for x in [head, *lines]:
        tr.write_line(f"{x[0]:<{w[0]}}  {x[1]:<{w[1]}}  {x[2]:<{w[2]}}  {x[3]:>{w[3]}}  "
                      f"{x[4]:>{w[4]}}")


def _parts(session, group: str) -> list[tuple[str, str, str, str, str]]:
    """The rows of a benchmark that times several calls per round in turn (interleaved
    rounds): ``extra_info["parts"]`` maps each call's name to the median of its own
    calls, ``parts_base`` names the one the others are measured against (ratio: their
    median over its median, how many times its time they take)."""
    for bench in session.benchmarks:
        info = bench.extra_info
        if _group(bench) != group or "parts" not in info:
            continue
        parts, items = info["parts"], float(info["parts_items"])
        base = float(parts[info["parts_base"]])
        out = [(group, "part", name, _seconds(med), f"{items / med:,.0f}")
               for name, med in parts.items()]
        out += [(group, "ratio", f"{name} / {info['parts_base']} (time)", "",
                 f"{med / base:,.2f}x") for name, med in parts.items()
                if name != info["parts_base"]]
        return out
    return []


def _seconds(s: float) -> str:
    for unit, scale_ in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale_:
            return f"{s / scale_:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"
