"""Bulk RFC 6724 destination ordering over numpy arrays (compiled; see bulk.pyx)."""

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from v6core._core.addr import AddressLike

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
IntArray = npt.ArrayLike

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
    order: I64 | None
    first: I64
    rule: U8
    exact: U8

class Sources(NamedTuple):
    src: U8
    flags: U8
    plen: U8
    choice: I64

def iter_chunks(offsets: IntArray, max_rows: int) -> Iterator[tuple[int, int]]: ...
def as_rows(a: npt.NDArray[Any] | Sequence[AddressLike], name: str = ...) -> U8: ...
def check_offsets(offsets: IntArray, n: int) -> I64: ...
def offsets_from_groups(groups: npt.ArrayLike) -> tuple[I64, npt.NDArray[Any]]: ...
def positions(offsets: IntArray) -> npt.NDArray[np.uint32]: ...
def musl_keys(
    dst: U8,
    src: U8,
    flags: U8 | None = None,
    pos: U8 | None = None,
    *,
    offsets: IntArray | None = None,
    out: npt.NDArray[np.uint32] | None = None,
    threads: int | None = None,
) -> npt.NDArray[np.uint32]: ...
def sort_keys(
    dst: U8,
    src: U8,
    flags: U8 | None = None,
    plen: U8 | None = None,
    *,
    offsets: IntArray,
    flavor: str = "rfc6724",
    policy: Any = None,
    out: npt.NDArray[np.uint64] | None = None,
    threads: int | None = None,
) -> npt.NDArray[np.uint64]: ...
def order_groups(
    dst: U8,
    src: U8,
    flags: U8 | None = None,
    plen: U8 | None = None,
    *,
    offsets: IntArray,
    flavor: str = "rfc6724",
    policy: Any = None,
    want_order: bool = True,
    threads: int | None = None,
) -> GroupOrder: ...
def select_sources(
    dst: U8,
    host: IntArray,
    host_offsets: IntArray,
    candidates: U8,
    cand_flags: U8 | None = None,
    cand_plen: U8 | None = None,
    *,
    policy: Any = None,
    prefer_temporary: bool = True,
    threads: int | None = None,
) -> Sources: ...
