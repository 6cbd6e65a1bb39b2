"""``v6core simulate``: where would a fleet's connections go under each resolver policy?"""

from __future__ import annotations

import argparse


def _positive(text: str) -> int:
    try:
        v = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return v


def _count(text: str) -> int:
    try:
        v = int(float(text.replace("_", ""))) if "e" in text.lower() else int(
            text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return v


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="replay many lookups under several resolver policies (built-in fleet by default)",
        description="Order every lookup's candidates under each policy (RFC 6724 in the "
        "rfc6724, glibc and musl flavours, optionally with a gai.conf) and report where the "
        "first connection attempt goes, which rule decided, and what changed between "
        "policies.  Without DATASET it runs on a built-in synthetic container fleet.",
    )
    p.add_argument("dataset", nargs="?", metavar="DATASET",
                   help="lookups: .npz, a directory of .npy files, .csv or .parquet")
    p.add_argument("--hosts", metavar="FILE",
                   help="hosts file (host,source,prefixlen,flags) for a CSV/Parquet dataset "
                   "whose rows are lookup,host,destination")
    p.add_argument("-p", "--policy", action="append", default=[], metavar="FLAVOR[:GAI.CONF]",
                   help="a policy to apply (repeatable; the first is the baseline). "
                   "Default: rfc6724, glibc, musl")
    p.add_argument("--gai-conf", action="append", default=[], metavar="FILE",
                   help="add the policy glibc:FILE (repeatable)")
    p.add_argument("-n", "--lookups", type=_count, default=200_000,
                   help="lookups in the built-in dataset (default 200000)")
    p.add_argument("--fleet-hosts", type=_positive, default=2000,
                   help="hosts in the built-in dataset (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the built-in dataset")
    p.add_argument("--threads", type=_positive, default=None,
                   help="worker threads (default: every available core)")
    p.add_argument("--chunk-rows", type=_positive, default=1 << 20,
                   help="candidate rows per chunk (memory bound; default 1048576)")
    p.add_argument("--runtime-mix", default="default", metavar="default|off|RT=SHARE,...",
                   help="processes behind the lookups: the built-in shares of glibc, musl, "
                   "go, java and node per host profile (default), none (off), or shares for "
                   "all hosts, e.g. go=0.4,java=0.2,node=0.1,glibc=0.2,musl=0.1; a dataset's "
                   "runtime column wins")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--plot", metavar="FILE.png", help="also draw the results (matplotlib)")
    p.add_argument("--save", metavar="FILE.npz",
                   help="write the dataset (e.g. the built-in one) as .npz and exit")
    prog = p.add_mutually_exclusive_group()
    prog.add_argument("--progress", dest="progress", action="store_true", default=None,
                      help="show a progress bar (tqdm; default: when stderr is a terminal)")
    prog.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from v6core import simulate as sim

    if args.hosts and not args.dataset:
        raise sim.ConfigError("--hosts needs a DATASET (CSV or Parquet) to go with it")
    specs = list(args.policy) + [f"glibc:{f}" for f in args.gai_conf]
    if not specs:
        specs = ["rfc6724", "glibc", "musl"]
    policies = [sim.parse_policy(s) for s in specs]
    names = [p.name for p in policies]
    for i, p in enumerate(policies):
        if names.count(p.name) > 1:
            p.name = f"{p.name}#{names[:i + 1].count(p.name)}"
    dataset = sim.load(args.dataset, hosts=args.hosts, lookups=args.lookups, seed=args.seed,
                       fleet_hosts=args.fleet_hosts)
    if args.save:
        sim.save_npz(dataset, args.save)
        print(f"wrote {args.save}")
        return 0
    from v6core.simulate.runtimes import parse_mix
    mix: object = None
    if args.runtime_mix in ("off", "none"):
        mix = False
    elif args.runtime_mix != "default":
        mix = parse_mix(args.runtime_mix)
    bar = sim.progress_bar(dataset.lookups, args.progress)
    try:
        report = sim.simulate(dataset, policies, threads=args.threads,
                              max_rows=args.chunk_rows,
                              progress=bar.update if bar is not None else None,
                              runtime_mix=mix)
    finally:
        if bar is not None:
            bar.close()
    if args.plot:
        sim.plot_report(report, args.plot)
    if args.json:
        print(sim.report_json(report))
    else:
        print(sim.format_report(report))
        if args.plot:
            print(f"\nplot written to {args.plot}")
    return 0
