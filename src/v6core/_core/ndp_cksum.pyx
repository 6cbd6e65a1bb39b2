# cython: language_level=3
"""The ICMPv6 checksum (RFC 4443 section 2.3, RFC 1071) over the IPv6 pseudo-header."""

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

from v6core._core.types cimport addr128_t, addr_store
from v6core._core.addr cimport addr_from_object
from v6core._core.ndp_types cimport ndp_put32
from v6core._core.ndp_args cimport _byte_view


cdef inline uint64_t _sum(const uint8_t *p, Py_ssize_t n, uint64_t acc) noexcept nogil:
    # One's complement sum in native byte order (RFC 1071 section 2(B): the sum is
    # byte-order independent); 32-bit loads into a 64-bit accumulator cannot overflow
    # for any IPv6 payload.
    cdef uint32_t w
    cdef uint16_t h
    cdef uint8_t tail[2]
    while n >= 8:
        memcpy(&w, p, 4)
        acc += w
        memcpy(&w, p + 4, 4)
        acc += w
        p += 8
        n -= 8
    if n >= 4:
        memcpy(&w, p, 4)
        acc += w
        p += 4
        n -= 4
    if n >= 2:
        memcpy(&h, p, 2)
        acc += h
        p += 2
        n -= 2
    if n:
        tail[0] = p[0]
        tail[1] = 0
        memcpy(&h, tail, 2)
        acc += h
    return acc


cdef uint16_t ndp_cksum(const uint8_t *src, const uint8_t *dst, const uint8_t *msg,
                        Py_ssize_t len) noexcept nogil:
    cdef uint8_t ph[8]
    cdef uint64_t acc
    cdef uint16_t s
    cdef uint8_t b[2]
    ndp_put32(ph, <uint32_t>len)
    ph[4] = 0
    ph[5] = 0
    ph[6] = 0
    ph[7] = 58
    acc = _sum(src, 16, 0)
    acc = _sum(dst, 16, acc)
    acc = _sum(ph, 8, acc)
    acc = _sum(msg, len, acc)
    acc = (acc & 0xffffffffULL) + (acc >> 32)
    acc = (acc & 0xffffffffULL) + (acc >> 32)
    acc = (acc & 0xffffULL) + (acc >> 16)
    acc = (acc & 0xffffULL) + (acc >> 16)
    s = <uint16_t>(~acc)
    memcpy(b, &s, 2)
    return <uint16_t>((b[0] << 8) | b[1])


def icmp6_checksum(src, dst, msg) -> int:
    """The ICMPv6 checksum (RFC 4443 section 2.3) of ``msg`` under the IPv6 pseudo-header
    of ``src``/``dst`` (RFC 8200 section 8.1), bytes 2-3 of ``msg`` included as they are:
    0 for a message whose checksum is right; with bytes 2-3 zero, the value to store
    (big-endian)."""
    cdef addr128_t s, d
    cdef uint8_t sb[16]
    cdef uint8_t db[16]
    cdef const uint8_t[::1] m = _byte_view(msg)
    addr_from_object(src, &s)
    addr_from_object(dst, &d)
    addr_store(sb, s)
    addr_store(db, d)
    return ndp_cksum(sb, db, &m[0] if m.shape[0] else <const uint8_t *>b"", m.shape[0])
