# cython: language_level=3
"""Longest-prefix match over an immutable table of IPv6 (and IPv4-mapped) prefixes."""

from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from v6core._core.types cimport addr128_t

cdef class PrefixTable:
    # Disjoint intervals covering the whole address space, sorted: interval i runs from
    # _key[i] to the next start, and maps to _val[i] (-1 = no prefix).
    cdef object _arrays            # keeps the numpy buffers below alive
    cdef const addr128_t *_key     # interval starts, hi and lo side by side (one cache line)
    cdef const int64_t *_val
    cdef Py_ssize_t _m
    # Bucket index over bits [_shift, _shift + _bits) of starts[1 .. m-1].
    cdef const uint32_t *_idx
    cdef int _shift
    cdef int _bits
    cdef readonly tuple prefixes   # ((16 bytes, length), ...) in input order, host bits clear
    cdef readonly tuple values     # the value of each prefix

    cdef int64_t lookup_c(self, addr128_t a) noexcept nogil
    cdef _build(self)
    cdef object _build_index(self)
    cdef void lookup_block(self, const uint8_t *rows, Py_ssize_t n, int64_t *out) noexcept nogil
