# cython: language_level=3
"""Bulk source selection: Source(D) for every row from its host's candidates.

The rules are ``srcsel.pxd``'s (RFC 6724 section 5), the same ones
``v6core.select.select_source`` applies per call; here rule 5 (outgoing interface) is
skipped, as bulk rows carry no interface.
"""

cimport cython
from libc.stdint cimport uint8_t, int64_t

cimport numpy as cnp
import numpy as np
from collections import namedtuple

from v6core._core.types cimport addr_load, addr_store
from v6core._core.sortkey cimport CompiledPolicy, sk_policy_t, SK_F_USABLE, SK_NO_IFINDEX
from v6core._core.srcsel cimport srcsel_cand_t, srcsel_fill, srcsel_pick
from v6core._core.bulk_common cimport (
    BULK_PLEN_UNKNOWN, bulk_nrows, bulk_rows_arg, bulk_u8_arg,
)
from v6core._core.bulk_common import int_array, pool_map, resolve_policy, split_rows, \
    threads_for

cnp.import_array()

Sources = namedtuple("Sources", "src flags plen choice")
Sources.__doc__ = """Result of :func:`select_sources`: ``src`` (N, 16) uint8, ``flags`` (N,)
uint8 (``FLAG_USABLE`` set where a source was found, plus its flags), ``plen`` (N,) uint8
(255 unknown) and ``choice`` (N,) int64, the chosen candidate row or -1."""


@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _select_sources_range(const sk_policy_t *pol, const uint8_t *dst,
                                const int64_t *host, const int64_t *hoff,
                                const srcsel_cand_t *cands, bint prefer_temp,
                                Py_ssize_t r0, Py_ssize_t r1, uint8_t *src_out,
                                uint8_t *flags_out, uint8_t *plen_out,
                                int64_t *choice_out) noexcept nogil:
    cdef Py_ssize_t r, c, best
    cdef int64_t h
    cdef const srcsel_cand_t *bc
    for r in range(r0, r1):
        h = host[r]
        best = srcsel_pick(pol, addr_load(dst + 16 * r), cands, hoff[h], hoff[h + 1],
                           SK_NO_IFINDEX, prefer_temp)
        choice_out[r] = best
        if best < 0:
            flags_out[r] = 0
            plen_out[r] = BULK_PLEN_UNKNOWN
            for c in range(16):
                src_out[16 * r + c] = 0
        else:
            bc = &cands[best]
            flags_out[r] = <uint8_t>(bc.flags | SK_F_USABLE)
            plen_out[r] = <uint8_t>(bc.plen if bc.plen >= 0 else BULK_PLEN_UNKNOWN)
            addr_store(src_out + 16 * r, bc.a)


