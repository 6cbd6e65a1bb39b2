# cython: language_level=3
"""Conversion between text, bytes, ``ipaddress`` objects and 128-bit addresses.

IPv4 is carried as IPv4-mapped IPv6 (``::ffff:a.b.c.d``, RFC 4291 section 2.5.5.2)
everywhere in v6core; ``to_text`` prints such an address as dotted IPv4 unless asked
not to.  Text parsing uses the C library's ``inet_pton`` (strict: no zone ids, no
leading zeros in IPv4); text output follows RFC 5952 section 4.
"""

cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memchr, memcpy

cimport numpy as cnp
import numpy as np
import ipaddress

from v6core._core.types cimport (
    addr128_t, addr_load, addr_store, addr_mask, addr_common_len, addr_scope,
    addr_is_v4mapped, addr_in_prefix,
)
from v6core.errors import AddressError

cnp.import_array()

cdef extern from "Python.h":
    const char *PyUnicode_AsUTF8AndSize(object s, Py_ssize_t *size) except NULL

cdef extern from "<arpa/inet.h>" nogil:
    int inet_pton(int af, const char *src, void *dst)

cdef extern from "<sys/socket.h>" nogil:
    enum:
        AF_INET
        AF_INET6

cdef object _IPv6Address = ipaddress.IPv6Address
cdef object _IPv4Address = ipaddress.IPv4Address

cdef const char *HEX = b"0123456789abcdef"


cdef int addr_parse(const char *s, Py_ssize_t n, addr128_t *out) noexcept nogil:
    """Parse ``n`` bytes of text (NUL-terminated at ``s[n]``); 0 on success, -1 if invalid."""
    cdef uint8_t buf[16]
    cdef uint32_t v4
    if n <= 0 or n > 45:
        return -1
    if memchr(s, 0, <size_t>n) != NULL:        # an embedded NUL would truncate the text
        return -1
    if memchr(s, b':', <size_t>n) != NULL:
        if inet_pton(AF_INET6, s, buf) != 1:
            return -1
        out[0] = addr_load(buf)
        return 0
    if inet_pton(AF_INET, s, buf) != 1:
        return -1
    v4 = (<uint32_t>buf[0] << 24) | (<uint32_t>buf[1] << 16) | (<uint32_t>buf[2] << 8) | buf[3]
    out.hi = 0
    out.lo = 0xffff00000000ULL | v4
    return 0


