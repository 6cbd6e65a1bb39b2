"""atheris fuzz target for the NDP codec.

    pip install atheris
    PYTHONPATH=src python tests/fuzz/fuzz_ndp.py -max_total_time=600 [libFuzzer flags]

Each input is used three ways: as a raw Ethernet frame, as a raw IPv6 packet, and (first
byte picks a seed, the rest drives mutations) as a mutated golden vector with its
checksum repaired, so the deep RFC 4861 checks are reached even without native coverage.
Frames start right after and end right before a PROT_NONE guard page, and replies are written into an output that
ends at one, so any out-of-bounds access is a crash.  Invariants of accepted frames are
checked with plain Python (an independent RFC 1071 checksum).

Coverage: atheris instruments the Python side; the branch per drop reason and per
message type below turns "which check fired" into coverage it can steer by.  Native
coverage of the Cython module needs clang (-fsanitize=fuzzer-no-link), not on this host.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import atheris
import numpy  # noqa: F401  (imported first so that only v6core is instrumented)
from guarded import PAGE, Guarded  # beside this script

with atheris.instrument_imports(include=["v6core"]):
    from v6core._core import ndp
    from v6core.errors import DropReason

IN, OUT = Guarded(), Guarded()
DATA = Path(__file__).resolve().parent.parent / "data"


def _load(path: Path) -> bytes:
    out = bytearray()
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            out += bytes.fromhex(re.sub(r"\s+", "", line.split("#", 1)[0]))
    return bytes(out)


SEEDS = [_load(p) for p in sorted(DATA.glob("ndp_*.hex"))]


def py_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def pseudo(data: bytes, ip6: int, icmp: int, end: int) -> bytes:
    return (data[ip6 + 8:ip6 + 40] + (end - icmp).to_bytes(4, "big") + b"\0\0\0\x3a"
            + data[icmp:end])


@atheris.instrument_func
def mutate(fdp: atheris.FuzzedDataProvider) -> bytes:
    b = bytearray(SEEDS[fdp.ConsumeIntInRange(0, len(SEEDS) - 1)])
    for _ in range(fdp.ConsumeIntInRange(0, 8)):
        op = fdp.ConsumeIntInRange(0, 4)
        i = fdp.ConsumeIntInRange(0, max(len(b) - 1, 0))
        v = fdp.ConsumeInt(1) & 0xFF
        if op == 0 and b:
            b[i] = v
        elif op == 1:
            b[i:i] = bytes([v])
        elif op == 2:
            del b[i:i + (v & 15) + 1]
        elif op == 3 and b:
            del b[i:]
        elif b:
            b[i] ^= 1 << (v & 7)
    f = ndp.inspect(bytes(b), verify_checksum=False)
    if f.icmp_len >= 4 and f.end <= len(b):   # repair the checksum: reach later checks
        b[f.icmp_off + 2:f.icmp_off + 4] = b"\0\0"
        ck = 0xFFFF - py_sum(pseudo(bytes(b), f.ip6_off, f.icmp_off, f.end))
        b[f.icmp_off + 2:f.icmp_off + 4] = ck.to_bytes(2, "big")
    return bytes(b)


def _steer_fn(i: int):
    # one instrumented function per drop reason, branching on the message type: the
    # (reason, type) actually reached becomes coverage that atheris can steer by
    ns: dict = {}
    exec(f"def steer_{i}(t):\n    if t == 133:\n        return {i}\n    if t == 134:\n"
         f"        return {i} + 1\n    if t == 135:\n        return {i} + 2\n"
         f"    if t == 136:\n        return {i} + 3\n    return {i} + 4\n", ns)
    return atheris.instrument_func(ns[f"steer_{i}"])


STEER = [_steer_fn(i) for i in range(len(DropReason))]


@atheris.instrument_func
def check(frame: bytes, ip6: bool) -> None:
    if len(frame) > PAGE:
        return
    # at the start of the page (reads before the frame fault), then at its end (reads
    # past the frame fault); the verdicts must agree
    first = ndp.validate(IN.at_start(frame), ip6=ip6)
    view = IN.at_end(frame)
    f = ndp.inspect(view, ip6=ip6)
    reason = int(f.reason)
    assert ndp.validate(view, ip6=ip6) == reason == first
    STEER[reason](f.type)
    if reason != DropReason.OK:
        assert 0 <= f.bad_off <= len(frame)
        return
    n = len(frame)
    assert f.ip6_off < f.icmp_off <= f.opt_off <= f.end <= n
    assert f.end == f.ip6_off + 40 + int.from_bytes(frame[f.ip6_off + 4:f.ip6_off + 6], "big")
    assert frame[f.ip6_off + 7] == 255 and frame[f.icmp_off + 1] == 0
    assert py_sum(pseudo(frame, f.ip6_off, f.icmp_off, f.end)) == 0xFFFF
    assert f.opt_off + sum(len(o.data) for o in f.options) == f.end
    if f.type == 135 and not ip6:
        size = 90 if f.vlan_tci is not None else 86
        m = ndp.write_na_reply(OUT.out(size), view, b"\x02\0\0\0\0\x99")
        assert m == size and ndp.validate(OUT.out(size)) == DropReason.OK
    del f, view


@atheris.instrument_func
def TestOneInput(data: bytes) -> None:
    check(data, False)
    check(data, True)
    check(mutate(atheris.FuzzedDataProvider(data)), False)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
