"""``v6core ndp decode|build``: frames scapy builds are described with scapy's fields;
frames the CLI builds are dissected by scapy; bad input is one line and exit status 2."""

from __future__ import annotations

import io
import json
import sys

import pytest

from v6core.cli import main

pytest.importorskip("scapy.layers.inet6")
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import Ether  # noqa: E402


def test_decode_scapy_frame_json(capsys):
    frame = bytes(Ether(src="02:00:00:00:00:0a", dst="33:33:ff:00:00:02")
                  / IPv6(src="fe80::a", dst="ff02::1:ff00:2", hlim=255)
                  / ICMPv6ND_NS(tgt="2001:db8::2") / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:0a")
                  / ICMPv6NDOptPrefixInfo(prefix="2001:db8:5::", prefixlen=64))
    assert main(["ndp", "decode", "--json", frame.hex(":")]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["type"], row["src"], row["dst"], row["target"]) == (
        "NS", "fe80::a", "ff02::1:ff00:2", "2001:db8::2")
    assert row["options"][0] == {"type": 1, "length": 8, "lladdr": "02:00:00:00:00:0a"}
    assert row["options"][1]["prefix"] == "2001:db8:5::/64"


def test_decode_invalid_exit_1(capsys, monkeypatch):
    bad = bytes(Ether() / IPv6(src="fe80::a", dst="ff02::1:ff00:2", hlim=64)
                / ICMPv6ND_NS(tgt="2001:db8::2"))
    good = bytes(Ether() / IPv6(src="fe80::a", dst="ff02::1:ff00:2", hlim=255)
                 / ICMPv6ND_NS(tgt="2001:db8::2"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"# two frames\n{good.hex()}\n\n{bad.hex()}\n"))
    assert main(["ndp", "decode"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("<stdin>:2: NS fe80::a -> ff02::1:ff00:2")
    assert out[1] == ("<stdin>:4: INVALID HOP_LIMIT at byte 21: IPv6 Hop Limit is not 255 "
                      "(RFC 4861 sections 6.1, 7.1, 8.1)")


def test_build_na_dissected_by_scapy(capsys):
    assert main(["ndp", "build", "na", "--src", "2001:db8::2", "--target", "2001:db8::2",
                 "--src-mac", "02:00:00:00:00:0b", "--flags", "ro", "--lladdr",
                 "02:00:00:00:00:0b", "--vlan", "7"]) == 0
    p = Ether(bytes.fromhex(capsys.readouterr().out.strip()))
    na = p[ICMPv6ND_NA]
    assert (p.dst, p[IPv6].dst, na.tgt, na.R, na.S, na.O) == (
        "33:33:00:00:00:01", "ff02::1", "2001:db8::2", 1, 0, 1)
    assert p[ICMPv6NDOptDstLLAddr].lladdr == "02:00:00:00:00:0b" and p.vlan == 7


def test_build_ns_default_solicited_node(capsys):
    assert main(["ndp", "build", "ns", "--src", "::", "--target", "2001:db8::1:2345",
                 "--src-mac", "02:00:00:00:00:0a"]) == 0
    p = Ether(bytes.fromhex(capsys.readouterr().out.strip()))
    assert (p.dst, p[IPv6].dst, p[IPv6].src) == ("33:33:ff:01:23:45", "ff02::1:ff01:2345", "::")


@pytest.mark.parametrize("argv", [
    ["ndp", "decode", "33zz"],
    ["ndp", "decode", "333"],
    ["ndp", "build", "na", "--src", "2001:db8::2", "--target", "2001:db8::2", "--src-mac", "02:00"],
    ["ndp", "build", "na", "--src", "2001:db8::2", "--target", "2001:db8::2",
     "--src-mac", "02:00:00:00:00:01", "--flags", "X"],
    ["ndp", "build", "ns", "--src", "fe80::1", "--target", "nope", "--src-mac", "02:00:00:00:00:01"],
])
def test_bad_input_one_line(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("v6core ndp: error:") and "\n" not in err


def _pcap(tmp_path, frames, **kw):
    from scapy.utils import wrpcap

    path = tmp_path / "nd.pcap"
    wrpcap(str(path), frames, **kw)
    return str(path)


def test_decode_pcap_summary(tmp_path, capsys):
    good = (Ether(src="02:00:00:00:00:0a", dst="33:33:ff:00:00:02")
            / IPv6(src="fe80::a", dst="ff02::1:ff00:2", hlim=255) / ICMPv6ND_NS(tgt="2001:db8::2"))
    bad = (Ether(src="02:00:00:00:00:0a", dst="33:33:ff:00:00:02")
           / IPv6(src="fe80::a", dst="ff02::1:ff00:2", hlim=1) / ICMPv6ND_NS(tgt="2001:db8::2"))
    path = _pcap(tmp_path, [good, bad, good, Ether() / IPv6() / ICMPv6ND_NS(tgt="ff02::1")])
    assert main(["ndp", "decode", "--pcap", path, "--summary"]) == 1
    lines = [ln.split() for ln in capsys.readouterr().out.splitlines()]
    assert lines == [["2", "OK"], ["1", "HOP_LIMIT"], ["1", "TARGET_MULTICAST"]]
    assert main(["ndp", "decode", "--pcap", path]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{path}#1: NS fe80::a -> ff02::1:ff00:2 target 2001:db8::2")
    assert out[1].startswith(f"{path}#2: INVALID HOP_LIMIT")


def test_decode_pcap_raw_ipv6(tmp_path, capsys):
    pkt = IPv6(src="fe80::a", dst="ff02::1:ff00:2", hlim=255) / ICMPv6ND_NS(tgt="2001:db8::2")
    path = _pcap(tmp_path, [pkt], linktype=229)
    assert main(["ndp", "decode", "--pcap", path, "--summary"]) == 0
    assert capsys.readouterr().out.split() == ["1", "OK"]


def test_decode_pcap_errors(tmp_path, capsys):
    p = tmp_path / "x.pcapng"
    p.write_bytes(b"\x0a\x0d\x0d\x0a" + b"\0" * 40)
    assert main(["ndp", "decode", "--pcap", str(p)]) == 2
    assert "pcapng" in capsys.readouterr().err
    good = Ether() / IPv6(hlim=255) / ICMPv6ND_NS(tgt="2001:db8::2")
    path = _pcap(tmp_path, [good])
    with open(path, "ab") as fh:
        fh.write(b"\x01\x02\x03")                       # a torn record header
    assert main(["ndp", "decode", "--pcap", path]) == 2
    err = capsys.readouterr().err
    assert "truncated record header at byte" in err and "\n" not in err.strip()
