"""Golden vectors (tests/data/ndp_*.hex): hand-written frames for every ND message and
option we decode.  Each file says what it should parse to (``# expect:``) and, where a
builder exists, how to build it (``# build:``), which must reproduce the bytes exactly.
scapy confirms every vector's checksum independently."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from v6core._core import ndp
from v6core.errors import DropReason

DATA = Path(__file__).resolve().parent.parent / "data"
FILES = sorted(DATA.glob("ndp_*.hex"))
ADDR_KEYS = {"src", "dst", "target", "destination"}
MAC_KEYS = {"sll", "tll"}


def load(path: Path):
    meta, data = {}, bytearray()
    for line in path.read_text().splitlines():
        m = re.match(r"#\s*(build|expect):\s*(.*)", line)
        if m:
            meta[m.group(1)] = m.group(2).strip()
            continue
        body = line.split("#", 1)[0]
        data += bytes.fromhex(re.sub(r"\s+", "", body))
    return bytes(data), meta


def kv(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split())


def test_vectors_present():
    names = {p.stem for p in FILES}
    # every message type and every decoded option appears at least once
    frames = [ndp.parse(load(p)[0]) for p in FILES]
    assert {f.type for f in frames} == {133, 134, 135, 136, 137}
    assert {o.type for f in frames for o in f.options} >= {1, 2, 3, 4, 5, 14, 25}
    assert "ndp_ns_hbh" in names and any(f.vlan_tci is not None for f in frames)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_golden_parse(path):
    frame, meta = load(path)
    f = ndp.parse(frame)
    assert f.reason == DropReason.OK
    for key, want in kv(meta["expect"]).items():
        got = f.vlan_tci if key == "vlan" else getattr(f, key)
        if key in ADDR_KEYS:
            assert ipaddress.IPv6Address(bytes(got)) == ipaddress.IPv6Address(want), key
        elif key in MAC_KEYS or key == "nonce":
            want_b = None if want == "none" else bytes.fromhex(want.replace(":", ""))
            assert (None if got is None else bytes(got)) == want_b, key
        elif key == "vlan":
            assert got == (None if want == "none" else int(want))
        elif key == "n_prefix":
            assert got == len(f.prefixes) == int(want)
        else:
            assert got == int(want), key


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_golden_checksum_scapy(path):
    inet6 = pytest.importorskip("scapy.layers.inet6")
    frame, _ = load(path)
    f = ndp.parse(frame)
    ip = inet6.IPv6(src=str(ipaddress.IPv6Address(bytes(f.src))),
                    dst=str(ipaddress.IPv6Address(bytes(f.dst))))
    msg = bytes(f.icmp)
    assert inet6.in6_chksum(58, ip, msg[:2] + b"\0\0" + msg[4:]) == f.checksum


def _build_args(spec: dict[str, str]) -> dict:
    args: dict = {}
    for k, v in spec.items():
        if k in ("router", "solicited", "override", "managed", "other"):
            args[k] = bool(int(v))
        elif k in ("vlan", "cur_hop_limit", "router_lifetime", "reachable_time",
                   "retrans_timer", "mtu"):
            args[k] = int(v)
        elif k == "nonce":
            args[k] = bytes.fromhex(v)
        elif k == "prefixes":
            out = []
            for item in v.split(","):
                p, plen, fl, valid, pref = item.split("/")
                out.append((p, int(plen), int(fl), int(valid), int(pref)))
            args[k] = out
        else:
            args[k] = v
    return args


@pytest.mark.parametrize("path", [p for p in FILES if load(p)[1].get("build", "").split()[:1]
                                  and not load(p)[1]["build"].startswith("(")],
                         ids=lambda p: p.stem)
def test_golden_build(path):
    frame, meta = load(path)
    kind, *rest = meta["build"].split()
    args = _build_args(kv(" ".join(rest)))
    if kind == "icmp6":
        out = ndp.build_icmp6(bytes(ndp.parse(frame).icmp), **args)
    else:
        out = getattr(ndp, f"build_{kind}")(**args)
    assert out.hex() == frame.hex()
    # and into a caller's buffer at exactly the needed size
    if kind != "icmp6":
        buf = bytearray(len(frame))
        assert getattr(ndp, f"write_{kind}")(buf, **args) == len(frame) and buf == frame
