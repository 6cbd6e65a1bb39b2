"""The simulation: per chunk, pick each candidate's source (RFC 6724 section 5), order the
candidates under every policy, and count where the first connection attempt goes.

The rules themselves live in the compiled core (:mod:`v6core._core.bulk`); this module only
counts.  Reports add up (:func:`merge_reports`), so chunks can run anywhere
(:mod:`v6core.dask`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from v6core._core import bulk
from v6core.errors import ConfigError
from v6core.select import RULE_NAMES as _SELECT_RULE_NAMES
from v6core.simulate import runtimes as _rt
from v6core.simulate.dataset import Chunk, Dataset, Fleet

__all__ = [
    "DEST_CLASSES", "RULE_NAMES", "Policy", "PolicyStats", "Report", "add_chunk",
    "classify_destinations", "empty_report", "merge_reports", "parse_policy", "simulate",
]

# ------------------------------------------------------------------ classification

# Destination classes of the first choice (RFC 6724 section 2.1 rows and RFC 4193 ULA).
DEST_CLASSES = ("global IPv6", "ULA", "6to4", "Teredo", "link-local/other IPv6", "IPv4")
_GLOBAL, _ULA, _6TO4, _TEREDO, _OTHER6, _IPV4 = range(6)

# select.py names rules 1-10; 0 is the report's own row for groups nobody sorted
RULE_NAMES = {0: "unsorted (one candidate; musl all-IPv4)", **_SELECT_RULE_NAMES}


def classify_destinations(dst: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Class index (into DEST_CLASSES) of every row of an (N, 16) uint8 array."""
    return bulk.classify(dst, threads)


# ------------------------------------------------------------------ policies

@dataclass
class Policy:
    """A named resolver policy: a flavour and an optional PolicyTable."""

    name: str
    flavor: str
    table: Any = None
    spec: str = ""


def parse_policy(spec: str) -> Policy:
    """``FLAVOR`` or ``FLAVOR:GAI.CONF`` (glibc semantics of the file for its tables), e.g.
    ``glibc``, ``musl``, ``rfc6724``, ``glibc:/etc/gai.conf``."""
    flavor, _, conf = spec.partition(":")
    flavor = flavor.strip().lower()
    if flavor not in bulk.FLAVORS or flavor == "rfc6724-update" and conf:
        raise ConfigError(f"policy {spec!r}: unknown flavor {flavor!r} (expected "
                          f"{', '.join(bulk.FLAVORS)}, optionally :GAI.CONF)")
    if not conf:
        return Policy(flavor, flavor, None, spec)
    if not os.path.isfile(conf):
        raise ConfigError(f"policy {spec!r}: {conf}: no such file")
    from v6core.policy import PolicyTable
    table = PolicyTable.from_gai_conf(conf)
    return Policy(f"{flavor}+{os.path.basename(conf)}", flavor, table, spec)


# ------------------------------------------------------------------ the simulation

@dataclass
class PolicyStats:
    lookups: int = 0
    reachable: int = 0
    first_class: np.ndarray = field(default_factory=lambda: np.zeros(len(DEST_CLASSES), np.int64))
    first_src_ula: int = 0
    rule: np.ndarray = field(default_factory=lambda: np.zeros(11, np.int64))
    exact: int = 0
    changed: int = 0
    # family transition against the baseline: [base v6/v4/none] x [this v6/v4/none]
    moves: np.ndarray = field(default_factory=lambda: np.zeros((3, 3), np.int64))
    by_profile: Any = None                       # (profiles, 3) int64: v6, v4, none


