"""The live-target set and the engine's learn and docker rules (no root).

The set is checked against Python's own ``set`` of ``ipaddress`` objects under random
adds and removes (hypothesis); the engine is fed NS frames built by scapy and its NA is
dissected by scapy.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from v6core.responder._live import LiveSet
from v6core.responder.config import Rule
from v6core.responder.engine import Engine, Port, Verdict, decide

pytest.importorskip("scapy.layers.inet6")
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

PFX = "2001:db8:f440:2:646f:636b:6572::/112"
BASE = int(ipaddress.IPv6Address("2001:db8:f440:2:646f:636b:6572:0"))
RTR = "2001:db8:f440:2::1"
RTR_MAC = "02:00:00:00:00:01"
HOST_MAC = bytes.fromhex("020000000002")


def addr(i: int) -> str:
    return str(ipaddress.IPv6Address(BASE + i))


def ns(target: str, dst: str | None = None) -> bytes:
    a = ipaddress.IPv6Address(target).packed
    dst = dst or str(ipaddress.IPv6Address(bytes.fromhex("ff0200000000000000000001ff") + a[13:]))
    mac = "33:33:" + ":".join(f"{b:02x}" for b in ipaddress.IPv6Address(dst).packed[12:])
    return bytes(Ether(src=RTR_MAC, dst=mac) / IPv6(src=RTR, dst=dst, hlim=255)
                 / ICMPv6ND_NS(tgt=target) / ICMPv6NDOptSrcLLAddr(lladdr=RTR_MAC))


# -- the set --------------------------------------------------------------------------------


ops = st.lists(st.tuples(st.booleans(), st.integers(0, 300)), max_size=400)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_live_set_matches_python_set(seq):
    s = LiveSet(64)
    model: set[ipaddress.IPv6Address] = set()
    for add, i in seq:
        a = ipaddress.IPv6Address(BASE + i * 0x10001)   # spread over both halves
        if add:
            want = a not in model and len(model) < 64
            assert s.add(str(a)) is want
            if want:
                model.add(a)
        else:
            assert s.discard(a.packed) is (a in model)
            model.discard(a)
        assert len(s) == len(model)
    assert {ipaddress.IPv6Address(x) for x in s} == model
    for i in range(0, 301, 7):
        a = ipaddress.IPv6Address(BASE + i * 0x10001)
        assert (str(a) in s) is (a in model)
        assert s.contains_counted(a) is (a in model)


def test_live_set_is_bounded_and_survives_churn():
    s = LiveSet(100)
    assert s.slot_count == 256
    for round_ in range(50):           # tombstones pile up and are swept by rehashing
        for i in range(100):
            assert s.add(addr(round_ * 1000 + i))
        assert not s.add(addr(999999))  # full: refused, not grown
        assert s.slot_count == 256
        for i in range(100):
            assert s.discard(addr(round_ * 1000 + i))
    assert len(s) == 0 and list(s) == []


def test_live_set_counts_hits_and_misses():
    s = LiveSet(4)
    s.add(addr(1))
    assert s.contains_counted(addr(1)) and not s.contains_counted(addr(2))
    assert (s.hits, s.misses) == (1, 1)


@pytest.mark.parametrize("bad", ["not-an-address", "2001:db8::/64", b"\x00" * 3, 12.5])
def test_live_set_refuses_bad_addresses(bad):
    with pytest.raises((ValueError, TypeError)):
        LiveSet(4).add(bad)


@pytest.mark.parametrize("cap", [0, -1, (1 << 24) + 1])
def test_live_set_capacity_checked(cap):
    with pytest.raises(ValueError, match="capacity"):
        LiveSet(cap)


# -- the engine's live rules ----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["learn", "docker"])
def test_engine_answers_only_live_targets(mode):
    eng = Engine([Rule(prefix=PFX, **{mode: True})])
    port = Port(3, HOST_MAC)
    v, out = decide(eng, port, ns(addr(5)))
    assert v == Verdict.NOT_LIVE and out == b""        # no live set: nothing is live
    live = LiveSet(16)
    port.set_live(live)
    live.add(addr(5))
    v, out = decide(eng, port, ns(addr(5)))
    assert v == Verdict.ANSWER
    na = Ether(out)
    assert na[IPv6].src == addr(5) and na[ICMPv6ND_NA].tgt == addr(5)
    # a unicast NUD probe for the live target is answered too (RFC 4861 7.3.1)
    v, out = decide(eng, port, ns(addr(5), dst=addr(5)))
    assert v == Verdict.ANSWER and Ether(out)[ICMPv6ND_NA].S == 1
    assert decide(eng, port, ns(addr(6)))[0] == Verdict.NOT_LIVE
    live.discard(addr(5))                               # withdrawn: no longer answered
    assert decide(eng, port, ns(addr(5)))[0] == Verdict.NOT_LIVE


def test_learn_misses_are_queued_bounded_docker_misses_are_not():
    learn = Engine([Rule(prefix=PFX, learn=True)])
    docker = Engine([Rule(prefix=PFX, docker=True)])
    port = Port(3, HOST_MAC)
    port.set_live(LiveSet(16))
    decide(docker, port, ns(addr(9)))
    assert port.n_miss == 0
    decide(learn, port, ns(addr(7)))
    decide(learn, port, ns(addr(8)))
    assert port.take_misses() == [ipaddress.IPv6Address(addr(7)).packed,
                                  ipaddress.IPv6Address(addr(8)).packed]
    assert port.take_misses() == []
    for i in range(100):
        decide(learn, port, ns(addr(100 + i)))
    got = port.take_misses()
    assert len(got) == 64 and got[0] == ipaddress.IPv6Address(addr(100)).packed
    assert port.counters[125] == 36                     # the lost ones are counted


def test_static_rule_ignores_the_live_set():
    eng = Engine([Rule(prefix=PFX)])
    port = Port(3, HOST_MAC)
    port.set_live(LiveSet(4))
    assert decide(eng, port, ns(addr(5)))[0] == Verdict.ANSWER


def test_dad_watch_on_a_vanished_interface_is_closed_not_polled_again():
    # A packet socket whose interface went away reports ENETDOWN on every recv and poll
    # keeps waking for it: the watch must be closed, or the daemon spins on it.
    import errno

    from v6core.responder.config import loads
    from v6core.responder.live import LiveTargets

    cfg = loads('[[interface]]\nname = "up0"\n[[interface.rule]]\n'
                'prefix = "2001:db8:1::/64"\nlearn = true\n')
    lt = LiveTargets(cfg, {}, lambda k: None)

    class Gone:
        closed = False

        def recv(self, n):
            raise OSError(errno.ENETDOWN, "Network is down")

        def fileno(self):
            return 99

        def close(self):
            self.closed = True

    s = Gone()
    lt._dad[7] = s          # type: ignore[assignment]
    assert "dad7" in [k for _, k in lt.fds()]
    lt._read_dad(7, 0.0)
    assert s.closed and 7 not in lt._dad
    assert "dad7" not in [k for _, k in lt.fds()]
