# cython: language_level=3
"""Address conversion: text, bytes and ipaddress objects to ``addr128_t`` and back."""

from v6core._core.types cimport addr128_t


cdef int addr_parse(const char *s, Py_ssize_t n, addr128_t *out) noexcept nogil
cdef Py_ssize_t addr_format(addr128_t a, char *buf, bint v4) noexcept nogil
cdef int addr_from_object(object o, addr128_t *out) except -1
cdef bytes addr_to_bytes(addr128_t a)
cdef str addr_to_str(addr128_t a, bint v4)
