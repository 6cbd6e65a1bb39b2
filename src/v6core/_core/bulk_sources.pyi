"""Bulk source selection (compiled; see bulk_sources.pyx)."""

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

_U8 = npt.NDArray[np.uint8]
_I64 = npt.NDArray[np.int64]

class Sources(NamedTuple):
    src: _U8
    flags: _U8
    plen: _U8
    choice: _I64

def select_sources(
    dst: _U8,
    host: npt.ArrayLike,
    host_offsets: npt.ArrayLike,
    candidates: _U8,
    cand_flags: _U8 | None = None,
    cand_plen: _U8 | None = None,
    *,
    policy: Any = None,
    prefer_temporary: bool = True,
    threads: int | None = None,
) -> Sources: ...
