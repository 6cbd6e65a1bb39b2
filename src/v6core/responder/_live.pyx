# cython: language_level=3
"""A bounded set of live 128-bit targets (see _live.pxd): the Python-facing updates.

The table has at least twice as many slots as ``capacity`` (so a probe always ends at an
empty slot), is rebuilt in place when tombstones pile up, and never grows: an ``add``
beyond ``capacity`` is refused (returns ``False``) and counted by the caller.
"""

from libc.stdlib cimport calloc, free

from v6core._core.types cimport addr128_t
from v6core._core.addr cimport addr_from_object, addr_to_str


cdef class LiveSet:
    """A set of IPv6 addresses that the responder's compiled path can test without the GIL.

    Parameters
    ----------
    capacity : int
        The most addresses held at once (1 .. 2**24); memory is 24 bytes per slot, with
        the slot count the power of two at or above ``2 * capacity``.
    """

    def __cinit__(self):
        self.slots = NULL

    def __init__(self, Py_ssize_t capacity=65536):
        if not 1 <= capacity <= (1 << 24):
            raise ValueError(f"capacity must be 1 .. {1 << 24}, got {capacity}")
        cdef uint64_t n = 16
        while n < <uint64_t>(2 * capacity):
            n <<= 1
        self.slots = <live_slot_t *>calloc(n, sizeof(live_slot_t))
        if self.slots == NULL:
            raise MemoryError()
        self.mask = n - 1
        self.capacity = capacity
        self.count = 0
        self.used = 0

    def __dealloc__(self):
        free(self.slots)

    cdef Py_ssize_t _find(self, addr128_t a) noexcept nogil:
        """Slot of ``a``, or -(first free slot on its chain) - 1."""
        cdef uint64_t i = live_hash(a) & self.mask
        cdef Py_ssize_t free_at = -1
        cdef live_slot_t *p
        while True:
            p = &self.slots[i]
            if p.state == LIVE_EMPTY:
                return -(free_at if free_at >= 0 else <Py_ssize_t>i) - 1
            if p.state == LIVE_TOMB:
                if free_at < 0:
                    free_at = i
            elif p.hi == a.hi and p.lo == a.lo:
                return i
            i = (i + 1) & self.mask

    cdef int _rehash(self) except -1:
        cdef uint64_t n = self.mask + 1, i, j
        cdef live_slot_t *old = self.slots
        cdef live_slot_t *new = <live_slot_t *>calloc(n, sizeof(live_slot_t))
        if new == NULL:
            raise MemoryError()
        cdef addr128_t a
        for i in range(n):
            if old[i].state == LIVE_USED:
                a.hi = old[i].hi
                a.lo = old[i].lo
                j = live_hash(a) & self.mask
                while new[j].state != LIVE_EMPTY:
                    j = (j + 1) & self.mask
                new[j] = old[i]
        self.slots = new
        self.used = self.count
        free(old)
        return 0

    def add(self, address):
        """Add ``address``; True if it was new, False if present or the set is full."""
        cdef addr128_t a
        addr_from_object(address, &a)
        cdef Py_ssize_t k = self._find(a)
        if k >= 0 or self.count >= self.capacity:
            return False
        k = -k - 1
        if self.slots[k].state == LIVE_EMPTY:
            self.used += 1
        self.slots[k].hi = a.hi
        self.slots[k].lo = a.lo
        self.slots[k].state = LIVE_USED
        self.count += 1
        if <uint64_t>self.used * 4 > (self.mask + 1) * 3:
            self._rehash()
        return True

    def discard(self, address):
        """Remove ``address``; True if it was there."""
        cdef addr128_t a
        addr_from_object(address, &a)
        cdef Py_ssize_t k = self._find(a)
        if k < 0:
            return False
        self.slots[k].state = LIVE_TOMB
        self.count -= 1
        return True

    def clear(self):
        cdef uint64_t i
        for i in range(self.mask + 1):
            self.slots[i].state = LIVE_EMPTY
        self.count = 0
        self.used = 0

    def __contains__(self, address):
        cdef addr128_t a
        addr_from_object(address, &a)
        return self._find(a) >= 0

    def __len__(self):
        return self.count

    def __iter__(self):
        cdef uint64_t i
        cdef addr128_t a
        out = []
        for i in range(self.mask + 1):
            if self.slots[i].state == LIVE_USED:
                a.hi = self.slots[i].hi
                a.lo = self.slots[i].lo
                out.append(addr_to_str(a, False))
        return iter(out)

    def contains_counted(self, address):
        """Like ``in``, but through the compiled lookup (counts a hit or a miss)."""
        cdef addr128_t a
        addr_from_object(address, &a)
        return live_contains(self, a)

    @property
    def slot_count(self):
        """Slots in the table (a power of two; 24 bytes each)."""
        return self.mask + 1