@dataclass
class Report:
    dataset: str
    policies: list[Policy]
    stats: list[PolicyStats]
    lookups: int = 0
    candidates: int = 0
    seconds: float = 0.0
    profile_names: tuple[str, ...] = ()
    profile_lookups: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    # the runtime mix (simulate.runtimes): cumulative shares per profile (None: off),
    # per policy a (runtimes, 3) count of first attempts v6/v4/none and the lookups whose
    # first choice changed against the baseline, per runtime
    runtime_cum: Any = None
    runtime_stats: list[Any] = field(default_factory=list)
    runtime_changed: list[Any] = field(default_factory=list)
    seen: int = 0                                # lookups read so far (runtime draws)

    def to_dict(self) -> dict[str, Any]:
        def share(x: float) -> float:
            return round(float(x) / self.lookups, 6) if self.lookups else 0.0

        out: dict[str, Any] = {
            "dataset": self.dataset, "lookups": self.lookups, "candidates": self.candidates,
            "seconds": round(self.seconds, 3), "baseline": self.policies[0].name
            if self.policies else None, "policies": {},
        }
        for p, s in zip(self.policies, self.stats, strict=True):
            v6 = int(s.first_class[:_IPV4].sum())
            d: dict[str, Any] = {
                "flavor": p.flavor, "spec": p.spec,
                "first_ipv6": v6, "first_ipv4": int(s.first_class[_IPV4]),
                "no_reachable": s.lookups - s.reachable,
                "share_ipv6": share(v6), "share_ipv4": share(s.first_class[_IPV4]),
                "first_class": {n: int(v) for n, v in zip(DEST_CLASSES, s.first_class, strict=True)},
                "first_from_ula_source": s.first_src_ula,
                "decided_by_rule": {str(i): int(v) for i, v in enumerate(s.rule) if v},
                "exact_path_lookups": s.exact,
                "changed_vs_baseline": s.changed,
                "moves_vs_baseline": {
                    f"{a}->{b}": int(s.moves[i, j])
                    for i, a in enumerate(("ipv6", "ipv4", "none"))
                    for j, b in enumerate(("ipv6", "ipv4", "none")) if i != j and s.moves[i, j]},
            }
            if s.by_profile is not None and self.profile_names:
                d["ipv6_share_by_profile"] = {
                    n: round(float(s.by_profile[i, 0]) / max(int(self.profile_lookups[i]), 1), 6)
                    for i, n in enumerate(self.profile_names)}
            out["policies"][p.name] = d
        if self.runtime_cum is not None:
            out["runtimes"] = {}
            for p, rs, rc in zip(self.policies, self.runtime_stats, self.runtime_changed,
                                 strict=True):
                out["runtimes"][p.name] = {
                    r: {"lookups": int(rs[i].sum()), "first_ipv6": int(rs[i, 0]),
                        "first_ipv4": int(rs[i, 1]), "no_reachable": int(rs[i, 2]),
                        "resolver": p.flavor if _rt.applies(p.flavor, r) else _rt.LIBC_OF[r],
                        "changed_vs_baseline": int(rc[i])}
                    for i, r in enumerate(_rt.RUNTIMES) if rs[i].sum()}
        return out


