"""Python-argument handling shared by the NDP codec's Python API (no public names).

The aliases below name the argument types the API accepts."""

import ipaddress
from typing import Any

import numpy as np
import numpy.typing as npt

_Buffer = bytes | bytearray | memoryview | npt.NDArray[np.uint8] | Any
_AddressLike = str | bytes | bytearray | memoryview | ipaddress.IPv6Address | ipaddress.IPv4Address
_MacLike = str | bytes | bytearray | memoryview
_IntArray = npt.ArrayLike

# Cython's module attributes: doctest table and the C-API capsules that cimport reads
__test__: dict[str, str]
__pyx_capi__: dict[str, object]
