"""The responder daemon: sockets, signals, netlink tracking, privileges, stats, sd_notify.

Lifecycle
---------
1. Compile the rules of every configured interface (:class:`~.engine.Engine`).
2. Read links, addresses and (if an ``auto`` rule needs them) routes over rtnetlink
   (pyroute2); open an AF_PACKET socket (:mod:`.io_linux`) on each configured interface
   that exists and is up; an absent one is waited for.
3. Open the control socket (and the localhost metrics port), then drop privileges to the
   configured user keeping only ``CAP_NET_RAW`` (needed to re-open packet sockets when an
   interface comes back), and tell systemd ``READY=1``.
4. Loop: ``poll`` over the packet sockets, an rtnetlink event socket (links, IPv6
   addresses and routes), the signal wake-up pipe and the stats listeners.  A readable
   packet socket is served by the compiled :class:`~._loop.Batcher` (recvmmsg, decide,
   sendmmsg).  Address and route events are applied in place to the tables of
   :mod:`.kernel` (addresses and routes are dumped only at start, after a netlink overrun
   and after a failed read: a full routing table costs one dump, not one per event).
   Any event schedules a re-read of the links (coalesced, at most every 50 ms; a failed
   re-read is retried after 0.1 s, doubling up to 5 s, and the compiled loop returns for
   it on time however busy the packet sockets are): a deleted or downed interface loses
   its socket, a new or re-upped one gets a fresh socket, a changed MAC is used at once,
   and every port gets the current address and route tables.
5. SIGHUP re-reads the config file and swaps every interface's rules between two
   batches (sockets stay open; a bad file is logged and the old rules kept).  SIGTERM or
   SIGINT closes everything and exits 0.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import math
import os
import signal
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from v6core._core.addr import parse_prefix
from v6core.errors import ConfigError, XdpError
from v6core.responder import io_linux
from v6core.responder._loop import Batcher
from v6core.responder.config import Config, Interface
from v6core.responder.engine import Engine, Port
from v6core.responder.kernel import (
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_DELROUTE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWROUTE,
    KernelTables,
)
from v6core.responder.live import RTM_DELNEIGH, RTM_NEWNEIGH, RTMGRP_NEIGH, LiveTargets
from v6core.responder.stats import render, render_families
from v6core.responder.xdp import XdpPort

log = logging.getLogger("v6core.respond")

IFF_UP = 0x1
RTMGRP_LINK = 0x1
RTMGRP_IPV6_IFADDR = 0x100
RTMGRP_IPV6_ROUTE = 0x400
NETLINK_ROUTE = 0
SO_RCVBUFFORCE = 33
CAP_NET_RAW = 13
SYNC_COALESCE = 0.05     # s: rtnetlink events within this are covered by one re-read
SYNC_RETRY = 0.1         # s: first retry after a failed re-read (doubling) ...
SYNC_RETRY_MAX = 5.0     # s: ... up to this


# --- sd_notify ---------------------------------------------------------------------------


_notify: socket.socket | None = None


def sd_notify_open() -> None:
    """Connect to $NOTIFY_SOCKET now (before dropping privileges; kept for later)."""
    global _notify
    path = os.environ.get("NOTIFY_SOCKET")
    if not path or _notify is not None:
        return
    if path.startswith("@"):
        path = "\0" + path[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.connect(path)
    except OSError as e:
        log.warning("sd_notify: cannot connect to %s: %s", path, e)
        s.close()
        return
    _notify = s


def sd_notify(state: str) -> bool:
    """Send ``state`` to systemd's notification socket ($NOTIFY_SOCKET); False if none."""
    if _notify is None:
        sd_notify_open()
    if _notify is None:
        return False
    try:
        _notify.send(state.encode())
        return True
    except OSError as e:
        log.warning("sd_notify failed: %s", e)
        return False


