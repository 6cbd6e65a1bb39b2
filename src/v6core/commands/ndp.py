"""``v6core ndp``: decode and validate Neighbor Discovery frames, or build one (hex in/out)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ndp",
        help="decode/validate Neighbor Discovery frames (RFC 4861) or build NA/NS as hex",
        description="decode: read frames as hex (arguments, or stdin with one frame per "
        "blank-line-separated block; '#' comments and ':' separators are ignored) and print "
        "their fields, or the RFC 4861 rule they break with its byte offset; exit status 1 "
        "if any frame is invalid.  build: print one NA or NS frame as hex.",
    )
    s = p.add_subparsers(dest="ndp_cmd", required=True)
    d = s.add_parser("decode", help="decode and validate frames given as hex")
    d.add_argument("frames", nargs="*", metavar="HEX", help="frames as hex (default: stdin)")
    d.add_argument("--pcap", metavar="FILE", help="read frames from a classic pcap file "
                   "(Ethernet or raw IPv6 link type), e.g. from tcpdump -w")
    d.add_argument("--summary", action="store_true",
                   help="print only the number of frames per verdict")
    d.add_argument("--ip6", action="store_true", help="frames start at the IPv6 header")
    d.add_argument("--no-checksum", action="store_true", help="do not verify checksums")
    d.add_argument("--json", action="store_true", help="print JSON")
    d.set_defaults(func=run_decode)
    b = s.add_parser("build", help="build an NA or NS frame and print it as hex")
    b.add_argument("kind", choices=["na", "ns"])
    b.add_argument("--src", required=True, help="IPv6 source (NA: usually the target; NS: '::' for DAD)")
    b.add_argument("--target", required=True, help="target address")
    b.add_argument("--dst", help="IPv6 destination (NS default: the target's solicited-node "
                   "address; NA default: ff02::1)")
    b.add_argument("--src-mac", required=True, help="Ethernet source, aa:bb:cc:dd:ee:ff")
    b.add_argument("--dst-mac", help="Ethernet destination (default: 33:33:... of a multicast --dst)")
    b.add_argument("--lladdr", help="link-layer address option (NA: TLLAO, NS: SLLAO)")
    b.add_argument("--flags", default="O", help="NA flags, letters of R, S, O (default O)")
    b.add_argument("--vlan", type=int, help="802.1Q TCI (VID in the low 12 bits)")
    b.set_defaults(func=run_build)


def _frames(args: argparse.Namespace) -> list[tuple[str, str]]:
    if args.frames:
        return [(f"argument {i + 1}", t) for i, t in enumerate(args.frames)]
    blocks: list[tuple[str, str]] = []
    cur: list[str] = []
    start = 1
    for n, line in enumerate(sys.stdin.read().splitlines(), 1):
        body = line.split("#", 1)[0].strip()
        if body:
            if not cur:
                start = n
            cur.append(body)
        elif cur and not line.strip():
            blocks.append((f"<stdin>:{start}", " ".join(cur)))
            cur = []
    if cur:
        blocks.append((f"<stdin>:{start}", " ".join(cur)))
    return blocks


_PCAP_MAGIC = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
               b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}
_LINK_ETHERNET, _LINK_RAW, _LINK_IPV6 = 1, 101, 229


def _read_pcap(path: str) -> tuple[bytes, list[int], list[int], bool]:
    """One buffer holding every captured frame, their offsets and lengths, and whether
    the link type is raw IP (no Ethernet header)."""
    import struct

    from v6core.errors import ConfigError

    with open(path, "rb") as fh:
        data = fh.read()
    order = _PCAP_MAGIC.get(data[:4])
    if order is None:
        kind = "pcapng" if data[:4] == b"\x0a\x0d\x0d\x0a" else "not a pcap file"
        raise ConfigError(f"{path}: {kind} (convert with: editcap -F pcap IN OUT)")
    if len(data) < 24:
        raise ConfigError(f"{path}: truncated pcap header")
    link = struct.unpack_from(order + "I", data, 20)[0] & 0x0FFFFFFF
    if link not in (_LINK_ETHERNET, _LINK_RAW, _LINK_IPV6):
        raise ConfigError(f"{path}: link type {link} is neither Ethernet (1) nor raw IP "
                          "(101, 229)")
    offs, lens, pos = [], [], 24
    while pos < len(data):
        if len(data) - pos < 16:
            raise ConfigError(f"{path}: truncated record header at byte {pos}")
        incl = struct.unpack_from(order + "I", data, pos + 8)[0]
        if incl > len(data) - pos - 16:
            raise ConfigError(f"{path}: record at byte {pos} runs past the end of the file")
        offs.append(pos + 16)
        lens.append(incl)
        pos += 16 + incl
    return data, offs, lens, link != _LINK_ETHERNET


def _hex(where: str, text: str) -> bytes:
    from v6core.errors import ConfigError

    clean = re.sub(r"[\s:.-]", "", text)
    if clean.startswith(("0x", "0X")):
        clean = clean[2:]
    try:
        return bytes.fromhex(clean)
    except ValueError:
        bad = re.search(r"[^0-9a-fA-F]", clean)
        what = f"non-hex character {bad.group()!r}" if bad else "an odd number of hex digits"
        raise ConfigError(f"{where}: not a hex frame: {what}") from None


def _describe(f: Any) -> dict[str, Any]:
    from v6core._core.addr import to_text

    def a(v):
        return None if v is None else to_text(bytes(v), ipv4=False)

    def m(v):
        return None if v is None else bytes(v).hex(":")

    out = {"type": f.type_name, "src": a(f.src), "dst": a(f.dst), "hop_limit": f.hop_limit,
           "src_mac": m(f.src_mac), "dst_mac": m(f.dst_mac), "vlan": f.vlan_id,
           "ext_headers": f.n_ext, "length": f.icmp_len}
    if f.target is not None:
        out["target"] = a(f.target)
    if f.type == 136:
        out["flags"] = "".join(c for c, on in zip("RSO", (f.router, f.solicited, f.override),
                                                   strict=True) if on)
    if f.type == 134:
        out.update(cur_hop_limit=f.cur_hop_limit, flags=f"0x{f.flags:02x}",
                   router_lifetime=f.router_lifetime, reachable_time=f.reachable_time,
                   retrans_timer=f.retrans_timer)
    if f.destination is not None:
        out["destination"] = a(f.destination)
    opts: list[dict[str, Any]] = []
    for o in f.options:
        d = bytes(o.data)
        item: dict[str, Any] = {"type": o.type, "length": len(d)}
        if o.type in (1, 2):
            item["lladdr"] = d[2:8].hex(":")
        elif o.type == 3:
            item.update(prefix=f"{to_text(d[16:32], ipv4=False)}/{d[2]}", flags=f"0x{d[3]:02x}",
                        valid=int.from_bytes(d[4:8], "big"),
                        preferred=int.from_bytes(d[8:12], "big"))
        elif o.type == 5:
            item["mtu"] = int.from_bytes(d[4:8], "big")
        elif o.type == 14:
            item["nonce"] = d[2:].hex()
        else:
            item["data"] = d[2:].hex()
        opts.append(item)
    out["options"] = opts
    return out


def _inputs(args: argparse.Namespace) -> tuple[list[tuple[str, Any]], bool]:
    if args.pcap:
        data, offs, lens, raw = _read_pcap(args.pcap)
        view = memoryview(data)
        return ([(f"{args.pcap}#{i + 1}", view[o:o + n])
                 for i, (o, n) in enumerate(zip(offs, lens, strict=True))], raw or args.ip6)
    return [(where, _hex(where, text)) for where, text in _frames(args)], args.ip6


def run_decode(args: argparse.Namespace) -> int:
    from collections import Counter

    import numpy as np

    from v6core._core import ndp
    from v6core.errors import DropReason

    frames, ip6 = _inputs(args)
    if args.summary:
        # one pass over one buffer: the batch API, no Python object per frame
        blob = b"".join(bytes(f) for _, f in frames)
        lens = np.array([len(f) for _, f in frames], dtype=np.int64)
        offs = np.cumsum(lens) - lens
        reasons = ndp.validate_batch(blob, offs, lens, ip6=ip6,
                                     verify_checksum=not args.no_checksum)
        counts = Counter(int(r) for r in reasons)
        for code, n in sorted(counts.items()):
            print(f"{n:>10}  {DropReason(code).name}")
        return 1 if any(code for code in counts) else 0
    rows: list[dict[str, Any]] = []
    bad = 0
    for where, frame in frames:
        f = ndp.inspect(frame, ip6=ip6, verify_checksum=not args.no_checksum)
        if f.reason:
            bad += 1
            rows.append({"frame": where, "valid": False, "reason": f.reason.name,
                         "offset": f.bad_off, "explanation": f.reason.describe()})
        else:
            rows.append({"frame": where, "valid": True, **_describe(f)})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            if not r["valid"]:
                print(f"{r['frame']}: INVALID {r['reason']} at byte {r['offset']}: "
                      f"{r['explanation']}")
                continue
            head = f"{r['frame']}: {r['type']} {r['src']} -> {r['dst']}"
            if "target" in r:
                head += f" target {r['target']}"
            if r.get("flags"):
                head += f" flags {r['flags']}"
            if r["vlan"] is not None:
                head += f" vlan {r['vlan']}"
            print(head)
            for o in r["options"]:
                rest = " ".join(f"{k}={v}" for k, v in o.items() if k not in ("type", "length"))
                print(f"    option {o['type']} ({o['length']} bytes) {rest}")
    return 1 if bad else 0


def run_build(args: argparse.Namespace) -> int:
    from v6core._core import ndp
    from v6core.errors import ConfigError

    common = dict(src=args.src, target=args.target, src_mac=args.src_mac,
                  dst_mac=args.dst_mac, vlan=args.vlan)
    try:
        if args.kind == "na":
            fl = args.flags.upper()
            if set(fl) - set("RSO"):
                raise ConfigError(f"--flags {args.flags!r}: use letters R, S and O")
            frame = ndp.build_na(dst=args.dst or "ff02::1", router="R" in fl,
                                 solicited="S" in fl, override="O" in fl, tlla=args.lladdr,
                                 **common)
        else:
            frame = ndp.build_ns(dst=args.dst, slla=args.lladdr, **common)
    except ValueError as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(str(e)) from None
    print(frame.hex())
    return 0
