"""The shapes a simulation reads: chunks of whole lookups, a fleet's hosts and their
candidate sources, and a dataset that yields chunks.

The readers (:mod:`v6core.simulate.readers`) and the built-in fleet
(:mod:`v6core.simulate.fleet`) produce these; :mod:`v6core.simulate.engine` consumes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from v6core._core import bulk

__all__ = ["FLAG_NAMES", "Chunk", "Dataset", "Fleet"]

# source address flags by the names CSV/Parquet files use (RFC 6724 section 5 rules 3, 4, 7)
FLAG_NAMES = {
    "deprecated": bulk.FLAG_DEPRECATED,
    "temporary": bulk.FLAG_TEMPORARY,
    "home": bulk.FLAG_HOME,
    "care_of": bulk.FLAG_CARE_OF,
    "encapsulated": bulk.FLAG_ENCAPSULATED,
    "optimistic": bulk.FLAG_OPTIMISTIC,
}


@dataclass
class Chunk:
    """Whole lookups: ``offsets`` (L + 1) over rows of ``dst``; either ``host`` (L,) for
    fleet datasets, or ``src``/``flags``/``plen`` per row for resolved ones."""

    offsets: np.ndarray
    dst: np.ndarray
    host: np.ndarray | None = None
    src: np.ndarray | None = None
    flags: np.ndarray | None = None
    plen: np.ndarray | None = None
    runtime: np.ndarray | None = None           # (L,) uint8 index into simulate.runtimes.RUNTIMES

    @property
    def lookups(self) -> int:
        return int(self.offsets.shape[0] - 1)


@dataclass
class Fleet:
    """Hosts and their candidate source addresses (CSR: host_offsets over candidates)."""

    host_offsets: np.ndarray
    candidates: np.ndarray
    cand_flags: np.ndarray
    cand_plen: np.ndarray
    profile: np.ndarray | None = None           # (H,) index into profile_names
    profile_names: tuple[str, ...] = ()

    @property
    def hosts(self) -> int:
        return int(self.host_offsets.shape[0] - 1)


@dataclass
class Dataset:
    """A named source of lookup chunks (see the module docstring)."""

    name: str
    lookups: int | None
    chunks: Any                                  # callable(max_rows) -> Iterator[Chunk]
    fleet: Fleet | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def iter_chunks(self, max_rows: int = 1 << 20) -> Iterator[Chunk]:
        return iter(self.chunks(max_rows))

