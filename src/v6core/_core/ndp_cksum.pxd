# cython: language_level=3
"""ICMPv6 checksum of the NDP codec (behaviour in ndp_cksum.pyx)."""

from libc.stdint cimport uint8_t, uint16_t


# ---------------------------------------------------------------------------------------
# Checksum: the ICMPv6 checksum (RFC 4443 section 2.3) of ``msg[0 .. len)`` with the
# pseudo-header of ``src``/``dst`` (16 bytes each, wire order) and Next Header 58, as the
# value to store big-endian at msg[2..4) (the field is included in the sum as it is:
# zero it before building; a correct message sums to 0).
cdef uint16_t ndp_cksum(const uint8_t *src, const uint8_t *dst, const uint8_t *msg,
                        Py_ssize_t len) noexcept nogil
