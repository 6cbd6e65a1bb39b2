# cython: language_level=3
"""Bulk RFC 6724 destination ordering: sort keys and grouped selection over numpy arrays.

Inputs are ``(N, 16)`` uint8 arrays of destinations and of the source each destination
would use (network byte order; IPv4 as IPv4-mapped ``::ffff:a.b.c.d``, RFC 4291 section
2.5.5.2), a uint8 array of source flags (``sortkey``'s ``SK_F_*`` bits, exported here as
``FLAG_*``; ``FLAG_USABLE`` clear marks an unreachable row, RFC 6724 rule 1), an optional
uint8 array of source prefix lengths (255 = unknown) and, for grouped work, an int64
``offsets`` array of length ``G + 1``: group ``g`` (one lookup's candidate list, in the
order the resolver received it) is rows ``offsets[g] .. offsets[g + 1] - 1``.

This is the public module; the kernels live where their job is:

* ``bulk_keys``: ``musl_keys`` (musl's 31-bit key, bit for bit) and ``sort_keys`` (a
  64-bit key for rfc6724 and glibc);
* ``bulk_order``: ``order_groups`` (the order inside each group, its first choice, the
  deciding rule, and the groups that need the exact pairwise path);
* ``bulk_sources``: ``select_sources`` (RFC 6724 section 5, the rules of ``srcsel.pxd``);
* ``bulk_common``: argument checks, group offsets, threads.

All kernels release the GIL.  The wrappers split large inputs into ranges of whole
groups and run them on a thread pool (both cores), and :func:`iter_chunks` lets a caller
stream inputs larger than memory through them a chunk at a time.  A bad argument
(dtype, shape, layout, read-only or short output, offsets or indexes out of range)
raises a ValueError naming it and the index.
"""

cimport cython
from libc.stdint cimport uint8_t

cimport numpy as cnp
import numpy as np

from v6core._core.types cimport addr128_t, addr_load, addr_is_v4mapped
from v6core._core.sortkey cimport (
    SK_F_USABLE, SK_F_DEPRECATED, SK_F_HOME, SK_F_CAREOF, SK_F_TEMPORARY, SK_F_ENCAP,
    SK_F_OPTIMISTIC, MUSL_MAXADDRS,
)
from v6core._core.bulk_common cimport bulk_nrows, bulk_rows_arg

from v6core._core.bulk_common import (
    BULK_FLAVORS, PLEN_UNKNOWN, as_rows, check_offsets, iter_chunks, offsets_from_groups,
    positions, pool_map, split_rows, threads_for,
)
from v6core._core.bulk_keys import POS_LIMIT, musl_keys, sort_keys
from v6core._core.bulk_order import (
    EXACT_RULE4, EXACT_RULE7, EXACT_RULE9, EXACT_SIZE, GroupOrder, order_groups,
)
from v6core._core.bulk_sources import Sources, select_sources

cnp.import_array()

__all__ = [
    "FLAG_USABLE", "FLAG_DEPRECATED", "FLAG_HOME", "FLAG_CARE_OF", "FLAG_TEMPORARY",
    "FLAG_ENCAPSULATED", "FLAG_OPTIMISTIC", "PLEN_UNKNOWN", "POS_LIMIT", "EXACT_RULE9",
    "EXACT_RULE4", "EXACT_RULE7", "EXACT_SIZE", "FLAVORS", "MAXADDRS", "GroupOrder",
    "Sources", "iter_chunks", "as_rows", "check_offsets", "offsets_from_groups",
    "positions", "musl_keys", "sort_keys", "order_groups", "select_sources", "classify",
]

FLAG_USABLE = SK_F_USABLE
FLAG_DEPRECATED = SK_F_DEPRECATED
FLAG_HOME = SK_F_HOME
FLAG_CARE_OF = SK_F_CAREOF
FLAG_TEMPORARY = SK_F_TEMPORARY
FLAG_ENCAPSULATED = SK_F_ENCAP
FLAG_OPTIMISTIC = SK_F_OPTIMISTIC
FLAVORS = BULK_FLAVORS
MAXADDRS = MUSL_MAXADDRS


# ------------------------------------------------------------------ destination classes

@cython.boundscheck(False)
@cython.wraparound(False)
cdef void _classify_range(const uint8_t *dst, Py_ssize_t r0, Py_ssize_t r1,
                          uint8_t *out) noexcept nogil:
    cdef Py_ssize_t r
    cdef addr128_t a
    cdef uint8_t c
    for r in range(r0, r1):
        a = addr_load(dst + 16 * r)
        if addr_is_v4mapped(a):
            c = 5
        elif (a.hi >> 57) == 0x7e:              # fc00::/7 ULA (RFC 4193)
            c = 1
        elif (a.hi >> 48) == 0x2002:            # 6to4 (RFC 3056)
            c = 2
        elif (a.hi >> 32) == 0x20010000:        # Teredo (RFC 4380)
            c = 3
        elif (a.hi >> 61) == 1:                 # 2000::/3 global unicast
            c = 0
        else:
            c = 4
        out[r] = c


def classify(dst, threads=None):
    """Destination class of each row (uint8): 0 global unicast (2000::/3), 1 ULA
    (fc00::/7), 2 6to4 (2002::/16), 3 Teredo (2001::/32), 4 other IPv6, 5 IPv4."""
    cdef Py_ssize_t n = bulk_nrows(dst)
    cdef const uint8_t *d = bulk_rows_arg(dst, "dst", n)
    nthreads = threads_for(threads, n)
    out = np.empty(n, dtype=np.uint8)
    if n == 0:
        return out
    cdef uint8_t *o = <uint8_t *>cnp.PyArray_DATA(out)

    def run(Py_ssize_t r0, Py_ssize_t r1):
        with nogil:
            _classify_range(d, r0, r1, o)
    pool_map(run, split_rows(n, nthreads))
    return out
