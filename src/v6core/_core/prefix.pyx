# cython: language_level=3
"""Longest-prefix match over an immutable prefix table.

The table is compiled into the disjoint address intervals that its prefixes carve
out of the 128-bit space, each tagged with the value of its most specific covering
prefix.  A lookup finds the interval by a bucket index on the 2^k buckets of the
first bits in which the interval starts differ, then a binary search inside one
bucket; the cost does not grow with the table beyond that (small) search.
A built table is immutable and safe to use from several threads at once.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t

cimport numpy as cnp
import numpy as np

from v6core._core.types cimport (
    addr128_t, addr_load, addr_lt, addr_common_len
)
from v6core._core.addr cimport addr_from_object, addr_to_str
from v6core._core.addr import parse_prefix
from v6core.errors import AddressError

cnp.import_array()

cdef extern from *:
    """
    #if defined(__GNUC__)
    #define V6_PREFETCH(p) __builtin_prefetch((const void *)(p))
    #else
    #define V6_PREFETCH(p) ((void)0)
    #endif
    """
    void prefetch "V6_PREFETCH"(const void *p) noexcept nogil

cdef object _MAXV = (1 << 63) - 1
cdef object _ALL = (1 << 128) - 1

# The table of an instance whose __init__ has not run (or failed): one interval, no
# match, so that no lookup reads through a NULL pointer.
cdef addr128_t _EMPTY_KEY[1]
cdef int64_t _EMPTY_VAL[1]
cdef uint32_t _EMPTY_IDX[2]
_EMPTY_KEY[0].hi = 0
_EMPTY_KEY[0].lo = 0
_EMPTY_VAL[0] = -1
_EMPTY_IDX[0] = 1
_EMPTY_IDX[1] = 1


cdef inline uint32_t _window(addr128_t a, int s, int k) noexcept nogil:
    """Bits [s, s + k) of ``a`` as an integer; 1 <= k <= 32 and s + k <= 128."""
    cdef uint64_t h
    if s == 0:
        h = a.hi
    elif s < 64:
        h = (a.hi << s) | (a.lo >> (64 - s))
    elif s == 64:
        h = a.lo
    else:
        h = a.lo << (s - 64)
    return <uint32_t>(h >> (64 - k))


cdef class PrefixTable:
    """An immutable longest-prefix-match table.

    Parameters
    ----------
    prefixes : iterable
        ``"addr/len"`` text (IPv6, or IPv4 as IPv4-mapped), ``(address, len)`` pairs or
        ``ipaddress`` networks.  Host bits are cleared.
    values : iterable of int, optional
        A value 0 .. 2**63-1 for each prefix; by default its position in ``prefixes``.
        Where a prefix is given twice, the later one wins.

    Lookups return the value of the longest prefix containing the address.
    """

    def __cinit__(self):
        self._m = 1
        self._key = _EMPTY_KEY
        self._val = _EMPTY_VAL
        self._idx = _EMPTY_IDX
        self._shift = 0
        self._bits = 0
        self.prefixes = ()
        self.values = ()

    def __init__(self, prefixes, values=None):
        cdef list pfx = []
        cdef Py_ssize_t i
        if self._arrays is not None:
            # GIL-free readers may hold the arrays behind _key/_val/_idx: never swap them
            raise TypeError("PrefixTable is immutable: __init__ cannot run a second time; "
                            "build a new table")
        for i, p in enumerate(prefixes):
            try:
                pfx.append(parse_prefix(p))
            except AddressError as e:
                raise AddressError(f"prefix {i}: {e}", p, i) from None
        if values is None:
            vals = list(range(len(pfx)))
        else:
            vals = [int(v) for v in values]
            if len(vals) != len(pfx):
                raise ValueError(f"{len(pfx)} prefixes but {len(vals)} values")
            for i, v in enumerate(vals):
                if not 0 <= v <= _MAXV:
                    raise ValueError(f"value {i} ({v}) is not from 0 to 2**63-1")
        self.prefixes = tuple(pfx)
        self.values = tuple(vals)
        self._build()

    cdef _build(self):
        # (start, length, order, value): sorted so that a prefix precedes the ones it contains
        # and, for a duplicate, the later definition comes last and wins.
        items = sorted(
            (int.from_bytes(p, "big"), plen, i, v)
            for i, ((p, plen), v) in enumerate(zip(self.prefixes, self.values))
        )
        starts = []
        vals = []
        stack = []   # (last address, value) of the prefixes open at the sweep position

        def emit(pos, val):
            if starts and starts[-1] == pos:
                vals[-1] = val
            else:
                starts.append(pos)
                vals.append(val)

        for start, plen, _, v in items:
            while stack and stack[-1][0] < start:
                end = stack.pop()[0]
                emit(end + 1, stack[-1][1] if stack else -1)
            emit(start, v)
            stack.append((start | (_ALL >> plen), v))
        while stack:
            end = stack.pop()[0]
            if end < _ALL:
                emit(end + 1, stack[-1][1] if stack else -1)
        if not starts or starts[0] != 0:
            starts.insert(0, 0)
            vals.insert(0, -1)
        # merge neighbours that map to the same value
        ms, mv = [starts[0]], [vals[0]]
        for s, v in zip(starts[1:], vals[1:]):
            if v != mv[-1]:
                ms.append(s)
                mv.append(v)
        m = len(ms)
        key = np.empty((m, 2), dtype=np.uint64)
        key[:, 0] = [s >> 64 for s in ms]
        key[:, 1] = [s & 0xFFFFFFFFFFFFFFFF for s in ms]
        val = np.array(mv, dtype=np.int64)
        self._m = m
        self._key = <const addr128_t *>cnp.PyArray_DATA(key)
        self._val = <const int64_t *>cnp.PyArray_DATA(val)
        self._bits = 0
        self._shift = 0
        idx = np.zeros(1, dtype=np.uint32)
        if m > 2:
            self._bits = min(18, max(1, (m - 1).bit_length() + 1))
            first = _to_addr(ms[1])
            last = _to_addr(ms[m - 1])
            self._shift = min(addr_common_len(first, last), 128 - self._bits)
            idx = self._build_index()
        self._idx = <const uint32_t *>cnp.PyArray_DATA(idx)
        self._arrays = (key, val, idx)

    cdef object _build_index(self):
        cdef Py_ssize_t nb = 1 << self._bits
        cdef cnp.ndarray idx = np.empty(nb + 1, dtype=np.uint32)
        cdef uint32_t *ip = <uint32_t *>cnp.PyArray_DATA(idx)
        cdef Py_ssize_t i = 1, b
        # idx[b] = first i in [1, m) whose window is >= b (m if none)
        for b in range(nb + 1):
            while i < self._m:
                if _window(self._key[i], self._shift, self._bits) >= b:
                    break
                i += 1
            ip[b] = <uint32_t>i
        return idx

    @cython.boundscheck(False)
    cdef int64_t lookup_c(self, addr128_t a) noexcept nogil:
        cdef Py_ssize_t lo, hi, mid, m = self._m
        cdef const addr128_t *key = self._key
        cdef uint32_t b
        if m == 1:
            return self._val[0]
        if addr_lt(a, key[1]):
            return self._val[0]
        if not addr_lt(a, key[m - 1]):
            return self._val[m - 1]
        # key[1] <= a < key[m-1]: a shares their first _shift bits
        b = _window(a, self._shift, self._bits)
        lo = self._idx[b] - 1
        hi = self._idx[b + 1]
        if hi > m - 1:
            hi = m - 1
        # invariant: key[lo] <= a < key[hi]
        while hi - lo > 1:
            mid = (lo + hi) >> 1
            if addr_lt(a, key[mid]):
                hi = mid
            else:
                lo = mid
        return self._val[lo]

    @cython.boundscheck(False)
    cdef void lookup_block(self, const uint8_t *rows, Py_ssize_t n, int64_t *out) noexcept nogil:
        """Look up ``n`` (at most 32) packed rows, in stages over the whole block so that
        the memory loads of different rows overlap (each stage prefetches the next's)."""
        cdef addr128_t a[32]
        cdef Py_ssize_t lo[32]
        cdef Py_ssize_t hi[32]
        cdef uint32_t bk[32]
        cdef Py_ssize_t i, mid, m = self._m
        cdef const addr128_t *key = self._key
        cdef bint pending = False
        for i in range(n):
            a[i] = addr_load(rows + 16 * i)
            if m == 1 or addr_lt(a[i], key[1]):
                lo[i] = 0
                hi[i] = 0
            elif not addr_lt(a[i], key[m - 1]):
                lo[i] = m - 1
                hi[i] = m - 1
            else:
                bk[i] = _window(a[i], self._shift, self._bits)
                prefetch(&self._idx[bk[i]])
                hi[i] = -1
                pending = True
        if pending:
            for i in range(n):
                if hi[i] == -1:
                    lo[i] = self._idx[bk[i]] - 1
                    hi[i] = self._idx[bk[i] + 1]
                    if hi[i] > m - 1:
                        hi[i] = m - 1
                    prefetch(&key[(lo[i] + hi[i]) >> 1])
            for i in range(n):
                while hi[i] - lo[i] > 1:
                    mid = (lo[i] + hi[i]) >> 1
                    if addr_lt(a[i], key[mid]):
                        hi[i] = mid
                    else:
                        lo[i] = mid
                prefetch(&self._val[lo[i]])
        for i in range(n):
            out[i] = self._val[lo[i]]

    def __len__(self):
        return len(self.prefixes)

    def __repr__(self):
        return f"<PrefixTable {len(self.prefixes)} prefixes, {self._m} intervals>"

    def __contains__(self, address):
        cdef addr128_t a
        addr_from_object(address, &a)
        return self.lookup_c(a) >= 0

    def __iter__(self):
        for (p, plen), v in zip(self.prefixes, self.values):
            yield _prefix_text(p, plen), v

    def lookup(self, address, default=None):
        """Value of the longest prefix that contains ``address``, else ``default``."""
        cdef addr128_t a
        addr_from_object(address, &a)
        cdef int64_t v = self.lookup_c(a)
        return default if v < 0 else v

    def match(self, address):
        """``(prefix text, value)`` of the longest prefix containing ``address``, or None."""
        cdef addr128_t a
        addr_from_object(address, &a)
        cdef int64_t v = self.lookup_c(a)
        if v < 0:
            return None
        best = None
        for (p, plen), pv in zip(self.prefixes, self.values):
            if pv == v:
                pa = addr_from_bytes(p)
                if addr_common_len(a, pa) >= plen and (best is None or plen >= best[1]):
                    best = (p, plen)
        return (_prefix_text(best[0], best[1]), v) if best else (None, v)

    def lookup_many(self, addresses, out=None):
        """Longest-prefix match for each row of an ``(N, 16)`` uint8 array.

        ``addresses`` is a C-contiguous ``(N, 16)`` uint8 array (network order, IPv4 as
        IPv4-mapped).  Returns an int64 array (or fills ``out``, a writable C-contiguous
        ``(N,)`` int64 array): the matching prefix's value, -1 where no prefix matches.
        Runs without the GIL.
        """
        if not isinstance(addresses, np.ndarray):
            try:                               # any (N, 16) buffer, as before
                addresses = np.asarray(memoryview(addresses))
            except TypeError:
                pass
        if not isinstance(addresses, np.ndarray) or addresses.dtype != np.uint8 \
                or addresses.ndim != 2 or addresses.shape[1] != 16 \
                or not addresses.flags.c_contiguous:
            raise ValueError(f"addresses: expected a C-contiguous (N, 16) uint8 array, got "
                             f"{getattr(addresses, 'dtype', type(addresses).__name__)} shape "
                             f"{getattr(addresses, 'shape', '?')}")
        cdef Py_ssize_t i, n = addresses.shape[0]
        if out is None:
            out = np.empty(n, dtype=np.int64)
        elif not (isinstance(out, np.ndarray) and out.dtype == np.int64 and out.ndim == 1
                  and out.shape[0] == n and out.flags.c_contiguous and out.flags.writeable):
            raise ValueError(f"out: expected a writable C-contiguous int64 array of length "
                             f"{n}, got {getattr(out, 'dtype', type(out).__name__)} shape "
                             f"{getattr(out, 'shape', '?')}")
        if n == 0:
            return out
        cdef const uint8_t *rows = <const uint8_t *>cnp.PyArray_DATA(addresses)
        cdef int64_t *o = <int64_t *>cnp.PyArray_DATA(out)
        cdef Py_ssize_t step
        with nogil:
            i = 0
            while i < n:
                step = n - i if n - i < 32 else 32
                self.lookup_block(rows + 16 * i, step, o + i)
                i += step
        return out

    @property
    def intervals(self):
        """Number of disjoint address intervals the table compiles to."""
        return self._m


cdef addr128_t _to_addr(object v):
    cdef addr128_t a
    a.hi = v >> 64
    a.lo = v & 0xFFFFFFFFFFFFFFFF
    return a


cdef addr128_t addr_from_bytes(bytes b):
    return addr_load(<const uint8_t *>PyBytes_AS_STRING(b))


cdef str _prefix_text(bytes p, int plen):
    cdef addr128_t a = addr_from_bytes(p)
    if plen >= 96 and a.hi == 0 and (a.lo >> 32) == 0xffff:
        return f"{addr_to_str(a, True)}/{plen - 96}"
    return f"{addr_to_str(a, False)}/{plen}"
