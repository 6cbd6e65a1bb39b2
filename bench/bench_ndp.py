"""NDP codec speed: parse + validate an NS and build its NA, one at a time and batched,
beside scapy doing the same work in the same run.

Run: PYTHONPATH=src python -m pytest bench/bench_ndp.py --benchmark-only
Each benchmark asserts its output is right and records frames/s and the ratio to scapy
in ``extra_info``.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from v6core._core import ndp
from v6core.errors import DropReason

inet6 = pytest.importorskip("scapy.layers.inet6")
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
N_BATCH = 8192


def _ns(i: int) -> bytes:
    tgt = f"2001:db8::{i & 0xffff:x}"
    return bytes(Ether(src="02:00:00:00:00:01", dst=ndp.multicast_mac(ndp.solicited_node(tgt)).hex(":"))
                 / IPv6(src="fe80::1", dst=str(__import__("ipaddress").IPv6Address(
                     ndp.solicited_node(tgt))), hlim=255)
                 / ICMPv6ND_NS(tgt=tgt) / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:01"))


NS = _ns(2)
EXPECTED_NA = bytes(Ether(src=MINE, dst="02:00:00:00:00:01")
                    / IPv6(src="2001:db8::2", dst="fe80::1", hlim=255)
                    / ICMPv6ND_NA(tgt="2001:db8::2", R=0, S=1, O=1)
                    / ICMPv6NDOptDstLLAddr(lladdr=MINE))


def scapy_answer(frame: bytes) -> bytes | None:
    """The same job in scapy: dissect, validate (RFC 4861 section 7.1.1), build the NA."""
    p = Ether(frame)
    if IPv6 not in p or ICMPv6ND_NS not in p:
        return None
    ip, ns = p[IPv6], p[ICMPv6ND_NS]
    raw = bytes(ns)
    if ip.hlim != 255 or ns.code != 0 or len(raw) < 24:
        return None
    if in6_chksum(58, ip, raw[:2] + b"\0\0" + raw[4:]) != ns.cksum:
        return None
    if ns.tgt.startswith("ff"):
        return None
    dst_mac = p[ICMPv6NDOptSrcLLAddr].lladdr if ICMPv6NDOptSrcLLAddr in p else p.src
    return bytes(Ether(src=MINE, dst=dst_mac) / IPv6(src=ns.tgt, dst=ip.src, hlim=255)
                 / ICMPv6ND_NA(tgt=ns.tgt, R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=MINE))


@pytest.fixture(scope="module")
def scapy_ns_per_frame() -> float:
    """scapy's seconds per frame for parse + validate + build, measured in this run."""
    assert scapy_answer(NS) == EXPECTED_NA
    n = 300
    t0 = time.perf_counter()
    for _ in range(n):
        scapy_answer(NS)
    return (time.perf_counter() - t0) / n


def _record(benchmark, per_call_frames: int, scapy_s: float) -> None:
    if benchmark.stats is None:          # --benchmark-disable: the result was still checked
        return
    per_frame = benchmark.stats.stats.median / per_call_frames
    benchmark.extra_info["ns_per_frame"] = round(per_frame * 1e9, 1)
    benchmark.extra_info["frames_per_s"] = round(1 / per_frame)
    benchmark.extra_info["scapy_us_per_frame"] = round(scapy_s * 1e6, 1)
    benchmark.extra_info["x_scapy"] = round(scapy_s / per_frame)


def test_scapy_one_frame(benchmark):
    out = benchmark(scapy_answer, NS)
    assert out == EXPECTED_NA
    if benchmark.stats is not None:
        benchmark.extra_info["frames_per_s"] = round(1 / benchmark.stats.stats.median)


def test_v6core_one_frame(benchmark, scapy_ns_per_frame):
    out = bytearray(128)
    n = benchmark(ndp.write_na_reply, out, NS, MINE)
    assert bytes(out[:n]) == EXPECTED_NA
    _record(benchmark, 1, scapy_ns_per_frame)


def test_v6core_validate_one_frame(benchmark, scapy_ns_per_frame):
    assert benchmark(ndp.validate, NS) == DropReason.OK
    _record(benchmark, 1, scapy_ns_per_frame)


@pytest.fixture(scope="module")
def ring():
    frames = [_ns(i) for i in range(256)]
    # 8192 NS frames at 128-byte slots, as an mmap ring or recvmmsg arena lays them out
    slot = 128
    buf = np.zeros(N_BATCH * slot, np.uint8)
    lens = np.empty(N_BATCH, np.int64)
    for i in range(N_BATCH):
        f = frames[i % len(frames)]
        buf[i * slot:i * slot + len(f)] = np.frombuffer(f, np.uint8)
        lens[i] = len(f)
    offs = np.arange(N_BATCH, dtype=np.int64) * slot
    return buf, offs, lens, frames


def test_v6core_batch_validate(benchmark, ring, scapy_ns_per_frame):
    buf, offs, lens, _ = ring
    reasons = np.empty(N_BATCH, np.uint8)
    benchmark(ndp.validate_batch, buf, offs, lens, reasons)
    assert not reasons.any()
    _record(benchmark, N_BATCH, scapy_ns_per_frame)


def test_v6core_batch_answer(benchmark, ring, scapy_ns_per_frame):
    buf, offs, lens, frames = ring
    out = np.empty(N_BATCH * 86, np.uint8)
    oo = np.empty(N_BATCH, np.int64)
    ol = np.empty(N_BATCH, np.int64)
    reasons, _, _, count = benchmark(ndp.write_na_replies, buf, offs, lens, MINE, out, oo, ol)
    assert count == N_BATCH and not reasons.any()
    for i in (0, 1, N_BATCH - 1):   # spot checks against scapy's answer
        assert out[oo[i]:oo[i] + ol[i]].tobytes() == scapy_answer(frames[i % len(frames)])
    _record(benchmark, N_BATCH, scapy_ns_per_frame)


def test_v6core_batch_build_na(benchmark, scapy_ns_per_frame):
    import ipaddress

    targets = np.frombuffer(b"".join(ipaddress.IPv6Address(f"2001:db8::{i + 1:x}").packed
                                     for i in range(N_BATCH)), np.uint8).reshape(N_BATCH, 16)
    out = np.empty(N_BATCH * 86, np.uint8)
    oo, ol = benchmark(ndp.write_na_batch, out, targets, MINE, "02:00:00:00:00:01", "fe80::1",
                       flags=0x60)
    assert int(ol.sum()) == 86 * N_BATCH
    first = out[:86].tobytes()
    assert first == bytes(Ether(src=MINE, dst="02:00:00:00:00:01")
                          / IPv6(src="2001:db8::1", dst="fe80::1", hlim=255)
                          / ICMPv6ND_NA(tgt="2001:db8::1", R=0, S=1, O=1)
                          / ICMPv6NDOptDstLLAddr(lladdr=MINE))
    _record(benchmark, N_BATCH, scapy_ns_per_frame)
