"""The Linux kernel as an oracle for NS validation (root, network namespaces).

A namespace owns 2001:db8::2; from a second namespace we inject solicitations for it
through a veth with a packet socket.  Linux answers exactly the ones its ndisc code
accepts, so for every frame: the kernel answered  <=>  ndp.validate(frame) is OK.
The frames are built by scapy; the injector and the check for an answer are plain
Python (no v6core code runs inside the namespaces).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from v6core._core import ndp
from v6core.errors import DropReason

pytest.importorskip("scapy.layers.inet6")
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6ND_NS,
    ICMPv6NDOptSrcLLAddr,
    ICMPv6NDOptUnknown,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    in6_chksum,
)
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

TGT = "2001:db8::2"
SNM_MAC = "33:33:ff:00:00:02"
SNM = "ff02::1:ff00:2"

INJECTOR = r"""
import json, select, socket, sys, time
req = json.load(sys.stdin)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((req["ifname"], 0))
target = bytes.fromhex(req["target"])
peer = bytes.fromhex(req["peer_mac"])

def drain():
    while select.select([s], [], [], 0)[0]:
        s.recv(65535)

def answered(deadline):
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return False
        f = s.recv(65535)
        # an NA (ICMPv6 type 136) from the kernel's interface for our target
        if (f[6:12] == peer and f[12:14] == b"\x86\xdd" and f[20] == 58 and len(f) >= 78
                and f[54] == 136 and f[62:78] == target):
            return True

out = []
for hexframe in req["frames"]:
    drain()
    s.send(bytes.fromhex(hexframe))
    out.append(answered(time.monotonic() + req["wait"]))
print(json.dumps(out))
"""


def _frames(me: str, peer: str) -> dict[str, bytes]:
    def eth(dst=SNM_MAC):
        return Ether(src=me, dst=dst)

    def ip(src="fe80::1", dst=SNM, hlim=255, **kw):
        return IPv6(src=src, dst=dst, hlim=hlim, **kw)

    sll = ICMPv6NDOptSrcLLAddr(lladdr=me)
    ns = ICMPv6ND_NS(tgt=TGT)
    short = bytes(ICMPv6ND_NS(tgt=TGT))[:20]
    short = short[:2] + in6_chksum(58, ip(), short).to_bytes(2, "big") + short[4:]
    return {
        "multicast": bytes(eth() / ip() / ns / sll),
        "unicast": bytes(eth(peer) / ip(dst=TGT) / ns / sll),
        "dad": bytes(eth() / ip(src="::") / ns),
        "padded": bytes(eth() / ip(src="::") / ns) + b"\0" * 6,
        "hop_by_hop": bytes(eth() / ip() / IPv6ExtHdrHopByHop() / ns / sll),
        "dest_opts": bytes(eth() / ip() / IPv6ExtHdrDestOpt() / ns / sll),
        "ignored_options": bytes(eth() / ip() / ns / sll
                                 / ICMPv6NDOptUnknown(type=2, len=3, data=b"\1" * 22)
                                 / ICMPv6NDOptUnknown(type=3, len=1, data=b"\2" * 6)),
        "hbh_not_first": bytes(eth() / ip() / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / ns
                               / sll),
        "fragment": bytes(eth() / ip() / IPv6ExtHdrFragment() / ns / sll),
        "hop_limit": bytes(eth() / ip(hlim=64) / ns / sll),
        "code": bytes(eth() / ip() / ICMPv6ND_NS(tgt=TGT, code=1) / sll),
        "checksum": bytes(eth() / ip() / ICMPv6ND_NS(tgt=TGT, cksum=0xBEEF) / sll),
        "icmp_len": bytes(eth() / ip(nh=58) / Raw(short)),
        "ip6_plen": bytes(eth() / ip() / ns / sll)[:-1],
        "opt_len_zero": bytes(eth() / ip() / ns / ICMPv6NDOptSrcLLAddr(len=0, lladdr=me)),
        "opt_trunc": bytes(eth() / ip() / ns / sll / Raw(b"\x01")),
        "llao_len": bytes(eth() / ip() / ns
                          / ICMPv6NDOptUnknown(type=1, len=2, data=bytes.fromhex(
                              me.replace(":", "")) + b"\0" * 8)),
        "dad_with_sllao": bytes(eth() / ip(src="::") / ns / sll),
        "dad_to_unicast": bytes(eth(peer) / ip(src="::", dst=TGT) / ns),
        "src_multicast": bytes(eth() / ip(src="ff02::1") / ns / sll),
    }


def _mac(ns, ifname: str) -> str:
    return json.loads(ns.ip("-j", "link", "show", ifname).stdout)[0]["address"]


@pytest.mark.netns
def test_kernel_answers_exactly_the_valid_solicitations(make_netns):
    node, inj = make_netns("ndpk"), make_netns("ndpi")
    node.veth(inj, "eth0", "eth0")
    node.ip("addr", "add", f"{TGT}/64", "dev", "eth0", "nodad")
    node.sysctl("net.ipv6.conf.eth0.suppress_frag_ndisc", "1")
    peer, me = _mac(node, "eth0"), _mac(inj, "eth0")
    frames = _frames(me, peer)
    req = {"ifname": "eth0", "target": bytes.fromhex("20010db8" + "00" * 11 + "02").hex(),
           "peer_mac": peer.replace(":", ""), "wait": 0.3,
           "frames": [f.hex() for f in frames.values()]}
    p = inj.popen(sys.executable, "-c", INJECTOR, stdin=subprocess.PIPE,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(json.dumps(req), timeout=120)
    assert p.returncode == 0, err
    kernel = dict(zip(frames, json.loads(out), strict=True))
    ours = {name: ndp.validate(f) for name, f in frames.items()}
    # the frames really are what their names say (else the comparison proves little)
    assert all(ours[n] == DropReason.OK for n in (
        "multicast", "unicast", "dad", "padded", "hop_by_hop", "dest_opts", "ignored_options"))
    assert kernel["multicast"] and kernel["dad"], "the kernel answered nothing: setup broken"
    disagree = {n: (kernel[n], ours[n].name) for n in frames
                if kernel[n] != (ours[n] == DropReason.OK)}
    assert not disagree, f"kernel answered / our verdict differ: {disagree}"


SENDER = r"""
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((sys.argv[1], 0))
for line in sys.stdin:
    s.send(bytes.fromhex(line.strip()))
    print("sent", flush=True)
