"""Bulk RFC 6724 destination ordering over numpy arrays (compiled; see bulk.pyx)."""

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from v6core._core.addr import AddressLike

_U8 = npt.NDArray[np.uint8]
_I64 = npt.NDArray[np.int64]
_IntArray = npt.ArrayLike

FLAG_USABLE: int
FLAG_DEPRECATED: int
FLAG_HOME: int
FLAG_CARE_OF: int
FLAG_TEMPORARY: int
FLAG_ENCAPSULATED: int
FLAG_OPTIMISTIC: int
PLEN_UNKNOWN: int
POS_LIMIT: int
EXACT_RULE9: int
EXACT_RULE4: int
EXACT_RULE7: int
EXACT_SIZE: int
FLAVORS: tuple[str, str, str]
MAXADDRS: int

class GroupOrder(NamedTuple):
    order: _I64 | None
    first: _I64
    rule: _U8
    exact: _U8

class Sources(NamedTuple):
    src: _U8
    flags: _U8
    plen: _U8
    choice: _I64

def iter_chunks(offsets: _IntArray, max_rows: int) -> Iterator[tuple[int, int]]: ...
def as_rows(a: npt.NDArray[Any] | Sequence[AddressLike], name: str = ...) -> _U8: ...
def check_offsets(offsets: _IntArray, n: int) -> _I64: ...
def offsets_from_groups(groups: npt.ArrayLike) -> tuple[_I64, npt.NDArray[Any]]: ...
def positions(offsets: _IntArray) -> npt.NDArray[np.uint32]: ...
def musl_keys(
    dst: _U8,
    src: _U8,
    flags: _U8 | None = None,
    pos: _U8 | None = None,
    *,
    offsets: _IntArray | None = None,
    out: npt.NDArray[np.uint32] | None = None,
    threads: int | None = None,
) -> npt.NDArray[np.uint32]: ...
def sort_keys(
    dst: _U8,
    src: _U8,
    flags: _U8 | None = None,
    plen: _U8 | None = None,
    *,
    offsets: _IntArray,
    flavor: str = "rfc6724",
    policy: Any = None,
    out: npt.NDArray[np.uint64] | None = None,
    threads: int | None = None,
) -> npt.NDArray[np.uint64]: ...
def order_groups(
    dst: _U8,
    src: _U8,
    flags: _U8 | None = None,
    plen: _U8 | None = None,
    *,
    offsets: _IntArray,
    flavor: str = "rfc6724",
    policy: Any = None,
    want_order: bool = True,
    threads: int | None = None,
) -> GroupOrder: ...
def select_sources(
    dst: _U8,
    host: _IntArray,
    host_offsets: _IntArray,
    candidates: _U8,
    cand_flags: _U8 | None = None,
    cand_plen: _U8 | None = None,
    *,
    policy: Any = None,
    prefer_temporary: bool = True,
    threads: int | None = None,
) -> Sources: ...
def classify(dst: _U8, threads: int | None = None) -> _U8: ...
