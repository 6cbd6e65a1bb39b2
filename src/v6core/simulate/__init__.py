"""Fleet-scale what-if: replay many lookups under several resolver policies.

A dataset is a set of hosts, each with its candidate source addresses (and flags), and a
stream of lookups, each a host and the destination candidates its name resolved to, in
the order the resolver received them.  For every lookup the kernel picks each candidate's
source (RFC 6724 section 5, :func:`v6core._core.bulk.select_sources`), orders the
candidates under each policy (:func:`v6core._core.bulk.order_groups`) and counts where
the first connection attempt goes: IPv6 or IPv4, global IPv6 or ULA, which rule decided,
and what changed between policies.  Datasets stream through in chunks of whole lookups,
so memory stays bounded however many lookups there are.

Dataset formats (see :func:`load`):

* the built-in synthetic container fleet (:func:`synthetic_fleet`);
* NumPy ``.npz`` (or a directory of ``.npy`` files, memory-mapped, for inputs larger than
  memory) with arrays ``dst`` (N, 16) uint8, ``offsets`` (L + 1) int64 and either the
  fleet form ``host`` (L,), ``host_offsets`` (H + 1), ``candidates`` (M, 16) uint8,
  ``cand_flags`` (M,) uint8, ``cand_plen`` (M,) uint8, or the resolved form ``src``
  (N, 16), ``flags`` (N,) and ``plen`` (N,) uint8;
* CSV (and Parquet when pyarrow is installed), one row per candidate in order: resolved
  form ``lookup,destination,source,prefixlen,flags`` (an empty source is unreachable), or
  fleet form ``lookup,host,destination`` with a hosts file ``host,source,prefixlen,flags``.
  ``flags`` is a ``|``-separated list of deprecated, temporary, home, care_of,
  encapsulated, optimistic.

The package splits along those seams: :mod:`~v6core.simulate.dataset` (the shapes),
:mod:`~v6core.simulate.fleet` (the built-in fleet), :mod:`~v6core.simulate.readers`
(files), :mod:`~v6core.simulate.engine` (the simulation and its report) and
:mod:`~v6core.simulate.render` (text, JSON, plot).  Every public name is importable from
``v6core.simulate`` itself.
"""

from __future__ import annotations

from v6core.errors import ConfigError
from v6core.simulate.dataset import FLAG_NAMES, Chunk, Dataset, Fleet
from v6core.simulate.engine import (
    DEST_CLASSES,
    RULE_NAMES,
    Policy,
    PolicyStats,
    Report,
    add_chunk,
    classify_destinations,
    empty_report,
    merge_reports,
    parse_policy,
    simulate,
)
from v6core.simulate.fleet import PROFILES, SERVICES, synthetic_fleet
from v6core.simulate.readers import load, save_npz, write_csv
from v6core.simulate.render import format_report, plot_report, progress_bar, report_json

__all__ = [
    "Chunk", "Dataset", "Policy", "Report", "synthetic_fleet", "load", "save_npz",
    "write_csv", "parse_policy", "simulate", "empty_report", "add_chunk", "merge_reports",
    "format_report", "plot_report",
    "DEST_CLASSES", "RULE_NAMES",
    # also public before the split, kept importable from here
    "ConfigError", "FLAG_NAMES", "Fleet", "PROFILES", "PolicyStats", "SERVICES",
    "classify_destinations", "progress_bar", "report_json",
]
