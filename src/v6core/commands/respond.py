"""``v6core respond``: answer Neighbor Solicitations for prefixes behind this host."""

from __future__ import annotations

import argparse
import logging
import sys

DEFAULT_CONTROL = "/run/v6core-respond.sock"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "respond",
        help="answer NDP solicitations for on-link prefixes routed behind this host",
        description="A high-rate NDP responder: answers Neighbor Solicitations on the given "
        "interfaces for targets inside the given prefixes, with Neighbor Advertisements sent "
        "from the target address (RFC 4861).  Example: v6core respond -i uplink "
        "-p 2001:db8:f440:2:646f:636b:6572::/112",
    )
    src = p.add_argument_group("rules (simple case; use -c for more)")
    src.add_argument("-i", "--interface", action="append", default=[], metavar="IFACE",
                     help="interface to answer on (repeatable)")
    src.add_argument("-p", "--prefix", action="append", default=[], metavar="PREFIX",
                     help="answer for targets inside PREFIX (repeatable)")
    src.add_argument("-x", "--exclude", action="append", default=[], metavar="PREFIX",
                     help="never answer inside PREFIX (repeatable)")
    src.add_argument("--source", default="target", metavar="target|link-local|ADDR",
                     help="IPv6 source of the NA (default: the target address)")
    src.add_argument("--dad", choices=("ignore", "defend"), default="ignore",
                     help="DAD probes: ignore (default) or defend (RFC 4861 7.2.4)")
    src.add_argument("--multicast-only", action="store_true",
                     help="do not answer unicast NUD probes")
    src.add_argument("--router", action="store_true", help="set the R flag")
    src.add_argument("--override", action="store_true",
                     help="set the O flag (a proxy leaves it clear, RFC 4861 7.2.8)")
    src.add_argument("--auto", action="store_true",
                     help="answer only when the route to the target uses another interface")
    src.add_argument("--trunk", action="store_true",
                     help="the interfaces are 802.1Q trunks: answer tagged solicitations too, "
                     "with the same tag")
    live = p.add_mutually_exclusive_group()
    live.add_argument("--learn", action="store_true",
                      help="answer only targets seen alive downstream (kernel neighbour "
                      "events, DAD probes, a solicitation sent downstream)")
    live.add_argument("--docker", action="store_true",
                      help="answer only the IPv6 addresses of running Docker containers")
    p.add_argument("--docker-socket", metavar="PATH",
                   help="Docker Engine API socket (default /var/run/docker.sock)")
    p.add_argument("--learn-ttl", type=int, metavar="SECONDS",
                   help="how long a learned target stays live without new evidence")
    p.add_argument("-c", "--config", metavar="FILE", help="TOML configuration file")
    p.add_argument("--check-config", action="store_true",
                   help="validate the configuration, print it and exit")
    p.add_argument("--import-ndppd", metavar="NDPPD_CONF",
                   help="translate an ndppd.conf to a v6core TOML config on stdout")
    p.add_argument("--stats", action="store_true",
                   help="print the counters of the running daemon (Prometheus text)")
    p.add_argument("--control", metavar="PATH",
                   help=f"control socket (default {DEFAULT_CONTROL})")
    p.add_argument("--metrics", metavar="HOST:PORT",
                   help="serve Prometheus text on a localhost port, e.g. 127.0.0.1:9431")
    p.add_argument("--user", help="drop privileges to USER after opening sockets")
    p.add_argument("--rate-limit", type=int, metavar="N", help="answers/s in total (0 = off)")
    p.add_argument("--rate-limit-source", type=int, metavar="N",
                   help="answers/s per soliciting address (0 = off)")
    p.add_argument("--xdp", nargs="?", const="auto", choices=("auto", "native", "generic"),
                   help="also answer in the driver with an XDP program on every interface "
                   "(default auto: native mode where supported, else generic)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.set_defaults(func=run)


def _load(args: argparse.Namespace):
    from v6core.errors import ConfigError
    from v6core.responder import config

    if args.config:
        if args.interface or args.prefix:
            raise ConfigError("give either -c FILE or -i/-p flags, not both")
        cfg = config.load(args.config)
    else:
        daemon = {"control": DEFAULT_CONTROL if args.control is None else args.control,
                  "metrics": args.metrics,
                  "user": args.user, "rate_limit": args.rate_limit,
                  "rate_limit_source": args.rate_limit_source,
                  "docker_socket": args.docker_socket, "learn_ttl": args.learn_ttl}
        return config.from_args(
            args.interface, args.prefix, exclude=args.exclude, source=args.source,
            dad=args.dad, unicast=not args.multicast_only, router=args.router,
            override=args.override, auto=args.auto, trunk=args.trunk, xdp=args.xdp,
            learn=args.learn, docker=args.docker, **daemon), None
    if args.learn or args.docker:
        raise ConfigError("--learn and --docker go with -i/-p; in a file, set learn = true "
                          "or docker = true in the rule")
    # command-line daemon options override the file's, validated like the file's keys
    from dataclasses import replace
    over = {"control": args.control, "metrics": args.metrics, "user": args.user,
            "rate_limit": args.rate_limit, "rate_limit_source": args.rate_limit_source,
            "docker_socket": args.docker_socket, "learn_ttl": args.learn_ttl}
    cfg = config.with_xdp(config.override(cfg, **over), args.xdp)
    if cfg.control is None:
        cfg = replace(cfg, control=DEFAULT_CONTROL)

    def reload():
        return config.with_xdp(config.override(config.load(args.config), **over), args.xdp)

    return cfg, reload


def run(args: argparse.Namespace) -> int:
    from v6core.responder import config

    if args.import_ndppd:
        with open(args.import_ndppd, encoding="utf-8") as f:
            cfg, notes = config.import_ndppd(f.read(), args.import_ndppd)
        for n in notes:
            print(f"v6core respond: note: {n}", file=sys.stderr)
        sys.stdout.write(config.to_toml(cfg))
        return 0
    if args.stats:
        from v6core.responder.stats import query
        sys.stdout.write(query(args.control or DEFAULT_CONTROL))
        return 0
    cfg, reload = _load(args)
    if args.check_config:
        sys.stdout.write(config.to_toml(cfg))
        print(f"v6core respond: {cfg.path}: OK ({len(cfg.interfaces)} interfaces, "
              f"{sum(len(i.rules) for i in cfg.interfaces)} rules)", file=sys.stderr)
        return 0
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="v6core respond: %(message)s", stream=sys.stderr)
    from v6core.responder.daemon import Daemon
    return Daemon(cfg, reload=reload).run(user=cfg.user)
