"""The daemon's main loop without root: the compiled loop serves an AF_UNIX datagram
socketpair standing in for the packet socket, a socketpair stands in for the rtnetlink
event socket, and a scripted stand-in for pyroute2 answers (or fails) the re-reads."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from v6core.responder import daemon as daemon_mod
from v6core.responder.config import Config, Interface, Rule
from v6core.responder.engine import COUNTER_TX

pytest.importorskip("scapy.layers.inet6")
from tests.test_responder_engine import HOST_MAC, PFX, ns  # noqa: E402

RTM_NEWLINK = 16


class _Msg:
    def __init__(self, attrs: dict, **fields) -> None:
        self.attrs = attrs
        self.fields = fields

    def get_attr(self, name):
        return self.attrs.get(name)

    def __getitem__(self, key):
        return self.fields[key]


class ScriptedIPRoute:
    """pyroute2's IPRoute for one interface; ``fail`` makes the next get_links raise."""

    def __init__(self) -> None:
        self.fail = 0
        self.calls: list[tuple[float, bool]] = []   # (monotonic time, failed)

    def get_links(self):
        failed = self.fail > 0
        self.calls.append((time.monotonic(), failed))
        if failed:
            self.fail -= 1
            raise OSError(105, "No buffer space available (scripted)")
        return [_Msg({"IFLA_IFNAME": "uplink", "IFLA_ADDRESS": HOST_MAC}, index=5, flags=1)]

    def get_addr(self, family=None):
        return []

    def get_routes(self, family=None, table=None):
        return []

    def close(self) -> None:
        pass


def test_failed_reread_is_retried_on_time_under_steady_traffic(monkeypatch):
    peer, served = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    nl_w, nl_r = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    for s in (served, nl_r):
        s.setblocking(False)
    monkeypatch.setattr(daemon_mod.io_linux, "open_ndp_socket", lambda name, **kw: served)
    monkeypatch.setattr(daemon_mod.io_linux, "packet_drops", lambda sock: 0)
    cfg = Config(interfaces=(Interface(name="uplink", rules=(Rule(prefix=PFX),)),))
    d = daemon_mod.Daemon(cfg)
    ipr = ScriptedIPRoute()
    d.ipr = ipr
    d.nl = nl_r
    d.sync()
    st = d.ifaces["uplink"]
    assert st.sock is served
    frame = ns()
    stop = threading.Event()

    def traffic():
        # one solicitation every 5 ms: the loop's poll never sees a quiet 50 ms
        peer.setblocking(False)
        while not stop.is_set():
            peer.send(frame)
            try:
                while True:
                    peer.recv(4096)
            except BlockingIOError:
                pass
            time.sleep(0.005)

    loop = threading.Thread(target=d._loop, daemon=True)
    gen = threading.Thread(target=traffic, daemon=True)
    try:
        loop.start()
        gen.start()
        time.sleep(0.3)
        tx_before = int(st.port.counters[COUNTER_TX])
        assert tx_before > 0, "the stand-in packet socket is not being served"
        # a link event; its re-read fails once
        ipr.fail = 1
        n_calls = len(ipr.calls)
        nl_w.send(struct.pack("=IHHII", 16, RTM_NEWLINK, 0, 0, 0))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (
                len(ipr.calls) >= n_calls + 2 and not ipr.calls[-1][1]):
            time.sleep(0.01)
        calls = ipr.calls[n_calls:]
        assert len(calls) >= 2 and calls[0][1] and not calls[1][1], calls
        gap = calls[1][0] - calls[0][0]
        # due SYNC_RETRY (0.1 s) after the failure; generous slack for a loaded machine
        assert daemon_mod.SYNC_RETRY - 0.01 <= gap < daemon_mod.SYNC_RETRY + 1.0, gap
        assert int(st.port.counters[COUNTER_TX]) > tx_before + 10, "traffic kept flowing"
    finally:
        stop.set()
        gen.join(2)
        d.stopping = True
        d._wake_w.send(b"x")
        loop.join(5)
        assert not loop.is_alive()
        for s in (peer, served, nl_w, nl_r, d._wake_r, d._wake_w):
            s.close()
