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


# The first choice of a lookup as one small code per row, so that one gather and one
# bincount per policy give every count: the destination class (0-5) when the row is
# reachable, plus _ULA_SRC when its source is a ULA; _UNREACHABLE when it has no source.
# The code array has one more entry, _EMPTY, which the first row -1 of a lookup without
# candidates reads (numpy's index -1), so empty lookups need no mask either.
_ULA_SRC = 7
_UNREACHABLE = 6
_EMPTY = 14
_NCODES = 15
# code -> family: 0 IPv6, 1 IPv4, 2 nothing reachable, 3 no candidates (13 is unused)
_FAM_OF_CODE = np.array([0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 1, 3, 3], np.uint8)
# (codes, 3) 0/1: the family column each code counts in (none for empty lookups)
_FAM_COLUMNS = (_FAM_OF_CODE[:, None] == np.arange(3)).astype(np.int64)


def _row_codes(cls: np.ndarray, usable_row: np.ndarray, src_ula: np.ndarray) -> np.ndarray:
    """(N + 1,) uint8: each row's code (above), then _EMPTY."""
    n = cls.shape[0]
    code = np.empty(n + 1, np.uint8)
    c = code[:n]
    np.multiply(src_ula, np.uint8(_ULA_SRC), out=c, dtype=np.uint8)
    c += cls
    c[~usable_row] = _UNREACHABLE
    code[n] = _EMPTY
    return code


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
    code = _row_codes(cls, (flags & bulk.FLAG_USABLE) != 0, (src[:, 0] & 0xFE) == 0xFC)
    fam_row = _FAM_OF_CODE[code]
    L = chunk.lookups
    nonempty = np.diff(chunk.offsets) > 0
    n_full = int(np.count_nonzero(nonempty))
    prof: Any = None
    if nprof and fleet is not None and fleet.profile is not None and chunk.host is not None:
        prof = fleet.profile[chunk.host]
    prof_code: Any = None
    if prof is not None:
        report.profile_lookups += np.bincount(prof if n_full == L else prof[nonempty],
                                              minlength=nprof)
        prof_code = prof.astype(np.intp) * _NCODES
    plan = _runtime_plan(policies) if report.runtime_cum is not None else None
    # resolvers whose whole order the runtime pass needs (a step that moves a family)
    ordered = {key for row in plan or () for key, step in row if step is not None}
    base_first: Any = None
    base_fam4: Any = None
    # each resolver's order of every lookup, for the runtime pass to reuse
    firsts: dict[tuple[str, int], bulk.GroupOrder] = {}
    for k, (pol, st) in enumerate(zip(policies, stats, strict=True)):
        key = _resolver(pol.flavor, pol.table)
        r = bulk.order_groups(chunk.dst, src, flags, plen, offsets=chunk.offsets,
                              flavor=pol.flavor, policy=pol.table,
                              want_order=key in ordered, threads=threads)
        firsts.setdefault(key, r)
        c = code[r.first]
        if prof_code is not None:
            by = np.bincount(prof_code + c, minlength=nprof * _NCODES).reshape(nprof, _NCODES)
            st.by_profile += by @ _FAM_COLUMNS
            cnt = by.sum(axis=0)
        else:
            cnt = np.bincount(c, minlength=_NCODES)
        reach = cnt[:_UNREACHABLE] + cnt[_ULA_SRC:_ULA_SRC + _UNREACHABLE]
        st.lookups += n_full
        st.reachable += int(reach.sum())
        st.first_class += reach
        st.first_src_ula += int(cnt[_ULA_SRC:_ULA_SRC + _UNREACHABLE].sum())
        rule = np.bincount(r.rule, minlength=11)[:11]
        rule[0] -= L - n_full                   # empty lookups: rule 0, not counted
        st.rule += rule
        st.exact += int(np.count_nonzero(r.exact))          # 0 for empty lookups
        fam = fam_row[r.first]
        if k == 0:
            base_first, base_fam4 = r.first, fam.astype(np.intp) * 4
        else:
            # an empty lookup is -1 in both and family 3 in both: neither counts
            st.changed += int(np.count_nonzero(r.first != base_first))
            st.moves += np.bincount(base_fam4 + fam, minlength=16).reshape(4, 4)[:3, :3]
    if plan is not None:
        _add_runtimes(report, chunk, src, flags, plen, prof, cls, fam_row, threads, firsts,
                      plan, ordered)
    report.seen += chunk.lookups
    report.lookups += n_full
    report.candidates += int(chunk.offsets[-1])