# --- privileges --------------------------------------------------------------------------


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_privileges(user: str) -> None:
    """Become ``user`` (and its primary group), keeping only CAP_NET_RAW (capabilities(7))."""
    import grp
    import pwd
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise ConfigError(f"user {user!r} does not exist") from None
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_KEEPCAPS, PR_SET_NO_NEW_PRIVS = 8, 38
    if libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_KEEPCAPS)")
    os.setgroups([])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)
    hdr = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    data[0].effective = data[0].permitted = 1 << CAP_NET_RAW
    if libc.capset(ctypes.byref(hdr), ctypes.byref(data)) != 0:
        raise OSError(ctypes.get_errno(), "capset(CAP_NET_RAW)")
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    log.info("running as %s (uid %d, gid %d %s) with CAP_NET_RAW only", user, pw.pw_uid,
             pw.pw_gid, grp.getgrgid(pw.pw_gid).gr_name if pw.pw_gid is not None else "")


# --- per-interface state -----------------------------------------------------------------


def auto_prefixes(cfg: Config) -> list[tuple[bytes, int]]:
    """The prefixes of every ``auto`` rule: the routes the engine may look up."""
    return sorted({parse_prefix(r.prefix) for i in cfg.interfaces for r in i.rules if r.auto})


def rules_of(cfg: Interface) -> list:
    """The interface's rules, with its ``mac`` (the advertised target link-layer address)
    given to every rule that does not name its own; frames still leave from the NIC's MAC."""
    return [r if r.mac is not None or cfg.mac is None else replace(r, mac=cfg.mac)
            for r in cfg.rules]



