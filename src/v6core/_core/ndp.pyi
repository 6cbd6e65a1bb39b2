"""Neighbor Discovery (RFC 4861) frames: zero-copy parse and validation, and builders."""

from v6core._core.ndp_batch import PKT_DTYPE as PKT_DTYPE
from v6core._core.ndp_batch import addresses as addresses
from v6core._core.ndp_batch import parse_batch as parse_batch
from v6core._core.ndp_batch import validate_batch as validate_batch
from v6core._core.ndp_batch import write_na_batch as write_na_batch
from v6core._core.ndp_batch import write_na_replies as write_na_replies
from v6core._core.ndp_cksum import icmp6_checksum as icmp6_checksum
from v6core._core.ndp_frame import NDPFrame as NDPFrame
from v6core._core.ndp_frame import Option as Option
from v6core._core.ndp_frame import PrefixInfo as PrefixInfo
from v6core._core.ndp_frame import inspect as inspect
from v6core._core.ndp_frame import parse as parse
from v6core._core.ndp_frame import validate as validate
from v6core._core.ndp_write import build_icmp6 as build_icmp6
from v6core._core.ndp_write import build_na as build_na
from v6core._core.ndp_write import build_na_reply as build_na_reply
from v6core._core.ndp_write import build_ns as build_ns
from v6core._core.ndp_write import build_ra as build_ra
from v6core._core.ndp_write import build_rs as build_rs
from v6core._core.ndp_write import multicast_mac as multicast_mac
from v6core._core.ndp_write import solicited_node as solicited_node
from v6core._core.ndp_write import write_icmp6 as write_icmp6
from v6core._core.ndp_write import write_na as write_na
from v6core._core.ndp_write import write_na_reply as write_na_reply
from v6core._core.ndp_write import write_ns as write_ns
from v6core._core.ndp_write import write_ra as write_ra
from v6core._core.ndp_write import write_rs as write_rs

__all__ = [
    "NDPFrame", "Option", "PKT_DTYPE", "PrefixInfo", "addresses", "build_icmp6", "build_na",
    "build_na_reply", "build_ns", "build_ra", "build_rs", "icmp6_checksum", "inspect",
    "multicast_mac", "parse", "parse_batch", "solicited_node", "validate", "validate_batch",
    "write_icmp6", "write_na", "write_na_batch", "write_na_replies", "write_na_reply",
    "write_ns", "write_ra", "write_rs",
]

# Cython's module attributes: doctest table
__test__: dict[str, str]
