"""The responder's only socket code: AF_PACKET sockets with a classic BPF filter (Linux).

One socket per interface, bound to it for ``ETH_P_IPV6``.  The kernel runs a classic
BPF program (``SO_ATTACH_FILTER``) on every frame before it is queued, so only frames
that look like Neighbor Solicitations reach user space:

* no 802.1Q tag in the skb's metadata (a tagged frame belongs to a VLAN interface;
  configure that interface instead), and EtherType 0x86DD at byte 12;
* IPv6 Next Header 58 (ICMPv6) at byte 20 -- a solicitation behind an extension
  header is not passed (RFC 4861 section 7.1.1 receivers must still validate it; we
  never answer one);
* IPv6 Hop Limit 255 at byte 21 (RFC 4861 section 7.1.1);
* ICMPv6 Type 135 and Code 0 at bytes 54 and 55 (RFC 4861 section 4.3).

Everything else (the checksum, lengths, options, the rules) is decided in user space by
the NDP codec and the engine, which count each drop under its reason.

* the frame was addressed to this host, a multicast group or broadcast (not
  PACKET_OTHERHOST: unicast probes for other MACs are never answered);

The socket receives multicast solicitations through ``PACKET_MR_ALLMULTI`` membership
(RFC 4861 NS go to the solicited-node group, RFC 4291 section 2.7.1), ignores frames the
host itself sends (``PACKET_IGNORE_OUTGOING``) and bypasses the qdisc on transmit.
Frames are received with ``recvmmsg`` and sent with ``sendmmsg`` by the compiled loop
(:mod:`v6core.responder._loop`); this module only opens, configures and closes sockets.
"""

from __future__ import annotations

import contextlib
import ctypes
import socket
import struct

__all__ = [
    "ETH_P_IPV6",
    "bpf_nd_program",
    "attach_filter",
    "open_ndp_socket",
    "open_tx_socket",
    "if_index",
    "if_mac",
]

ETH_P_IPV6 = 0x86DD
ETH_P_ALL = 0x0003
SOL_PACKET = 263
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
SO_SNDBUFFORCE = 32
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_ALLMULTI = 2
PACKET_QDISC_BYPASS = 20
PACKET_IGNORE_OUTGOING = 23

# classic BPF opcodes (linux/filter.h, linux/bpf_common.h)
BPF_LD_W_ABS = 0x20
BPF_LD_H_ABS = 0x28
BPF_LD_B_ABS = 0x30
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_RET_K = 0x06
SKF_AD_OFF = -0x1000
SKF_AD_VLAN_TAG_PRESENT = 48
SKF_AD_PKTTYPE = 4
PACKET_OTHERHOST = 3

ICMPV6_NS = 135
ICMPV6_NA = 136


def bpf_nd_program(icmp_type: int = ICMPV6_NS, snaplen: int = 0xFFFF,
                   check_vlan: bool = True) -> list[tuple[int, int, int, int]]:
    """A classic BPF program passing untagged Ethernet IPv6 ND frames of ``icmp_type``.

    Offsets are from the Ethernet header (the AF_PACKET ``SOCK_RAW`` view).  In order:
    the frame was addressed to this host, to a multicast group or broadcast (packet type
    below PACKET_OTHERHOST: a frame for another MAC, seen by a promiscuous port or marked
    so by the kernel because its VLAN has no interface here, is never answered); no
    802.1Q tag in the skb's metadata (``check_vlan``); EtherType 0x86DD at 12; IPv6 Next
    Header 58 at 20; Hop Limit 255 at 21 (RFC 4861 7.1.1/7.1.2); ICMPv6 Type
    ``icmp_type`` at 54 and Code 0 at 55.  Returns ``(code, jt, jf, k)`` tuples; the
    program accepts ``snaplen`` bytes or 0 (drop).
    """
    # (load opcode, offset, jump opcode, value): the frame passes a check when the jump's
    # condition holds (JEQ: equal; JGE is used negated, see below)
    checks: list[tuple[int, int, int, int]] = [
        (BPF_LD_W_ABS, (SKF_AD_OFF + SKF_AD_PKTTYPE) & 0xFFFFFFFF, BPF_JGE_K, PACKET_OTHERHOST),
    ]
    if check_vlan:
        checks.append((BPF_LD_W_ABS, (SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT) & 0xFFFFFFFF,
                       BPF_JEQ_K, 0))
    checks += [
        (BPF_LD_H_ABS, 12, BPF_JEQ_K, ETH_P_IPV6),
        (BPF_LD_B_ABS, 20, BPF_JEQ_K, 58),
        (BPF_LD_B_ABS, 21, BPF_JEQ_K, 255),
        (BPF_LD_B_ABS, 54, BPF_JEQ_K, icmp_type),
        (BPF_LD_B_ABS, 55, BPF_JEQ_K, 0),
    ]
    prog: list[tuple[int, int, int, int]] = []
    n = len(checks)
    for i, (ld, off, jmp, val) in enumerate(checks):
        prog.append((ld, 0, 0, off))
        to_drop = 2 * (n - 1 - i) + 1   # skip the remaining checks and the accept
        if jmp == BPF_JGE_K:            # "pkttype >= OTHERHOST" fails the check
            prog.append((jmp, to_drop, 0, val))
        else:
            prog.append((jmp, 0, to_drop, val))
    prog.append((BPF_RET_K, 0, 0, snaplen))
    prog.append((BPF_RET_K, 0, 0, 0))
    return prog


