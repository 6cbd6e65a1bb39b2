"""RFC 6724 section 5 source address selection (compiled; see srcsel.pyx)."""

from collections.abc import Sequence

from v6core._core.addr import AddressLike
from v6core._core.sortkey import CompiledPolicy, SourceAddress

def select_index(
    destination: AddressLike,
    candidates: list[SourceAddress],
    policy: CompiledPolicy,
    interface: int | None = None,
    prefer_temporary: bool = True,
    next_hop: Sequence[bool] | None = None,
) -> int: ...
