# cython: language_level=3
"""Shared C types and inline helpers of the compiled core.

An address is always 128 bits: IPv6 as is, IPv4 as IPv4-mapped ``::ffff:a.b.c.d``
(RFC 4291 section 2.5.5.2).  ``hi`` holds bytes 0-7 and ``lo`` bytes 8-15, each as a
host-order integer of the big-endian bytes, so that integer comparison of
``(hi, lo)`` is address order.
"""

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t


ctypedef struct addr128_t:
    uint64_t hi
    uint64_t lo


# RFC 6724 section 3.1 scope values (the multicast scope field, RFC 4291 section 2.7).
cdef enum:
    SCOPE_INTERFACE = 0x1
    SCOPE_LINK = 0x2
    SCOPE_ADMIN = 0x4
    SCOPE_SITE = 0x5
    SCOPE_ORG = 0x8
    SCOPE_GLOBAL = 0xe


cdef extern from *:
    """
    #if defined(__GNUC__)
    #define V6_CLZ64(x) ((x) ? __builtin_clzll(x) : 64)
    #define V6_LIKELY(x) __builtin_expect(!!(x), 1)
    #define V6_UNLIKELY(x) __builtin_expect(!!(x), 0)
    #else
    static int V6_CLZ64(unsigned long long x) { int n = 0; if (!x) return 64;
        while (!(x & 0x8000000000000000ULL)) { x <<= 1; n++; } return n; }
    #define V6_LIKELY(x) (x)
    #define V6_UNLIKELY(x) (x)
    #endif
    """
    int V6_CLZ64(uint64_t x) nogil
    bint V6_LIKELY(bint x) nogil
    bint V6_UNLIKELY(bint x) nogil


cdef inline uint64_t load_be64(const uint8_t *p) noexcept nogil:
    # gcc turns this into one load and a bswap
    return ((<uint64_t>p[0] << 56) | (<uint64_t>p[1] << 48) | (<uint64_t>p[2] << 40)
            | (<uint64_t>p[3] << 32) | (<uint64_t>p[4] << 24) | (<uint64_t>p[5] << 16)
            | (<uint64_t>p[6] << 8) | <uint64_t>p[7])


cdef inline void store_be64(uint8_t *p, uint64_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 56)
    p[1] = <uint8_t>(v >> 48)
    p[2] = <uint8_t>(v >> 40)
    p[3] = <uint8_t>(v >> 32)
    p[4] = <uint8_t>(v >> 24)
    p[5] = <uint8_t>(v >> 16)
    p[6] = <uint8_t>(v >> 8)
    p[7] = <uint8_t>v


cdef inline addr128_t addr_load(const uint8_t *p) noexcept nogil:
    cdef addr128_t a
    a.hi = load_be64(p)
    a.lo = load_be64(p + 8)
    return a


cdef inline void addr_store(uint8_t *p, addr128_t a) noexcept nogil:
    store_be64(p, a.hi)
    store_be64(p + 8, a.lo)


cdef inline int addr_cmp(addr128_t a, addr128_t b) noexcept nogil:
    if a.hi != b.hi:
        return -1 if a.hi < b.hi else 1
    if a.lo != b.lo:
        return -1 if a.lo < b.lo else 1
    return 0


cdef inline bint addr_lt(addr128_t a, addr128_t b) noexcept nogil:
    return a.hi < b.hi or (a.hi == b.hi and a.lo < b.lo)


cdef inline bint addr_eq(addr128_t a, addr128_t b) noexcept nogil:
    return a.hi == b.hi and a.lo == b.lo


cdef inline addr128_t addr_mask(addr128_t a, int plen) noexcept nogil:
    """Keep the first ``plen`` bits (0..128) of ``a``."""
    cdef addr128_t r
    if plen <= 0:
        r.hi = 0
        r.lo = 0
    elif plen < 64:
        r.hi = a.hi & ~(0xffffffffffffffffULL >> plen)
        r.lo = 0
    elif plen == 64:
        r.hi = a.hi
        r.lo = 0
    elif plen < 128:
        r.hi = a.hi
        r.lo = a.lo & ~(0xffffffffffffffffULL >> (plen - 64))
    else:
        r = a
    return r


cdef inline addr128_t addr_last(addr128_t a, int plen) noexcept nogil:
    """The last address of the prefix ``a/plen`` (host bits all ones)."""
    cdef addr128_t r = addr_mask(a, plen)
    if plen <= 0:
        r.hi = 0xffffffffffffffffULL
        r.lo = 0xffffffffffffffffULL
    elif plen < 64:
        r.hi |= 0xffffffffffffffffULL >> plen
        r.lo = 0xffffffffffffffffULL
    elif plen == 64:
        r.lo = 0xffffffffffffffffULL
    elif plen < 128:
        r.lo |= 0xffffffffffffffffULL >> (plen - 64)
    return r


cdef inline int addr_common_len(addr128_t a, addr128_t b) noexcept nogil:
    """Number of leading bits ``a`` and ``b`` share (0..128)."""
    # without data-dependent branches (bulk kernels call it on rows in random order):
    # x | 1 and y | 1 are never 0, and y == 0 adds the last bit
    cdef uint64_t x = a.hi ^ b.hi, y = a.lo ^ b.lo
    cdef int hi_len = V6_CLZ64(x | 1), lo_len = 64 + V6_CLZ64(y | 1) + (y == 0)
    cdef int m = -<int>(x != 0)
    return (hi_len & m) | (lo_len & ~m)


cdef inline bint addr_in_prefix(addr128_t a, addr128_t prefix, int plen) noexcept nogil:
    return addr_common_len(a, prefix) >= plen


cdef inline bint addr_is_v4mapped(addr128_t a) noexcept nogil:
    return (a.hi == 0) & ((a.lo >> 32) == 0xffffULL)


cdef inline uint32_t addr_v4(addr128_t a) noexcept nogil:
    return <uint32_t>(a.lo & 0xffffffffULL)


cdef inline int addr_scope(addr128_t a, bint v4_all_global) noexcept nogil:
    """RFC 6724 sections 3.1 and 3.2 scope of ``a``.

    IPv4 (mapped) loopback 127/8 and link-local 169.254/16 are link-local scope
    unless ``v4_all_global`` (musl's variant, which scopes every IPv4 address global).
    """
    cdef uint32_t v4
    if (a.hi >> 56) == 0xff:                      # multicast: the scope field
        return <int>((a.hi >> 48) & 0xf)
    if (a.hi >> 54) == 0x3fa:                      # fe80::/10 link-local
        return SCOPE_LINK
    if a.hi == 0 and a.lo == 1:                    # ::1 loopback
        return SCOPE_LINK
    if (a.hi >> 54) == 0x3fb:                      # fec0::/10 site-local (deprecated)
        return SCOPE_SITE
    if addr_is_v4mapped(a) and not v4_all_global:
        v4 = addr_v4(a)
        if (v4 >> 24) == 127 or (v4 >> 16) == 0xa9fe:
            return SCOPE_LINK
    return SCOPE_GLOBAL


cdef inline uint64_t mix64(uint64_t x) noexcept nogil:
    """splitmix64's finaliser: every input bit reaches every output bit (hash tables and
    rate-limiter slots keyed by addresses)."""
    x ^= x >> 30
    x *= 0xbf58476d1ce4e5b9ULL
    x ^= x >> 27
    x *= 0x94d049bb133111ebULL
    x ^= x >> 31
    return x
