"""The compiled batch loop (recvmmsg -> decide -> sendmmsg) on an AF_UNIX datagram
socketpair: no root, the kernel's real system calls, scapy checks every reply."""

from __future__ import annotations

import socket

import pytest

from v6core.errors import DropReason
from v6core.responder._loop import Batcher
from v6core.responder.config import Rule
from v6core.responder.engine import (
    COUNTER_BATCHES,
    COUNTER_RX,
    COUNTER_RX_TRUNC,
    COUNTER_TX,
    Engine,
    Port,
    Verdict,
)

pytest.importorskip("scapy.layers.inet6")
from scapy.layers.inet6 import ICMPv6ND_NA  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

from tests.test_responder_engine import PFX, ns  # noqa: E402


@pytest.fixture
def pair():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def _replies(a):
    a.setblocking(False)
    out = []
    try:
        while True:
            out.append(Ether(a.recv(4096)))
    except BlockingIOError:
        return out


def test_batches_of_frames_answered_in_order(pair):
    a, b = pair
    eng = Engine([Rule(prefix=PFX)])
    prt = Port(3, bytes.fromhex("020000000002"))
    targets = [f"2001:db8:f440:2:646f:636b:6572:{i:x}" for i in range(1, 151)]
    for t in targets:
        a.send(ns(target=t))
    a.send(ns(target="2001:db8:f440:9::1"))              # no rule
    bad = bytearray(ns())
    bad[14 + 40 + 2] ^= 0xFF
    a.send(bytes(bad))                                    # bad checksum
    batcher = Batcher(64)
    assert batcher.run(b.fileno(), eng, prt) == 152
    got = _replies(a)
    assert [p[ICMPv6ND_NA].tgt for p in got] == targets
    c = prt.counters
    assert (c[COUNTER_RX], c[COUNTER_TX], c[Verdict.ANSWER]) == (152, 150, 150)
    assert c[Verdict.NO_RULE] == 1 and c[DropReason.CHECKSUM] == 1
    assert c[COUNTER_BATCHES] == 3                         # 64 + 64 + 24
    assert batcher.run(b.fileno(), eng, prt) == 0         # empty socket: returns at once


def test_max_rounds_bounds_one_run(pair):
    a, b = pair
    eng = Engine([Rule(prefix=PFX)])
    prt = Port(3, bytes.fromhex("020000000002"))
    for _ in range(40):
        a.send(ns())
    batcher = Batcher(8)
    assert batcher.run(b.fileno(), eng, prt, max_rounds=2) == 16
    assert batcher.run(b.fileno(), eng, prt) == 24


def test_oversized_frames_are_counted_not_answered(pair):
    a, b = pair
    eng = Engine([Rule(prefix=PFX)])
    prt = Port(3, bytes.fromhex("020000000002"))
    a.send(ns() + bytes(400))
    a.send(ns())
    assert Batcher(4, slot=256).run(b.fileno(), eng, prt) == 2
    assert prt.counters[COUNTER_RX_TRUNC] == 1 and prt.counters[COUNTER_TX] == 1
    assert len(_replies(a)) == 1


def test_serve_returns_for_the_other_descriptors(pair):
    a, b = pair
    eng = Engine([Rule(prefix=PFX)])
    prt = Port(3, bytes.fromhex("020000000002"))
    r, w = socket.socketpair()
    with r, w:
        batcher = Batcher()
        assert batcher.serve([b.fileno()], [eng], [prt], [r.fileno()], 10) == (0, -1)
        a.send(ns())
        w.send(b"x")
        # the packet is served inside; the extra descriptor brings us back
        assert batcher.serve([b.fileno()], [eng], [prt], [r.fileno()], 1000) == (1, 0)
        assert prt.counters[COUNTER_TX] in (0, 1)
        r.recv(1)
        if prt.counters[COUNTER_TX] == 0:
            assert batcher.serve([b.fileno()], [eng], [prt], [r.fileno()], 10) == (0, -1)
        assert prt.counters[COUNTER_TX] == 1 and len(_replies(a)) == 1
        with pytest.raises(ValueError, match=r"index 0: engine: expected an Engine, got Port"):
            batcher.serve([b.fileno()], [prt], [eng], [], 0)
