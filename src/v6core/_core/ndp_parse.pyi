"""Parsing and RFC 4861 validation of ND frames: a C API only (cimport it; see
ndp_parse.pxd); the Python entry points are in ndp_frame and ndp_batch."""

# Cython's module attributes: doctest table and the C-API capsules that cimport reads
__test__: dict[str, str]
__pyx_capi__: dict[str, object]
