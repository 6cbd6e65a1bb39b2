# cython: language_level=3
"""Python-argument handling shared by the NDP codec's Python API (behaviour in
ndp_args.pyx): buffers, MAC addresses, VLAN tags and integer ranges, each turned into a C
value or refused with a ValueError / TypeError that names the argument."""

from libc.stdint cimport uint8_t
from v6core._core.ndp_types cimport NDP_PARSE_IP6, NDP_PARSE_NO_CKSUM


cdef object _byte_view(object frame)
cdef int _get_bytes(object o, Py_buffer *view) except -1
cdef object _reason(int code)
cdef int _mac_from(object mac, uint8_t *out) except -1
cdef int _vlan_from(object vlan) except -2
cdef object _int_arg(object v, str name, object hi)
cdef int _check_rc(Py_ssize_t rc, Py_ssize_t cap, str what) except -1
cdef uint8_t[::1] _out_view(object out)
cdef int _no_overlap(const uint8_t *a, Py_ssize_t na, const uint8_t *b, Py_ssize_t nb,
                     str what) except -1


cdef inline int _parse_flags(bint ip6, bint verify_checksum) noexcept:
    return (NDP_PARSE_IP6 if ip6 else 0) | (0 if verify_checksum else NDP_PARSE_NO_CKSUM)
