"""``v6core gai lint|show``: what glibc will silently do with a gai.conf."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gai", help="gai.conf tools (glibc 2.36 semantics)",
                       description="Check a gai.conf the way glibc 2.36 reads it.")
    gsub = p.add_subparsers(dest="gai_command", metavar="ACTION")
    lint = gsub.add_parser(
        "lint", help="report ignored lines, dropped built-in rows, duplicates",
        description="Report, with file:line, every line glibc ignores, every built-in "
        "row a partial table drops, duplicate prefixes, and print the effective table. "
        "Exit status 1 when a line is ignored (or is one v6core cannot use: a scopev4 "
        "scope above 15), else 0.")
    lint.add_argument("file", metavar="FILE", nargs="?", default="/etc/gai.conf")
    lint.add_argument("--json", action="store_true", help="print JSON")
    lint.set_defaults(func=run_lint)
    show = gsub.add_parser("show", help="print the effective policy table")
    show.add_argument("file", metavar="FILE", nargs="?", default=None,
                      help="a gai.conf (default: glibc's built-in tables)")
    show.add_argument("--update", action="store_true",
                      help="show draft-ietf-6man-rfc6724-update's table instead, with a "
                           "known-local row for each /48 of the kernel's fd00::/8 addresses")
    show.add_argument("--known-local", action="append", default=[], metavar="ULA",
                      help="with --update: another known-local address or prefix")
    show.add_argument("--no-known-local", action="store_true",
                      help="with --update: insert no known-local rows")
    show.set_defaults(func=run_show)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_lint(args: argparse.Namespace) -> int:
    from v6core.policy import _read_text, parse_gai_conf

    text, where = _read_text_strict(args.file, _read_text)
    conf = parse_gai_conf(text, path=where)
    errors = [d for d in conf.diagnostics if d.severity == "error"]
    if args.json:
        print(json.dumps({
            "file": where,
            "diagnostics": [{"line": d.lineno, "severity": d.severity, "message": d.message}
                            for d in conf.diagnostics],
            "table": [{"prefix": p, "precedence": pr, "label": lb}
                      for p, pr, lb in conf.table.rows],
            "reload": conf.reload,
        }, indent=2))
    else:
        for d in conf.diagnostics:
            print(d)
        n_warn = len(conf.diagnostics) - len(errors)
        print(f"{where}: {len(errors)} ignored line(s), {n_warn} warning(s)")
        print()
        print("effective table (first match wins, longest prefixes first):")
        print(conf.table.format())
    return 1 if errors else 0


def _read_text_strict(path: str, reader: Any) -> tuple[str, str]:
    import os

    if not os.path.exists(path):
        raise FileNotFoundError(2, "No such file or directory", path)
    return reader(os.fspath(path), None)


def run_show(args: argparse.Namespace) -> int:
    from pathlib import Path

    from v6core.policy import PolicyTable

    if args.update:
        from v6core.resolve import host_addresses

        items: list = []
        if not args.no_known_local:
            items = [a.address for a in host_addresses() if a.packed[:1] == b"\xfd"]
            items += args.known_local
        print(PolicyTable.rfc6724_update(items).format())
        return 0
    table = (PolicyTable.glibc_default() if args.file is None
             else PolicyTable.from_gai_conf(Path(args.file)))
    print(table.format())
    return 0
