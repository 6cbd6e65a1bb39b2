"""Destination ordering keys and sorts for RFC 6724, glibc 2.36 and musl 1.2.x (compiled)."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from v6core._core.addr import AddressLike

FLAVORS: tuple[str, ...]
KNOWN_LOCAL_PRECEDENCE: int
KNOWN_LOCAL_LABEL: int
RFC6724: int
GLIBC: int
MUSL: int
GO: int
MAXADDRS: int
NO_LABEL: int
F_DEPRECATED: int
F_HOME: int
F_CAREOF: int
F_TEMPORARY: int
F_ENCAP: int
F_OPTIMISTIC: int


def flavor_code(flavor: str) -> int: ...

class CompiledPolicy:
    precedence_rows: tuple[tuple[bytes, int, int], ...]
    label_rows: tuple[tuple[bytes, int, int], ...]
    scope4_rows: tuple[tuple[int, int, int], ...]
    def __init__(
        self,
        precedence_rows: Iterable[tuple[bytes, int, int]],
        label_rows: Iterable[tuple[bytes, int, int]],
        scope4_rows: Iterable[tuple[int, int, int]] = ...,
        precedence_default: int = ...,
        label_default: int = ...,
    ) -> None: ...
    def accelerate(self) -> None: ...
    def precedence(self, address: AddressLike) -> int: ...
    def label(self, address: AddressLike) -> int: ...
    def scope(self, address: AddressLike, flavor: str = ...) -> int: ...

class SourceAddress:
    def __init__(
        self,
        address: AddressLike,
        prefixlen: int | None = None,
        deprecated: bool = False,
        temporary: bool = False,
        home: bool = False,
        care_of: bool = False,
        encapsulated: bool = False,
        ifindex: int | None = None,
        *,
        optimistic: bool = False,
    ) -> None: ...
    @property
    def address(self) -> str: ...
    @property
    def packed(self) -> bytes: ...
    @property
    def prefixlen(self) -> int | None: ...
    @property
    def deprecated(self) -> bool: ...
    @property
    def temporary(self) -> bool: ...
    @property
    def home(self) -> bool: ...
    @property
    def care_of(self) -> bool: ...
    @property
    def encapsulated(self) -> bool: ...
    @property
    def optimistic(self) -> bool: ...
    @property
    def ifindex(self) -> int | None: ...
    @property
    def is_ipv4(self) -> bool: ...
    @property
    def flags(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

SourceLike = SourceAddress | AddressLike | None
Sources = Mapping[Any, SourceLike] | Sequence[SourceLike] | Callable[[Any], SourceLike]

def sort_destinations(
    destinations: Iterable[Any], sources: Sources, flavor: int, policy: CompiledPolicy
) -> list[Any]: ...
def analyze(
    destinations: Iterable[Any], sources: Sources, flavor: int, policy: CompiledPolicy
) -> tuple[list[int], list[dict[str, Any]], list[int], bool]: ...
def musl_sort_key(
    destination: AddressLike, source: SourceLike, index: int, policy: CompiledPolicy
) -> int: ...
def wide_key(
    destination: AddressLike, source: SourceLike, flavor: int, policy: CompiledPolicy
) -> int: ...
def common_prefix_len(
    source: AddressLike, destination: AddressLike, flavor: int, prefixlen: int | None = None
) -> int: ...
def source_attrs(s: SourceAddress) -> tuple[bytes, int, int, int]: ...
