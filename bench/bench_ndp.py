"""NDP codec speed beside two packet libraries doing the same jobs in the same run.

Run: PYTHONPATH=src python -m pytest bench/bench_ndp.py --benchmark-only -p no:cacheprovider

Three jobs, each a group in which every side does exactly that job and nothing else:

* validate: dissect a Neighbor Solicitation and check it (RFC 4861 section 7.1.1: hop
  limit 255, code 0, ICMP length >= 24, the checksum, a target that is not multicast);
* build: write the Neighbor Advertisement that answers it (86 bytes, from the target, S|O,
  a target link-layer address option) from addresses given as text;
* answer: both, frame in and frame out;

one frame per call, and batched (8192 frames in one buffer; the peers loop over frames
held in the same buffer).  The peers are scapy (a dissector of layer objects) and dpkt
(a lighter one; it has no ND message classes, so the ND body is read and written with
``struct``, the way a dpkt user does).  Before any timing each group asserts that every
side gives the same answer: the same verdicts on a good NS and on one bad NS per check,
and byte-identical NAs.  Figures: medians on both sides (bench/conftest.py prints the
pairs and ratios at the end of the run).  ``V6CORE_BENCH_QUICK=1`` shrinks the batches.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

import numpy as np
import pytest

from bench.conftest import scale
from v6core._core import ndp
from v6core.errors import DropReason, ParseError

pytest.importorskip("scapy.layers.inet6", reason="scapy is the first peer (pip install scapy)")
pytest.importorskip("dpkt", reason="dpkt is the second peer (pip install dpkt)")
import dpkt  # noqa: E402
import dpkt.ethernet  # noqa: E402
import dpkt.icmp6  # noqa: E402
import dpkt.ip6  # noqa: E402
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    in6_chksum,
)
from scapy.layers.l2 import Ether  # noqa: E402

MINE = "02:00:00:00:00:99"
PEER_MAC = "02:00:00:00:00:01"
N_BATCH = scale(8192, 64)
SLOT = 128                      # bytes per frame slot, as an mmap ring lays frames out
PEER_SAMPLE = scale(256, 16)    # frames per round for the peers' batch loops (they are slow)


def _ns(i: int, *, hlim: int = 255, target: str | None = None, cksum: int | None = None,
        trunc: bool = False) -> bytes:
    tgt = target or f"2001:db8::{(i & 0xffff) + 2:x}"
    sn = str(ipaddress.IPv6Address(ndp.solicited_node(tgt)))
    icmp = ICMPv6ND_NS(tgt=tgt) / ICMPv6NDOptSrcLLAddr(lladdr=PEER_MAC)
    if cksum is not None:
        icmp[ICMPv6ND_NS].cksum = cksum
    frame = bytes(Ether(src=PEER_MAC, dst=ndp.multicast_mac(sn).hex(":"))
                  / IPv6(src="fe80::1", dst=sn, hlim=hlim) / icmp)
    if trunc:                   # ICMP body of 20 bytes, payload length to match
        frame = frame[:18] + struct.pack(">H", 20) + frame[20:54 + 20]
    return frame


def _na(target: str, dst_mac: str = PEER_MAC, dst: str = "fe80::1") -> bytes:
    return bytes(Ether(src=MINE, dst=dst_mac) / IPv6(src=target, dst=dst, hlim=255)
                 / ICMPv6ND_NA(tgt=target, R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=MINE))


NS = _ns(0)
EXPECTED_NA = _na("2001:db8::2")
# a good NS, then one bad NS per check every side implements: (frame, valid?)
VERDICT_CASES = [
    (NS, True),
    (_ns(0, hlim=254), False),                    # hop limit not 255
    (_ns(0, cksum=0x1234), False),                # wrong checksum
    (_ns(0, target="ff02::1"), False),            # multicast target
    (_ns(0, trunc=True), False),                  # ICMP length < 24
]


# ------------------------------------------------------------------ the peers

def scapy_valid(frame) -> bool:
    p = Ether(bytes(frame))
    if IPv6 not in p or ICMPv6ND_NS not in p:
        return False
    ip, ns = p[IPv6], p[ICMPv6ND_NS]
    raw = bytes(ns)
    if ip.hlim != 255 or ns.code != 0 or len(raw) < 24:
        return False
    if in6_chksum(58, ip, raw[:2] + b"\0\0" + raw[4:]) != ns.cksum:
        return False
    return not ns.tgt.startswith("ff")


def scapy_build(target: str, dst: str, dst_mac: str) -> bytes:
    return bytes(Ether(src=MINE, dst=dst_mac) / IPv6(src=target, dst=dst, hlim=255)
                 / ICMPv6ND_NA(tgt=target, R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=MINE))


def scapy_answer(frame) -> bytes | None:
    p = Ether(bytes(frame))
    if not scapy_valid(frame):
        return None
    ns = p[ICMPv6ND_NS]
    dst_mac = p[ICMPv6NDOptSrcLLAddr].lladdr if ICMPv6NDOptSrcLLAddr in p else p.src
    return scapy_build(ns.tgt, p[IPv6].src, dst_mac)


def _dpkt_ns(frame) -> tuple[object, bytes] | None:
    """(IP6, ICMPv6 bytes) of a valid NS, else None (the checks of section 7.1.1)."""
    try:
        eth = dpkt.ethernet.Ethernet(bytes(frame))
    except dpkt.UnpackError:
        return None
    ip = eth.data
    if not isinstance(ip, dpkt.ip6.IP6) or ip.nxt != 58 or ip.hlim != 255:
        return None
    icmp = ip.data
    if not isinstance(icmp, dpkt.icmp6.ICMP6) or icmp.type != 135 or icmp.code != 0:
        return None
    raw = bytes(icmp)
    if len(raw) < 24:
        return None
    pseudo = struct.pack(">16s16sxBH", ip.src, ip.dst, 58, len(raw))
    if dpkt.in_cksum_done(dpkt.in_cksum_add(dpkt.in_cksum_add(0, pseudo), raw)) != 0:
        return None
    if raw[8] == 0xFF:
        return None
    return ip, raw


def dpkt_valid(frame) -> bool:
    return _dpkt_ns(frame) is not None


def _dpkt_na(target: bytes, dst: bytes, dst_mac: bytes, mine: bytes) -> bytes:
    body = struct.pack(">I16sBB6s", 0x60000000, target, 2, 1, mine)  # S|O; TLLAO (type 2)
    icmp = dpkt.icmp6.ICMP6(type=136, code=0, data=body)
    ip = dpkt.ip6.IP6(nxt=58, hlim=255, src=target, dst=dst, plen=len(bytes(icmp)), data=icmp)
    return bytes(dpkt.ethernet.Ethernet(dst=dst_mac, src=mine,
                                        type=dpkt.ethernet.ETH_TYPE_IP6, data=ip))


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def dpkt_build(target: str, dst: str, dst_mac: str) -> bytes:
    return _dpkt_na(socket.inet_pton(socket.AF_INET6, target),
                    socket.inet_pton(socket.AF_INET6, dst), _mac(dst_mac), _mac(MINE))


def dpkt_answer(frame) -> bytes | None:
    got = _dpkt_ns(frame)
    if got is None:
        return None
    ip, raw = got
    dst_mac = bytes(frame[6:12])
    opts = raw[24:]
    while len(opts) >= 8 and opts[1]:
        if opts[0] == 1:                              # source link-layer address option
            dst_mac = opts[2:8]
        opts = opts[8 * opts[1]:]
    return _dpkt_na(raw[8:24], ip.src, dst_mac, _mac(MINE))


# ------------------------------------------------------------------ v6core

def v6core_valid(frame) -> bool:
    return ndp.validate(frame) == DropReason.OK


_OUT = bytearray(128)


def v6core_build(target: str, dst: str, dst_mac: str) -> bytes:
    n = ndp.write_na(_OUT, src=target, dst=dst, target=target, src_mac=MINE, dst_mac=dst_mac,
                     solicited=True, override=True, tlla=MINE)
    return bytes(_OUT[:n])


def v6core_answer(frame) -> bytes | None:
    try:                       # write_na_reply validates; an invalid frame is a ParseError
        n = ndp.write_na_reply(_OUT, frame, MINE)
    except ParseError:
        return None
    return bytes(_OUT[:n])


SIDES = {
    "validate": {"v6core": v6core_valid, "scapy": scapy_valid, "dpkt": dpkt_valid},
    "build": {"v6core": v6core_build, "scapy": scapy_build, "dpkt": dpkt_build},
    "answer": {"v6core": v6core_answer, "scapy": scapy_answer, "dpkt": dpkt_answer},
}


def _role(side: str) -> str:
    return "v6core" if side == "v6core" else "peer"


def test_every_side_agrees():
    """The answers the pairs below are timed on, checked once for every side."""
    for side in ("v6core", "scapy", "dpkt"):
        valid, build, answer = (SIDES[j][side] for j in ("validate", "build", "answer"))
        assert [valid(f) for f, _ in VERDICT_CASES] == [ok for _, ok in VERDICT_CASES], side
        assert build("2001:db8::2", "fe80::1", PEER_MAC) == EXPECTED_NA, side
        assert answer(NS) == EXPECTED_NA, side
        assert [answer(f) for f, ok in VERDICT_CASES if not ok] == [None] * 4, side


# ------------------------------------------------------------------ one frame per call

@pytest.mark.parametrize("side", ["v6core", "scapy", "dpkt"])
@pytest.mark.parametrize("job", ["validate", "build", "answer"])
def test_one_frame(benchmark, job, side):
    benchmark.group = f"{job} one frame"
    benchmark.extra_info.update(role=_role(side), items=1, job=job)
    fn = SIDES[job][side]
    if job == "validate":
        assert benchmark(fn, NS) is True
    elif job == "build":
        assert benchmark(fn, "2001:db8::2", "fe80::1", PEER_MAC) == EXPECTED_NA
    else:
        assert benchmark(fn, NS) == EXPECTED_NA


# ------------------------------------------------------------------ batches

@pytest.fixture(scope="module")
def ring():
    """N_BATCH NS frames (256 distinct targets) at SLOT-byte slots of one buffer."""
    frames = [_ns(i) for i in range(256)]
    buf = np.zeros(N_BATCH * SLOT, np.uint8)
    lens = np.empty(N_BATCH, np.int64)
    for i in range(N_BATCH):
        f = frames[i % len(frames)]
        buf[i * SLOT:i * SLOT + len(f)] = np.frombuffer(f, np.uint8)
        lens[i] = len(f)
    offs = np.arange(N_BATCH, dtype=np.int64) * SLOT
    return buf, offs, lens


def _peer_loop(fn, buf, offs, lens, n):
    mv = memoryview(buf)
    return [fn(mv[o:o + ln]) for o, ln in zip(offs[:n].tolist(), lens[:n].tolist(),
                                               strict=True)]


@pytest.mark.parametrize("side", ["v6core", "scapy", "dpkt"])
def test_batch_validate(benchmark, ring, side):
    benchmark.group = "validate batch (frames in one buffer)"
    buf, offs, lens = ring
    if side == "v6core":
        benchmark.extra_info.update(role="v6core", items=N_BATCH)
        reasons = np.empty(N_BATCH, np.uint8)
        benchmark(ndp.validate_batch, buf, offs, lens, reasons)
        assert not reasons.any()
    else:
        benchmark.extra_info.update(role="peer", items=PEER_SAMPLE)
        got = benchmark(_peer_loop, SIDES["validate"][side], buf, offs, lens, PEER_SAMPLE)
        assert got == [True] * PEER_SAMPLE


@pytest.mark.parametrize("side", ["v6core", "scapy", "dpkt"])
def test_batch_answer(benchmark, ring, side):
    benchmark.group = "answer batch (NS in, NA out)"
    buf, offs, lens = ring
    want = [_na(f"2001:db8::{(i % 256) + 2:x}") for i in range(min(N_BATCH, 256))]
    if side == "v6core":
        benchmark.extra_info.update(role="v6core", items=N_BATCH)
        out = np.empty(N_BATCH * 86, np.uint8)
        oo = np.empty(N_BATCH, np.int64)
        ol = np.empty(N_BATCH, np.int64)
        reasons, _, _, count = benchmark(ndp.write_na_replies, buf, offs, lens, MINE, out,
                                         oo, ol)
        assert count == N_BATCH and not reasons.any()
        got = [out[oo[i]:oo[i] + ol[i]].tobytes() for i in range(len(want))]
        assert got == want
    else:
        benchmark.extra_info.update(role="peer", items=PEER_SAMPLE)
        got = benchmark(_peer_loop, SIDES["answer"][side], buf, offs, lens, PEER_SAMPLE)
        assert got == [want[i % len(want)] for i in range(PEER_SAMPLE)]


@pytest.mark.parametrize("side", ["v6core", "scapy", "dpkt"])
def test_batch_build(benchmark, side):
    benchmark.group = "build batch (NAs from a target array)"
    texts = [f"2001:db8::{i + 1:x}" for i in range(N_BATCH)]
    want = [_na(t) for t in texts[:64]]
    if side == "v6core":
        benchmark.extra_info.update(role="v6core", items=N_BATCH)
        targets = np.frombuffer(b"".join(ipaddress.IPv6Address(t).packed for t in texts),
                                np.uint8).reshape(N_BATCH, 16)
        out = np.empty(N_BATCH * 86, np.uint8)
        oo, ol = benchmark(ndp.write_na_batch, out, targets, MINE, PEER_MAC, "fe80::1",
                           flags=0x60)
        assert [out[oo[i]:oo[i] + ol[i]].tobytes() for i in range(len(want))] == want
    elif side == "dpkt":       # the same packed targets v6core gets
        benchmark.extra_info.update(role="peer", items=PEER_SAMPLE)
        packed = [ipaddress.IPv6Address(t).packed for t in texts[:PEER_SAMPLE]]
        dst, dst_mac, mine = ipaddress.IPv6Address("fe80::1").packed, _mac(PEER_MAC), _mac(MINE)
        got = benchmark(lambda: [_dpkt_na(t, dst, dst_mac, mine) for t in packed])
        assert got[:len(want)] == want[:len(got)]
    else:                      # scapy's fields take text
        benchmark.extra_info.update(role="peer", items=PEER_SAMPLE)
        got = benchmark(lambda: [scapy_build(t, "fe80::1", PEER_MAC)
                                 for t in texts[:PEER_SAMPLE]])
        assert got[:len(want)] == want[:len(got)]
