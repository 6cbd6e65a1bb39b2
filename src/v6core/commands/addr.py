"""``v6core addr``: normalise addresses and look them up in prefixes (the address core)."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "addr",
        help="normalise addresses (RFC 5952) and show scope and matching prefixes",
        description="Print each ADDRESS in RFC 5952 form with its RFC 6724 scope, and the "
        "longest of the given --prefix values that contains it.",
    )
    p.add_argument("addresses", nargs="+", metavar="ADDRESS")
    p.add_argument("-p", "--prefix", action="append", default=[], metavar="PREFIX",
                   help="a prefix to match against (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from v6core._core import addr
    from v6core._core.prefix import PrefixTable
    from v6core.errors import Scope

    table = PrefixTable(args.prefix) if args.prefix else None
    rows = []
    for text in args.addresses:
        match = table.match(text) if table is not None else None
        rows.append({
            "address": addr.to_text(text),
            "scope": Scope(addr.scope(text)).name.lower(),
            "ipv4": addr.is_v4mapped(text),
            "prefix": match[0] if match else None,
        })
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            extra = f"  in {r['prefix']}" if r["prefix"] else ""
            print(f"{r['address']:<40} {r['scope']:<12}{extra}")
    return 0
