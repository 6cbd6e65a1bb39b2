# cython: language_level=3
"""Bulk RFC 6724 destination ordering over numpy arrays: the C contract.

A row is ``(dst, src, flags, plen)`` plus its position in its group: a destination and
the source the host would use for it (16 bytes each, network order, IPv4 as IPv4-mapped),
the source's ``SK_F_*`` flag bits from ``sortkey.pxd`` (``SK_F_USABLE`` clear: connect()
failed, the row is unreachable), the source's prefix length (``BULK_PLEN_UNKNOWN`` when
not known; IPv4 as an IPv4 length).  A group is one lookup's candidate list, rows
``offsets[g] .. offsets[g + 1] - 1`` in the order the resolver received them.

The per-flavour rules are ``sortkey.pxd``'s (``sk_fill_row``, ``sk_decide``, ``sk_sort``);
this module only adds the bulk key layout, the grouping and the threads.
"""

from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from v6core._core.sortkey cimport sk_policy_t, sk_row_t

cdef enum:
    BULK_PLEN_UNKNOWN = 255
    # rfc6724/glibc bulk key: sk_wide_key (rules 1-8, bits 20-62), then
    BULK_K_CPL = 12          # rule 9: the flavour's CommonPrefixLen, 8 bits
    BULK_POS_LIMIT = 4096    # rule 10: 4095 - position, bits 0-11

# Why a group left the key path (bits of the ``exact`` output).
cdef enum:
    BULK_EXACT_RULE9 = 1     # a rules 1-8 tie holds IPv4 and IPv6 (rule 9 is per family)
    BULK_EXACT_RULE4 = 2     # rfc6724: home-only / care-of-only sources (pairwise rule 4)
    BULK_EXACT_RULE7 = 4     # glibc: sources differ in encapsulation (rule 7 needs ifindex)
    BULK_EXACT_SIZE = 8      # more than BULK_POS_LIMIT candidates

cdef uint32_t bulk_musl_key_fast(const uint8_t *dst, const uint8_t *src, unsigned flags,
                                 unsigned pos) noexcept nogil
cdef uint64_t bulk_wide_key(int flavor, const sk_policy_t *pol, sk_row_t *row) noexcept nogil
cdef int bulk_order_group(int flavor, const sk_policy_t *pol, bint musl_fast,
                          const uint8_t *dst, const uint8_t *src, const uint8_t *flags,
                          const uint8_t *plen, Py_ssize_t lo, Py_ssize_t n,
                          sk_row_t *rows, uint64_t *keys, uint32_t *order,
                          uint32_t *tmp) noexcept nogil
