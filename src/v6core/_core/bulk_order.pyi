"""Bulk grouping (compiled; see bulk_order.pyx)."""

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

_U8 = npt.NDArray[np.uint8]
_I64 = npt.NDArray[np.int64]

EXACT_RULE9: int
EXACT_RULE4: int
EXACT_RULE7: int
EXACT_SIZE: int

class GroupOrder(NamedTuple):
    order: _I64 | None
    first: _I64
    rule: _U8
    exact: _U8

def order_groups(
    dst: _U8,
    src: _U8,
    flags: _U8 | None = None,
    plen: _U8 | None = None,
    *,
    offsets: npt.ArrayLike,
    flavor: str = "rfc6724",
    policy: Any = None,
    want_order: bool = True,
    threads: int | None = None,
    known_local: Any = None,
    learn_known_local: bool = True,
    groups: npt.NDArray[np.uint8] | npt.NDArray[np.bool_] | None = None,
) -> GroupOrder: ...
