"""``v6core doctor``: explain this host's IPv6 choices and the usual container pitfalls."""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    from v6core.doctor import CHECKS

    p = sub.add_parser(
        "doctor",
        help="explain this host's IPv6 choices and container pitfalls (address selection, "
        "source addresses, neighbor discovery, listening sockets)",
        description="Read the live system (no root needed) and report, per check, a status, "
        "the evidence and the fix.  Exit status: 0 when nothing failed, 1 when a check "
        "failed (or warned, with --fail-on warn), 2 on a usage error.",
    )
    p.add_argument("--check", action="append", choices=list(CHECKS), metavar="NAME",
                   help=f"run only this check family (repeatable): {', '.join(CHECKS)}")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colour the report (auto: only on a terminal, and not with NO_COLOR)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="show the evidence of passing checks too")
    p.add_argument("--fail-on", choices=("fail", "warn"), default="fail",
                   help="lowest status that makes the exit status 1 (default: fail)")
    p.add_argument("--gai-conf", default="/etc/gai.conf", metavar="FILE",
                   help="gai.conf to evaluate (default /etc/gai.conf)")
    p.add_argument("--ndppd-conf", default="/etc/ndppd.conf", metavar="FILE")
    p.add_argument("--respond-config", action="append", metavar="FILE",
                   help="v6core respond configuration(s) to consider "
                   "(default /etc/v6core/respond.toml)")
    p.add_argument("--root", default="/", metavar="DIR",
                   help="read files (/bin/sh, /etc/gai.conf ...) under DIR, e.g. a container's "
                   "root filesystem; /proc, /sys and the kernel probes stay this namespace's")
    p.add_argument("--containers", action="store_true",
                   help="(root) every network namespace on the host, named as users know it "
                   "(Docker/Podman, LXD/Incus, nspawn, ip netns), with the resolver of each "
                   "executable in it and which family it tries first")
    p.add_argument("--engine-socket", action="append", metavar="PATH",
                   help="Docker/Podman Engine API socket(s) used to name containers "
                   "(default: /run/docker.sock, /var/run/docker.sock, /run/podman/podman.sock)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from v6core.doctor import LiveSystem, Options, Status
    from v6core.doctor import run as run_doctor
    from v6core.errors import ConfigError

    if args.containers:
        return _run_containers(args)
    if not os.path.isdir(args.root):
        raise ConfigError(f"--root {args.root!r}: not a directory")
    opts = Options(gai_conf=args.gai_conf, ndppd_conf=args.ndppd_conf)
    if args.respond_config:
        opts.respond_configs = list(args.respond_config)
    report = run_doctor(LiveSystem(args.root), opts, args.check)
    if args.json:
        print(report.to_json())
    else:
        if args.color == "auto":
            colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR") \
                and os.environ.get("TERM") != "dumb"
        else:
            colour = args.color == "always"
        print(report.render(colour=colour, verbose=args.verbose))
    return report.exit_code(Status.WARN if args.fail_on == "warn" else Status.FAIL)


def _colour(args: argparse.Namespace) -> bool:
    if args.color == "auto":
        return sys.stdout.isatty() and not os.environ.get("NO_COLOR") \
            and os.environ.get("TERM") != "dumb"
    return bool(args.color == "always")


def _run_containers(args: argparse.Namespace) -> int:
    from v6core.doctor import Status
    from v6core.doctor.containers import DEFAULT_ENGINE_SOCKETS
    from v6core.doctor.host import scan
    from v6core.errors import ConfigError

    if args.check or args.root != "/":
        raise ConfigError("--containers cannot be combined with --check or --root")
    if os.geteuid() != 0:
        raise ConfigError("--containers needs root (it enters other network namespaces "
                          "and reads other users' /proc entries)")
    report = scan(engine_sockets=args.engine_socket or DEFAULT_ENGINE_SOCKETS)
    print(report.to_json() if args.json else report.render(colour=_colour(args)))
    return report.exit_code(Status.WARN if args.fail_on == "warn" else Status.FAIL)
