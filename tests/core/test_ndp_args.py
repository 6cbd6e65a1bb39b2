"""Hostile arguments to every NDP codec function that takes offsets, lengths, counts,
indexes or output buffers: a clean ValueError / TypeError / BufferError naming the
argument, never a crash.

A crash here (a segmentation fault) kills the pytest process, which fails the run: that
is the point.  Frames sit against a PROT_NONE guard page (tests/fuzz/guarded.py), so a
read past the end of the buffer faults instead of passing silently.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.guarded import Guarded
from v6core._core import ndp

try:
    GUARD = Guarded()
except OSError as exc:
    pytest.skip(f"guard pages unavailable: {exc}", allow_module_level=True)

CLEAN = (ValueError, TypeError, BufferError)
MAC = "02:00:00:00:00:99"
NS = ndp.build_ns(src="fe80::a", target="2001:db8::2", src_mac="02:00:00:00:00:0a",
                  slla="02:00:00:00:00:0a")


# --- regression: offsets + lengths that wrap int64 used to pass the layout check ---------

@pytest.mark.parametrize("call", [
    lambda off, ln: ndp.validate_batch(bytes(100), off, ln),
    lambda off, ln: ndp.parse_batch(bytes(100), off, ln),
    lambda off, ln: ndp.write_na_replies(bytes(100), off, ln, MAC, bytearray(256)),
], ids=["validate_batch", "parse_batch", "write_na_replies"])
def test_wrapping_layout_is_refused(call):
    # 2**62 + 2**62 = 2**63 wraps to a negative int64, which is "<= len(buffer)"
    with pytest.raises(ValueError, match=r"offsets\[0\].*lengths\[0\]"):
        call(np.array([2**62]), np.array([2**62]))
    with pytest.raises(ValueError, match=r"frame 1: offsets\[1\]"):
        call(np.array([0, 2**63 - 1]), np.array([0, 2**63 - 1]))


@pytest.mark.parametrize("offsets, lengths, match", [
    ([2**70], [1], r"offsets\[0\]: .* out of range"),
    ([0, 1], [1, 2**64], r"lengths\[1\]: .* out of range"),
    (np.array([2**64 - 1], np.uint64), [1], r"offsets\[0\]: .* out of range"),
    ([0, -1], [1, 1], r"offsets\[1\]: -1 is negative"),
    ([0], [-5], r"lengths\[0\]: -5 is negative"),
    ([0.5], [1], r"offsets must be integers"),
    (["0"], [1], r"offsets must be integers"),
    ([0], [None], r"lengths\[0\]: None is not an integer"),
    ([[0, 1]], [[1, 1]], r"offsets must be 1-d"),
    ([0, 1], [1], r"one shape"),
])
def test_bad_layout_names_argument_and_index(offsets, lengths, match):
    for fn in (ndp.validate_batch, ndp.parse_batch):
        with pytest.raises(ValueError, match=match):
            fn(bytes(100), offsets, lengths)


def test_output_arrays_are_checked():
    with pytest.raises(ValueError, match="out .*read-only"):
        ndp.validate_batch(NS, [0], [len(NS)], out=np.frombuffer(b"x", np.uint8))
    with pytest.raises(ValueError, match="out .*uint8"):
        ndp.validate_batch(NS, [0], [len(NS)], out=np.zeros(1, np.int64))
    with pytest.raises(ValueError, match="out has 2 entries for 1 frames"):
        ndp.validate_batch(NS, [0], [len(NS)], out=np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="out_offsets"):
        ndp.write_na_replies(NS, [0], [len(NS)], MAC, bytearray(256),
                             out_offsets=np.zeros(4, np.int64)[::2])
    with pytest.raises(ValueError, match="out_lengths"):
        ndp.write_na_batch(bytearray(256), np.zeros((1, 16), np.uint8), MAC, MAC, "ff02::1",
                           out_lengths=np.zeros(1, np.int32))


def test_out_overlapping_the_input_is_refused():
    buf = bytearray(NS) + bytearray(256)
    view = memoryview(buf)
    with pytest.raises(ValueError, match="overlaps frames"):
        ndp.write_na_replies(view, [0], [len(NS)], MAC, view[len(NS) - 8:])
    with pytest.raises(ValueError, match="overlaps frame"):
        ndp.write_na_reply(view[40:], view[:len(NS)], MAC)
    targets = np.zeros(2048, np.uint8)
    with pytest.raises(ValueError, match="overlaps an input"):
        ndp.write_na_batch(targets[16:], targets[:32].reshape(2, 16), MAC, MAC, "ff02::1")
    msg = memoryview(bytearray(256))
    with pytest.raises(ValueError, match="overlaps msg"):
        ndp.write_icmp6(msg, msg[100:108], src="fe80::1",
                        dst="ff02::1", src_mac=MAC)
    # the same answers into a separate buffer work
    assert ndp.write_na_reply(bytearray(128), bytes(NS), MAC) == 86


def test_mask_and_flags_are_checked():
    with pytest.raises(ValueError, match="mask has shape"):
        ndp.write_na_replies(NS, [0], [len(NS)], MAC, bytearray(256), mask=[1, 1])
    with pytest.raises(ValueError, match="mask must be"):
        ndp.write_na_replies(NS, [0], [len(NS)], MAC, bytearray(256), mask=["x"])
    # a mask of 256 used to wrap to 0 (no answer); it is nonzero, so it answers
    _, _, ol, count = ndp.write_na_replies(NS, [0], [len(NS)], MAC, bytearray(256),
                                           mask=np.array([256]))
    assert count == 1 and ol[0] == 86
    tg = np.zeros((2, 16), np.uint8)
    tg[:, 0] = 0x20
    for flags, match in ((300, r"flags\[0\]: 300"), ([0, -1], r"flags\[1\]: -1"),
                         ([0x20] * 3, "shape"), (0.5, "integers")):
        with pytest.raises(ValueError, match=match):
            ndp.write_na_batch(bytearray(256), tg, MAC, MAC, "ff02::1", flags=flags)


# --- property: any hostile argument, a clean exception -------------------------------------

def _index_values():
    ints = st.one_of(st.integers(-2**65, 2**65), st.sampled_from(
        [0, 1, -1, 2**62, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -2**63]))
    return st.one_of(
        st.lists(ints, max_size=4),
        st.lists(st.integers(0, 200), max_size=4).map(np.array),
        st.lists(st.integers(0, 2**64 - 1), max_size=4).map(lambda v: np.array(v, np.uint64)),
        st.lists(st.integers(-128, 127), max_size=4).map(lambda v: np.array(v, np.int8)),
        st.lists(st.integers(0, 200), min_size=2, max_size=8).map(
            lambda v: np.array(v, np.int64)[::2]),                      # non-contiguous
        st.lists(st.floats(allow_nan=True), max_size=3),
        st.lists(st.integers(0, 10), max_size=4).map(lambda v: np.array(v, np.int64)[:, None]),
        st.sampled_from([None, "abc", b"\x00\x01", [[1], [2, 3]], object(), 7, [True]]),
    )


def _outputs():
    return st.one_of(
        st.integers(0, 300).map(bytearray),
        st.integers(1, 300).map(GUARD.out),                            # ends at a guard page
        st.sampled_from([b"\0" * 200, None, 5, "x" * 200]),             # read-only, not buffers
        st.integers(1, 300).map(lambda n: np.frombuffer(bytes(n), np.uint8)),   # read-only
        st.integers(2, 600).map(lambda n: memoryview(bytearray(n))[::2]),       # strided
        st.integers(0, 40).map(lambda n: np.zeros(n, np.int64)),
        st.integers(0, 40).map(lambda n: np.zeros((n, 2), np.uint8)),
    )


def _frames():
    data = st.one_of(st.just(NS), st.binary(max_size=200), st.just(NS * 3))
    return data.map(GUARD.at_end) | st.sampled_from(
        [None, 3, "frames", np.zeros((4, 4))[:, ::2], memoryview(NS)[::2]])


def _call(fn, *args, **kw):
    with contextlib.suppress(*CLEAN):     # anything else, or a crash, fails the test
        fn(*args, **kw)


HOSTILE = settings(max_examples=300, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@HOSTILE
@given(frames=_frames(), offsets=_index_values(), lengths=_index_values(), out=_outputs(),
       out2=_outputs(), mask=_index_values())
def test_batch_functions_never_crash(frames, offsets, lengths, out, out2, mask):
    _call(ndp.validate_batch, frames, offsets, lengths)
    _call(ndp.validate_batch, frames, offsets, lengths, out)
    _call(ndp.parse_batch, frames, offsets, lengths, ip6=True)
    _call(ndp.write_na_replies, frames, offsets, lengths, MAC, out)
    _call(ndp.write_na_replies, frames, offsets, lengths, MAC, out, out2, out2, mask=mask)
    _call(ndp.write_na_replies, frames, offsets, lengths, MAC, out, mask=mask, ip6=True)


@HOSTILE
@given(targets=_index_values(), dsts=_index_values(), flags=_index_values(), out=_outputs(),
       out2=_outputs(), vlan=st.one_of(st.none(), st.integers(-2**40, 2**40)))
def test_write_na_batch_never_crashes(targets, dsts, flags, out, out2, vlan):
    _call(ndp.write_na_batch, out, targets, MAC, MAC, "ff02::1", flags=flags)
    _call(ndp.write_na_batch, out, np.zeros((3, 16), np.uint8), MAC, dsts, dsts,
          srcs=targets, vlan=vlan)
    _call(ndp.write_na_batch, out, np.zeros((3, 16), np.uint8), MAC, MAC, "ff02::1",
          out_offsets=out2, out_lengths=out2)
    _call(ndp.addresses, targets)


@HOSTILE
@given(out=_outputs(), frames=_frames(), n=st.integers(-2**40, 2**40),
       plen=st.integers(-2**40, 2**40), nonce=st.binary(max_size=2100))
def test_single_builders_never_crash(out, frames, n, plen, nonce):
    kw = {"src": "fe80::1", "src_mac": MAC}
    _call(ndp.write_na, out, dst="ff02::1", target="2001:db8::1", vlan=n, **kw)
    _call(ndp.write_ns, out, target="2001:db8::1", nonce=nonce, **kw)
    _call(ndp.write_rs, out, **kw)
    _call(ndp.write_ra, out, cur_hop_limit=n, router_lifetime=n, mtu=n,
          prefixes=[("2001:db8::", plen, n, n, plen)], **kw)
    _call(ndp.write_ra, out, reachable_time=n, retrans_timer=plen, **kw)
    _call(ndp.write_icmp6, out, nonce, dst="ff02::1", hop_limit=n, **kw)
    _call(ndp.write_na_reply, out, frames, MAC)
    _call(ndp.build_na_reply, frames, MAC, ip6=True)
    _call(ndp.icmp6_checksum, "::", "::", frames)
    for f in (ndp.parse, ndp.inspect, ndp.validate):
        _call(f, frames)
