"""Bulk RFC 6724 destination ordering over numpy arrays (compiled; see bulk.pyx)."""

import numpy as np
import numpy.typing as npt

from v6core._core.bulk_common import (
    PLEN_UNKNOWN as PLEN_UNKNOWN,
)
from v6core._core.bulk_common import (
    as_rows as as_rows,
)
from v6core._core.bulk_common import (
    check_offsets as check_offsets,
)
from v6core._core.bulk_common import (
    iter_chunks as iter_chunks,
)
from v6core._core.bulk_common import (
    offsets_from_groups as offsets_from_groups,
)
from v6core._core.bulk_common import (
    positions as positions,
)
from v6core._core.bulk_keys import POS_LIMIT as POS_LIMIT
from v6core._core.bulk_keys import musl_keys as musl_keys
from v6core._core.bulk_keys import sort_keys as sort_keys
from v6core._core.bulk_order import (
    EXACT_RULE4 as EXACT_RULE4,
)
from v6core._core.bulk_order import (
    EXACT_RULE7 as EXACT_RULE7,
)
from v6core._core.bulk_order import (
    EXACT_RULE9 as EXACT_RULE9,
)
from v6core._core.bulk_order import (
    EXACT_SIZE as EXACT_SIZE,
)
from v6core._core.bulk_order import (
    GroupOrder as GroupOrder,
)
from v6core._core.bulk_order import (
    order_groups as order_groups,
)
from v6core._core.bulk_sources import Sources as Sources
from v6core._core.bulk_sources import select_sources as select_sources

__all__ = [
    "FLAG_USABLE", "FLAG_DEPRECATED", "FLAG_HOME", "FLAG_CARE_OF", "FLAG_TEMPORARY",
    "FLAG_ENCAPSULATED", "FLAG_OPTIMISTIC", "PLEN_UNKNOWN", "POS_LIMIT", "EXACT_RULE9",
    "EXACT_RULE4", "EXACT_RULE7", "EXACT_SIZE", "FLAVORS", "MAXADDRS", "GroupOrder",
    "Sources", "iter_chunks", "as_rows", "check_offsets", "offsets_from_groups",
    "positions", "musl_keys", "sort_keys", "order_groups", "select_sources", "classify",
]

FLAG_USABLE: int
FLAG_DEPRECATED: int
FLAG_HOME: int
FLAG_CARE_OF: int
FLAG_TEMPORARY: int
FLAG_ENCAPSULATED: int
FLAG_OPTIMISTIC: int
FLAVORS: tuple[str, ...]
MAXADDRS: int

def classify(dst: npt.NDArray[np.uint8], threads: int | None = None) -> npt.NDArray[np.uint8]: ...
