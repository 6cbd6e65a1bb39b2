# cython: language_level=3
"""A bounded set of live 128-bit targets for the per-packet path: the C contract.

Open addressing with linear probing over a power-of-two table of slots; a slot is empty,
live or a tombstone (a deleted entry that keeps probe chains intact).  Lookups are a
``cdef inline`` function here so that the engine inlines them: no Python object, no
allocation, no GIL.  The table is changed only from Python, between batches.
"""

from libc.stdint cimport uint8_t, uint64_t
from v6core._core.types cimport addr128_t, mix64


cdef enum:
    LIVE_EMPTY = 0
    LIVE_USED = 1
    LIVE_TOMB = 2


ctypedef struct live_slot_t:
    uint64_t hi
    uint64_t lo
    uint64_t state            # LIVE_* (a full word keeps the slot 24 bytes, aligned)


cdef inline uint64_t live_hash(addr128_t a) noexcept nogil:
    # splitmix64's finaliser over both halves (the interface ID varies most)
    return mix64(a.lo ^ (a.hi * 0x9e3779b97f4a7c15ULL))


cdef class LiveSet:
    cdef live_slot_t *slots
    cdef uint64_t mask             # slots - 1
    cdef readonly Py_ssize_t capacity   # most live entries held at once
    cdef Py_ssize_t count          # live entries
    cdef Py_ssize_t used           # live entries + tombstones
    cdef readonly uint64_t hits    # lookups that found the target
    cdef readonly uint64_t misses  # lookups that did not

    cdef Py_ssize_t _find(self, addr128_t a) noexcept nogil
    cdef int _rehash(self) except -1


cdef inline bint live_contains(LiveSet s, addr128_t a) noexcept nogil:
    """True if ``a`` is in ``s`` (counts a hit or a miss)."""
    cdef uint64_t i = live_hash(a) & s.mask
    cdef live_slot_t *p
    while True:
        p = &s.slots[i]
        if p.state == LIVE_EMPTY:
            s.misses += 1
            return False
        if p.state == LIVE_USED and p.hi == a.hi and p.lo == a.lo:
            s.hits += 1
            return True
        i = (i + 1) & s.mask
