"""Neighbor Discovery (RFC 4861) frames: zero-copy parse and validation, and builders."""

import ipaddress
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

from v6core.errors import DropReason

_Buffer = bytes | bytearray | memoryview | npt.NDArray[np.uint8] | Any
_AddressLike = str | bytes | bytearray | memoryview | ipaddress.IPv6Address | ipaddress.IPv4Address
_MacLike = str | bytes | bytearray | memoryview
_IntArray = npt.ArrayLike

PKT_DTYPE: np.dtype[Any]

class PrefixInfo(NamedTuple):
    prefix: memoryview
    plen: int
    flags: int
    valid: int
    preferred: int

class Option(NamedTuple):
    type: int
    data: memoryview

@disjoint_base
class NDPFrame:
    @property
    def buffer(self) -> memoryview: ...
    @property
    def reason(self) -> DropReason: ...
    @property
    def type(self) -> int | None: ...
    @property
    def type_name(self) -> str: ...
    @property
    def code(self) -> int | None: ...
    @property
    def hop_limit(self) -> int | None: ...
    @property
    def flags(self) -> int | None: ...
    @property
    def router(self) -> bool: ...
    @property
    def solicited(self) -> bool: ...
    @property
    def override(self) -> bool: ...
    @property
    def vlan_tci(self) -> int | None: ...
    @property
    def vlan_id(self) -> int | None: ...
    @property
    def dst_mac(self) -> memoryview | None: ...
    @property
    def src_mac(self) -> memoryview | None: ...
    @property
    def ip6_off(self) -> int: ...
    @property
    def icmp_off(self) -> int: ...
    @property
    def icmp_len(self) -> int: ...
    @property
    def opt_off(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def bad_off(self) -> int: ...
    @property
    def n_ext(self) -> int: ...
    @property
    def n_opts(self) -> int: ...
    @property
    def n_prefix(self) -> int: ...
    @property
    def src(self) -> memoryview | None: ...
    @property
    def dst(self) -> memoryview | None: ...
    @property
    def target(self) -> memoryview | None: ...
    @property
    def destination(self) -> memoryview | None: ...
    @property
    def icmp(self) -> memoryview | None: ...
    @property
    def checksum(self) -> int | None: ...
    @property
    def sll(self) -> memoryview | None: ...
    @property
    def tll(self) -> memoryview | None: ...
    @property
    def nonce(self) -> memoryview | None: ...
    @property
    def mtu(self) -> int | None: ...
    @property
    def redirected(self) -> memoryview | None: ...
    @property
    def prefixes(self) -> list[PrefixInfo]: ...
    @property
    def options(self) -> list[Option]: ...
    @property
    def cur_hop_limit(self) -> int | None: ...
    @property
    def router_lifetime(self) -> int | None: ...
    @property
    def reachable_time(self) -> int | None: ...
    @property
    def retrans_timer(self) -> int | None: ...

def parse(frame: _Buffer, *, ip6: bool = False, verify_checksum: bool = True) -> NDPFrame: ...
def inspect(frame: _Buffer, *, ip6: bool = False, verify_checksum: bool = True) -> NDPFrame: ...
def validate(frame: _Buffer, *, ip6: bool = False, verify_checksum: bool = True) -> DropReason: ...
def write_na(
    out: _Buffer,
    *,
    src: _AddressLike,
    dst: _AddressLike,
    target: _AddressLike,
    src_mac: _MacLike,
    dst_mac: _MacLike | None = None,
    router: bool = False,
    solicited: bool = False,
    override: bool = True,
    tlla: _MacLike | None = None,
    vlan: int | None = None,
) -> int: ...
def build_na(**kw: Any) -> bytes: ...
def write_ns(
    out: _Buffer,
    *,
    src: _AddressLike,
    target: _AddressLike,
    src_mac: _MacLike,
    dst: _AddressLike | None = None,
    dst_mac: _MacLike | None = None,
    slla: _MacLike | None = None,
    nonce: _Buffer | None = None,
    vlan: int | None = None,
) -> int: ...
def build_ns(**kw: Any) -> bytes: ...
def write_rs(
    out: _Buffer,
    *,
    src: _AddressLike,
    src_mac: _MacLike,
    dst: _AddressLike = ...,
    dst_mac: _MacLike | None = None,
    slla: _MacLike | None = None,
    vlan: int | None = None,
) -> int: ...
def build_rs(**kw: Any) -> bytes: ...
def write_ra(
    out: _Buffer,
    *,
    src: _AddressLike,
    src_mac: _MacLike,
    dst: _AddressLike = ...,
    dst_mac: _MacLike | None = None,
    cur_hop_limit: int = 64,
    managed: bool = False,
    other: bool = False,
    flags: int = 0,
    router_lifetime: int = 1800,
    reachable_time: int = 0,
    retrans_timer: int = 0,
    slla: _MacLike | None = None,
    mtu: int | None = None,
    prefixes: Sequence[tuple[_AddressLike, int, int, int, int]] = (),
    vlan: int | None = None,
) -> int: ...
def build_ra(**kw: Any) -> bytes: ...
def write_icmp6(
    out: _Buffer,
    msg: _Buffer,
    *,
    src: _AddressLike,
    dst: _AddressLike,
    src_mac: _MacLike,
    dst_mac: _MacLike | None = None,
    hop_limit: int = 255,
    vlan: int | None = None,
) -> int: ...
def build_icmp6(msg: _Buffer, **kw: Any) -> bytes: ...
def write_na_reply(
    out: _Buffer,
    frame: _Buffer,
    mac: _MacLike,
    *,
    src: _AddressLike | None = None,
    router: bool = False,
    override: bool = True,
    ip6: bool = False,
) -> int: ...
def build_na_reply(frame: _Buffer, mac: _MacLike, **kw: Any) -> bytes: ...
def solicited_node(address: _AddressLike) -> bytes: ...
def multicast_mac(address: _AddressLike) -> bytes: ...
def icmp6_checksum(src: _AddressLike, dst: _AddressLike, msg: _Buffer) -> int: ...
def validate_batch(
    frames: _Buffer,
    offsets: _IntArray,
    lengths: _IntArray,
    out: npt.NDArray[np.uint8] | None = None,
    *,
    ip6: bool = False,
    verify_checksum: bool = True,
) -> npt.NDArray[np.uint8]: ...
def parse_batch(
    frames: _Buffer,
    offsets: _IntArray,
    lengths: _IntArray,
    *,
    ip6: bool = False,
    verify_checksum: bool = True,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[Any]]: ...
def addresses(field: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]: ...
def write_na_replies(
    frames: _Buffer,
    offsets: _IntArray,
    lengths: _IntArray,
    mac: _MacLike,
    out: _Buffer,
    out_offsets: npt.NDArray[np.int64] | None = None,
    out_lengths: npt.NDArray[np.int64] | None = None,
    *,
    mask: npt.ArrayLike | None = None,
    router: bool = False,
    override: bool = True,
    ip6: bool = False,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64], int]: ...
def write_na_batch(
    out: _Buffer,
    targets: npt.ArrayLike,
    src_mac: _MacLike,
    dst_mac: npt.ArrayLike,
    dsts: npt.ArrayLike,
    *,
    srcs: npt.ArrayLike | None = None,
    flags: int | npt.ArrayLike = 0x20,
    tlla: bool = True,
    vlan: int | None = None,
    out_offsets: npt.NDArray[np.int64] | None = None,
    out_lengths: npt.NDArray[np.int64] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