"""


@pytest.mark.netns
def test_kernel_takes_exactly_the_valid_advertisements(make_netns):
    """An NA with O=1 overrides the cached MAC of a STALE neighbour (RFC 4861 7.2.5);
    the kernel does so exactly for the NAs it accepts."""
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr

    node, inj = make_netns("ndpk"), make_netns("ndpi")
    node.veth(inj, "eth0", "eth0")
    peer, me = _mac(node, "eth0"), _mac(inj, "eth0")
    old, new, nb = "02:00:00:00:11:11", "02:00:00:00:77:77", "fe80::1"

    def na(dst="ff02::1", dmac="33:33:00:00:00:01", hlim=255, s=0, tgt=nb, opt=None, **kw):
        o = ICMPv6NDOptDstLLAddr(lladdr=new) if opt is None else opt
        return bytes(Ether(src=me, dst=dmac) / IPv6(src=nb, dst=dst, hlim=hlim)
                     / ICMPv6ND_NA(tgt=tgt, R=0, S=s, O=1, **kw) / o)

    frames = {
        "unsolicited": na(),
        "solicited_unicast": na(dst="fe80::2", dmac=peer, s=1),
        "hop_limit": na(hlim=254),
        "code": na(code=3),
        "checksum": na(cksum=0x1111),
        "solicited_multicast": na(s=1),
        "tllao_len": na(opt=ICMPv6NDOptUnknown(type=2, len=2, data=bytes.fromhex(
            new.replace(":", "")) + b"\0" * 8)),
        "opt_len_zero": na(opt=ICMPv6NDOptDstLLAddr(len=0, lladdr=new)),
    }
    node.ip("addr", "add", "fe80::2/64", "dev", "eth0", "nodad")
    p = inj.popen(sys.executable, "-c", SENDER, "eth0", stdin=subprocess.PIPE,
                  stdout=subprocess.PIPE, text=True)
    kernel = {}
    try:
        for name, frame in frames.items():
            node.ip("neigh", "replace", nb, "lladdr", old, "dev", "eth0", "nud", "stale")
            p.stdin.write(frame.hex() + "\n")
            p.stdin.flush()
            assert p.stdout.readline().strip() == "sent"
            mac = None
            for _ in range(20):          # the update is synchronous on veth; allow a moment
                rows = json.loads(node.ip("-j", "neigh", "show", nb, "dev", "eth0").stdout)
                mac = rows[0].get("lladdr") if rows else None
                if mac == new:
                    break
                __import__("time").sleep(0.01)
            kernel[name] = mac == new
    finally:
        p.stdin.close()
        p.wait(timeout=10)
    ours = {name: ndp.validate(f) for name, f in frames.items()}
    assert kernel["unsolicited"] and ours["unsolicited"] == DropReason.OK
    disagree = {n: (kernel[n], ours[n].name) for n in frames
                if kernel[n] != (ours[n] == DropReason.OK)}
    assert not disagree, f"kernel took / our verdict differ: {disagree}"


CAPTURE = r"""
import select, socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((sys.argv[1], 0))
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[2])
while (left := end - time.monotonic()) > 0:
    if select.select([s], [], [], left)[0]:
        try:
            f, addr = s.recvfrom(65535)
        except OSError:                         # ENETDOWN while the link flaps
            continue
        print(addr[2], f.hex(), flush=True)     # addr[2]: packet type (4 = outgoing)