def select_sources(dst, host, host_offsets, candidates, cand_flags=None, cand_plen=None, *,
                   policy=None, bint prefer_temporary=True, threads=None):
    """Choose Source(D) for every row from its host's candidates (RFC 6724 section 5).

    The rules and their order are ``v6core.select.select_source``'s (one definition,
    ``srcsel.pxd``: rules 1-8; rule 5, the outgoing interface, is skipped; ties keep the
    candidate order).  Only candidates of the destination's family count; a row with
    none is unreachable.

    Parameters
    ----------
    dst : (N, 16) uint8
    host : (N,) integer
        Host index of each row, 0 .. H - 1.
    host_offsets : (H + 1,) int64
        Host ``h``'s candidate sources are ``candidates[host_offsets[h]:host_offsets[h+1]]``.
    candidates : (M, 16) uint8
    cand_flags : (M,) uint8, optional
        ``FLAG_*`` bits (deprecated, temporary, home, care-of, ...) of each candidate.
    cand_plen : (M,) uint8, optional
        Candidate prefix lengths (255 unknown; IPv4 as an IPv4 length).
    policy : PolicyTable, optional
        Labels for rule 6 (default: the RFC 6724 table).
    prefer_temporary : bool
        Rule 7's direction (RFC 6724: temporary preferred).

    Returns
    -------
    Sources(src, flags, plen, choice), ready for ``order_groups``.
    """
    cdef Py_ssize_t n = bulk_nrows(dst)
    cdef const uint8_t *d = bulk_rows_arg(dst, "dst", n)
    cdef const uint8_t *cands = bulk_rows_arg(candidates, "candidates", -1)
    cdef Py_ssize_t m = candidates.shape[0]
    cdef const uint8_t *cf = bulk_u8_arg(cand_flags, "cand_flags", m)
    cdef const uint8_t *cpl = bulk_u8_arg(cand_plen, "cand_plen", m)
    hoffs = int_array(host_offsets, "host_offsets")
    if hoffs.shape[0] < 1:
        raise ValueError(f"host_offsets: expected H + 1 boundaries from 0 to {m}, got none")
    if hoffs[0] != 0:
        raise ValueError(f"host_offsets[0]: must be 0, got {int(hoffs[0])}")
    if hoffs[-1] != m:
        raise ValueError(f"host_offsets[{hoffs.shape[0] - 1}]: must end at the candidate "
                         f"count {m}, got {int(hoffs[-1])}")
    if hoffs.shape[0] > 1:
        bad = np.flatnonzero(hoffs[1:] < hoffs[:-1])
        if bad.shape[0]:
            h = int(bad[0]) + 1
            raise ValueError(f"host_offsets[{h}]: {int(hoffs[h])} is less than "
                             f"host_offsets[{h - 1}] (host_offsets must not decrease)")
    H = hoffs.shape[0] - 1
    hosts = int_array(host, "host")
    if hosts.shape != (n,):
        raise ValueError(f"host: expected {n} host indices, got shape {hosts.shape}")
    if n and (int(hosts.min()) < 0 or int(hosts.max()) >= H):
        r = int(np.argmax((hosts < 0) | (hosts >= H)))
        raise ValueError(f"host: row {r} names host {int(hosts[r])}, but there are {H} hosts")
    _, cp, _ = resolve_policy("rfc6724", policy)
    cdef CompiledPolicy cpol = cp
    nthreads = threads_for(threads, n)
    # per-candidate attributes, computed once
    cdef cnp.ndarray cbuf = np.zeros(max(m, 1) * sizeof(srcsel_cand_t), dtype=np.uint8)
    cdef srcsel_cand_t *ca = <srcsel_cand_t *>cnp.PyArray_DATA(cbuf)
    cdef Py_ssize_t i
    cdef uint8_t pv
    for i in range(m):
        pv = cpl[i] if cpl != NULL else BULK_PLEN_UNKNOWN
        srcsel_fill(&cpol.pol, &ca[i], addr_load(cands + 16 * i), cf[i] if cf != NULL else 0,
                    -1 if pv == BULK_PLEN_UNKNOWN else pv, SK_NO_IFINDEX)
    src_out = np.zeros((n, 16), dtype=np.uint8)
    flags_out = np.zeros(n, dtype=np.uint8)
    plen_out = np.empty(n, dtype=np.uint8)
    choice = np.empty(n, dtype=np.int64)
    if n == 0:
        return Sources(src_out, flags_out, plen_out, choice)
    cdef const int64_t *hp = <const int64_t *>cnp.PyArray_DATA(hosts)
    cdef const int64_t *hop = <const int64_t *>cnp.PyArray_DATA(hoffs)
    cdef uint8_t *so = <uint8_t *>cnp.PyArray_DATA(src_out)
    cdef uint8_t *fo = <uint8_t *>cnp.PyArray_DATA(flags_out)
    cdef uint8_t *po = <uint8_t *>cnp.PyArray_DATA(plen_out)
    cdef int64_t *co = <int64_t *>cnp.PyArray_DATA(choice)
    cdef bint pt = prefer_temporary

    def run(Py_ssize_t r0, Py_ssize_t r1):
        with nogil:
            _select_sources_range(&cpol.pol, d, hp, hop, ca, pt, r0, r1, so, fo, po, co)
    pool_map(run, split_rows(n, nthreads))
    return Sources(src_out, flags_out, plen_out, choice)
