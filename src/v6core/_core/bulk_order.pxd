# cython: language_level=3
"""Bulk grouping: the order inside each lookup's candidate group (C contract)."""

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from v6core._core.sortkey cimport sk_policy_t, sk_row_t
from v6core._core.bulk_common cimport bulk_kl_t

# Why a group left the key path (bits of the ``exact`` output).
cdef enum:
    BULK_EXACT_RULE9 = 1     # a rules 1-8 tie holds IPv4 and IPv6 (rule 9 is per family)
    BULK_EXACT_RULE4 = 2     # rfc6724: home-only / care-of-only sources (pairwise rule 4)
    BULK_EXACT_RULE7 = 4     # glibc: sources differ in encapsulation (rule 7 needs ifindex)
    BULK_EXACT_SIZE = 8      # more than BULK_POS_LIMIT candidates

cdef int bulk_order_group(int flavor, const sk_policy_t *pol, bint musl_fast,
                          const uint16_t *wide, const bulk_kl_t *kl, const uint8_t *dst,
                          const uint8_t *src, const uint8_t *flags, const uint8_t *plen,
                          Py_ssize_t lo, Py_ssize_t n, sk_row_t *rows, uint64_t *keys,
                          uint32_t *order, uint32_t *tmp, uint64_t *klbuf) noexcept nogil
