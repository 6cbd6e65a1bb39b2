# cython: language_level=3
"""Neighbor Discovery (RFC 4861) frames: zero-copy parse and validation, and builders.

This module is the codec's public Python API; the work is done in its parts:
:mod:`~v6core._core.ndp_frame` (``NDPFrame``, ``parse``, ``inspect``, ``validate``),
:mod:`~v6core._core.ndp_write` (``write_*`` into a caller buffer and ``build_*`` returning
``bytes``, for NA, NS, RS, RA, any ICMPv6 message and the NA answering an NS),
:mod:`~v6core._core.ndp_batch` (``validate_batch``, ``parse_batch``, ``write_na_replies``,
``write_na_batch`` over N frames in one buffer) and :mod:`~v6core._core.ndp_cksum`
(``icmp6_checksum``).  The C contract is ``ndp.pxd``.
"""

from v6core._core.ndp_frame import NDPFrame, Option, PrefixInfo, inspect, parse, validate
from v6core._core.ndp_write import (
    build_icmp6, build_na, build_na_reply, build_ns, build_ra, build_rs, multicast_mac,
    solicited_node, write_icmp6, write_na, write_na_reply, write_ns, write_ra, write_rs,
)
from v6core._core.ndp_batch import (
    PKT_DTYPE, addresses, parse_batch, validate_batch, write_na_batch, write_na_replies,
)
from v6core._core.ndp_cksum import icmp6_checksum

__all__ = [
    "NDPFrame", "Option", "PKT_DTYPE", "PrefixInfo", "addresses", "build_icmp6", "build_na",
    "build_na_reply", "build_ns", "build_ra", "build_rs", "icmp6_checksum", "inspect",
    "multicast_mac", "parse", "parse_batch", "solicited_node", "validate", "validate_batch",
    "write_icmp6", "write_na", "write_na_batch", "write_na_replies", "write_na_reply",
    "write_ns", "write_ra", "write_rs",
]
