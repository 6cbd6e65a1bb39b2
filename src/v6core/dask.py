"""Scale-out on Dask: the bulk kernels per chunk, through dask.array and dask.delayed.

Needs the optional extra ``v6core[dask]`` (``dask[array]``; ``distributed`` for a
cluster).  v6core brings no scheduler of its own: pass any Dask scheduler (a
``distributed.Client``, "threads", "processes", "synchronous") or use Dask's default.

* :func:`order_groups` orders groups held in (dask or numpy) arrays: rows are rechunked on
  group boundaries and every block runs :func:`v6core._core.bulk.order_groups`; the
  results are dask arrays.
* :func:`simulate` runs :func:`v6core.simulate.simulate` one dataset chunk per task and
  adds the partial reports up.

Policies travel to workers as their specs (``"glibc"``, ``"glibc:/path/gai.conf"``) and are
parsed there, so tasks pickle; a gai.conf file must be readable on every worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from v6core._core import bulk
from v6core.errors import ConfigError

__all__ = ["order_groups", "simulate"]


def _dask() -> Any:
    try:
        import dask
        import dask.array  # noqa: F401
    except ImportError:
        raise ConfigError("the Dask integration needs dask: pip install 'v6core[dask]'") \
            from None
    return dask


def _block_order(dst: np.ndarray, src: np.ndarray, flags: np.ndarray | None,
                 plen: np.ndarray | None, offsets: np.ndarray, row0: int, flavor: str,
                 policy_spec: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = None
    if policy_spec is not None:
        from v6core.simulate import parse_policy
        table = parse_policy(f"{flavor}:{policy_spec}").table
    r = bulk.order_groups(np.ascontiguousarray(dst), np.ascontiguousarray(src),
                          None if flags is None else np.ascontiguousarray(flags),
                          None if plen is None else np.ascontiguousarray(plen),
                          offsets=offsets, flavor=flavor, policy=table, want_order=False,
                          threads=1)
    first = np.where(r.first >= 0, r.first + row0, -1)
    return first, r.rule, r.exact


def order_groups(dst: Any, src: Any, flags: Any = None, plen: Any = None, *,
                 offsets: Any, flavor: str = "rfc6724", gai_conf: str | None = None,
                 max_rows: int = 1 << 20) -> tuple[Any, Any, Any]:
    """Dask version of :func:`v6core._core.bulk.order_groups` (first choices only).

    Parameters
    ----------
    dst, src : (N, 16) uint8, numpy or dask arrays
    flags, plen : (N,) uint8, optional
    offsets : (G + 1,) int64, numpy
        Group boundaries (they decide the block boundaries, so they must be known).
    flavor : {"rfc6724", "glibc", "musl"}
    gai_conf : str, optional
        Path of a gai.conf whose table replaces the flavour's (readable on the workers).
    max_rows : int
        Rows per block (whole groups).

    Returns
    -------
    (first, rule, exact): lazy dask arrays of length G, as in ``GroupOrder``.
    """
    dask = _dask()
    da = dask.array
    offsets = bulk.check_offsets(offsets, int(dst.shape[0]))
    ranges = list(bulk.iter_chunks(offsets, max_rows))
    firsts, rules, exacts = [], [], []
    for g0, g1 in ranges:
        r0, r1 = int(offsets[g0]), int(offsets[g1])
        part = dask.delayed(_block_order, nout=3, pure=True)(
            dst[r0:r1], src[r0:r1], None if flags is None else flags[r0:r1],
            None if plen is None else plen[r0:r1], offsets[g0:g1 + 1] - r0, r0, flavor,
            gai_conf)
        n = g1 - g0
        firsts.append(da.from_delayed(part[0], shape=(n,), dtype=np.int64))
        rules.append(da.from_delayed(part[1], shape=(n,), dtype=np.uint8))
        exacts.append(da.from_delayed(part[2], shape=(n,), dtype=np.uint8))
    if not ranges:
        empty = da.zeros((0,), dtype=np.int64)
        return empty, empty.astype(np.uint8), empty.astype(np.uint8)
    return da.concatenate(firsts), da.concatenate(rules), da.concatenate(exacts)


def _chunk_report(chunk: Any, first: int, fleet: Any, specs: Sequence[str],
                  name: str) -> Any:
    """The report of one chunk whose first lookup is lookup ``first`` of the dataset (the
    runtime mix draws each lookup's runtime by its index, so a chunk must know where it
    starts to draw what a one-process run draws)."""
    from v6core import simulate as sim
    policies = [sim.parse_policy(s) for s in specs]
    ds = sim.Dataset(name, None, lambda _rows: iter(()), fleet)
    rep = sim.empty_report(ds, policies)
    rep.seen = first
    sim.add_chunk(rep, chunk, fleet, threads=1)
    rep.seen -= first
    return rep


def simulate(dataset: Any, policies: Sequence[Any], *, max_rows: int = 1 << 20,
             scheduler: Any = None) -> Any:
    """:func:`v6core.simulate.simulate` with one Dask task per dataset chunk.

    ``policies`` are :class:`v6core.simulate.Policy` objects or spec strings.
    ``scheduler`` is passed to ``dask.compute`` (None: Dask's default or the active
    ``distributed.Client``).  Returns the merged :class:`v6core.simulate.Report`.
    """
    import time

    from v6core import simulate as sim
    dask = _dask()
    specs = [p if isinstance(p, str) else (p.spec or p.flavor) for p in policies]
    parsed = [sim.parse_policy(s) for s in specs]      # fail early, on the client
    t0 = time.perf_counter()
    tasks, first = [], 0
    for c in dataset.iter_chunks(max_rows):
        tasks.append(dask.delayed(_chunk_report, pure=True)(c, first, dataset.fleet, specs,
                                                            dataset.name))
        first += c.lookups
    parts = dask.compute(*tasks, scheduler=scheduler) if tasks else ()
    report = sim.empty_report(dataset, parsed)
    for p in parts:
        sim.merge_reports(report, p)
    report.seconds = time.perf_counter() - t0
    return report
