"""The XDP fast path against the Cython engine: the same frames go through the BPF
program (BPF_PROG_TEST_RUN, no network) and through ``_engine.decide``; verdicts and
output bytes must agree.

The contract checked on every frame:
* XDP_TX: the engine answers, and the NA bytes are identical;
* XDP_PASS: the frame is unchanged, and the program's reason agrees with the engine's
  verdict (no rule, excluded, own address, unicast ignored, no link-local are the same
  decisions; "invalid" is one of the codec's drop reasons; "other" is never an answer);
  the reasons that hand a frame to the engine on purpose (DAD, extension headers, auto
  rules, long or option-heavy NS) may go either way, since the engine then decides;
* no other verdict (never XDP_DROP or XDP_ABORTED).
Needs root (BPF), a v6core built with libbpf and clang; skips with the reason otherwise.
"""

from __future__ import annotations

import ipaddress
import os
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from v6core._core.prefix import PrefixTable
from v6core.responder.config import Rule
from v6core.responder.engine import Engine, Port, Verdict, decide
from v6core.responder.xdp import XdpReason, load_object, prefix_entries, unavailable

REASON = unavailable() or (None if os.geteuid() == 0 else "needs root to load BPF programs")
if REASON is None:
    from v6core.responder import _xdp
    try:
        _xdp.XdpProgram(load_object()).close()
    except OSError as e:
        REASON = f"the kernel refuses the XDP program: {e}"
if REASON:
    print(f"\ntests/test_responder_xdp.py skipped: {REASON}")
pytestmark = pytest.mark.skipif(bool(REASON), reason=REASON or "")

DATA = Path(__file__).resolve().parent / "data"
HOST_MAC = bytes.fromhex("020000000002")
LL = "fe80::2"
PUNTS = {XdpReason.EXT_HDR, XdpReason.DAD, XdpReason.STATEFUL, XdpReason.TOO_LONG,
         XdpReason.DISABLED, XdpReason.ADJUST}
SAME = {XdpReason.NO_RULE: Verdict.NO_RULE, XdpReason.EXCLUDED: Verdict.EXCLUDED,
        XdpReason.OWN: Verdict.OWN_ADDRESS, XdpReason.UNICAST: Verdict.UNICAST_IGNORED,
        XdpReason.NO_LINKLOCAL: Verdict.NO_LINKLOCAL, XdpReason.OTHER_HOST: Verdict.OTHER_HOST}


def hexfile(path: Path) -> bytes:
    return bytes.fromhex("".join(line.split("#")[0] for line in path.read_text().splitlines()))


class Pair:
    """An engine and a loaded XDP program holding the same rules and host state."""

    def __init__(self, rules, *, linklocal=LL, own=()):
        self.rules = list(rules)
        self.engine = Engine(self.rules)
        self.port = Port(7, HOST_MAC)
        self.port.set_linklocal(linklocal)
        self.port.set_own(PrefixTable([f"{a}/128" for a in own]) if own else None)
        self.prog = _xdp.XdpProgram(load_object())
        self.prog.set_config(HOST_MAC, linklocal, True)
        self.prog.set_rules(self.engine, prefix_entries(self.rules))
        self.prog.set_own([ipaddress.IPv6Address(a).packed for a in own])

    def check(self, frame: bytes) -> XdpReason:
        v, na = decide(self.engine, self.port, frame)
        before = self.prog.counters()
        ret, out = self.prog.test_run(frame)
        delta = [a - b for a, b in zip(self.prog.counters(), before, strict=True)]
        assert sum(delta) == 1, delta
        reason = XdpReason(delta.index(1))
        if ret == _xdp.VERDICT_TX:
            assert reason == XdpReason.ANSWERED
            assert v == Verdict.ANSWER, f"XDP answered, the engine said {v}"
            assert out.hex() == na.hex()
            return reason
        assert ret == _xdp.VERDICT_PASS, f"verdict {ret}"
        assert out == frame, "a passed frame must be unchanged"
        if reason in SAME:
            assert v == SAME[reason], (reason, v)
        elif reason == XdpReason.INVALID:
            assert 0 < v < 64, (reason, v)
        elif reason == XdpReason.OTHER:
            assert v != Verdict.ANSWER
        else:
            assert reason in PUNTS, reason
        return reason

    def close(self):
        self.prog.close()


