# cython: language_level=3
"""Bulk kernels' shared contract: row layout, argument checks, row loading.

A row is ``(dst, src, flags, plen)`` plus its position in its group: a destination and
the source the host would use for it (16 bytes each, network order, IPv4 as IPv4-mapped),
the source's ``SK_F_*`` flag bits from ``sortkey.pxd`` (``SK_F_USABLE`` clear: connect()
failed, the row is unreachable), the source's prefix length (``BULK_PLEN_UNKNOWN`` when
not known; IPv4 as an IPv4 length).  A group is one lookup's candidate list, rows
``offsets[g] .. offsets[g + 1] - 1`` in the order the resolver received them.
"""

from libc.stdint cimport uint8_t, uint32_t, uint64_t
from v6core._core.types cimport addr_load
from v6core._core.sortkey cimport sk_row_t, SK_F_USABLE, SK_NO_IFINDEX

cdef enum:
    BULK_PLEN_UNKNOWN = 255


cdef inline void bulk_load_row(sk_row_t *row, const uint8_t *dst, const uint8_t *src,
                               const uint8_t *flags, const uint8_t *plen, Py_ssize_t r,
                               uint32_t index) noexcept nogil:
    """The inputs of row ``r`` (``flags``/``plen`` may be NULL: usable, unknown)."""
    cdef uint8_t p
    row.dst = addr_load(dst + 16 * r)
    row.src = addr_load(src + 16 * r)
    row.flags = flags[r] if flags != NULL else SK_F_USABLE
    if not (row.flags & SK_F_USABLE):
        row.src.hi = 0
        row.src.lo = 0
    p = plen[r] if plen != NULL else BULK_PLEN_UNKNOWN
    row.src_plen = -1 if p == BULK_PLEN_UNKNOWN else p
    row.ifindex = SK_NO_IFINDEX
    row.index = index


ctypedef struct bulk_kl_t:
    # rfc6724-update's known-local ULA /48s (sortkey.sk_known_local_collect): ``on`` is
    # False for every other flavour; ``explicit`` / ``skip`` sorted (``hi >> 16``)
    bint on
    bint learn               # learn them from each lookup's sources inside fd00::/8
    const uint64_t *explicit
    Py_ssize_t nexplicit
    const uint64_t *skip
    Py_ssize_t nskip


cdef tuple bulk_kl_fill(bulk_kl_t *kl, object flavor, object cp, object known_local,
                        bint learn_known_local)


# Argument checks: each raises ValueError naming the argument (and the row or index).
cdef Py_ssize_t bulk_nrows(object dst) except -1
cdef const uint8_t *bulk_rows_arg(object arr, str name, Py_ssize_t n) except? NULL
cdef const uint8_t *bulk_u8_arg(object arr, str name, Py_ssize_t n) except? NULL
cdef object bulk_out_arg(object out, str name, Py_ssize_t n, object dtype)
