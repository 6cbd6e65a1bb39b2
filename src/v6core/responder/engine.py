"""The responder's sans-IO engine, as seen from Python.

The decisions themselves are compiled (:mod:`v6core.responder._engine`): this module
names the verdicts, builds an :class:`Engine` from configured rules and offers
:func:`decide` for tests and tools -- a frame in, ``(verdict, reply bytes)`` out, no
socket, no clock (``now_ns`` is passed in).

Verdict codes share one space with the NDP codec's drop reasons: 0 is "answered",
1 .. 29 are :class:`v6core.errors.DropReason` (malformed or invalid per RFC 4861
section 7.1.1), 64 and up are the responder's policy drops (:class:`Verdict`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from v6core.responder._engine import NCOUNTERS, REASON_COUNT, Engine, Port
from v6core.responder._engine import decide as _decide

__all__ = ["Engine", "Port", "Verdict", "decide", "verdict_name", "NCOUNTERS",
           "COUNTER_RX", "COUNTER_TX", "COUNTER_RX_TRUNC", "COUNTER_BATCHES", "COUNTER_RX_ERR",
           "COUNTER_MISS_LOST",
           "build_engine"]


class Verdict(enum.IntEnum):
    """What the responder did with a frame (mirrors ``_engine.pxd``)."""

    ANSWER = 0
    NOT_NS = 64
    NO_RULE = 65
    EXCLUDED = 66
    OWN_ADDRESS = 67
    DAD_IGNORED = 68
    UNICAST_IGNORED = 69
    AUTO_NO_ROUTE = 70
    AUTO_SAME_IF = 71
    RATE_GLOBAL = 72
    RATE_SOURCE = 73
    NO_LINKLOCAL = 74
    BUILD_FAILED = 75
    TX_FAILED = 76
    OTHER_HOST = 77
    NOT_LIVE = 78


COUNTER_RX = 120
COUNTER_TX = 121
COUNTER_RX_TRUNC = 122
COUNTER_BATCHES = 123
COUNTER_RX_ERR = 124
COUNTER_MISS_LOST = 125


def verdict_name(code: int) -> str:
    """A lower-case name for any verdict code (codec reasons included)."""
    if 0 < code < REASON_COUNT:
        try:
            from v6core.errors import DropReason  # the codec's mirror
            return DropReason(code).name.lower()
        except (ImportError, ValueError):
            return f"codec_{code}"
    try:
        return Verdict(code).name.lower()
    except ValueError:
        return f"code_{code}"


def build_engine(rules: Iterable) -> Engine:
    """Compile :class:`~v6core.responder.config.Rule` objects into an :class:`Engine`."""
    return Engine(list(rules))


def decide(engine: Engine, port: Port, frame, now_ns: int = 0) -> tuple[int, bytes]:
    """Decide on one Ethernet frame: ``(verdict code, NA frame or b"")``.

    Counts into ``port.counters`` and the engine's per-rule counters like the daemon does.
    """
    out = bytearray(128)
    v, n = _decide(engine, port, frame, out, now_ns)
    return v, bytes(out[:n])