PFX = "2001:db8::/64"
RULESETS = {
    "default": [Rule(prefix=PFX)],
    "flags-mac": [Rule(prefix=PFX, router=True, override=True,
                       mac=bytes.fromhex("02005e005301"))],
    "unsolicited": [Rule(prefix=PFX, solicited=False)],
    "link-local": [Rule(prefix=PFX, source="link-local")],
    "fixed": [Rule(prefix=PFX, source="2001:db8:1::53")],
    "multicast-only": [Rule(prefix=PFX, unicast=False)],
    "defend-auto": [Rule(prefix=PFX, dad="defend"),
                    Rule(prefix="2001:db8:0:0:1::/80", auto=True)],
    "nested-excludes": [Rule(prefix="2001:db8::/32", exclude=("2001:db8::/120",),
                             source="link-local"),
                        Rule(prefix="2001:db8::/96", exclude=("2001:db8::2/128",), router=True),
                        Rule(prefix="2001:db8::100/120")],
}


@pytest.fixture(scope="module", params=sorted(RULESETS))
def pair(request):
    p = Pair(RULESETS[request.param], own=["2001:db8::1:0:0:7"])
    yield p
    p.close()


@pytest.mark.parametrize("path", sorted(DATA.glob("ndp_*.hex")), ids=lambda p: p.stem)
def test_golden_vectors(pair, path):
    reason = pair.check(hexfile(path))
    if path.stem in ("ndp_ns_multicast_sllao", "ndp_ns_unicast_vlan") and \
            pair.rules is RULESETS["default"]:
        assert reason == XdpReason.ANSWERED    # the common case is answered in the kernel


def test_without_linklocal_the_engine_decides():
    p = Pair([Rule(prefix=PFX, source="link-local")], linklocal=None)
    try:
        assert p.check(hexfile(DATA / "ndp_ns_multicast_sllao.hex")) == XdpReason.NO_LINKLOCAL
    finally:
        p.close()


# --- NS frames from parts, and their corruptions --------------------------------------------

def _cksum(src: bytes, dst: bytes, msg: bytes) -> int:
    data = src + dst + struct.pack("!IxxxB", len(msg), 58) + msg + b"\0" * (len(msg) & 1)
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def build_ns(*, target: bytes, src: bytes, dst: bytes | None, slla: bytes | None,
             vlan: int | None, hlim: int = 255, code: int = 0, options: bytes = b"",
             hbh: bool = False, pad: int = 0, bad_cksum: bool = False) -> bytes:
    if dst is None:
        dst = bytes.fromhex("ff0200000000000000000001ff") + target[13:]
    msg = bytes([135, code, 0, 0, 0, 0, 0, 0]) + target
    if slla is not None:
        msg += bytes([1, 1]) + slla
    msg += options
    c = _cksum(src, dst, msg) ^ (0x5555 if bad_cksum else 0)
    msg = msg[:2] + struct.pack("!H", c) + msg[4:]
    nh, ext = 58, b""
    if hbh:
        nh, ext = 0, bytes([58, 0, 1, 4, 0, 0, 0, 0])
    ip = struct.pack("!IHBB", 0x6000_0000 | 0x12345, len(ext) + len(msg), nh, hlim) + src + dst
    mac_dst = (b"\x33\x33" + dst[12:]) if dst[0] == 0xff else HOST_MAC
    l2 = mac_dst + bytes.fromhex("02000000000a")
    l2 += (struct.pack("!HH", 0x8100, vlan) if vlan is not None else b"") + b"\x86\xdd"
    return l2 + ip + ext + msg + b"\0" * pad


TARGETS = ["2001:db8::5", "2001:db8::2", "2001:db8::1:0:0:7", "2001:db8::1:0:0:9",
           "2001:db8::150", "2001:db8:1::5", "2001:db9::1", "fe80::5"]
SOURCES = ["2001:db8::99", "fe80::a", "::", "ff02::1"]
opt = st.sampled_from([b"", bytes([14, 1]) + b"\x01" * 6,            # nonce (RFC 3971)
                       bytes([99, 1]) + b"\0" * 6,                    # unknown: ignored
                       bytes([1, 1]) + b"\x02\0\0\0\0\x0b",          # a second SLLAO
                       bytes([1, 2]) + b"\0" * 14,                    # SLLAO of 16 bytes
                       bytes([14, 0]) + b"\0" * 6,                    # length 0
                       bytes([99, 2]) + b"\0" * 6,                    # runs past the end
                       bytes([99, 1]) * 20])                          # too many options

