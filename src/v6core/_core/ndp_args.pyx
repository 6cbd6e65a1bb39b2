# cython: language_level=3
"""Python-argument handling shared by the NDP codec's Python API (contract in
ndp_args.pxd)."""

from cpython.buffer cimport PyObject_GetBuffer, PyBUF_SIMPLE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t
from libc.string cimport memcpy

import numpy as np

from v6core._core.ndp_types cimport NDP_EBUF, NDP_EARG, NDP_REASON_COUNT
from v6core.errors import DropReason

cdef list _REASONS = [DropReason(i) for i in range(NDP_REASON_COUNT)]


cdef object _reason(int code):
    """The :class:`~v6core.errors.DropReason` of a C reason code."""
    return _REASONS[code]


cdef object _byte_view(object frame):
    cdef object mv = memoryview(frame)
    if mv.ndim != 1 or mv.format not in ("B", "b", "c"):
        mv = mv.cast("B")
    elif mv.format != "B":
        mv = mv.cast("B")
    return mv


cdef int _get_bytes(object o, Py_buffer *view) except -1:
    """The bytes of any C-contiguous buffer (PyBUF_SIMPLE: no format, no copy)."""
    try:
        PyObject_GetBuffer(o, view, PyBUF_SIMPLE)
    except BufferError:
        raise TypeError(f"expected a C-contiguous bytes-like buffer, not {type(o).__name__}") \
            from None
    return 0


cdef inline int _hexval(Py_UCS4 ch) noexcept:
    cdef int c = <int>ch
    if 48 <= c <= 57:
        return c - 48
    if 97 <= c <= 102:
        return c - 87
    if 65 <= c <= 70:
        return c - 55
    return -1


cdef int _mac_text17(str s, uint8_t *out) noexcept:
    """Fast path for "aa:bb:cc:dd:ee:ff" (or with '-'); -1 if not of that form."""
    cdef int i, hi, lo
    cdef Py_UCS4 sep
    for i in range(6):
        hi = _hexval(s[3 * i])
        lo = _hexval(s[3 * i + 1])
        if hi < 0 or lo < 0:
            return -1
        if i < 5:
            sep = s[3 * i + 2]
            if sep != u":" and sep != u"-":
                return -1
        out[i] = <uint8_t>((hi << 4) | lo)
    return 0


cdef int _mac_from(object mac, uint8_t *out) except -1:
    cdef const uint8_t[::1] v
    cdef bytes b
    if type(mac) is bytes and PyBytes_GET_SIZE(mac) == 6:
        memcpy(out, PyBytes_AS_STRING(mac), 6)
        return 0
    if type(mac) is str and len(<str>mac) == 17 and _mac_text17(mac, out) == 0:
        return 0
    if isinstance(mac, str):
        s = mac.replace("-", ":")
        parts = s.split(":")
        if len(parts) != 6 or not all(1 <= len(x) <= 2 for x in parts):
            raise ValueError(f"invalid MAC address {mac!r}: expected six hex bytes aa:bb:..")
        try:
            b = bytes(int(x, 16) for x in parts)
        except ValueError:
            raise ValueError(f"invalid MAC address {mac!r}: not hex") from None
        memcpy(out, <const char *>b, 6)
        return 0
    try:
        v = _byte_view(mac)
    except TypeError:
        raise TypeError(f"a MAC address must be text or 6 bytes, not {type(mac).__name__}") \
            from None
    if v.shape[0] != 6:
        raise ValueError(f"invalid MAC address {bytes(v)!r}: {v.shape[0]} bytes, expected 6")
    memcpy(out, &v[0], 6)
    return 0


cdef int _vlan_from(object vlan) except -2:
    if vlan is None:
        return -1
    if not 0 <= vlan <= 0xffff:
        raise ValueError(f"invalid 802.1Q TCI {vlan!r}: expected 0..65535 (VID 0..4095)")
    return <int>vlan


cdef object _int_arg(object v, str name, object hi):
    """``v`` as an int in 0 .. hi: TypeError if not an integer, ValueError if outside."""
    if not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, not {type(v).__name__}")
    if not 0 <= v <= hi:
        raise ValueError(f"{name} {v} is out of range 0..{hi}")
    return int(v)


cdef int _check_rc(Py_ssize_t rc, Py_ssize_t cap, str what) except -1:
    if rc == NDP_EBUF:
        raise ValueError(f"{what}: output buffer of {cap} bytes is too small")
    if rc == NDP_EARG:
        raise ValueError(f"{what}: a unicast destination needs dst_mac")
    return 0


cdef uint8_t[::1] _out_view(object out):
    cdef uint8_t[::1] v
    try:
        v = _byte_view(out)
    except (TypeError, BufferError, ValueError) as e:
        raise TypeError(f"out must be a writable contiguous buffer ({e})") from None
    if v.shape[0] == 0:
        raise ValueError("output buffer of 0 bytes is too small")
    return v


cdef int _no_overlap(const uint8_t *a, Py_ssize_t na, const uint8_t *b, Py_ssize_t nb,
                     str what) except -1:
    """ValueError if [a, a + na) and [b, b + nb) share a byte (the builders read their
    inputs while writing ``out``)."""
    if na > 0 and nb > 0 and a < b + nb and b < a + na:
        raise ValueError(f"out overlaps {what}: build into a separate buffer")
    return 0
