"""Builders of ND frames: a C API only (cimport it; see ndp_build.pxd); the Python
builders are in ndp_write and ndp_batch."""

# Cython's module attributes: doctest table and the C-API capsules that cimport reads
__test__: dict[str, str]
__pyx_capi__: dict[str, object]
