"""Batched AF_PACKET NS load generator and NA collector for benchmarks (compiled)."""

from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

@disjoint_base
class LoadGen:
    sent: int
    send_failed: int
    received: int
    matched: int
    foreign: int
    stop: bool
    def __init__(self, tx_fd: int, rx_fd: int, src_mac: bytes, src: Any, base: Any,
                 n_targets: int, max_samples: int = 4000000) -> None: ...
    def reset(self) -> None: ...
    @property
    def latencies_ns(self) -> npt.NDArray[np.int64]: ...
    def send(self, rate: float, duration: float, start_index: int = 0) -> int: ...
    def collect(self) -> int: ...
