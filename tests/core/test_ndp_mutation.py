"""Random mutation of valid frames (hypothesis): the codec never crashes, hangs or reads
outside the buffer, and what it accepts is consistent.

Out-of-bounds reads are caught by the hardware: each frame is copied so that it ends
exactly at (or starts exactly after) a PROT_NONE guard page, so a read one byte past
either end is a segmentation fault, not a silent pass.  Builders write into outputs that
end at a guard page too.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.guarded import PAGE, Guarded
from v6core._core import ndp
from v6core.errors import DropReason

try:
    GUARD_IN = Guarded()
    GUARD_OUT = Guarded()
except OSError as exc:
    pytest.skip(f"guard pages unavailable: {exc}", allow_module_level=True)

MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
SEEDS = [
    ndp.build_ns(src="fe80::a", target="2001:db8::2", src_mac=MAC_A, slla=MAC_A,
                 nonce=b"123456"),
    ndp.build_ns(src="::", target="2001:db8::2", src_mac=MAC_A, vlan=5),
    ndp.build_na(src="2001:db8::2", dst="fe80::a", dst_mac=MAC_A, target="2001:db8::2",
                 src_mac=MAC_B, solicited=True, tlla=MAC_B),
    ndp.build_rs(src="fe80::a", src_mac=MAC_A, slla=MAC_A),
    ndp.build_ra(src="fe80::1", src_mac=MAC_A, slla=MAC_A, mtu=1500,
                 prefixes=[("2001:db8::", 64, 0xC0, 100, 50)] * 2),
    # Redirect (RFC 4861 section 4.5): target fe80::9, destination 2001:db8::7, TLLAO
    ndp.build_icmp6(bytes.fromhex("89000000" "00000000" "fe800000000000000000000000000009"
                                  "20010db8000000000000000000000007" "0201020000000009"),
                    src="fe80::1", dst="2001:db8::1", src_mac=MAC_A, dst_mac=MAC_B),
]
# one with extension headers (hop-by-hop Pad6, destination options Pad6) before the NS
_ns = bytearray(SEEDS[0])
_ext = bytes([60, 0, 1, 4, 0, 0, 0, 0]) + bytes([58, 0, 1, 4, 0, 0, 0, 0])
_ns[14 + 6] = 0
_ns[14 + 4:14 + 6] = (len(_ns) - 54 + 16).to_bytes(2, "big")
SEEDS.append(bytes(_ns[:54]) + _ext + bytes(_ns[54:]))
assert all(ndp.validate(s) == DropReason.OK for s in SEEDS), [ndp.validate(s) for s in SEEDS]


def py_checksum(src: bytes, dst: bytes, msg: bytes) -> int:
    """RFC 1071 one's complement sum, written plainly (an oracle independent of the C)."""
    data = src + dst + len(msg).to_bytes(4, "big") + b"\0\0\0\x3a" + msg
    if len(data) % 2:
        data += b"\0"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


mutation = st.one_of(
    st.tuples(st.just("set"), st.integers(0, 300), st.integers(0, 255)),
    st.tuples(st.just("xor"), st.integers(0, 300), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 300), st.just(0)),
    st.tuples(st.just("ins"), st.integers(0, 300), st.integers(0, 255)),
    st.tuples(st.just("del"), st.integers(0, 300), st.integers(1, 16)),
)


def mutate(frame: bytes, muts) -> bytes:
    b = bytearray(frame)
    for kind, pos, val in muts:
        if not b and kind != "ins":
            continue
        i = pos % (len(b) + (kind == "ins"))
        if kind == "set":
            b[i] = val
        elif kind == "xor":
            b[i] ^= val
        elif kind == "cut":
            del b[i:]
        elif kind == "ins":
            b[i:i] = bytes([val])
        else:
            del b[i:i + val]
    return bytes(b)


