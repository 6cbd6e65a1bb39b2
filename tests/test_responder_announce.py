"""The Announcer alone: unsolicited NAs (RFC 4861 7.2.6) under a fake clock, each frame
dissected by scapy (an independent decoder, checksum recomputed by scapy)."""

from __future__ import annotations

import pytest

from v6core.responder.announce import MAX_NEIGHBOR_ADVERTISEMENT, RETRANS_TIMER, Announcer

pytest.importorskip("scapy.layers.inet6")
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6ND_NA,
    ICMPv6NDOptDstLLAddr,
    IPv6,
    in6_chksum,
)
from scapy.layers.l2 import Ether  # noqa: E402

MAC = bytes.fromhex("02005e005301")
TARGET = "2001:db8:f440:2:646f:636b:6572:5"


class Wire:
    def __init__(self, ok: bool = True, mac: bytes | None = MAC) -> None:
        self.frames: list[tuple[float, str, bytes]] = []
        self.now = 0.0
        self.ok = ok
        self.mac_value = mac

    def send(self, iface: str, frame: bytes) -> bool:
        self.frames.append((self.now, iface, frame))
        return self.ok

    def mac(self, iface: str) -> bytes | None:
        return self.mac_value


def run(an: Announcer, wire: Wire, until: float, step: float = 0.05) -> None:
    while wire.now <= until:
        an.tick(wire.now)
        wire.now = round(wire.now + step, 6)


def check_na(frame: bytes, *, router: bool, override: bool) -> None:
    p = Ether(frame)
    assert p.dst == "33:33:00:00:00:01" and p.src == "02:00:5e:00:53:01"
    ip = p[IPv6]
    assert ip.src == TARGET, "an unsolicited NA comes from the target (7.2.6)"
    assert ip.dst == "ff02::1" and ip.hlim == 255 and ip.nh == 58
    na = p[ICMPv6ND_NA]
    assert na.type == 136 and na.code == 0
    assert na.tgt == TARGET
    flags = (na.R, na.S, na.O)
    assert flags == (int(router), 0, int(override))
    assert p[ICMPv6NDOptDstLLAddr].lladdr == "02:00:5e:00:53:01"
    raw = bytes(na)
    assert in6_chksum(58, ip, raw[:2] + b"\0\0" + raw[4:]) == na.cksum
    assert ip.plen == len(raw) == 32


@pytest.mark.parametrize("router, override", [(False, False), (True, False), (True, True)])
def test_three_nas_a_retrans_timer_apart(router, override):
    wire = Wire()
    an = Announcer(wire.send, wire.mac)
    wire.now = 10.0
    an.announce(TARGET, "uplink", wire.now, router=router, override=override)
    assert an.next_due() == 10.0
    run(an, wire, 20.0)
    assert len(wire.frames) == MAX_NEIGHBOR_ADVERTISEMENT == 3
    times = [t for t, _, _ in wire.frames]
    assert times[0] == 10.0
    for a, b in zip(times, times[1:]):
        assert b - a >= RETRANS_TIMER == 1.0        # RFC 4861 10: RetransTimer apart
        assert b - a < RETRANS_TIMER + 0.1          # and not much later
    for _, iface, frame in wire.frames:
        assert iface == "uplink"
        check_na(frame, router=router, override=override)
    assert (an.sent, an.failed) == (3, 0)
    assert an.next_due() is None


def test_a_late_tick_does_not_bunch_the_repeats():
    wire = Wire()
    an = Announcer(wire.send, wire.mac)
    an.announce(TARGET, "uplink", 0.0)
    for now in (0.0, 3.5, 3.6, 4.4, 4.6):          # the loop was busy until 3.5
        wire.now = now
        an.tick(now)
    assert [t for t, _, _ in wire.frames] == [0.0, 3.5, 4.6]


def test_withdraw_stops_the_repeats_and_failures_are_counted():
    wire = Wire()
    an = Announcer(wire.send, wire.mac)
    an.announce(TARGET, "uplink", 0.0)
    an.tick(0.0)
    an.withdraw(TARGET.upper())            # any spelling of the address
    run(an, wire, 5.0)
    assert len(wire.frames) == 1 and an.next_due() is None
    down = Wire(mac=None)                  # interface not attached: announcement dropped
    an2 = Announcer(down.send, down.mac)
    an2.announce(TARGET, "uplink", 0.0)
    run(an2, down, 5.0)
    assert down.frames == [] and (an2.sent, an2.failed) == (0, 1)
    full = Wire(ok=False)                  # the socket refused the frame
    an3 = Announcer(full.send, full.mac, max_pending=1)
    an3.announce(TARGET, "uplink", 0.0)
    an3.announce("2001:db8::1", "uplink", 0.0)   # over max_pending: refused at once
    run(an3, full, 5.0)
    assert (an3.sent, an3.failed) == (0, 4)
    with pytest.raises(ValueError):
        an3.announce("not-an-address", "uplink", 0.0)


def test_limit_and_many_withdrawals():
    """``tick(limit=)`` sends at most that many and leaves the rest due; withdrawing half
    of 2000 targets stops exactly their NAs, and the others still get all of theirs."""
    import ipaddress
    wire = Wire()
    an = Announcer(wire.send, wire.mac)
    targets = [str(ipaddress.IPv6Address(int(ipaddress.IPv6Address(TARGET)) + i))
               for i in range(2000)]
    for t in targets:
        an.announce(t, "uplink", 0.0)
    an.tick(0.0, limit=256)
    assert len(wire.frames) == 256
    assert an.next_due() == 0.0                   # the rest is still due now
    for t in targets[::2]:
        an.withdraw(t)
    run(an, wire, 3 * RETRANS_TIMER)
    assert an.next_due() is None
    got: dict[str, int] = {}
    for _, _, frame in wire.frames:
        t = Ether(frame)[ICMPv6ND_NA].tgt
        got[t] = got.get(t, 0) + 1
    kept = set(targets[1::2])
    assert {t for t, n in got.items() if n == MAX_NEIGHBOR_ADVERTISEMENT} == kept
    # a withdrawn target sent only what went out before its withdrawal (the first 256)
    assert all(got.get(t, 0) == (1 if i < 256 else 0) for i, t in enumerate(targets)
               if t not in kept)
    an.announce(targets[0], "uplink", wire.now)   # announced again after a withdrawal
    run(an, wire, wire.now + 3 * RETRANS_TIMER)
    assert sum(1 for _, _, f in wire.frames if Ether(f)[ICMPv6ND_NA].tgt == targets[0]) == 4