"""


@pytest.mark.netns
def test_every_nd_frame_linux_sends_is_valid(make_netns):
    """Capture the kernel's own ND traffic (DAD, router solicitation, address resolution,
    advertisements) on a veth: every ND frame Linux sends parses and validates."""
    a, b = make_netns("ndpa"), make_netns("ndpb")
    a.veth(b, "eth0", "eth0")
    for ns in (a, b):
        ns.sysctl("net.ipv6.conf.eth0.accept_dad", "1")
        ns.sysctl("net.ipv6.conf.eth0.dad_transmits", "1")
        ns.sysctl("net.ipv6.conf.eth0.router_solicitations", "1")
        ns.sysctl("net.ipv6.conf.eth0.router_solicitation_interval", "1")
    cap = a.popen(sys.executable, "-c", CAPTURE, "eth0", "4", stdout=subprocess.PIPE,
                  text=True)
    try:
        assert cap.stdout.readline().strip() == "ready"
        # link flap: the kernel sends DAD probes and router solicitations anew
        for ns in (a, b):
            ns.ip("link", "set", "eth0", "down")
            ns.ip("link", "set", "eth0", "up")
        a.ip("addr", "add", "2001:db8::a/64", "dev", "eth0")
        b.ip("addr", "add", "2001:db8::b/64", "dev", "eth0")
        __import__("time").sleep(2.2)          # past DAD (1 probe, ~1 s)
        b.run("ping", "-6", "-c", "1", "-W", "1", "2001:db8::a", check=False)
        a.run("ping", "-6", "-c", "1", "-W", "1", "fe80::1%eth0", check=False)
        out, _ = cap.communicate(timeout=30)
    finally:
        if cap.poll() is None:
            cap.kill()
    seen: dict[int, int] = {}
    for line in out.splitlines():
        _, hexframe = line.split()
        frame = bytes.fromhex(hexframe)
        f = ndp.inspect(frame)
        if f.reason in (DropReason.NOT_ND, DropReason.NOT_ICMPV6, DropReason.ETHERTYPE):
            continue                          # MLD reports, echo, ...: not ND
        assert f.reason == DropReason.OK, (f.reason.name, hexframe)
        seen[f.type] = seen.get(f.type, 0) + 1
    # DAD and resolution NS, their NA, the hosts' RS: all seen, all valid
    assert {133, 135, 136} <= set(seen), seen
