"""``v6core sort`` and ``v6core explain``: order a name's addresses as a resolver would."""

from __future__ import annotations

import argparse
import json
import socket
from typing import Any

from v6core.errors import AddressError, ConfigError

_FLAGS = {"deprecated", "temporary", "home", "care-of", "care_of", "encapsulated",
          "optimistic"}


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("targets", nargs="+", metavar="NAME|ADDR",
                   help="host names (resolved with the C library) and/or addresses")
    p.add_argument("--flavor", choices=("rfc6724", "glibc", "musl", "go", "rfc6724-update"),
                   default="glibc", help="whose ordering to apply (default: glibc)")
    p.add_argument("--runtime", type=_runtime_arg, metavar="RUNTIME",
                   help="a runtime's step over --flavor's order: java[:false|true|system], "
                        "node[:verbatim|ipv4first|ipv6first], or go (replaces --flavor)")
    p.add_argument("--known-local", action="append", default=[], metavar="ULA",
                   help="rfc6724-update: an fd00::/8 address or prefix whose /48 is "
                        "known-local, besides the kernel's own fd00::/8 addresses and "
                        "--source ones; repeatable")
    p.add_argument("--no-known-local", action="store_true",
                   help="rfc6724-update: insert no known-local rows at all")
    p.add_argument("--gai-conf", metavar="FILE",
                   help="policy from this gai.conf (default for --flavor glibc: "
                        "$V6CORE_GAI_CONF or /etc/gai.conf)")
    p.add_argument("--source", action="append", default=[], metavar="DEST=SRC",
                   help="use SRC as Source(DEST) instead of asking the kernel; SRC may be "
                        "ADDR[/PLEN][,deprecated,temporary,home,care-of,encapsulated,"
                        "optimistic] or 'none' (unreachable); repeatable")
    p.add_argument("--json", action="store_true", help="print JSON")


def _runtime_arg(text: str) -> Any:
    from v6core.errors import RuntimeSpecError
    from v6core.runtime import parse_runtime

    try:
        return parse_runtime(text)
    except RuntimeSpecError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sort", help="order addresses as glibc, musl or RFC 6724 would",
        description="Resolve NAMEs (and take ADDRs as given), find each destination's "
        "source as the kernel would (or from --source), and print the destinations in "
        "the order the chosen flavour sorts them.")
    _add_common(p)
    p.set_defaults(func=run_sort)
    e = sub.add_parser(
        "explain", help="show which RFC 6724 rule put each address where",
        description="Like 'v6core sort', and print each destination's precedence, label, "
        "scope and common prefix length, and for each adjacent pair the rule (1-10) "
        "that ordered it.")
    _add_common(e)
    e.add_argument("--happy-eyeballs", action="store_true",
                   help="also show the connection-attempt order of RFC 8305 section 4 "
                        "(families interleaved, First Address Family Count 1)")
    e.set_defaults(func=run_explain)


def parse_source(text: str) -> Any:
    """``ADDR[/PLEN][,flag...]`` or ``none`` -> SourceAddress or None."""
    from v6core.select import SourceAddress

    if text.strip().lower() in ("none", "-", "unreachable"):
        return None
    addr, *flags = [x.strip() for x in text.split(",")]
    plen = None
    if "/" in addr:
        addr, _, pl = addr.partition("/")
        if not pl.isdigit():
            raise ConfigError(f"--source {text!r}: prefix length {pl!r} is not a number")
        plen = int(pl)
    bad = [f for f in flags if f not in _FLAGS]
    if bad:
        raise ConfigError(f"--source {text!r}: unknown flag {bad[0]!r} (known: deprecated, "
                          "temporary, home, care-of, encapsulated, optimistic)")
    kw = {f.replace("-", "_"): True for f in flags}
    try:
        return SourceAddress(addr, plen, **kw)
    except AddressError as e:
        raise ConfigError(f"--source {text!r}: {e}") from None


def gather(args: argparse.Namespace) -> tuple[list[str], list[Any], Any]:
    """(destinations, sources, policy) for the sort/explain commands."""
    from v6core._core import addr as _addr
    from v6core.resolve import kernel_sources, system_policy

    dests: list[str] = []
    for t in args.targets:
        try:
            dests.append(_addr.to_text(t))
            continue
        except AddressError:
            pass
        try:
            infos = socket.getaddrinfo(t, None, 0, socket.SOCK_STREAM)
        except socket.gaierror as e:
            raise ConfigError(f"cannot resolve {t!r}: {e.strerror}") from None
        for fam, _t, _p, _c, sa in infos:
            if fam in (socket.AF_INET, socket.AF_INET6):
                text = _addr.to_text(str(sa[0]).split("%", 1)[0])
                if text not in dests:
                    dests.append(text)
    given: dict[str, Any] = {}
    for spec in args.source:
        d, sep, s = spec.partition("=")
        if not sep:
            raise ConfigError(f"--source {spec!r}: expected DEST=SRC")
        try:
            key = _addr.to_text(d.strip())
        except AddressError as e:
            raise ConfigError(f"--source {spec!r}: {e}") from None
        given[key] = parse_source(s)
    need = [d for d in dests if d not in given]
    probed = dict(zip(need, kernel_sources(need), strict=False)) if need else {}
    sources = [given[d] if d in given else probed[d] for d in dests]
    flavor = _flavor(args)
    if args.gai_conf is not None:
        policy = system_policy(args.gai_conf)
    elif flavor == "glibc":
        policy = system_policy()
    else:
        policy = None
    return dests, sources, policy


def _flavor(args: argparse.Namespace) -> str:
    rt = getattr(args, "runtime", None)
    return rt.flavor if rt is not None and rt.flavor is not None else args.flavor


def _known_local(args: argparse.Namespace) -> tuple[list[Any], bool]:
    """(known-local items, learn from sources) for rfc6724-update: the kernel's own
    fd00::/8 addresses plus --known-local; the sources are learned by select."""
    if _flavor(args) != "rfc6724-update" or args.no_known_local:
        return [], not args.no_known_local
    from v6core.policy import known_local_prefixes
    from v6core.resolve import host_addresses

    try:
        known_local_prefixes(args.known_local)
    except ValueError as e:
        raise ConfigError(f"--known-local: {e}") from None
    own = [a.address for a in host_addresses() if a.packed[:1] == b"\xfd"]
    return [*own, *args.known_local], True


def run_sort(args: argparse.Namespace) -> int:
    from v6core.select import sort_destinations

    dests, sources, policy = gather(args)
    src_of = dict(zip(dests, sources, strict=False))
    kl, learn = _known_local(args)
    ordered = sort_destinations(dests, sources, flavor=_flavor(args), policy=policy,
                                runtime=args.runtime, known_local=kl,
                                learn_known_local=learn)
    if args.json:
        print(json.dumps([{"address": d, "source": None if src_of[d] is None
                           else src_of[d].address} for d in ordered], indent=2))
    else:
        for d in ordered:
            s = src_of[d]
            print(f"{d:<40} {'(unreachable)' if s is None else 'src ' + s.address}")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    from v6core.select import explain

    dests, sources, policy = gather(args)
    kl, learn = _known_local(args)
    ex = explain(dests, sources, flavor=_flavor(args), policy=policy, runtime=args.runtime,
                 happy_eyeballs=args.happy_eyeballs, known_local=kl,
                 learn_known_local=learn)
    if args.json:
        print(json.dumps(ex.to_dict(), indent=2))
    else:
        print(ex)
    return 0