def _family(cls: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """0 IPv6, 1 IPv4, 2 nothing reachable."""
    fam = np.where(cls == _IPV4, 1, 0).astype(np.int64)
    fam[~usable] = 2
    return fam


def empty_report(dataset: Dataset, policies: Sequence[Policy],
                 runtime_mix: Any = None) -> Report:
    """A report with every count at zero, shaped for ``dataset`` and ``policies``.

    ``runtime_mix``: None for the built-in per-profile shares
    (:data:`v6core.simulate.runtimes.DEFAULT_MIX`), a ``{runtime: share}`` mapping for all
    hosts, or False for no per-runtime report.  A dataset's own ``runtime`` column wins."""
    if not policies:
        raise ConfigError("no policy to simulate")
    fleet = dataset.fleet
    nprof = len(fleet.profile_names) if fleet is not None and fleet.profile is not None else 0
    stats = [PolicyStats(by_profile=np.zeros((nprof, 3), np.int64) if nprof else None)
             for _ in policies]
    report = Report(dataset.name, list(policies), stats, meta=dict(dataset.meta))
    if fleet is not None and nprof:
        report.profile_names = fleet.profile_names
        report.profile_lookups = np.zeros(nprof, np.int64)
    if runtime_mix is not False:
        names = fleet.profile_names if fleet is not None and nprof else ()
        report.runtime_cum = _rt.mix_table(names, runtime_mix or None)
        report.runtime_stats = [np.zeros((len(_rt.RUNTIMES), 3), np.int64) for _ in policies]
        report.runtime_changed = [np.zeros(len(_rt.RUNTIMES), np.int64) for _ in policies]
    return report


def add_chunk(report: Report, chunk: Chunk, fleet: Fleet | None,
              threads: int | None = None) -> None:
    """Run every policy of ``report`` over ``chunk`` and add the counts to ``report``."""
    policies, stats = report.policies, report.stats
    nprof = len(report.profile_names)
    if chunk.lookups == 0:
        return
    if chunk.host is not None:
        if fleet is None:
            raise ConfigError(f"{report.dataset}: lookups name hosts but no hosts were given")
        row_host = np.repeat(chunk.host, np.diff(chunk.offsets))
        res = bulk.select_sources(chunk.dst, row_host, fleet.host_offsets,
                                  fleet.candidates, fleet.cand_flags, fleet.cand_plen,
                                  threads=threads)
        src, flags, plen = res.src, res.flags, res.plen
    else:
        if chunk.src is None or chunk.flags is None or chunk.plen is None:
            raise ConfigError(f"{report.dataset}: a chunk has neither hosts nor sources")
        src, flags, plen = chunk.src, chunk.flags, chunk.plen
    cls = classify_destinations(chunk.dst, threads)
    src_ula = (src[:, 0] & 0xFE) == 0xFC
    usable_row = (flags & bulk.FLAG_USABLE) != 0
    nonempty = np.diff(chunk.offsets) > 0
    prof: Any = None
    if nprof and fleet is not None and fleet.profile is not None and chunk.host is not None:
        prof = fleet.profile[chunk.host]
    if prof is not None:
        report.profile_lookups += np.bincount(prof[nonempty], minlength=nprof)
    base_first: Any = None
    base_fam: Any = None
    # each resolver's first row of every lookup, for the runtime pass to reuse
    firsts: dict[tuple[str, int], np.ndarray] = {}
    for k, (pol, st) in enumerate(zip(policies, stats, strict=True)):
        r = bulk.order_groups(chunk.dst, src, flags, plen, offsets=chunk.offsets,
                              flavor=pol.flavor, policy=pol.table, want_order=False,
                              threads=threads)
        firsts.setdefault(_resolver(pol.flavor, pol.table), r.first)
        first = r.first[nonempty]
        fc = cls[first]
        fu = usable_row[first]
        st.lookups += first.shape[0]
        st.reachable += int(fu.sum())
        st.first_class += np.bincount(fc[fu], minlength=len(DEST_CLASSES))
        st.first_src_ula += int((src_ula[first] & fu).sum())
        st.rule += np.bincount(r.rule[nonempty], minlength=11)[:11]
        st.exact += int((r.exact[nonempty] != 0).sum())
        fam = _family(fc, fu)
        if prof is not None:
            st.by_profile += np.bincount(prof[nonempty] * 3 + fam,
                                         minlength=3 * nprof).reshape(nprof, 3)
        if k == 0:
            base_first, base_fam = first, fam
        else:
            st.changed += int((first != base_first).sum())
            st.moves += np.bincount(base_fam * 3 + fam, minlength=9).reshape(3, 3)
    if report.runtime_cum is not None:
        _add_runtimes(report, chunk, src, flags, plen, prof, cls, usable_row, threads, firsts)
    report.seen += chunk.lookups
    report.lookups += int(nonempty.sum())
    report.candidates += int(chunk.offsets[-1])


def _resolver(flavor: str, table: Any) -> tuple[str, int]:
    """What identifies one resolver's order within a chunk: its flavour and its table
    (None, the flavour's built-in one, or the very PolicyTable object)."""
    return flavor, 0 if table is None else id(table)


def _add_runtimes(report: Report, chunk: Chunk, src: np.ndarray, flags: np.ndarray,
                  plen: np.ndarray, prof: Any, cls: np.ndarray, usable_row: np.ndarray,
                  threads: int | None, firsts: dict[tuple[str, int], np.ndarray]) -> None:
    """Per runtime: order each runtime's lookups with the resolver it uses under each
    policy (simulate.runtimes.applies), apply Java's/Node's step in bulk, count.

    A resolver's order does not depend on which policy row asks for it, so each
    (resolver, runtime) pair is ordered once per chunk: ``firsts`` holds the first row
    of every lookup for the resolvers add_chunk already ran over the whole chunk; the
    others are run once over the lookups of the runtimes that need them."""
    L = chunk.lookups
    if chunk.runtime is not None:
        rt = chunk.runtime
    else:
        rt = _rt.assign(report.seen, prof, L, report.runtime_cum)
    nonempty = np.diff(chunk.offsets) > 0
    masks = [(rt == r) & nonempty for r in range(len(_rt.RUNTIMES))]
    # the resolver of each (policy, runtime), and what runtimes each resolver serves
    plan: list[list[tuple[str, int]]] = []
    need: dict[tuple[str, int], tuple[str, Any, set[str]]] = {}
    for pol in report.policies:
        row = []
        for name in _rt.RUNTIMES:
            flavor, table = ((pol.flavor, pol.table) if _rt.applies(pol.flavor, name)
                             else (_rt.LIBC_OF[name], None))
            key = _resolver(flavor, table)
            row.append(key)
            need.setdefault(key, (flavor, table, set()))[2].add(name)
        plan.append(row)
    done: dict[tuple[tuple[str, int], str], np.ndarray] = {}
    for key, (flavor, table, names) in need.items():
        # runtimes whose step changes the first choice need the order; the rest take
        # the resolver's first row (from add_chunk's pass when it ran this resolver)
        for name in sorted(names):
            if not _rt.step_changes_first(name) and key in firsts:
                done[key, name] = firsts[key]
        plain = [n for n in names if (key, n) not in done and not _rt.step_changes_first(n)]
        if plain:
            mask = np.logical_or.reduce([masks[_rt.RUNTIMES.index(n)] for n in plain])
            first = _first_rows(chunk, src, flags, plen, mask, flavor, table, None, threads)
            for n in plain:
                done[key, n] = first
        for name in names:
            if (key, name) not in done:
                done[key, name] = _first_rows(chunk, src, flags, plen,
                                              masks[_rt.RUNTIMES.index(name)], flavor,
                                              table, name, threads)
    base_first: Any = None
    sel = nonempty
    rt_sel = rt[sel].astype(np.int64)
    for k, row in enumerate(plan):
        first = np.full(L, -1, np.int64)
        for r, name in enumerate(_rt.RUNTIMES):
            mask = masks[r]
            if mask.any():
                first[mask] = done[row[r], name][mask]
        fr = first[sel]
        fam = _family(cls[fr], usable_row[fr])
        report.runtime_stats[k] += np.bincount(rt_sel * 3 + fam,
                                               minlength=3 * len(_rt.RUNTIMES)
                                               ).reshape(len(_rt.RUNTIMES), 3)
        if k == 0:
            base_first = fr
        else:
            report.runtime_changed[k] += np.bincount(rt_sel[fr != base_first],
                                                     minlength=len(_rt.RUNTIMES))


def _first_rows(chunk: Chunk, src: np.ndarray, flags: np.ndarray, plen: np.ndarray,
                mask: np.ndarray, flavor: str, table: Any, step: str | None,
                threads: int | None) -> np.ndarray:
    """(L,) the first row (chunk row index) of each lookup where ``mask`` is True, under
    the resolver ``flavor``/``table`` and then runtime ``step``'s reordering (None: no
    step); other lookups are -1."""
    out = np.full(chunk.lookups, -1, np.int64)
    if not mask.any():
        return out
    rows, offs = _rt.subset(mask, chunk.offsets)
    d = chunk.dst[rows]
    res = bulk.order_groups(d, src[rows], flags[rows], plen[rows], offsets=offs,
                            flavor=flavor, policy=table, want_order=step is not None,
                            threads=threads)
    f = res.first
    if step is not None:
        assert res.order is not None
        f = _rt.first_after_step(f, res.order, offs, d, step)
    out[mask] = rows[f]
    return out


def merge_reports(into: Report, other: Report) -> Report:
    """Add the counts of ``other`` (same policies) into ``into``; returns ``into``."""
    for a, b in zip(into.stats, other.stats, strict=True):
        for name in ("lookups", "reachable", "first_src_ula", "exact", "changed"):
            setattr(a, name, getattr(a, name) + getattr(b, name))
        a.first_class += b.first_class
        a.rule += b.rule
        a.moves += b.moves
        if a.by_profile is not None and b.by_profile is not None:
            a.by_profile += b.by_profile
    for x, y in zip(into.runtime_stats, other.runtime_stats, strict=False):
        x += y
    for x, y in zip(into.runtime_changed, other.runtime_changed, strict=False):
        x += y
    into.seen += other.seen
    into.lookups += other.lookups
    into.candidates += other.candidates
    if into.profile_lookups is not None and other.profile_lookups is not None:
        into.profile_lookups += other.profile_lookups
    return into


def simulate(dataset: Dataset, policies: Sequence[Policy], *, threads: int | None = None,
             max_rows: int = 1 << 20, progress: Any = None, runtime_mix: Any = None
             ) -> Report:
    """Run every policy over every lookup of ``dataset``; the first policy is the baseline
    that the others are compared with.  ``progress(n_lookups_done)`` is called per chunk.
    Memory is bounded by ``max_rows`` candidate rows per chunk."""
    report = empty_report(dataset, policies, runtime_mix)
    t0 = time.perf_counter()
    for chunk in dataset.iter_chunks(max_rows):
        add_chunk(report, chunk, dataset.fleet, threads)
        if progress is not None:
            progress(chunk.lookups)
    report.seconds = time.perf_counter() - t0
    return report
