"""The live targets of learn and docker rules: evidence in, the compiled set and NAs out.

One :class:`LiveTargets` per daemon keeps the :class:`~._live.LiveSet` that every port's
engine reads, and decides what enters and leaves it:

* **docker** rules: the addresses of running containers (:mod:`.docker`), replaced whole
  on each change the watcher reports;
* **learn** rules: evidence of life on the downstream side (an interface other than the
  uplink that asked):

  - kernel neighbour events (rtnetlink RTM_NEWNEIGH in REACHABLE or PERMANENT state;
    RTM_DELNEIGH or FAILED withdraws at once);
  - DAD probes (NS from ``::``) seen on a downstream interface;
  - our own solicitation: an unknown target asked for upstream is solicited on the
    interface the kernel's route to it uses (rate-limited, at most ``learn_pending``
    awaiting an answer); an NA within ``learn_timeout_ms`` makes it live, none puts it in
    the negative cache for ``learn_negative_ttl`` seconds.

  A learned target stays live for ``learn_ttl`` seconds after its last evidence; then it
  is solicited again and withdrawn if that goes unanswered.

Each target that becomes live is announced (:mod:`.announce`) on every uplink whose rule
covers it.  Memory is bounded: ``live_entries`` live targets, ``learn_pending`` pending
solicitations and as many negative-cache entries as live ones.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import socket
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from v6core._core import ndp
from v6core.responder import io_linux
from v6core.responder._live import LiveSet
from v6core.responder.announce import Announcer
from v6core.responder.config import Config

__all__ = ["LiveTargets", "RTMGRP_NEIGH", "RTM_NEWNEIGH", "RTM_DELNEIGH"]

log = logging.getLogger("v6core.respond")

RTMGRP_NEIGH = 0x4
RTM_NEWNEIGH = 28
RTM_DELNEIGH = 29
RTM_GETNEIGH = 30
NLMSG_ERROR = 2
NLMSG_DONE = 3
NDA_DST = 1
NUD_REACHABLE = 0x02
NUD_FAILED = 0x20
NUD_PERMANENT = 0x80
ICMP6_FILTER = 1
IPV6_RECVHOPLIMIT = 51
IPV6_HOPLIMIT = 52
ND_NA = 136
# unsolicited NAs sent per tick, at most (Python builds each; a burst of thousands would
# keep the packet sockets unserved for a noticeable time)
ANNOUNCE_BATCH = 256


def _key(a: Any) -> bytes:
    return ipaddress.IPv6Address(a).packed


def _text(k: bytes) -> str:
    return str(ipaddress.IPv6Address(k))


class LiveTargets:
    """Evidence of life for learn and docker rules (see the module docstring).

    ``ifaces`` maps an uplink name to an object with ``cfg`` (its
    :class:`~.config.Interface`), ``engine``, ``port``, ``sock`` and ``ifindex``;
    ``route_oif(target)`` gives the kernel's output interface index for a target or None.
    """

    def __init__(self, cfg: Config, ifaces: dict[str, Any],
                 route_oif: Callable[[bytes], int | None],
                 wake: Callable[[], None] | None = None) -> None:
        self.cfg = cfg
        self.ifaces = ifaces
        self.route_oif = route_oif
        self.wake = wake or (lambda: None)
        self.live = LiveSet(cfg.live_entries)
        self.learn = any(r.learn for i in cfg.interfaces for r in i.rules)
        self.docker = any(r.docker for i in cfg.interfaces for r in i.rules)
        self.expiry: dict[bytes, float] = {}            # learned target -> its TTL's end
        self._expiry_due = 0.0      # no TTL in expiry ends before this (tick skips the scan)
        self.refreshing: set[bytes] = set()             # TTL ran out, re-solicited
        self.pending: dict[bytes, tuple[float, int]] = {}   # target -> (deadline, oif)
        self.negative: OrderedDict[bytes, float] = OrderedDict()
        self.docker_set: frozenset[bytes] = frozenset()
        self._docker_new: frozenset[str] | None = None
        self._docker_lock = threading.Lock()
        self.announcer = Announcer(self._send_uplink, self._uplink_mac)
        self._tokens = float(cfg.learn_rate)
        self._tokens_at = 0.0
        self._icmp: socket.socket | None = None
        self._dad: dict[int, socket.socket] = {}        # downstream ifindex -> NS socket
        self._tx: dict[int, socket.socket] = {}         # downstream ifindex -> tx socket
        self.watcher: Any = None
        # counters
        self.solicited = 0          # NS sent downstream
        self.solicit_answered = 0
        self.solicit_timeouts = 0
        self.solicit_limited = 0    # not sent: over learn_rate or learn_pending
        self.cache_hits = 0         # misses answered from the negative cache / pending
        self.cache_misses = 0       # misses that needed a solicitation
        self.learned = {"neighbour": 0, "dad": 0, "solicit": 0}
        self.withdrawn = 0

    # -- setup -----------------------------------------------------------------------------

    def attach(self) -> None:
        for st in self.ifaces.values():
            st.port.set_live(self.live)

    def open(self) -> None:
        self.attach()
        if self.learn:
            s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
            # RFC 3542 3.2 ICMP6_FILTER: a set bit blocks a type; pass only NA
            w = [0xFFFFFFFF] * 8
            w[ND_NA >> 5] &= ~(1 << (ND_NA & 31)) & 0xFFFFFFFF
            s.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("=8I", *w))
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
            s.setblocking(False)
            self._icmp = s
        if self.docker:
            from v6core.responder.docker import DockerWatcher
            self.watcher = DockerWatcher(self.cfg.docker_socket, self._docker_changed)
            self.watcher.start()

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        for s in [self._icmp, *self._dad.values(), *self._tx.values()]:
            if s is not None:
                s.close()
        self._icmp = None
        self._dad.clear()
        self._tx.clear()

    def fds(self) -> list[tuple[int, str]]:
        out = [(self._icmp.fileno(), "icmp")] if self._icmp is not None else []
        return out + [(s.fileno(), f"dad{i}") for i, s in self._dad.items()]

    # -- rules -----------------------------------------------------------------------------

    def _rule(self, st: Any, target: bytes):
        m = st.engine.rule_of(target)
        if m is None or m[1]:
            return None
        r = st.cfg.rules[m[0]]
        return r if r.learn or r.docker else None

    def _uplinks(self, target: bytes, mode: str) -> list[tuple[Any, Any]]:
        out = []
        for st in self.ifaces.values():
            r = self._rule(st, target)
            if r is not None and r.mode == mode:
                out.append((st, r))
        return out

    # -- entering and leaving --------------------------------------------------------------

    def _make_live(self, k: bytes, now: float) -> bool:
        if not self.live.add(k):
            return False
        self.negative.pop(k, None)
        for st, r in self._uplinks(k, "learn" if k in self.expiry else "docker"):
            self.announcer.announce(_text(k), st.name, now, router=r.router,
                                    override=r.override)
        return True

    def _withdraw(self, k: bytes) -> None:
        if self.live.discard(k):
            self.withdrawn += 1
            self.announcer.withdraw(_text(k))
            log.info("withdrawn: %s", _text(k))

    def learned_alive(self, k: bytes, how: str, now: float) -> None:
        """Evidence that learn target ``k`` lives downstream (refreshes its TTL)."""
        if not self._uplinks(k, "learn"):
            return
        new = k not in self.expiry
        self.expiry[k] = until = now + self.cfg.learn_ttl
        self._expiry_due = min(self._expiry_due, until)
        self.refreshing.discard(k)
        self.pending.pop(k, None)
        if new:
            if len(self.expiry) > self.cfg.live_entries:
                del self.expiry[k]
                return
            self.learned[how] += 1
            if self._make_live(k, now):
                log.info("learned (%s): %s", how, _text(k))

    def forget(self, k: bytes) -> None:
        if self.expiry.pop(k, None) is not None:
            self.refreshing.discard(k)
            self._withdraw(k)

    # -- docker ----------------------------------------------------------------------------

    def _docker_changed(self, addrs: frozenset[str]) -> None:   # the watcher's thread
        with self._docker_lock:
            self._docker_new = addrs
        self.wake()

    def apply_docker(self, now: float) -> None:
        with self._docker_lock:
            new, self._docker_new = self._docker_new, None
        if new is None:
            return
        keys = frozenset(_key(a) for a in new)
        keys = frozenset(k for k in keys if self._uplinks(k, "docker"))
        for k in self.docker_set - keys:
            if k not in self.expiry:
                self._withdraw(k)
        for k in keys - self.docker_set:
            if self._make_live(k, now):
                log.info("docker: live %s", _text(k))
        self.docker_set = keys

    # -- learn: misses, solicitations, answers ---------------------------------------------

    def on_misses(self, st: Any, misses: Iterable[bytes], now: float) -> None:
        for k in misses:
            if k in self.pending or k in self.expiry:
                self.cache_hits += 1
                continue
            until = self.negative.get(k)
            if until is not None and until > now:
                self.cache_hits += 1
                continue
            self.cache_misses += 1
            self._solicit(st, k, now)

    def _solicit(self, st: Any, k: bytes, now: float) -> None:
        self._tokens = min(float(self.cfg.learn_rate),
                           self._tokens + (now - self._tokens_at) * self.cfg.learn_rate)
        self._tokens_at = now
        if self._tokens < 1 or len(self.pending) >= self.cfg.learn_pending:
            self.solicit_limited += 1
            return
        oif = self.route_oif(k)
        if oif is None or oif == st.ifindex:
            self._negative(k, now)   # no downstream side for it
            return
        try:
            tx, mac, ll = self._downstream(oif)
            tx.send(ndp.build_ns(src=ll, target=k, src_mac=mac, slla=mac))
        except OSError as e:
            log.debug("cannot solicit %s on ifindex %d: %s", _text(k), oif, e)
            self._negative(k, now)
            return
        self._tokens -= 1
        self.solicited += 1
        self.pending[k] = (now + self.cfg.learn_timeout_ms / 1000, oif)

    def _downstream(self, oif: int) -> tuple[socket.socket, bytes, str]:
        name = socket.if_indextoname(oif)
        mac = io_linux.if_mac(name)
        ll = _linklocal(name)
        if oif not in self._tx:
            self._tx[oif] = io_linux.open_tx_socket(name)
        if oif not in self._dad:   # watch for DAD probes there from now on
            with contextlib.suppress(OSError):
                self._dad[oif] = io_linux.open_ndp_socket(name, allmulti=True)
        return self._tx[oif], mac, ll

    def _negative(self, k: bytes, now: float) -> None:
        if self.cfg.learn_negative_ttl <= 0:
            return
        self.negative[k] = now + self.cfg.learn_negative_ttl
        self.negative.move_to_end(k)
        while len(self.negative) > self.cfg.live_entries:
            self.negative.popitem(last=False)

    def on_readable(self, kind: str, now: float) -> None:
        if kind == "icmp":
            self._read_icmp(now)
        elif kind.startswith("dad"):
            self._read_dad(int(kind[3:]), now)

    def _read_icmp(self, now: float) -> None:
        assert self._icmp is not None
        for _ in range(1024):
            try:
                data, anc, _, src = self._icmp.recvmsg(2048, socket.CMSG_SPACE(4))
            except (BlockingIOError, InterruptedError):
                return
            hlim = next((struct.unpack("=i", d[:4])[0] for lvl, t, d in anc
                         if lvl == socket.IPPROTO_IPV6 and t == IPV6_HOPLIMIT), None)
            # RFC 4861 7.1.2: hop limit 255, code 0, 24 bytes or more
            if hlim != 255 or len(data) < 24 or data[0] != ND_NA or data[1] != 0:
                continue
            k = bytes(data[8:24])
            p = self.pending.get(k)
            refresh = k in self.refreshing
            if p is None and not refresh:
                continue
            self.solicit_answered += 1
            self.pending.pop(k, None)
            self.learned_alive(k, "solicit", now)

    def _read_dad(self, oif: int, now: float) -> None:
        s = self._dad[oif]
        for _ in range(1024):
            try:
                data = s.recv(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                # the interface went away (ENETDOWN, ENXIO): the error stays pending and
                # poll would report it again at once, so close the watch; the next
                # solicitation sent downstream there opens it again
                log.info("DAD watch on ifindex %d closed: %s", oif, e)
                self._dad.pop(oif, None)
                s.close()
                return
            f = ndp.inspect(data)
            if f.reason or f.target is None or f.src is None or any(f.src):
                continue
            self.learned_alive(bytes(f.target), "dad", now)

    # -- kernel neighbour events -----------------------------------------------------------

    def on_neigh(self, mtype: int, msg: bytes, now: float) -> None:
        """One rtnetlink RTM_NEWNEIGH/RTM_DELNEIGH message (from its nlmsghdr)."""
        if not self.learn or len(msg) < 28:
            return
        family, ifindex, state = struct.unpack_from("=B3xiH", msg, 16)
        if family != socket.AF_INET6:
            return
        dst = None
        off = 28
        while off + 4 <= len(msg):
            alen, atype = struct.unpack_from("=HH", msg, off)
            if alen < 4:
                break
            if atype == NDA_DST and alen == 20:
                dst = msg[off + 4:off + 20]
            off += (alen + 3) & ~3
        if dst is None or any(st.ifindex == ifindex for st in self.ifaces.values()):
            return   # the uplinks' own neighbours are no evidence
        if mtype == RTM_DELNEIGH or state & NUD_FAILED:
            if dst in self.expiry and dst not in self.pending:
                self.forget(dst)
        elif state & (NUD_REACHABLE | NUD_PERMANENT):
            self.learned_alive(dst, "neighbour", now)

    def resync_neighbours(self, now: float) -> int:
        """Dump the kernel's IPv6 neighbour table and take each entry as an event
        (on_neigh): after the event socket overflowed (ENOBUFS), the entries whose events
        were lost count as evidence again.  Returns the number of entries read."""
        if not self.learn:
            return 0
        n = 0
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as s:   # NETLINK_ROUTE
            s.settimeout(5.0)
            s.bind((0, 0))
            # nlmsghdr + ndmsg (family AF_INET6), NLM_F_REQUEST | NLM_F_DUMP
            s.send(struct.pack("=IHHII", 28, RTM_GETNEIGH, 0x301, 1, 0)
                   + struct.pack("=B3xiHBB", socket.AF_INET6, 0, 0, 0, 0))
            while True:
                buf = s.recv(1 << 20)
                off = 0
                while off + 16 <= len(buf):
                    length, mtype = struct.unpack_from("=IH", buf, off)
                    if length < 16 or mtype in (NLMSG_DONE, NLMSG_ERROR):
                        return n
                    if mtype == RTM_NEWNEIGH:
                        self.on_neigh(mtype, buf[off:off + length], now)
                        n += 1
                    off += (length + 3) & ~3
                if not buf:
                    return n

    # -- time ------------------------------------------------------------------------------

    def tick(self, now: float) -> float | None:
        """Expire what is due; returns when to be called next (None: nothing waits)."""
        self.apply_docker(now)
        nxt: list[float] = []
        for k, (deadline, _) in list(self.pending.items()):
            if deadline <= now:
                del self.pending[k]
                self.solicit_timeouts += 1
                if k in self.refreshing:
                    self.forget(k)
                self._negative(k, now)
            else:
                nxt.append(deadline)
        # the TTL scan is O(live targets): only when one may have ended
        scan = now >= self._expiry_due
        if not scan and self._expiry_due < math.inf:
            nxt.append(self._expiry_due)
        due = math.inf
        for k, until in list(self.expiry.items()) if scan else ():
            if until > now:
                due = min(due, until)
            elif k not in self.refreshing:
                # the TTL ran out: ask once more before withdrawing
                self.refreshing.add(k)
                st = next(iter(s for s, _ in self._uplinks(k, "learn")), None)
                if st is None:
                    self.forget(k)
                    continue
                self._tokens = max(self._tokens, 1.0)
                self._solicit(st, k, now)
                if k not in self.pending:
                    self.forget(k)
                else:
                    nxt.append(self.pending[k][0])
        while self.negative and next(iter(self.negative.values())) <= now:
            self.negative.popitem(last=False)
        if scan:
            self._expiry_due = due
            if due < math.inf:
                nxt.append(due)
        # a bounded share of the announcements due: the packets are served in between
        self.announcer.tick(now, limit=ANNOUNCE_BATCH)
        adue = self.announcer.next_due()
        if adue is not None:
            nxt.append(adue)
        return min(nxt) if nxt else None

    # -- uplink output ---------------------------------------------------------------------

    def _send_uplink(self, name: str, frame: bytes) -> bool:
        st = self.ifaces.get(name)
        if st is None or st.sock is None:
            return False
        try:
            st.sock.send(frame)
        except OSError:
            return False
        return True

    def _uplink_mac(self, name: str) -> bytes | None:
        st = self.ifaces.get(name)
        if st is None or st.sock is None or not st.mac:
            return None
        return st.cfg.mac or st.mac

    # -- metrics ---------------------------------------------------------------------------

    def samples(self) -> list[tuple[str, str, str, list[tuple[dict[str, str], int]]]]:
        modes = [m for m, on in (("learn", self.learn), ("docker", self.docker)) if on]
        n_docker = len(self.docker_set)
        live = {"learn": len(self.expiry), "docker": n_docker}
        return [
            ("v6core_respond_live_targets", "gauge", "Targets answered now, by mode.",
             [({"mode": m}, live[m]) for m in modes]),
            ("v6core_respond_announcements_total", "counter",
             "Unsolicited NAs sent for targets that became live.",
             [({}, self.announcer.sent)]),
            ("v6core_respond_withdrawals_total", "counter",
             "Targets that stopped being answered.", [({}, self.withdrawn)]),
            ("v6core_respond_downstream_solicitations_total", "counter",
             "Neighbor Solicitations sent downstream, by outcome.",
             [({"outcome": "sent"}, self.solicited),
              ({"outcome": "answered"}, self.solicit_answered),
              ({"outcome": "timeout"}, self.solicit_timeouts),
              ({"outcome": "rate_limited"}, self.solicit_limited)]),
            ("v6core_respond_live_cache_total", "counter",
             "Lookups of the live set (per packet) and of the learn caches (per miss).",
             [({"cache": "live", "result": "hit"}, self.live.hits),
              ({"cache": "live", "result": "miss"}, self.live.misses),
              ({"cache": "learn", "result": "hit"}, self.cache_hits),
              ({"cache": "learn", "result": "miss"}, self.cache_misses)]),
            ("v6core_respond_learned_total", "counter", "Targets learned, by evidence.",
             [({"evidence": k}, v) for k, v in self.learned.items()] if self.learn else []),
            ("v6core_respond_docker_connected", "gauge",
             "1 while the Docker event stream is followed.",
             [({}, int(bool(self.watcher and self.watcher.connected)))] if self.docker
             else []),
        ]


def _linklocal(name: str) -> str:
    """The first link-local address of ``name`` (from /proc; OSError if none)."""
    want = socket.if_nametoindex(name)
    with open("/proc/net/if_inet6") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and int(parts[1], 16) == want and parts[0].startswith("fe80"):
                return str(ipaddress.IPv6Address(bytes.fromhex(parts[0])))
    raise OSError(f"{name}: no link-local address to solicit from")