def check_accepted(view, f) -> None:
    """Invariants of an accepted frame, checked against the bytes themselves."""
    n = len(view)
    data = bytes(view)
    assert f.ip6_off in (14, 18)
    assert f.ip6_off < f.icmp_off <= f.opt_off <= f.end <= n
    assert f.end - f.icmp_off == f.icmp_len
    assert f.end == f.ip6_off + 40 + int.from_bytes(data[f.ip6_off + 4:f.ip6_off + 6], "big")
    assert data[f.ip6_off + 7] == 255 and data[f.icmp_off + 1] == 0
    assert 133 <= data[f.icmp_off] <= 137
    assert py_checksum(data[f.ip6_off + 8:f.ip6_off + 24], data[f.ip6_off + 24:f.ip6_off + 40],
                       data[f.icmp_off:f.end]) == 0xFFFF
    total = sum(len(o.data) for o in f.options)
    assert f.opt_off + total == f.end and all(len(o.data) > 0 for o in f.options)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(SEEDS))), st.lists(mutation, min_size=1, max_size=6),
       st.booleans())
def test_mutated_frames(seed, muts, fix_checksum):
    frame = mutate(SEEDS[seed], muts)
    if fix_checksum:
        # re-sign the message so the mutation reaches the checks after the checksum
        f = ndp.inspect(frame, verify_checksum=False)
        if f.icmp_len >= 4 and f.end <= len(frame):
            b = bytearray(frame)
            b[f.icmp_off + 2:f.icmp_off + 4] = b"\0\0"
            ck = 0xFFFF - py_checksum(bytes(b[f.ip6_off + 8:f.ip6_off + 24]),
                                      bytes(b[f.ip6_off + 24:f.ip6_off + 40]),
                                      bytes(b[f.icmp_off:f.end]))
            b[f.icmp_off + 2:f.icmp_off + 4] = ck.to_bytes(2, "big")
            frame = bytes(b)
    if len(frame) > PAGE:
        return
    for view in (GUARD_IN.at_end(frame), GUARD_IN.at_start(frame)):
        f = ndp.inspect(view)
        assert f.reason in DropReason
        assert ndp.validate(view) == f.reason
        if f.reason == DropReason.OK:
            check_accepted(view, f)
            if f.type == 135:
                n = ndp.write_na_reply(GUARD_OUT.out(90), view, MAC_B)
                assert n in (86, 90)
                reply = bytes(GUARD_OUT.out(90)[:n])
                assert ndp.validate(reply) == DropReason.OK
        else:
            assert 0 <= f.bad_off <= len(view)
        del f


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(range(len(SEEDS))),
                          st.lists(mutation, max_size=3)), min_size=1, max_size=12))
def test_mutated_batches(items):
    frames = [mutate(SEEDS[s], m) for s, m in items]
    blob = b"".join(frames)
    if len(blob) > PAGE:
        return
    lens = np.array([len(f) for f in frames], dtype=np.int64)
    offs = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    view = GUARD_IN.at_end(blob)
    reasons = ndp.validate_batch(view, offs, lens)
    assert list(reasons) == [int(ndp.validate(f)) for f in frames]
    n_ns = sum(1 for f, r in zip(frames, reasons, strict=True)
               if r == 0 and f[ndp.inspect(f).icmp_off] == 135)
    tagged = sum(1 for f, r in zip(frames, reasons, strict=True)
                 if r == 0 and f[ndp.inspect(f).icmp_off] == 135 and f[12:14] == b"\x81\x00")
    need = 86 * n_ns + 4 * tagged
    if need:
        out = GUARD_OUT.out(need)                  # exactly the room the replies need
        r2, oo, ol, count = ndp.write_na_replies(view, offs, lens, MAC_B, out)
        assert count == n_ns and int(ol.sum()) == need and list(r2) == list(reasons)


def test_empty_and_tiny_frames():
    for n in range(0, 80):
        view = GUARD_IN.at_end(SEEDS[0][:n])
        assert ndp.validate(view) != DropReason.OK
    assert ndp.validate(b"") == DropReason.ETH_TRUNC
    assert ndp.validate(b"", ip6=True) == DropReason.IP6_TRUNC


def test_guard_pages_fault():
    """The guard really is PROT_NONE: touching the byte after a frame kills the process."""
    import subprocess
    import sys

    code = ("import ctypes, tests.core.test_ndp_mutation as m\n"
            "g = m.Guarded(); base = ctypes.addressof(g._anchor)\n"
            "ctypes.string_at(base + 2 * m.PAGE - 1, 1)\n"     # last readable byte: fine
            "print('ok', flush=True)\n"
            "ctypes.string_at(base + 2 * m.PAGE, 1)\n")        # first guard byte: SIGSEGV
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "ok" and r.returncode == -11, (r.returncode, r.stderr[-300:])
