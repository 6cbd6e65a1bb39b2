"""The responder's only socket code: AF_PACKET sockets with a classic BPF filter (Linux).

One socket per interface, bound to it for ``ETH_P_IPV6``.  The kernel runs a classic
BPF program (``SO_ATTACH_FILTER``) on every frame before it is queued, so only frames
that look like Neighbor Solicitations reach user space:

* the frame was addressed to this host, a multicast group or broadcast (not
  PACKET_OTHERHOST: unicast probes for other MACs are never answered);
* no 802.1Q tag (a tagged frame belongs to a VLAN interface; configure that interface
  instead) -- unless the interface is a *trunk*: then tagged frames pass too, whether
  the kernel moved the tag to the skb's metadata (the usual case; the socket then asks
  for it with ``PACKET_AUXDATA`` and the compiled loop puts it back in the frame) or
  left it in the frame (EtherType 0x8100, then 0x86DD).  A trunk's socket is bound to
  ``ETH_P_ALL``: the kernel hands a tagged frame of a VLAN that has no interface here to
  ``ETH_P_IPV6`` sockets only after it has dropped the tag and marked the frame as
  another host's, while ``ETH_P_ALL`` sockets see it first, tag and packet type intact;
* EtherType 0x86DD;
* IPv6 Hop Limit 255 (RFC 4861 section 7.1.1);
* IPv6 Next Header 58 (ICMPv6) with ICMPv6 Type 135 and Code 0 (RFC 4861 section 4.3),
  or the start of an extension-header chain (hop-by-hop 0, routing 43, fragment 44,
  destination options 60): the codec walks the chain, so a hop-by-hop header cannot
  hide a solicitation, and decides (a fragment, for one, is dropped: RFC 6980).

Everything else (the checksum, lengths, options, the rules) is decided in user space by
the NDP codec and the engine, which count each drop under its reason.

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
BPF_LD_B_IND = 0x50
BPF_LDX_IMM = 0x01
BPF_JA = 0x05
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_RET_K = 0x06
SKF_AD_OFF = -0x1000
SKF_AD_VLAN_TAG_PRESENT = 48
SKF_AD_PKTTYPE = 4
PACKET_OTHERHOST = 3
PACKET_AUXDATA = 8
ETH_P_8021Q = 0x8100
#: Next Header values that start an extension-header chain the codec walks (RFC 8200 4)
EXT_HEADERS = (0, 43, 44, 60)

ICMPV6_NS = 135
ICMPV6_NA = 136


def _assemble(code: list[tuple]) -> list[tuple[int, int, int, int]]:
    """Classic BPF from ``(label, opcode, k, jt, jf)`` rows whose jump targets are labels
    (None: the next instruction); conditional jumps only go forward, as the kernel needs."""
    at = {row[0]: i for i, row in enumerate(code) if row[0]}

    def rel(i: int, label: str | None) -> int:
        if label is None:
            return 0
        off = at[label] - i - 1
        if not 0 <= off <= 255:
            raise ValueError(f"BPF jump to {label!r} out of range")
        return off

    prog = []
    for i, (_, op, k, jt, jf) in enumerate(code):
        if op == BPF_JA:
            prog.append((op, 0, 0, rel(i, k)))
        else:
            prog.append((op, rel(i, jt), rel(i, jf), k))
    return prog


def bpf_nd_program(icmp_type: int = ICMPV6_NS, snaplen: int = 0xFFFF,
                   check_vlan: bool = True, *, trunk: bool = False
                   ) -> list[tuple[int, int, int, int]]:
    """A classic BPF program passing Ethernet IPv6 ND frames of ``icmp_type``.

    Offsets are from the Ethernet header (the AF_PACKET ``SOCK_RAW`` view).  In order:
    an 802.1Q tag in the skb's metadata drops the frame (``check_vlan``, unless
    ``trunk``); the frame must be addressed to this host, to a multicast group or
    broadcast (packet type below PACKET_OTHERHOST: a frame for another MAC, seen by a
    promiscuous port, is never answered); EtherType 0x86DD at 12 (or, with ``trunk``,
    0x8100 at 12 and 0x86DD at 16, the IPv6 header then 4 bytes later); Hop Limit 255
    (RFC 4861 7.1.1/7.1.2); Next Header 58 with ICMPv6 Type ``icmp_type`` and Code 0, or
    Next Header 0, 43, 44 or 60 (an extension-header chain, left to the codec).  Returns
    ``(code, jt, jf, k)`` tuples; the program accepts ``snaplen`` bytes or 0 (drop).
    """
    pkttype = (SKF_AD_OFF + SKF_AD_PKTTYPE) & 0xFFFFFFFF
    tagged = (SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT) & 0xFFFFFFFF
    code: list[tuple] = []
    if check_vlan and not trunk:
        code.append(("", BPF_LD_W_ABS, tagged, None, None))
        code.append(("", BPF_JEQ_K, 0, None, "drop"))
    code += [
        ("", BPF_LD_W_ABS, pkttype, None, None),
        ("", BPF_JGE_K, PACKET_OTHERHOST, "drop", "eth"),
        ("eth", BPF_LD_H_ABS, 12, None, None),
        ("", BPF_JEQ_K, ETH_P_IPV6, "x0", "tag_in_frame" if trunk else "drop"),
    ]
    if trunk:
        code += [
            ("tag_in_frame", BPF_JEQ_K, ETH_P_8021Q, None, "drop"),
            ("", BPF_LD_H_ABS, 16, None, None),
            ("", BPF_JEQ_K, ETH_P_IPV6, None, "drop"),
            ("", BPF_LDX_IMM, 4, None, None),
            ("", BPF_JA, "ip", None, None),
        ]
    code += [
        ("x0", BPF_LDX_IMM, 0, None, None),
        ("ip", BPF_LD_B_IND, 21, None, None),                  # Hop Limit
        ("", BPF_JEQ_K, 255, None, "drop"),
        ("", BPF_LD_B_IND, 20, None, None),                    # Next Header
        ("", BPF_JEQ_K, 58, "icmp", None),
    ]
    for nh in EXT_HEADERS:
        code.append(("", BPF_JEQ_K, nh, "accept", None))
    code += [
        ("", BPF_JA, "drop", None, None),
        ("icmp", BPF_LD_B_IND, 54, None, None),                # ICMPv6 Type
        ("", BPF_JEQ_K, icmp_type, None, "drop"),
        ("", BPF_LD_B_IND, 55, None, None),                    # Code
        ("", BPF_JEQ_K, 0, "accept", "drop"),
        ("accept", BPF_RET_K, snaplen, None, None),
        ("drop", BPF_RET_K, 0, None, None),
    ]
    return _assemble(code)


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
                    ignore_outgoing: bool = True, trunk: bool = False) -> socket.socket:
    """Open a non-blocking AF_PACKET socket receiving ND frames of ``icmp_type`` on ``ifname``.

    The socket is created with protocol 0 (it receives nothing), gets its BPF filter,
    and only then is bound to the interface and ``ETH_P_IPV6``, so no unfiltered frame is
    ever queued.  ``trunk``: bound to ``ETH_P_ALL`` instead (see the module docstring),
    802.1Q-tagged frames pass too, and each frame's tag is reported beside it
    (``PACKET_AUXDATA``) for the compiled loop to put back.  Needs ``CAP_NET_RAW``.
    """
    ifindex = if_index(ifname)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        attach_filter(s, bpf_nd_program(icmp_type, trunk=trunk))
        if trunk:
            s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
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
        s.bind((ifname, ETH_P_ALL if trunk else ETH_P_IPV6))
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
