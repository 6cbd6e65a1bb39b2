"""The batch API: N frames in one buffer, no Python object per frame."""

from typing import Any

import numpy as np
import numpy.typing as npt

from v6core._core.ndp_args import _Buffer, _IntArray, _MacLike

PKT_DTYPE: np.dtype[Any]

def validate_batch(
    frames: _Buffer,
    offsets: _IntArray,
    lengths: _IntArray,
    out: npt.NDArray[np.uint8] | None = None,
    *,
    ip6: bool = False,
    verify_checksum: bool = True,
) -> npt.NDArray[np.uint8]: ...
def parse_batch(
    frames: _Buffer,
    offsets: _IntArray,
    lengths: _IntArray,
    *,
    ip6: bool = False,
    verify_checksum: bool = True,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[Any]]: ...
def addresses(field: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]: ...
def write_na_replies(
    frames: _Buffer,
    offsets: _IntArray,
    lengths: _IntArray,
    mac: _MacLike,
    out: _Buffer,
    out_offsets: npt.NDArray[np.int64] | None = None,
    out_lengths: npt.NDArray[np.int64] | None = None,
    *,
    mask: npt.ArrayLike | None = None,
    router: bool = False,
    override: bool = True,
    ip6: bool = False,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64], int]: ...
def write_na_batch(
    out: _Buffer,
    targets: npt.ArrayLike,
    src_mac: _MacLike,
    dst_mac: npt.ArrayLike,
    dsts: npt.ArrayLike,
    *,
    srcs: npt.ArrayLike | None = None,
    flags: int | npt.ArrayLike = 0x20,
    tlla: bool = True,
    vlan: int | None = None,
    out_offsets: npt.NDArray[np.int64] | None = None,
    out_lengths: npt.NDArray[np.int64] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...

# Cython's module attributes: doctest table
__test__: dict[str, str]