def attach_filter(sock: socket.socket, prog: list[tuple[int, int, int, int]]) -> None:
    """Attach a classic BPF program to ``sock`` (``SO_ATTACH_FILTER``; the kernel copies it)."""
    insns = b"".join(struct.pack("=HBBI", c, jt, jf, k) for c, jt, jf, k in prog)
    buf = ctypes.create_string_buffer(insns, len(insns))
    fprog = struct.pack("=HxxxxxxQ", len(prog), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def if_index(name: str) -> int:
    """The ifindex of interface ``name`` (``OSError`` if it does not exist)."""
    return socket.if_nametoindex(name)


def if_mac(name: str) -> bytes:
    """The 6-byte link-layer address of ``name``, from sysfs."""
    with open(f"/sys/class/net/{name}/address") as f:
        text = f.read().strip()
    mac = bytes.fromhex(text.replace(":", ""))
    if len(mac) != 6:
        raise OSError(f"{name}: not an Ethernet interface (address {text!r})")
    return mac


def _drain(sock: socket.socket) -> None:
    # frames that arrived between socket() and the filter attach (none: we bind after
    # attaching, but be certain)
    for _ in range(10000):
        try:
            sock.recv(1, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return


def open_ndp_socket(ifname: str, *, icmp_type: int = ICMPV6_NS, allmulti: bool = True,
                    rcvbuf: int = 8 << 20, sndbuf: int = 4 << 20,
                    ignore_outgoing: bool = True) -> socket.socket:
    """Open a non-blocking AF_PACKET socket receiving ND frames of ``icmp_type`` on ``ifname``.

    The socket is created with protocol 0 (it receives nothing), gets its BPF filter,
    and only then is bound to the interface and ``ETH_P_IPV6``, so no unfiltered frame is
    ever queued.  Needs ``CAP_NET_RAW``.
    """
    ifindex = if_index(ifname)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        attach_filter(s, bpf_nd_program(icmp_type))
        for opt, size in ((SO_RCVBUFFORCE, rcvbuf), (SO_SNDBUFFORCE, sndbuf)):
            try:
                s.setsockopt(socket.SOL_SOCKET, opt, size)
            except PermissionError:  # without CAP_NET_ADMIN: the capped variant
                s.setsockopt(socket.SOL_SOCKET,
                             socket.SO_RCVBUF if opt == SO_RCVBUFFORCE else socket.SO_SNDBUF, size)
        if ignore_outgoing:
            # kernels before 4.20 lack it: our filter never passes our own NAs anyway
            with contextlib.suppress(OSError):
                s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        with contextlib.suppress(OSError):
            s.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
        s.bind((ifname, ETH_P_IPV6))
        if allmulti:
            mreq = struct.pack("=iHH8s", ifindex, PACKET_MR_ALLMULTI, 0, b"")
            s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        s.setblocking(False)
        _drain(s)
    except BaseException:
        s.close()
        raise
    return s


def open_tx_socket(ifname: str) -> socket.socket:
    """An AF_PACKET socket bound to ``ifname`` that receives nothing (for sending only)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        attach_filter(s, [(BPF_RET_K, 0, 0, 0)])
        s.bind((ifname, 0))
        with contextlib.suppress(OSError):
            s.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
        s.setblocking(False)
    except BaseException:
        s.close()
        raise
    return s


PACKET_STATISTICS = 6


def packet_drops(sock: socket.socket) -> int:
    """Frames dropped for want of queue room since the last call (``PACKET_STATISTICS``,
    which the kernel resets on every read)."""
    packets, drops = struct.unpack("=II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    return drops
