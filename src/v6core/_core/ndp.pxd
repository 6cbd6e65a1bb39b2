# cython: language_level=3
"""Neighbor Discovery frame codec: the C contract, gathered from its parts (cimport this).

The codec is split at its seams, each part with its own contract:

* ``ndp_types.pxd``  wire constants, reason codes, ``ndp_pkt_t`` / ``ndp_prefix_t`` and the
  inline address helpers (conventions for offsets, byte order and MACs);
* ``ndp_parse.pxd``  ``ndp_parse`` / ``ndp_parse_ex`` / ``ndp_parse_batch`` and the list of
  RFC 4861 checks in the order they run;
* ``ndp_cksum.pxd``  ``ndp_cksum``, the ICMPv6 checksum;
* ``ndp_build.pxd``  the NA, NS, RS, RA and ICMPv6 builders and ``ndp_build_na_reply``,
  the one place of the RFC 4861 section 7.2.4 reply rules.

The Python API (module ``v6core._core.ndp``) gathers ndp_frame (NDPFrame, parse,
inspect, validate), ndp_write (single-frame builders), ndp_batch (the batch API) and
ndp_cksum (icmp6_checksum).
"""

from v6core._core.ndp_types cimport *
from v6core._core.ndp_parse cimport ndp_parse, ndp_parse_ex, ndp_parse_batch
from v6core._core.ndp_cksum cimport ndp_cksum
from v6core._core.ndp_build cimport (
    ndp_build_na, ndp_build_ns, ndp_build_rs, ndp_build_ra, ndp_build_icmp6,
    ndp_build_na_reply,
)
