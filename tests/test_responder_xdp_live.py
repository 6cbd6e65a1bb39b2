"""Learn and docker rules are never answered by the XDP program: it hands their
solicitations to the engine as stateful (the live set lives in user space), whether or
not the target is live, and the engine then decides (BPF_PROG_TEST_RUN, root)."""

from __future__ import annotations

import ipaddress

import pytest

from tests.test_responder_xdp import REASON, Pair, build_ns
from v6core.responder._live import LiveSet
from v6core.responder.config import Rule
from v6core.responder.engine import Verdict, decide
from v6core.responder.xdp import XdpReason

pytestmark = pytest.mark.skipif(bool(REASON), reason=REASON or "")

LIVE = "2001:db8::5"
DEAD = "2001:db8::6"
STATIC = "2001:db8:1::5"
SLLA = bytes.fromhex("02000000000a")


def ns_for(target: str, *, unicast: bool = False) -> bytes:
    t = ipaddress.IPv6Address(target).packed
    return build_ns(target=t, src=ipaddress.IPv6Address("2001:db8::99").packed,
                    dst=t if unicast else None, slla=SLLA, vlan=None)


@pytest.mark.parametrize("mode", ["learn", "docker"])
def test_live_rules_pass_to_the_engine_static_ones_are_answered(mode):
    rules = [Rule(prefix="2001:db8::/64", **{mode: True}), Rule(prefix="2001:db8:1::/64")]
    p = Pair(rules)
    try:
        live = LiveSet(16)
        live.add(LIVE)
        p.port.set_live(live)
        for unicast in (False, True):        # a NUD probe too
            # live: the program still passes it; the engine answers
            assert p.check(ns_for(LIVE, unicast=unicast)) == XdpReason.STATEFUL
            assert decide(p.engine, p.port, ns_for(LIVE, unicast=unicast))[0] == Verdict.ANSWER
            # not live: passed as well; the engine refuses it
            assert p.check(ns_for(DEAD, unicast=unicast)) == XdpReason.STATEFUL
            assert decide(p.engine, p.port, ns_for(DEAD, unicast=unicast))[0] == \
                Verdict.NOT_LIVE
            # the static rule beside it is answered in the kernel
            assert p.check(ns_for(STATIC, unicast=unicast)) == XdpReason.ANSWERED
    finally:
        p.close()
