# cython: language_level=3
"""Bulk sort keys: the C contract (layouts in bulk_keys.pyx's docstring)."""

from libc.stdint cimport uint8_t, uint32_t, uint64_t
from v6core._core.sortkey cimport sk_policy_t, sk_row_t
from v6core._core.bulk_common cimport bulk_kl_t

cdef enum:
    # rfc6724/glibc bulk key: sk_wide_key (rules 1-8, bits 20-62), then
    BULK_K_CPL = 12          # rule 9: the flavour's CommonPrefixLen, 8 bits
    BULK_POS_LIMIT = 4096    # rule 10: 4095 - position, bits 0-11

cdef uint32_t bulk_musl_key_fast(const uint8_t *dst, const uint8_t *src, unsigned flags,
                                 unsigned pos) noexcept nogil
cdef uint64_t bulk_wide_key(int flavor, const sk_policy_t *pol, sk_row_t *row) noexcept nogil
cdef uint64_t bulk_filled_key(int flavor, const sk_row_t *row) noexcept nogil
cdef Py_ssize_t bulk_fill_group(int flavor, const sk_policy_t *pol, const bulk_kl_t *kl,
                                sk_row_t *rows, Py_ssize_t n, uint64_t *klbuf) noexcept nogil
