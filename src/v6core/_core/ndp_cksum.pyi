"""The ICMPv6 checksum (RFC 4443 section 2.3)."""

from v6core._core.ndp_args import _AddressLike, _Buffer

def icmp6_checksum(src: _AddressLike, dst: _AddressLike, msg: _Buffer) -> int: ...

# Cython's module attributes: doctest table and the C-API capsules that cimport reads
__test__: dict[str, str]
__pyx_capi__: dict[str, object]