cdef inline Py_ssize_t _put_dec(char *p, unsigned int v) noexcept nogil:
    cdef Py_ssize_t n = 0
    if v >= 100:
        p[n] = <char>(48 + v // 100)
        n += 1
    if v >= 10:
        p[n] = <char>(48 + (v // 10) % 10)
        n += 1
    p[n] = <char>(48 + v % 10)
    return n + 1


cdef inline Py_ssize_t _put_v4(char *p, uint32_t v) noexcept nogil:
    cdef Py_ssize_t n = _put_dec(p, v >> 24)
    p[n] = b'.'
    n += 1
    n += _put_dec(p + n, (v >> 16) & 0xff)
    p[n] = b'.'
    n += 1
    n += _put_dec(p + n, (v >> 8) & 0xff)
    p[n] = b'.'
    n += 1
    n += _put_dec(p + n, v & 0xff)
    return n


cdef Py_ssize_t addr_format(addr128_t a, char *buf, bint v4) noexcept nogil:
    """Write the RFC 5952 text of ``a`` to ``buf`` (at least 48 bytes); return its length.

    IPv4-mapped addresses come out as ``a.b.c.d`` when ``v4`` is true, else as
    ``::ffff:a.b.c.d`` (RFC 5952 section 5).
    """
    cdef unsigned int w[8]
    cdef int i, j, nw, best_base = -1, best_len = 0, cur_base = -1, cur_len = 0
    cdef Py_ssize_t n = 0
    cdef unsigned int x
    cdef bint started
    cdef int shift
    if addr_is_v4mapped(a):
        if v4:
            return _put_v4(buf, <uint32_t>a.lo)
        memcpy(buf, b"::ffff:", 7)
        return 7 + _put_v4(buf + 7, <uint32_t>a.lo)
    for i in range(4):
        w[i] = <unsigned int>((a.hi >> (48 - 16 * i)) & 0xffff)
        w[4 + i] = <unsigned int>((a.lo >> (48 - 16 * i)) & 0xffff)
    nw = 8
    # the longest run of two or more zero groups, the first one on a tie (RFC 5952 4.2)
    for i in range(nw):
        if w[i] == 0:
            if cur_base < 0:
                cur_base = i
                cur_len = 0
            cur_len += 1
            if cur_len > best_len:
                best_base = cur_base
                best_len = cur_len
        else:
            cur_base = -1
    if best_len < 2:
        best_base = -1
    i = 0
    while i < nw:
        if i == best_base:
            buf[n] = b':'
            n += 1
            if i == 0:
                buf[n] = b':'
                n += 1
            i += best_len
            continue
        x = w[i]
        started = False
        shift = 12
        while shift >= 0:
            j = (x >> shift) & 0xf
            if j or started or shift == 0:
                buf[n] = HEX[j]
                n += 1
                started = True
            shift -= 4
        if i < nw - 1:
            buf[n] = b':'
            n += 1
        i += 1
    return n


cdef str addr_to_str(addr128_t a, bint v4):
    cdef char buf[48]
    cdef Py_ssize_t n = addr_format(a, buf, v4)
    return PyUnicode_DecodeASCII(buf, n, NULL)


cdef bytes addr_to_bytes(addr128_t a):
    cdef bytes b = PyBytes_FromStringAndSize(NULL, 16)
    addr_store(<uint8_t *>PyBytes_AS_STRING(b), a)
    return b


cdef int addr_from_object(object o, addr128_t *out) except -1:
    """Convert str, 16- or 4-byte bytes, or an ``ipaddress`` address; raise AddressError."""
    cdef const char *s
    cdef Py_ssize_t n
    cdef const uint8_t *p
    cdef object t = type(o)
    if t is str:
        try:
            s = PyUnicode_AsUTF8AndSize(o, &n)
        except UnicodeError:
            raise AddressError(f"invalid IP address {o!r}: not ASCII text", o) from None
        if addr_parse(s, n, out) != 0:
            raise AddressError(_explain_bad_text(o), o)
        return 0
    if t is bytes:
        n = PyBytes_GET_SIZE(o)
        p = <const uint8_t *>PyBytes_AS_STRING(o)
        if n == 16:
            out[0] = addr_load(p)
            return 0
        if n == 4:
            out.hi = 0
            out.lo = (0xffff00000000ULL | (<uint64_t>p[0] << 24) | (<uint64_t>p[1] << 16)
                      | (<uint64_t>p[2] << 8) | p[3])
            return 0
        raise AddressError(f"invalid packed IP address {o!r}: {n} bytes, expected 16 or 4", o)
    if t is _IPv6Address or isinstance(o, _IPv6Address):
        if getattr(o, "scope_id", None):
            raise AddressError(f"IPv6 address {str(o)!r} has a zone id; pass the address "
                               "without it", o)
        return addr_from_object(o.packed, out)
    if t is _IPv4Address or isinstance(o, _IPv4Address):
        return addr_from_object(o.packed, out)
    if isinstance(o, str):
        return addr_from_object(str(o), out)
    if isinstance(o, (bytearray, memoryview)):
        return addr_from_object(bytes(o), out)
    raise AddressError(f"cannot make an IP address of {type(o).__name__} {o!r}", o)


cdef str _explain_bad_text(str text):
    if "%" in text:
        return f"invalid IP address {text!r}: zone ids (%...) are not accepted here"
    if "/" in text:
        return f"invalid IP address {text!r}: looks like a prefix; use parse_prefix()"
    if not text:
        return "invalid IP address '': empty"
    if len(text) > 45:
        return f"invalid IP address {text!r}: longer than any address (45 characters)"
    return f"invalid IP address {text!r}"


# ---------------------------------------------------------------- single-address API

def pack(address) -> bytes:
    """Return the 16 network-order bytes of ``address``.

    Accepts IPv6 or IPv4 text, 16- or 4-byte ``bytes``, and ``ipaddress`` objects.
    IPv4 becomes IPv4-mapped ``::ffff:a.b.c.d`` (RFC 4291 section 2.5.5.2).
    Raises AddressError (a ValueError) naming the input.
    """
    cdef addr128_t a
    addr_from_object(address, &a)
    return addr_to_bytes(a)


def to_text(address, *, bint ipv4=True) -> str:
    """RFC 5952 text of ``address``; IPv4-mapped prints as dotted IPv4 unless ``ipv4=False``."""
    cdef addr128_t a
    addr_from_object(address, &a)
    return addr_to_str(a, ipv4)


def to_ipaddress(address):
    """``ipaddress.IPv4Address`` for IPv4-mapped input, else ``ipaddress.IPv6Address``."""
    cdef addr128_t a
    addr_from_object(address, &a)
    if addr_is_v4mapped(a):
        return _IPv4Address(<uint32_t>a.lo)
    return _IPv6Address(addr_to_bytes(a))


def is_v4mapped(address) -> bool:
    """True for ``::ffff:0:0/96``, which is how v6core carries IPv4."""
    cdef addr128_t a
    addr_from_object(address, &a)
    return addr_is_v4mapped(a)


def parse_prefix(prefix, *, bint strict=False) -> tuple:
    """Parse ``"addr/len"`` into ``(16 bytes, length 0..128)``.

    IPv4 prefixes become IPv4-mapped (``10.0.0.0/8`` is ``::ffff:10.0.0.0/104``).  A bare
    address is a host prefix.  Host bits are cleared, or rejected when ``strict``.
    Also accepts ``ipaddress`` networks and ``(address, length)`` pairs.
    """
    cdef addr128_t a
    cdef int plen, maxlen
    cdef str text, addr_text, len_text
    if isinstance(prefix, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return parse_prefix(str(prefix), strict=strict)
    if isinstance(prefix, tuple) and len(prefix) == 2:
        addr_from_object(prefix[0], &a)
        maxlen = 32 if _is_ipv4_form(prefix[0]) else 128
        plen = _check_len(prefix[1], maxlen, prefix)
        if maxlen == 32:
            plen += 96
        return _finish_prefix(a, plen, strict, prefix)
    if not isinstance(prefix, str):
        raise AddressError(f"cannot make a prefix of {type(prefix).__name__} {prefix!r}", prefix)
    text = prefix.strip()
    addr_text, sep, len_text = text.partition("/")
    try:
        addr_from_object(addr_text, &a)
    except AddressError:
        raise AddressError(f"invalid prefix {prefix!r}: bad address part {addr_text!r}",
                           prefix) from None
    maxlen = 128 if ":" in addr_text else 32
    if not sep:
        plen = maxlen
    else:
        if not len_text.isdigit() or len(len_text) > 3:
            raise AddressError(f"invalid prefix {prefix!r}: length {len_text!r} is not a number "
                               f"from 0 to {maxlen}", prefix)
        plen = _check_len(int(len_text), maxlen, prefix)
    if maxlen == 32:
        plen += 96
    return _finish_prefix(a, plen, strict, prefix)


cdef bint _is_ipv4_form(object o):
    """True when ``o`` (already accepted by ``addr_from_object``) is written as IPv4:
    dotted text, an ``IPv4Address`` or 4 packed bytes.  Its prefix length then counts
    IPv4 bits (0..32), stored +96 for the IPv4-mapped form."""
    if isinstance(o, str):
        return ":" not in o
    if isinstance(o, _IPv4Address):
        return True
    if isinstance(o, (bytes, bytearray)):
        return len(o) == 4
    if isinstance(o, memoryview):
        return o.nbytes == 4
    return False


cdef int _check_len(object value, int maxlen, object prefix) except -1:
    if not isinstance(value, int) or not 0 <= value <= maxlen:
        raise AddressError(f"invalid prefix {prefix!r}: length {value!r} is not a number from "
                           f"0 to {maxlen}", prefix)
    return value


cdef tuple _finish_prefix(addr128_t a, int plen, bint strict, object prefix):
    cdef addr128_t m = addr_mask(a, plen)
    if strict and (m.hi != a.hi or m.lo != a.lo):
        raise AddressError(f"invalid prefix {prefix!r}: host bits set", prefix)
    return (addr_to_bytes(m), plen)


def mask(address, int plen) -> bytes:
    """``address`` with all but its first ``plen`` bits (0..128) cleared."""
    cdef addr128_t a
    if not 0 <= plen <= 128:
        raise AddressError(f"prefix length {plen} is not from 0 to 128", plen)
    addr_from_object(address, &a)
    return addr_to_bytes(addr_mask(a, plen))


def common_prefix_len(a, b, int cap=128) -> int:
    """Leading bits ``a`` and ``b`` share, at most ``cap`` (RFC 6724 section 2.2)."""
    cdef addr128_t x, y
    addr_from_object(a, &x)
    addr_from_object(b, &y)
    cdef int n = addr_common_len(x, y)
    return n if n < cap else max(cap, 0)


def in_prefix(address, prefix, int plen) -> bool:
    """True if ``address`` lies in ``prefix/plen``."""
    cdef addr128_t a, p
    if not 0 <= plen <= 128:
        raise AddressError(f"prefix length {plen} is not from 0 to 128", plen)
    addr_from_object(address, &a)
    addr_from_object(prefix, &p)
    return addr_in_prefix(a, p, plen)


def scope(address, *, bint v4_all_global=False) -> int:
    """RFC 6724 section 3.1-3.2 scope (see ``v6core.errors.Scope``).

    ``v4_all_global`` gives musl's variant, in which every IPv4 address is global.
    """
    cdef addr128_t a
    addr_from_object(address, &a)
    return addr_scope(a, v4_all_global)


# ---------------------------------------------------------------- bulk API (numpy)

def pack_many(addresses) -> cnp.ndarray:
    """Convert a sequence of addresses into an ``(N, 16)`` uint8 array (network order).

    Raises AddressError naming the first bad item and its index.
    """
    cdef list items = addresses if type(addresses) is list else list(addresses)
    cdef Py_ssize_t i, n = len(items)
    cdef cnp.ndarray[cnp.uint8_t, ndim=2] out = np.empty((n, 16), dtype=np.uint8)
    cdef uint8_t *base = <uint8_t *>cnp.PyArray_DATA(out)
    cdef addr128_t a
    for i in range(n):
        try:
            addr_from_object(items[i], &a)
        except AddressError as e:
            raise AddressError(f"item {i}: {e}", items[i], i) from None
        addr_store(base + 16 * i, a)
    return out


cdef object _rows_arg(object arr, str name):
    """``arr`` as a C-contiguous ``(N, 16)`` uint8 array (any such buffer is taken without
    a copy); ValueError naming ``name`` otherwise."""
    if not isinstance(arr, np.ndarray):
        try:
            arr = np.asarray(memoryview(arr))
        except TypeError:
            pass
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 2 \
            or arr.shape[1] != 16 or not arr.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous (N, 16) uint8 array, got "
                         f"{getattr(arr, 'dtype', type(arr).__name__)} shape "
                         f"{getattr(arr, 'shape', '?')}")
    return arr


@cython.boundscheck(False)
@cython.initializedcheck(False)
def to_text_many(addresses, *, bint ipv4=True) -> list:
    """RFC 5952 text for each row of a C-contiguous ``(N, 16)`` uint8 array."""
    cdef const uint8_t[:, ::1] rows = _rows_arg(addresses, "addresses")
    cdef Py_ssize_t i, n = rows.shape[0]
    cdef list out = [None] * n
    cdef char buf[48]
    cdef Py_ssize_t k
    for i in range(n):
        k = addr_format(addr_load(&rows[i, 0]), buf, ipv4)
        out[i] = PyUnicode_DecodeASCII(buf, k, NULL)
    return out


@cython.boundscheck(False)
@cython.initializedcheck(False)
def in_prefix_many(addresses, prefix, out=None) -> cnp.ndarray:
    """Boolean array: which rows of ``addresses`` (C-contiguous ``(N, 16)`` uint8) lie
    inside ``prefix`` (text or pair); ``out``, if given, a writable C-contiguous ``(N,)``
    bool array."""
    cdef const uint8_t[:, ::1] rows = _rows_arg(addresses, "addresses")
    cdef bytes pb
    cdef int plen
    pb, plen = parse_prefix(prefix)
    cdef addr128_t p = addr_load(<const uint8_t *>PyBytes_AS_STRING(pb))
    cdef Py_ssize_t i, n = rows.shape[0]
    if out is None:
        out = np.empty(n, dtype=np.bool_)
    elif not (isinstance(out, np.ndarray) and out.dtype.itemsize == 1
              and out.dtype.kind in "biu" and out.ndim == 1
              and out.shape[0] == n and out.flags.c_contiguous and out.flags.writeable):
        raise ValueError(f"out: expected a writable C-contiguous bool array of length {n}, "
                         f"got {getattr(out, 'dtype', type(out).__name__)} shape "
                         f"{getattr(out, 'shape', '?')}")
    if n == 0:
        return out
    cdef uint8_t *o = <uint8_t *>cnp.PyArray_DATA(out)
    with nogil:
        for i in range(n):
            o[i] = addr_in_prefix(addr_load(&rows[i, 0]), p, plen)
    return out


@cython.boundscheck(False)
@cython.initializedcheck(False)
def common_prefix_len_many(a, b) -> cnp.ndarray:
    """Row-wise common prefix length (uint8, 0..128) of two ``(N, 16)`` uint8 arrays."""
    cdef const uint8_t[:, ::1] x = _rows_arg(a, "a")
    cdef const uint8_t[:, ::1] y = _rows_arg(b, "b")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"b: a and b differ in length: {x.shape[0]} and {y.shape[0]}")
    cdef Py_ssize_t i, n = x.shape[0]
    out = np.empty(n, dtype=np.uint8)
    if n == 0:
        return out
    cdef uint8_t *o = <uint8_t *>cnp.PyArray_DATA(out)
    with nogil:
        for i in range(n):
            o[i] = <uint8_t>addr_common_len(addr_load(&x[i, 0]), addr_load(&y[i, 0]))
    return out


@cython.boundscheck(False)
@cython.initializedcheck(False)
def scope_many(addresses, *, bint v4_all_global=False) -> cnp.ndarray:
    """Row-wise RFC 6724 scope (uint8) of a C-contiguous ``(N, 16)`` uint8 array."""
    cdef const uint8_t[:, ::1] rows = _rows_arg(addresses, "addresses")
    cdef Py_ssize_t i, n = rows.shape[0]
    out = np.empty(n, dtype=np.uint8)
    if n == 0:
        return out
    cdef uint8_t *o = <uint8_t *>cnp.PyArray_DATA(out)
    with nogil:
        for i in range(n):
            o[i] = <uint8_t>addr_scope(addr_load(&rows[i, 0]), v4_all_global)
    return out
