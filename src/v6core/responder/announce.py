"""Unsolicited Neighbor Advertisements when a target becomes live (RFC 4861 section 7.2.6).

When a learn or docker target becomes live, the responder sends an unsolicited NA from
the target to the all-nodes group ff02::1 on the uplink, ``MAX_NEIGHBOR_ADVERTISEMENT``
(3) times at least ``RetransTimer`` (1 s, RFC 4861 section 10) apart, so that a router that
already holds an entry for the address (STALE or INCOMPLETE after an earlier failed
solicitation) updates it at once.  S is clear (unsolicited); R and O follow the rule
(a proxy leaves O clear, section 7.2.8).  A router with no entry may discard the NA
(section 7.2.5; Linux does unless ``accept_untracked_na`` is set) and learns the address
on its next solicitation, which is then answered.

Withdrawal sends nothing: the responder stops answering.  The router's entry ages from
REACHABLE to STALE (ReachableTime, 30 s by default), its next packet moves it to DELAY
and PROBE, the unicast NUD probes go unanswered, and after ``MAX_UNICAST_SOLICIT`` (3)
probes the entry is removed (RFC 4861 section 7.3.3, appendix C); traffic to the address
then fails with address unreachable.

This module only schedules and builds; the frames go out through the interface's packet
socket, passed in as a ``send`` callable.
"""

from __future__ import annotations

import heapq
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from v6core._core import ndp

__all__ = ["Announcer", "MAX_NEIGHBOR_ADVERTISEMENT", "RETRANS_TIMER"]

MAX_NEIGHBOR_ADVERTISEMENT = 3      # RFC 4861 section 10
RETRANS_TIMER = 1.0                 # seconds, RFC 4861 section 10 (spacing of the repeats)
ALL_NODES = "ff02::1"
ALL_NODES_MAC = bytes.fromhex("333300000001")


@dataclass(order=True)
class _Due:
    when: float
    seq: int
    target: str = field(compare=False)
    iface: str = field(compare=False)
    left: int = field(compare=False)
    router: bool = field(compare=False)
    override: bool = field(compare=False)


class Announcer:
    """Schedules the repeats of each announcement; ``tick(now)`` sends those due.

    Parameters
    ----------
    send : callable(iface name, frame bytes) -> mac bytes or None
        Sends a frame on the interface; ``mac(iface)`` gives its MAC (None: not attached,
        the announcement is dropped).
    """

    def __init__(self, send: Callable[[str, bytes], bool],
                 mac: Callable[[str], bytes | None], *, max_pending: int = 65536) -> None:
        self._send = send
        self._mac = mac
        self._heap: list[_Due] = []
        self._seq = 0
        # withdrawals are lazy (a thousand withdrawals must not rebuild the heap a
        # thousand times): entries of a target announced up to _cut[target] are dropped
        # when they come due; _count holds each target's live entries, _dead the rest
        self._cut: dict[str, int] = {}
        self._count: dict[str, int] = {}
        self._dead = 0
        self.max_pending = max_pending
        self.sent = 0            # NAs handed to the kernel
        self.failed = 0          # NAs not sent (interface down, queue full)

    def announce(self, target: str, iface: str, now: float, *, router: bool = False,
                 override: bool = False) -> None:
        """Start announcing ``target`` on ``iface``: the first NA now, two more 1 s apart."""
        if len(self._heap) - self._dead >= self.max_pending:
            self.failed += 1
            return
        self._seq += 1
        t = str(ipaddress.IPv6Address(target))
        heapq.heappush(self._heap, _Due(now, self._seq, t, iface, MAX_NEIGHBOR_ADVERTISEMENT,
                                        router, override))
        self._count[t] = self._count.get(t, 0) + 1

    def withdraw(self, target: str) -> None:
        """Stop the repeats still due for ``target`` (it is no longer live)."""
        t = str(ipaddress.IPv6Address(target))
        n = self._count.pop(t, 0)
        if not n:
            return
        self._cut[t] = self._seq
        self._dead += n
        if self._dead * 2 > len(self._heap):     # mostly withdrawn: rebuild once
            self._heap = [d for d in self._heap if d.seq > self._cut.get(d.target, 0)]
            heapq.heapify(self._heap)
            self._cut.clear()
            self._dead = 0

    def _drop_dead(self) -> None:
        while self._heap and self._heap[0].seq <= self._cut.get(self._heap[0].target, 0):
            heapq.heappop(self._heap)
            self._dead -= 1
        if not self._dead:
            self._cut.clear()

    def next_due(self) -> float | None:
        self._drop_dead()
        return self._heap[0].when if self._heap else None

    def _done(self, d: _Due) -> None:
        n = self._count.get(d.target, 0) - 1
        if n > 0:
            self._count[d.target] = n
        else:
            self._count.pop(d.target, None)

    def tick(self, now: float, limit: int | None = None) -> None:
        """Send the NAs due by ``now`` (at most ``limit``; the rest stay due)."""
        while limit is None or limit > 0:
            self._drop_dead()
            if not self._heap or self._heap[0].when > now:
                return
            if limit is not None:
                limit -= 1
            d = heapq.heappop(self._heap)
            mac = self._mac(d.iface)
            if mac is None:
                self.failed += 1
                self._done(d)
                continue
            frame = ndp.build_na(src=d.target, dst=ALL_NODES, target=d.target, src_mac=mac,
                                 dst_mac=ALL_NODES_MAC, router=d.router, solicited=False,
                                 override=d.override, tlla=mac)
            if self._send(d.iface, frame):
                self.sent += 1
            else:
                self.failed += 1
            d.left -= 1
            if d.left > 0:
                d.when = max(now, d.when) + RETRANS_TIMER
                heapq.heappush(self._heap, d)
            else:
                self._done(d)