class IfaceState:
    """One configured interface: its rules, its live Port and (while attached) its socket."""

    def __init__(self, cfg: Interface, cfgd: Config) -> None:
        self.name = cfg.name
        self.cfg = cfg
        self.engine = Engine(rules_of(cfg))
        self.port = Port(0, b"\0" * 6, rate_limit=cfgd.rate_limit,
                         rate_limit_source=cfgd.rate_limit_source,
                         source_slots=cfgd.source_slots)
        self.sock: socket.socket | None = None
        self.ifindex = 0
        self.mac = b""
        self.folded: dict[str, list[int]] = {}   # rule totals of replaced engines
        self.reopen = False                       # the socket reported an error
        self.kernel_drops = 0                     # frames the socket queue had no room for
        self.xdp = XdpPort(cfg.name, cfg.xdp) if cfg.xdp else None   # the XDP fast path

    @property
    def up(self) -> bool:
        return self.sock is not None

    def rule_totals(self) -> dict[str, tuple[int, int]]:
        t = {k: list(v) for k, v in self.folded.items()}
        for name, a, d in zip(self.engine.names, self.engine.answered_counts,
                              self.engine.dropped_counts, strict=True):
            cur = t.setdefault(name, [0, 0])
            cur[0] += int(a)
            cur[1] += int(d)
        return {k: (v[0], v[1]) for k, v in t.items()}

    def swap(self, cfg: Interface) -> None:
        engine = Engine(rules_of(cfg))   # compile first: an error leaves the old rules
        self.folded = {k: list(v) for k, v in self.rule_totals().items()}
        self.engine = engine
        if cfg.trunk != self.cfg.trunk:  # another kernel filter: a new socket
            self.reopen = True
        if cfg.xdp != self.cfg.xdp:       # mode changed: the next sync attaches afresh
            if self.xdp is not None:
                self.xdp.close()
            self.xdp = XdpPort(cfg.name, cfg.xdp) if cfg.xdp else None
        elif self.xdp is not None:
            self.xdp.update_rules(engine, rules_of(cfg))
        self.cfg = cfg
        self.apply_mac()

    def apply_mac(self) -> None:
        if self.mac:
            self.port.set_mac(self.mac)

    def read_kernel_stats(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.kernel_drops += io_linux.packet_drops(self.sock)

    def close(self) -> None:
        if self.xdp is not None:
            self.xdp.close()
        if self.sock is not None:
            self.read_kernel_stats()
            self.sock.close()
            self.sock = None

    def sync_xdp(self, own: list[str], linklocal: str | None, rate_limited: bool) -> None:
        """Attach the XDP program once the socket is open (the AF_PACKET path takes what
        it passes), or refresh its host state; a failure raises :class:`XdpError`."""
        if self.xdp is None or self.sock is None:
            return
        if not self.xdp.attached:
            if rate_limited:   # limits live in the engine: the program hands every NS to it
                log.warning("%s: rate limits are set, so the XDP program passes every "
                            "solicitation to the AF_PACKET path", self.name)
            self.xdp.close()
            self.xdp.load(self.engine, rules_of(self.cfg), mac=self.mac, linklocal=linklocal,
                          own=own, enabled=not rate_limited)
            self.xdp.attach(self.ifindex)
        else:
            self.xdp.update_state(mac=self.mac, linklocal=linklocal, own=own,
                                  enabled=not rate_limited)


class Daemon:
    """The running responder.  ``run()`` returns the exit status."""

    def __init__(self, cfg: Config, *, reload: Callable[[], Config] | None = None,
                 batch: int = 64) -> None:
        self.cfg = cfg
        self.reload_fn = reload
        self.ifaces: dict[str, IfaceState] = {i.name: IfaceState(i, cfg) for i in cfg.interfaces}
        self.batcher = Batcher(batch)
        self.reloads = 0
        self.stopping = False
        self._hup = False
        self._dirty = True
        self._sync_due = 0.0      # monotonic time before which no re-read runs
        self._retry = SYNC_RETRY  # the delay after the next failed re-read
        self.kernel = KernelTables(auto_prefixes(cfg))
        self._full = True         # the next re-read dumps addresses and routes too
        self.ipr: Any = None
        self.nl: socket.socket | None = None
        self.control: socket.socket | None = None
        self.metrics: socket.socket | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._xdp_fatal = True          # at start an XDP failure stops the daemon
        self.live: LiveTargets | None = None
        if any(r.learn or r.docker for i in cfg.interfaces for r in i.rules):
            self.live = LiveTargets(cfg, self.ifaces, self._route_oif, self._wake)
        self._live_due: float | None = None

    # -- setup ----------------------------------------------------------------------------

    def _open_netlink(self) -> None:
        from pyroute2 import IPRoute
        self.ipr = IPRoute()
        nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        # room for a burst of events (a flush of thousands of neighbour entries); root may
        # go past net.core.rmem_max, others get what it allows
        try:
            nl.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        except OSError:
            nl.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        groups = RTMGRP_LINK | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE
        if self.live is not None and self.live.learn:
            groups |= RTMGRP_NEIGH          # neighbour entries: evidence for learn rules
        nl.bind((0, groups))
        nl.setblocking(False)
        self.nl = nl

    def _open_listeners(self) -> None:
        if self.cfg.control:
            path = self.cfg.control
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            os.chmod(path, 0o660)
            s.listen(8)
            s.setblocking(False)
            self.control = s
        if self.cfg.metrics:
            host, port = self.cfg.metrics.rsplit(":", 1)
            host = host.strip("[]")
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, int(port)))
            s.listen(8)
            s.setblocking(False)
            self.metrics = s

    def _wake(self) -> None:
        """Make the loop look at the live targets now (any thread)."""
        with contextlib.suppress(OSError):
            self._wake_w.send(b"L")

    def _route_oif(self, target: bytes) -> int | None:
        """The output interface of the kernel's route to ``target`` (None: no route)."""
        try:
            msgs = self.ipr.route("get", dst=socket.inet_ntop(socket.AF_INET6, target))
        except Exception:   # pyroute2 raises NetlinkError (no route) and OSError
            return None
        for m in msgs:
            oif = m.get_attr("RTA_OIF")
            if oif is not None and m["type"] == 1:
                return int(oif)
        return None

    def _signals(self) -> None:
        self._wake_w.setblocking(False)
        signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)

        def on_term(signum, frame):
            self.stopping = True

        def on_hup(signum, frame):
            self._hup = True

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        signal.signal(signal.SIGHUP, on_hup)

    # -- kernel state ---------------------------------------------------------------------

    def sync(self) -> None:
        """Re-read links (and, when due, dump addresses and routes); attach, detach or
        update interfaces; hand every port the current address and route tables."""
        self._dirty = False
        self._sync_due = time.monotonic() + SYNC_COALESCE
        ipr = self.ipr
        if self._full:   # stays set if the dump fails: the retry dumps again
            kernel = self.kernel
            kernel.load(ipr.get_addr(family=socket.AF_INET6),
                        ipr.get_routes(family=socket.AF_INET6, table=254)
                        if kernel.interest else ())
            self._full = False
        links = {}
        for link in ipr.get_links():
            name = link.get_attr("IFLA_IFNAME")
            if name in self.ifaces:
                mac = link.get_attr("IFLA_ADDRESS") or ""
                links[name] = (link["index"], bool(link["flags"] & IFF_UP), mac)
        own = self.kernel.own
        lladdr = self.kernel.linklocal
        own_table = self.kernel.own_table
        routes = self.kernel.routes
        for st in self.ifaces.values():
            st.port.set_own(own_table)
            st.port.set_routes(routes)
            info = links.get(st.name)
            if info is None or not info[1]:
                if st.sock is not None:
                    log.info("%s: %s; detached, waiting for it", st.name,
                             "gone" if info is None else "down")
                    st.close()
                continue
            ifindex, _, mac_text = info
            try:
                mac = bytes.fromhex(mac_text.replace(":", ""))
            except ValueError:
                mac = b""
            if len(mac) != 6:
                log.warning("%s: not an Ethernet interface (address %r); skipped", st.name,
                            mac_text)
                st.close()
                continue
            if mac != st.mac:
                if st.mac:
                    log.info("%s: MAC changed to %s", st.name, mac_text)
                st.mac = mac
                st.apply_mac()
            st.port.set_linklocal(lladdr.get(ifindex))
            if st.sock is None or ifindex != st.ifindex or st.reopen:
                st.close()
                st.reopen = False
                try:
                    st.sock = io_linux.open_ndp_socket(st.name, trunk=st.cfg.trunk)
                except OSError as e:
                    log.warning("%s: cannot open a packet socket: %s", st.name, e)
                    st.sock = None
                    continue
                st.ifindex = ifindex
                st.port.ifindex = ifindex
                log.info("%s: attached (ifindex %d, MAC %s)", st.name, ifindex, mac_text)
            try:
                st.sync_xdp(own, lladdr.get(ifindex),
                            bool(self.cfg.rate_limit or self.cfg.rate_limit_source))
            except XdpError as e:
                if self._xdp_fatal:
                    raise
                log.error("%s: XDP fast path unavailable, answering through AF_PACKET "
                          "only: %s", st.name, e)

    def reload(self) -> None:
        self._hup = False
        if self.reload_fn is None:
            log.info("SIGHUP: rules came from the command line; re-reading the kernel state")
            self._dirty = True
            return
        sd_notify("RELOADING=1")
        try:
            new = self.reload_fn()
            pending = {}
            for icfg in new.interfaces:
                st = self.ifaces.get(icfg.name)
                pending[icfg.name] = Engine(rules_of(icfg)) if st is not None else None
        except (ConfigError, OSError, ValueError) as e:
            log.error("SIGHUP: keeping the old rules: %s", e)
            sd_notify("READY=1")
            return
        for icfg in new.interfaces:            # nothing below can fail half-way
            st = self.ifaces.get(icfg.name)
            if st is None:
                self.ifaces[icfg.name] = IfaceState(icfg, new)
            else:
                st.swap(icfg)
                st.port.set_rate_limits(new.rate_limit, new.rate_limit_source)
        for name in [n for n in self.ifaces if n not in {i.name for i in new.interfaces}]:
            self.ifaces.pop(name).close()
        self.cfg = new
        if self.live is not None:
            self.live.cfg = replace(self.live.cfg, learn_ttl=new.learn_ttl,
                                    learn_negative_ttl=new.learn_negative_ttl,
                                    learn_timeout_ms=new.learn_timeout_ms,
                                    learn_rate=new.learn_rate,
                                    learn_pending=new.learn_pending)
            self.live.attach()
        elif any(r.learn or r.docker for i in new.interfaces for r in i.rules):
            log.warning("SIGHUP: learn and docker rules need a restart to take effect")
        interest = auto_prefixes(new)
        if interest != self.kernel.interest:   # other routes matter now: dump them
            self.kernel.interest = interest
            self._full = True
        self.reloads += 1
        self._dirty = True
        log.info("SIGHUP: rules reloaded (%d interfaces)", len(new.interfaces))
        sd_notify("READY=1")

    # -- stats ----------------------------------------------------------------------------

    def stats_text(self) -> str:
        for st in self.ifaces.values():
            st.read_kernel_stats()
        text = render(self.ifaces.values(), self.reloads)
        text += render_families(self.kernel.samples())
        if self.live is not None:
            text += render_families(self.live.samples())
        return text

    def _serve_control(self) -> None:
        assert self.control is not None
        while True:
            try:
                conn, _ = self.control.accept()
            except (BlockingIOError, InterruptedError):
                return
            with conn:
                conn.settimeout(0.5)
                with contextlib.suppress(OSError):
                    conn.sendall(self.stats_text().encode())

    def _serve_metrics(self) -> None:
        assert self.metrics is not None
        while True:
            try:
                conn, _ = self.metrics.accept()
            except (BlockingIOError, InterruptedError):
                return
            with conn:
                conn.settimeout(0.05)   # short: packets wait while we serve this
                with contextlib.suppress(OSError):
                    req = conn.recv(4096)
                    body = self.stats_text().encode()
                    if not req.startswith(b"GET "):
                        conn.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                        continue
                    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4"
                                 b"\r\nContent-Length: " + str(len(body)).encode()
                                 + b"\r\n\r\n" + body)

    # -- main loop ------------------------------------------------------------------------

    def _drain_netlink(self) -> None:
        """Read rtnetlink events; any that matters schedules a re-read of the state."""
        assert self.nl is not None
        lost = False
        while True:
            try:
                buf = self.nl.recv(65536)
            except (BlockingIOError, InterruptedError):
                if lost and self.live is not None and self.live.learn:
                    # neighbour events were lost with the rest: the table, read after
                    # the queued events, stands in for them
                    n = self.live.resync_neighbours(time.monotonic())
                    log.info("netlink events were lost; re-read %d neighbour entries", n)
                    self._live_due = None
                return
            except OSError as e:   # ENOBUFS: events were lost; a full re-read covers it
                if e.errno != errno.ENOBUFS:
                    raise
                self._dirty = self._full = True
                lost = True
                continue
            off = 0
            while off + 16 <= len(buf):
                length, mtype = struct.unpack_from("=IH", buf, off)
                if length < 16:
                    break
                msg = buf[off:off + length]
                if mtype in (RTM_NEWNEIGH, RTM_DELNEIGH):
                    if self.live is not None:
                        self.live.on_neigh(mtype, msg, time.monotonic())
                elif mtype in (RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE, RTM_DELROUTE):
                    # applied in place; the ports get the new tables at the next re-read
                    # of the links (coalesced), never a dump of every route
                    if self.kernel.apply(msg):
                        self._dirty = True
                elif mtype in (RTM_NEWLINK, RTM_DELLINK):
                    self.kernel.link_event(msg)
                    self._dirty = True
                off += (length + 3) & ~3

    def run(self, user: str | None = None) -> int:
        if any(st.xdp is not None for st in self.ifaces.values()):
            from v6core.responder.xdp import unavailable
            why = unavailable()
            if why:
                raise XdpError(why)
        self._signals()
        self._open_netlink()
        try:
            self.sync()
        except XdpError:
            for st in self.ifaces.values():
                st.close()
            raise
        self._xdp_fatal = False
        if self.live is not None:
            self.live.open()
        self._open_listeners()
        sd_notify_open()
        if user:
            drop_privileges(user)
        names = ", ".join(f"{n}{'' if s.up else ' (waiting)'}" for n, s in self.ifaces.items())
        log.info("answering on %s", names)
        sd_notify(f"READY=1\nSTATUS=answering on {names}")
        try:
            self._loop()
        finally:
            sd_notify("STOPPING=1")
            for st in self.ifaces.values():
                st.close()
            if self.live is not None:
                self.live.close()
            for s in (self.nl, self.control, self.metrics, self._wake_r, self._wake_w):
                if s is not None:
                    s.close()
            if self.cfg.control:
                with contextlib.suppress(OSError):
                    os.unlink(self.cfg.control)
            if self.ipr is not None:
                self.ipr.close()
            signal.set_wakeup_fd(-1)
        log.info("stopped")
        return 0

    def _loop(self) -> None:
        assert self.nl is not None
        extra = [(self._wake_r.fileno(), "wake"), (self.nl.fileno(), "nl")]
        if self.control is not None:
            extra.append((self.control.fileno(), "control"))
        if self.metrics is not None:
            extra.append((self.metrics.fileno(), "metrics"))
        base = list(extra)
        batcher = self.batcher
        while not self.stopping:
            extra = base + (self.live.fds() if self.live is not None else [])
            extra_fds = [fd for fd, _ in extra]
            live_ms = 1000
            if self.live is not None:
                now = time.monotonic()
                if self._live_due is None or self._live_due <= now or self.live._docker_new:
                    self._live_due = self.live.tick(now)
                if self._live_due is not None:
                    live_ms = max(1, min(live_ms, int((self._live_due - now) * 1000) + 1))
            if self._hup:
                self.reload()
            if self._dirty and time.monotonic() >= self._sync_due:
                try:
                    self.sync()
                    self._retry = SYNC_RETRY
                except Exception as e:  # a netlink hiccup must not stop the answering
                    log.warning("re-reading the kernel state failed (%s: %s); retrying in "
                                "%.1f s", type(e).__name__, e, self._retry)
                    self._dirty = self._full = True   # events may be lost: dump again
                    self._sync_due = time.monotonic() + self._retry
                    self._retry = min(self._retry * 2, SYNC_RETRY_MAX)
            timeout_ms = 1000
            if self._dirty:   # serve() returns by this deadline even under steady traffic
                timeout_ms = max(0, math.ceil((self._sync_due - time.monotonic()) * 1000))
            active = [st for st in self.ifaces.values() if st.sock is not None]
            # packets are served inside the compiled loop; it returns only for the rest
            what, i = batcher.serve([st.sock.fileno() for st in active if st.sock],
                                    [st.engine for st in active], [st.port for st in active],
                                    extra_fds, min(timeout_ms, live_ms))
            if what == 1:
                kind = extra[i][1]
                if kind == "wake":
                    with contextlib.suppress(BlockingIOError):
                        self._wake_r.recv(4096)
                elif kind == "nl":
                    self._drain_netlink()
                elif kind == "control":
                    self._serve_control()
                elif kind == "metrics":
                    self._serve_metrics()
                elif self.live is not None:
                    self.live.on_readable(kind, time.monotonic())
                    self._live_due = None
            elif what == 4 and self.live is not None:
                st = active[i]
                self.live.on_misses(st, st.port.take_misses(), time.monotonic())
                self._live_due = None
            elif what == 2:
                st = active[i]
                assert st.sock is not None
                err = st.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                log.info("%s: socket error: %s; re-reading the interface", st.name,
                         os.strerror(err) if err else "hang-up")
                st.reopen = True
                self._dirty = True
                self._sync_due = 0.0