def _resolver(flavor: str, table: Any) -> tuple[str, int]:
    """What identifies one resolver's order within a chunk: its flavour and its table
    (None, the flavour's built-in one, or the very PolicyTable object)."""
    return flavor, 0 if table is None else id(table)


# per policy, per runtime: the resolver its processes use and the runtime's step on top
# (None when the step cannot change the first choice)
_Plan = list[list[tuple[tuple[str, int], str | None]]]


def _runtime_plan(policies: Sequence[Policy]) -> _Plan:
    """Which resolver each runtime's processes use under each policy
    (simulate.runtimes.applies), and the step that can change their first choice."""
    plan: _Plan = []
    for pol in policies:
        row = []
        for name in _rt.RUNTIMES:
            if _rt.applies(pol.flavor, name):
                key = _resolver(pol.flavor, pol.table)
            else:
                key = _resolver(_rt.LIBC_OF[name], None)
            row.append((key, name if _rt.step_changes_first(name) else None))
        plan.append(row)
    return plan


def _add_runtimes(report: Report, chunk: Chunk, src: np.ndarray, flags: np.ndarray,
                  plen: np.ndarray, prof: Any, cls: np.ndarray, fam_row: np.ndarray,
                  threads: int | None, firsts: dict[tuple[str, int], bulk.GroupOrder],
                  plan: _Plan, ordered: set[tuple[str, int]]) -> None:
    """Per runtime: each runtime's lookups take the first row of the resolver it uses
    under each policy (``plan``), after Java's step; count.

    A resolver's order does not depend on which policy row asks for it, so each resolver
    is ordered once per chunk: ``firsts`` holds the orders add_chunk ran over the whole
    chunk; any other resolver runs once over the lookups of the runtimes that use it
    (``order_groups(groups=)``).  The step's first row comes from the resolver's order
    (:func:`v6core.simulate.runtimes.first_after_step`); each (resolver, step) is counted
    once by runtime code, and every policy and runtime that uses it takes its row."""
    nrt = len(_rt.RUNTIMES)
    if chunk.runtime is not None:
        rt = chunk.runtime
    else:
        rt = _rt.assign(report.seen, prof, chunk.lookups, report.runtime_cum)
    users: dict[tuple[str, int], np.ndarray] = {}
    for row in plan:
        for r, (key, _) in enumerate(row):
            if key not in firsts:
                users.setdefault(key, np.zeros(nrt, bool))[r] = True
    for key, used in users.items():
        # a policy's own table was run by add_chunk: what is left has the built-in one
        firsts[key] = bulk.order_groups(chunk.dst, src, flags, plen, offsets=chunk.offsets,
                                        flavor=key[0], policy=None,
                                        want_order=key in ordered, threads=threads,
                                        groups=used[rt])
    v4: Any = None
    rows: dict[tuple[tuple[str, int], str | None], np.ndarray] = {}

    def first_rows(key: tuple[str, int], step: str | None) -> np.ndarray:
        """(L,) first rows of resolver ``key`` after ``step``; valid for the lookups of
        the runtimes that use them."""
        nonlocal v4
        if (key, step) not in rows:
            res = firsts[key]
            if step is None:
                rows[key, step] = res.first
            else:
                if v4 is None:
                    v4 = cls == _IPV4
                assert res.order is not None            # asked for: key in ordered
                rows[key, step] = _rt.first_after_step(
                    res.first, res.order, chunk.offsets, None, step, v4=v4,
                    groups=rt == _rt.RUNTIMES.index(step))
        return rows[key, step]

    # counts per (resolver, step): every policy and runtime using it takes its row
    rt4 = rt.astype(np.intp) * 4
    counts: dict[tuple[tuple[str, int], str | None], np.ndarray] = {}
    changed: dict[tuple[Any, Any], np.ndarray] = {}
    for k, row in enumerate(plan):
        for r, v in enumerate(row):
            if v not in counts:
                fam = fam_row[first_rows(*v)]        # 3 for an empty lookup: not counted
                counts[v] = np.bincount(rt4 + fam, minlength=4 * nrt).reshape(nrt, 4)
            report.runtime_stats[k][r] += counts[v][r, :3]
            base = plan[0][r]
            if k == 0 or v == base:
                continue                               # the same rows: nothing changed
            if (base, v) not in changed:
                # an empty lookup is -1 in both
                changed[base, v] = np.bincount(rt[first_rows(*v) != first_rows(*base)],
                                               minlength=nrt)
            report.runtime_changed[k][r] += changed[base, v][r]


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