ns_frames = st.builds(
    build_ns,
    target=st.sampled_from(TARGETS).map(lambda a: ipaddress.IPv6Address(a).packed),
    src=st.sampled_from(SOURCES).map(lambda a: ipaddress.IPv6Address(a).packed),
    dst=st.one_of(st.none(), st.just(ipaddress.IPv6Address("2001:db8::5").packed)),
    slla=st.one_of(st.none(), st.just(bytes.fromhex("02000000000a"))),
    vlan=st.one_of(st.none(), st.integers(0, 0xffff)),
    hlim=st.sampled_from([255, 255, 255, 64]),
    code=st.sampled_from([0, 0, 0, 1]),
    options=opt,
    hbh=st.booleans(),
    pad=st.sampled_from([0, 0, 3, 8, 40]),
    bad_cksum=st.sampled_from([False, False, False, True]),
)


def _mutate(frame: bytes, data) -> bytes:
    kind = data.draw(st.sampled_from(["none", "flip", "cut", "byte"]))
    b = bytearray(frame)
    if kind == "flip":
        i = data.draw(st.integers(0, len(b) - 1))
        b[i] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "byte":
        i = data.draw(st.integers(0, len(b) - 1))
        b[i] = data.draw(st.integers(0, 255))
    elif kind == "cut":
        b = b[:data.draw(st.integers(14, len(b)))]
    return bytes(b)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(RULESETS)), ns_frames, st.data())
def test_hypothesis_corpus(name, frame, data):
    p = PAIRS.setdefault(name, Pair(RULESETS[name], own=["2001:db8::1:0:0:7"]))
    p.check(_mutate(frame, data))


PAIRS: dict[str, Pair] = {}


def test_common_shapes_are_answered_in_the_kernel():
    """What Linux sends (multicast NS with SLLAO; unicast NUD with and without SLLAO,
    tagged or not, with Ethernet padding) is answered by the program itself."""
    p = Pair(RULESETS["default"])
    t = ipaddress.IPv6Address("2001:db8::5").packed
    s = ipaddress.IPv6Address("2001:db8::99").packed
    try:
        for kw in ({}, {"dst": t}, {"dst": t, "slla": None}, {"vlan": 100}, {"pad": 8},
                   {"options": bytes([14, 1]) + b"\x07" * 6}):
            args = {"target": t, "src": s, "dst": None, "slla": bytes.fromhex("02000000000a"),
                    "vlan": None, **kw}
            assert p.check(build_ns(**args)) == XdpReason.ANSWERED, kw
    finally:
        p.close()


def test_disabled_program_passes_everything():
    p = Pair(RULESETS["default"])
    try:
        p.prog.set_enabled(False)
        assert p.check(hexfile(DATA / "ndp_ns_multicast_sllao.hex")) == XdpReason.DISABLED
        p.prog.set_enabled(True)
        assert p.check(hexfile(DATA / "ndp_ns_multicast_sllao.hex")) == XdpReason.ANSWERED
    finally:
        p.close()


def test_rule_update_removes_old_prefixes():
    p = Pair(RULESETS["default"])
    try:
        eng = Engine([Rule(prefix="2001:db8:1::/64")])
        p.prog.set_rules(eng, prefix_entries([Rule(prefix="2001:db8:1::/64")]))
        p.engine = eng
        frame = hexfile(DATA / "ndp_ns_multicast_sllao.hex")   # target 2001:db8::2
        assert p.check(frame) == XdpReason.NO_RULE
    finally:
        p.close()


def test_bad_arguments_are_refused_cleanly():
    p = Pair(RULESETS["default"])
    try:
        with pytest.raises(ValueError, match="frame"):
            p.prog.test_run(b"\0" * 5)
        with pytest.raises(ValueError, match=r"prefixes\[0\]"):
            p.prog.set_rules(p.engine, [(129, b"\0" * 16, 0)])
        with pytest.raises(ValueError, match="names no rule"):
            p.prog.set_rules(p.engine, [(64, b"\0" * 16, 9)])
        with pytest.raises(ValueError, match="mac"):
            p.prog.set_config(b"\0" * 5, None, True)
        with pytest.raises(ValueError, match="own address"):
            p.prog.set_own([b"\0" * 4])
        with pytest.raises(OSError, match="BPF object"):
            _xdp.XdpProgram(b"not an ELF file")
        p.prog.close()
        with pytest.raises(ValueError, match="closed"):
            p.prog.counters()
    finally:
        p.close()
