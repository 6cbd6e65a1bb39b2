"""``v6core select-source``: RFC 6724 section 5 source selection over this host's addresses."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "select-source", help="choose a source address for DEST (RFC 6724 section 5)",
        description="Apply RFC 6724 section 5 rules 1-8 to this host's addresses (from "
        "the kernel, with their deprecated/temporary/home flags) and print the chosen "
        "source for DEST, beside the one the kernel itself picks.")
    p.add_argument("destination", metavar="DEST")
    p.add_argument("--interface", metavar="IFINDEX|NAME",
                   help="outgoing interface for rule 5 (default: the kernel's route)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import socket

    from v6core._core import addr as _addr
    from v6core.errors import ConfigError
    from v6core.resolve import IFA_F_TENTATIVE, host_addresses, kernel_sources
    from v6core.select import select_source

    dest = _addr.to_text(args.destination)
    addrs = host_addresses()
    cands = [a.source() for a in addrs if not a.flags & IFA_F_TENTATIVE]
    kernel = kernel_sources([dest], addresses=addrs)[0]
    iface = None
    if args.interface is not None:
        try:
            iface = (int(args.interface) if args.interface.isdigit()
                     else socket.if_nametoindex(args.interface))
        except OSError:
            raise ConfigError(f"--interface {args.interface!r}: no such interface") from None
    elif kernel is not None:
        iface = kernel.ifindex
    chosen = select_source(dest, cands, interface=iface)
    if args.json:
        print(json.dumps({
            "destination": dest,
            "rfc6724": None if chosen is None else chosen.address,
            "kernel": None if kernel is None else kernel.address,
            "candidates": [c.address for c in cands if c.is_ipv4 == _addr.is_v4mapped(dest)],
        }, indent=2))
    else:
        print(f"destination  {dest}")
        print(f"RFC 6724     {'(no candidate)' if chosen is None else repr(chosen)}")
        print(f"kernel       {'(unreachable)' if kernel is None else repr(kernel)}")
    return 0
