"""Single-frame builders of the Python API and the multicast address helpers."""

from collections.abc import Sequence
from typing import Any

from v6core._core.ndp_args import _AddressLike, _Buffer, _MacLike

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

# Cython's module attributes: doctest table
__test__: dict[str, str]
