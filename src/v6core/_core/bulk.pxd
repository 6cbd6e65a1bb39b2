# cython: language_level=3
"""Bulk RFC 6724 destination ordering over numpy arrays: the C contract.

The bulk kernels are split at their seams, each with its own contract:
``bulk_common.pxd`` (row layout, argument checks), ``bulk_keys.pxd`` (sort keys),
``bulk_order.pxd`` (grouping) and ``srcsel.pxd`` (source selection).  The per-flavour
rules are ``sortkey.pxd``'s.  ``v6core._core.bulk`` is the public module over them.
"""

from v6core._core.bulk_common cimport BULK_PLEN_UNKNOWN, bulk_load_row
from v6core._core.bulk_keys cimport (
    BULK_K_CPL, BULK_POS_LIMIT, bulk_musl_key_fast, bulk_wide_key,
)
from v6core._core.bulk_order cimport (
    BULK_EXACT_RULE9, BULK_EXACT_RULE4, BULK_EXACT_RULE7, BULK_EXACT_SIZE, bulk_order_group,
)
