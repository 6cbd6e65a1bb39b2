"""Bulk sort keys (compiled; see bulk_keys.pyx)."""

from typing import Any

import numpy as np
import numpy.typing as npt

_U8 = npt.NDArray[np.uint8]

POS_LIMIT: int

def musl_tables() -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.uintc]]: ...
def bulk_wide_table(cp: Any, flavor: int) -> npt.NDArray[np.uint16] | None: ...

def musl_keys(
    dst: _U8,
    src: _U8,
    flags: _U8 | None = None,
    pos: _U8 | None = None,
    *,
    offsets: npt.ArrayLike | None = None,
    out: npt.NDArray[np.uint32] | None = None,
    threads: int | None = None,
) -> npt.NDArray[np.uint32]: ...
def sort_keys(
    dst: _U8,
    src: _U8,
    flags: _U8 | None = None,
    plen: _U8 | None = None,
    *,
    offsets: npt.ArrayLike,
    flavor: str = "rfc6724",
    policy: Any = None,
    out: npt.NDArray[np.uint64] | None = None,
    threads: int | None = None,
    known_local: Any = None,
    learn_known_local: bool = True,
) -> npt.NDArray[np.uint64]: ...
