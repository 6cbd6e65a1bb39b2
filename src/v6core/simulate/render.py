"""Rendering a :class:`~v6core.simulate.engine.Report`: the text table, JSON, a PNG plot
(matplotlib, optional) and the progress bar (tqdm, optional)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np

from v6core.errors import ConfigError
from v6core.simulate.engine import DEST_CLASSES, RULE_NAMES, Report

__all__ = ["format_report", "plot_report", "progress_bar", "report_json"]

_IPV4 = DEST_CLASSES.index("IPv4")


def _pct(n: float, d: float) -> str:
    return f"{100.0 * n / d:5.1f}%" if d else "    -"


def format_report(rep: Report) -> str:
    """A table a person reads: one column per policy."""
    names = [p.name for p in rep.policies]
    w = max(9, *(len(n) + 1 for n in names))
    lw = 46
    lines = []
    head = (f"v6core simulate: {rep.lookups:,} lookups, {rep.candidates:,} candidate "
            f"addresses ({rep.dataset}) in {rep.seconds:.2f} s")
    lines.append(head)
    lines.append("")

    def row(label: str, values: Iterable[str]) -> None:
        lines.append(f"{label:<{lw}}" + "".join(f"{v:>{w}}" for v in values))

    row("first connection attempt goes to", names)
    row("  IPv6", [_pct(s.first_class[:_IPV4].sum(), rep.lookups) for s in rep.stats])
    row("  IPv4", [_pct(s.first_class[_IPV4], rep.lookups) for s in rep.stats])
    row("  nothing reachable", [_pct(s.lookups - s.reachable, rep.lookups) for s in rep.stats])
    lines.append("by destination")
    for i, n in enumerate(DEST_CLASSES):
        if any(s.first_class[i] for s in rep.stats):
            row(f"  {n}", [_pct(s.first_class[i], rep.lookups) for s in rep.stats])
    row("  ...from a ULA source", [_pct(s.first_src_ula, rep.lookups) for s in rep.stats])
    lines.append("rule that decided the first place")
    for i in range(11):
        if any(s.rule[i] for s in rep.stats):
            row(f"  {i:>2} {RULE_NAMES[i]}"[:lw - 1],
                [_pct(s.rule[i], rep.lookups) for s in rep.stats])
    if any(s.exact for s in rep.stats):
        row("  exact pairwise path (rule 9 ties)", [f"{s.exact:,}" for s in rep.stats])
    if len(rep.stats) > 1:
        lines.append(f"compared with {names[0]}")
        row("  first choice changed", ["-"] + [_pct(s.changed, rep.lookups)
                                              for s in rep.stats[1:]])
        for (i, j), label in (((0, 1), "IPv6 -> IPv4"), ((1, 0), "IPv4 -> IPv6")):
            row(f"  {label}", ["-"] + [_pct(s.moves[i, j], rep.lookups) for s in rep.stats[1:]])
    if rep.profile_names and rep.profile_lookups is not None:
        lines.append("IPv6 first, by host profile")
        for i, n in enumerate(rep.profile_names):
            tot = int(rep.profile_lookups[i])
            if tot:
                row(f"  {n} ({tot:,})"[:lw - 1],
                    [_pct(s.by_profile[i, 0], tot) for s in rep.stats])
    if rep.runtime_cum is not None and rep.runtime_stats:
        from v6core.simulate import runtimes as _rt
        lines.append("IPv6 first, by runtime (a policy changes only the processes whose "
                     "resolver it is)")
        for i, r in enumerate(_rt.RUNTIMES):
            tot = int(rep.runtime_stats[0][i].sum())
            if tot:
                row(f"  {r} ({tot:,})"[:lw - 1],
                    [_pct(rs[i, 0], tot) for rs in rep.runtime_stats])
        if len(rep.runtime_stats) > 1:
            lines.append(f"first choice changed against {names[0]}, by runtime")
            for i, r in enumerate(_rt.RUNTIMES):
                tot = int(rep.runtime_stats[0][i].sum())
                if tot:
                    row(f"  {r}", ["-"] + [_pct(rc[i], tot) for rc in rep.runtime_changed[1:]])
    return "\n".join(lines)


def plot_report(rep: Report, path: str) -> None:
    """Write a PNG: first-choice shares and deciding rules per policy (needs matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("--plot needs matplotlib (pip install 'v6core[plot]')") from None
    names = [p.name for p in rep.policies]
    n = max(rep.lookups, 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    bottom = np.zeros(len(names))
    for i, cname in enumerate(DEST_CLASSES):
        vals = np.array([s.first_class[i] / n * 100 for s in rep.stats])
        if vals.any():
            ax1.bar(names, vals, bottom=bottom, label=cname)
            bottom += vals
    none = np.array([(s.lookups - s.reachable) / n * 100 for s in rep.stats])
    ax1.bar(names, none, bottom=bottom, label="nothing reachable", color="lightgrey")
    ax1.set_ylabel("% of lookups")
    ax1.set_title("first connection attempt")
    ax1.legend(fontsize=7, loc="lower right")
    x = np.arange(11)
    width = 0.8 / max(len(names), 1)
    for k, s in enumerate(rep.stats):
        ax2.bar(x + k * width, s.rule / n * 100, width, label=names[k])
    ax2.set_xticks(x + 0.4 - width / 2, [str(i) for i in range(11)])
    ax2.set_xlabel("RFC 6724 rule that decided (0: nothing to decide)")
    ax2.set_title("deciding rule")
    ax2.legend(fontsize=7)
    fig.suptitle(f"v6core simulate: {rep.lookups:,} lookups ({rep.dataset})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def progress_bar(total: int | None, enabled: bool | None = None) -> Any:
    """A tqdm bar on stderr (when tqdm is installed and stderr is a terminal, or forced)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit=" lookups", unit_scale=True, file=sys.stderr,
                dynamic_ncols=True, leave=False)


def report_json(rep: Report) -> str:
    return json.dumps(rep.to_dict(), indent=2)
