"""Neighbor discovery: forwarding and accept_ra, bridge ports, proxy NDP, responders.

Kernel facts this check relies on (net/ipv6/addrconf.c, ndisc.c):

* an interface takes router advertisements when ``accept_ra`` is 1 and its
  ``forwarding`` is 0, or when ``accept_ra`` is 2 (RFC 4861 §6.2.1: a router ignores RAs
  for its own configuration; Linux's 2 overrides that);
* the kernel answers a solicitation for a proxy entry only when the receiving interface
  forwards and ``proxy_ndp`` is set on it or on ``all``;
* a bridge port hands its frames to the bridge, so IPv6 configuration (RAs, SLAAC)
  belongs on the bridge interface, not on the ports.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from typing import Any

from v6core.doctor import facts
from v6core.doctor.context import Context
from v6core.doctor.report import Finding, Status

CHECK = "ndp"


def _accepts_ra(iface: facts.Interface) -> bool:
    ra = iface.get("accept_ra", 1)
    if iface.get("disable_ipv6") == 1:
        return False
    return ra == 2 or (ra == 1 and iface.get("forwarding") == 0)


def _persist(key: str, value: int) -> str:
    return (f"echo '{key} = {value}' > /etc/sysctl.d/60-v6core.conf   # survives a reboot "
            "(append for several keys)")


def check(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    ifaces = ctx.interfaces
    if not ifaces:
        return [Finding(CHECK, "no-sysctls", Status.SKIP,
                        "cannot read /proc/sys/net/ipv6/conf (IPv6 disabled or /proc missing)")]
    out.extend(_forwarding(ctx))
    out.extend(_bridge_ports(ctx))
    out.extend(_proxy(ctx))
    out.extend(_responders(ctx))
    return out


def _forwarding(ctx: Context) -> list[Finding]:
    out = []
    default_devs = {r.dev for r in ctx.routes6 if r.dst.prefixlen == 0 and not r.reject
                    and r.dev != "lo"}
    for name, iface in sorted(ctx.interfaces.items()):
        if name == "lo" or iface.bridge is not None or iface.get("disable_ipv6") == 1:
            continue
        fwd, ra = iface.get("forwarding"), iface.get("accept_ra", 1)
        ev = [f"net.ipv6.conf.{name}.forwarding = {fwd}", f"net.ipv6.conf.{name}.accept_ra = {ra}"]
        ra_routes = [r for r in ctx.routes6 if r.dev == name and r.from_ra]
        dyn = [a for a in ctx.v6_addresses(name) if a.scope == "global" and a.dynamic
               and a.valid_lft not in (None, facts.INFINITY_LFT)]
        for r in ra_routes:
            ev.append(f"route {r.dst} via {r.gateway or 'on-link'} dev {name} learnt from an RA")
        for a in dyn:
            ev.append(f"address {a.address}/{a.prefixlen} (dynamic, valid_lft {a.valid_lft}s)")
        data = {"interface": name, "forwarding": fwd, "accept_ra": ra}
        uses_ra = bool(ra_routes or dyn)
        downstream = (iface.is_bridge or bool(default_devs)) and name not in default_devs
        if fwd == 1 and ra == 1 and (uses_ra or not downstream):
            out.append(Finding(
                CHECK, "forwarding-ignores-ra", Status.FAIL,
                "forwarding is on, so router advertisements are ignored (accept_ra=1 only "
                "works on a host): addresses and the default route learnt from RAs "
                "expire and are not renewed", name, ev,
                [f"sysctl -w net.ipv6.conf.{name}.accept_ra=2",
                 _persist(f"net.ipv6.conf.{name}.accept_ra", 2),
                 "systemd-networkd handles RAs itself (IPv6AcceptRA=yes) and needs no sysctl",
                 f"if {name} is configured statically: sysctl -w net.ipv6.conf.{name}.accept_ra=0 "
                 "says so"],
                data))
        elif fwd == 1 and ra == 1:
            why = ("a bridge that containers route through" if iface.is_bridge else
                   "the default route leaves through " + ", ".join(sorted(default_devs)))
            out.append(Finding(
                CHECK, "forwarding-downstream", Status.INFO,
                f"forwarding is on and RAs would be ignored here, which is fine for a "
                f"downstream interface ({why}); nothing here was learnt from an RA", name, ev,
                [f"if RAs should configure {name}: sysctl -w net.ipv6.conf.{name}.accept_ra=2"],
                data))
        elif fwd == 1 and ra == 0:
            out.append(Finding(
                CHECK, "forwarding-no-ra", Status.INFO,
                "forwarding is on and RAs are off (accept_ra=0): fine with static "
                "addresses and routes, or when systemd-networkd processes RAs", name, ev,
                [f"if this uplink is configured by RAs: sysctl -w net.ipv6.conf.{name}.accept_ra=2"],
                data))
        elif fwd == 1:
            out.append(Finding(CHECK, "forwarding-accepts-ra", Status.OK,
                               f"forwarding with accept_ra={ra}: RAs are still accepted", name,
                               ev, data=data))
        else:
            out.append(Finding(CHECK, "host-ra", Status.OK,
                               f"not forwarding; RAs {'accepted' if ra else 'ignored'} "
                               f"(accept_ra={ra})", name, ev, data=data))
    return out


def _bridge_ports(ctx: Context) -> list[Finding]:
    out = []
    by_bridge: dict[str, list[facts.Interface]] = {}
    for iface in ctx.interfaces.values():
        if iface.bridge is not None:
            by_bridge.setdefault(iface.bridge, []).append(iface)
    for br, ports in sorted(by_bridge.items()):
        bad = [p for p in sorted(ports, key=lambda p: p.name) if _accepts_ra(p)]
        ev = [f"{p.name}: port of {br}, accept_ra={p.get('accept_ra', 1)} forwarding="
              f"{p.get('forwarding')} disable_ipv6={p.get('disable_ipv6')} autoconf="
              f"{p.get('autoconf')}" for p in sorted(ports, key=lambda p: p.name)]
        brif = ctx.interfaces.get(br)
        if brif is not None:
            ev.append(f"{br} (the bridge): accept_ra={brif.get('accept_ra', 1)} "
                      f"forwarding={brif.get('forwarding')}")
        data = {"bridge": br, "ports": [p.name for p in ports],
                "ports_accepting_ra": [p.name for p in bad]}
        if not bad:
            out.append(Finding(CHECK, "bridge-ports-ok", Status.OK,
                               f"no port of {br} accepts RAs itself", br, ev, data=data))
            continue
        fix = []
        for p in bad:
            fix.append(f"sysctl -w net.ipv6.conf.{p.name}.accept_ra=0 "
                       f"net.ipv6.conf.{p.name}.autoconf=0")
        if brif is not None and not _accepts_ra(brif):
            val = 2 if brif.get("forwarding") else 1
            fix.append(f"and let the bridge take them: sysctl -w net.ipv6.conf.{br}.accept_ra={val}")
        fix.append("persist in /etc/sysctl.d/ for fixed ports; for ports created later "
                   "(container veths) set it when they are created, or "
                   "net.ipv6.conf.default.accept_ra=0 if no new uplink needs RAs")
        out.append(Finding(
            CHECK, "bridge-port-accepts-ra", Status.WARN,
            f"bridge port{'s' if len(bad) > 1 else ''} {', '.join(p.name for p in bad)} "
            f"accept{'' if len(bad) > 1 else 's'} router advertisements themselves; "
            f"RAs belong on the bridge {br}, not on its ports", br, ev, fix, data))
    return out


def _proxy_effective(ctx: Context, dev: str) -> tuple[bool, str]:
    iface = ctx.interfaces.get(dev)
    if iface is None:
        return False, f"{dev} does not exist"
    all_proxy = facts.global_sysctl(ctx.view, "proxy_ndp") or 0
    reasons = []
    if iface.get("forwarding") != 1:
        reasons.append(f"net.ipv6.conf.{dev}.forwarding=0")
    if iface.get("proxy_ndp") != 1 and all_proxy != 1:
        reasons.append(f"net.ipv6.conf.{dev}.proxy_ndp=0 (and all.proxy_ndp=0)")
    return not reasons, ", ".join(reasons)


def _proxy(ctx: Context) -> list[Finding]:
    entries = facts.proxy_neighbours(ctx.view)
    if entries is None:
        return [Finding(CHECK, "proxy-entries-unknown", Status.SKIP,
                        "cannot list proxy neighbour entries (`ip -6 neigh show proxy` failed)")]
    out = []
    devs = sorted({d for _, d in entries} | {n for n, i in ctx.interfaces.items()
                                             if i.get("proxy_ndp") == 1})
    for dev in devs:
        mine = [a for a, d in entries if d == dev]
        ok, why = _proxy_effective(ctx, dev)
        iface = ctx.interfaces.get(dev)
        ev = [f"{len(mine)} proxy entr{'y' if len(mine) == 1 else 'ies'} on {dev}"
              + (": " + ", ".join(mine[:8]) + (" ..." if len(mine) > 8 else "") if mine else "")]
        if iface is not None:
            ev.append(f"net.ipv6.conf.{dev}.proxy_ndp = {iface.get('proxy_ndp')}, "
                      f"forwarding = {iface.get('forwarding')}")
        data = {"interface": dev, "entries": mine, "effective": ok}
        if mine and not ok:
            fix = []
            if "forwarding" in why:
                fix.append(f"sysctl -w net.ipv6.conf.{dev}.forwarding=1")
            if "proxy_ndp" in why:
                fix.append(f"sysctl -w net.ipv6.conf.{dev}.proxy_ndp=1")
            out.append(Finding(CHECK, "proxy-entries-inactive", Status.FAIL,
                               f"proxy neighbour entries exist but the kernel will not answer "
                               f"for them: {why}", dev, ev, fix, data))
        elif mine:
            out.append(Finding(CHECK, "proxy-entries", Status.OK,
                               f"the kernel answers solicitations for {len(mine)} proxied "
                               "address(es) (from its own address, after up to proxy_delay)",
                               dev, ev, data=data))
        else:
            out.append(Finding(CHECK, "proxy-ndp-no-entries", Status.INFO,
                               "proxy_ndp is on but there are no proxy entries on this interface",
                               dev, ev, data=data))
    return out


# ---- responders: does something answer for container ranges inside on-link prefixes ----

def container_ranges(ctx: Context) -> list[tuple[ipaddress.IPv6Network, str, str, ipaddress.IPv6Network]]:
    """(range, its interface, uplink, uplink's on-link prefix) for every global IPv6 range
    routed or configured on another interface while lying inside an on-link prefix of an
    uplink (an interface with a default route): the router next to the uplink believes
    those addresses are on its link and solicits them there."""
    routes = [r for r in ctx.routes6 if not r.reject]
    uplinks = sorted({r.dev for r in routes if r.dst.prefixlen == 0 and r.dev != "lo"})
    onlink = [(r.dst, r.dev) for r in routes
              if r.dev in uplinks and r.gateway is None and not r.local and r.dst.prefixlen > 0
              and not r.dst.is_link_local and not r.dst.is_multicast]
    out = []
    seen = set()
    for r in routes:
        if r.local or r.dst.prefixlen == 0 or r.dev in uplinks or r.dev == "lo":
            continue
        if r.dst.is_link_local or r.dst.is_multicast:
            continue
        for pfx, up in onlink:
            if r.dst.subnet_of(pfx) and (r.dst, up) not in seen:
                seen.add((r.dst, up))
                out.append((r.dst, r.dev, up, pfx))
    return out


def _processes(ctx: Context) -> list[tuple[str, list[str]]]:
    """(pid, argv) of the processes in this network namespace.  A process whose
    namespace cannot be read (another user's, without root) is kept, marked by a pid
    ending in "?": it may be elsewhere."""
    mine = ctx.view.readlink("/proc/self/ns/net")
    out = []
    for pid in ctx.view.listdir("/proc"):
        if not pid.isdigit():
            continue
        cmd = ctx.view.read(f"/proc/{pid}/cmdline")
        if not cmd:
            continue
        theirs = ctx.view.readlink(f"/proc/{pid}/ns/net")
        if mine is not None and theirs is not None and theirs != mine:
            continue                   # runs in another network namespace
        out.append((pid if theirs is not None or mine is None else pid + "?",
                    [a for a in cmd.split("\0") if a]))
    return out


def _ndppd_rules(text: str, path: str = "ndppd.conf") -> list[tuple[str, ipaddress.IPv6Network]]:
    """(proxy interface, rule prefix) pairs from ndppd.conf: ``proxy IF { rule PFX { ... } }``,
    read by the responder's ndppd importer, else (a file the importer refuses) minimally:
    comments, nesting and the two keywords."""
    from v6core.responder.config import import_ndppd

    try:
        cfg, _notes = import_ndppd(text, path)
    except Exception:  # a file ndppd itself would reject: fall through to the minimal read
        pass
    else:
        return [(i.name, ipaddress.IPv6Network(r.prefix, strict=False))
                for i in cfg.interfaces for r in i.rules]
    text = re.sub(r"#[^\n]*", "", text)
    tokens = re.findall(r"[{}]|[^\s{}]+", text)
    out = []
    stack: list[tuple[str, str | None]] = []
    pending: tuple[str, str | None] | None = None
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t == "{":
            stack.append(pending or ("", None))
            pending = None
        elif t == "}":
            if stack:
                stack.pop()
        elif t in ("proxy", "rule") and i + 1 < len(tokens):
            pending = (t, tokens[i + 1])
            if t == "rule":
                proxy = next((v for k, v in reversed(stack) if k == "proxy"), None)
                try:
                    if proxy:
                        out.append((proxy, ipaddress.IPv6Network(tokens[i + 1], strict=False)))
                except ValueError:
                    pass
            i += 1
        else:
            pending = (t, None)
        i += 1
    return out


def _v6core_rules(ctx: Context, path: str, text: str) -> list[tuple[str, ipaddress.IPv6Network]]:
    from v6core.responder.config import loads

    try:
        cfg = loads(text, path)
    except Exception:  # a config the daemon would refuse covers nothing
        return []
    return [(iface.name, ipaddress.IPv6Network(rule.prefix, strict=False))
            for iface in cfg.interfaces for rule in iface.rules]


def _responders(ctx: Context) -> list[Finding]:
    ranges = container_ranges(ctx)
    procs = _processes(ctx)
    covering: list[tuple[str, str, ipaddress.IPv6Network, bool]] = []  # who, iface, prefix, running
    notes: list[str] = []
    ndppd_procs = [p for p, a in procs if a and a[0].rsplit("/", 1)[-1] == "ndppd"]
    ndppd_running = bool(ndppd_procs)
    if ndppd_procs and all(p.endswith("?") for p in ndppd_procs):
        notes.append("ndppd runs, but its network namespace cannot be checked without root")
    ndppd_text = ctx.view.read(ctx.options.ndppd_conf)
    if ndppd_text is not None:
        for dev, pfx in _ndppd_rules(ndppd_text, ctx.options.ndppd_conf):
            covering.append((f"ndppd ({ctx.options.ndppd_conf})", dev, pfx, ndppd_running))
        notes.append(f"{ctx.options.ndppd_conf}: read (proxy/rule blocks), ndppd "
                     f"{'running' if ndppd_running else 'not running'}")
    v6core_running = False
    for _, raw in procs:
        argv = []
        for a in raw:                  # --prefix=X and -pX forms, as argparse takes them
            if a.startswith("--") and "=" in a:
                argv += a.split("=", 1)
            elif len(a) > 2 and a[0] == "-" and a[1] in "ipc" and a[1] != "-":
                argv += [a[:2], a[2:]]
            else:
                argv.append(a)
        if "respond" in argv and any("v6core" in a for a in argv[:3]):
            v6core_running = True
            devs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-i", "--interface")]
            pfxs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-p", "--prefix")]
            for d in devs:
                for ptext in pfxs:
                    with contextlib.suppress(ValueError):
                        covering.append(("v6core respond (command line)", d,
                                         ipaddress.IPv6Network(ptext, strict=False), True))
            cfgs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-c", "--config")]
            for c in cfgs:
                text = ctx.view.read(c)
                if text is not None:
                    for d, p in _v6core_rules(ctx, c, text):
                        covering.append((f"v6core respond ({c})", d, p, True))
    for path in ctx.options.respond_configs:
        text = ctx.view.read(path)
        if text is not None:
            for d, p in _v6core_rules(ctx, path, text):
                covering.append((f"v6core respond ({path})", d, p, v6core_running))
            notes.append(f"{path}: read")
    entries = facts.proxy_neighbours(ctx.view) or []
    if not ranges:
        return [Finding(CHECK, "no-container-ranges", Status.OK,
                        "no range routed to a bridge or container lies inside an uplink's "
                        "on-link prefix, so no responder is needed", evidence=notes)]
    out = []
    for rng, dev, up, pfx in ranges:
        ev = [f"{rng} is routed to {dev}, inside {pfx} which is on-link on the uplink {up}",
              *notes]
        data: dict[str, Any] = {"range": str(rng), "interface": dev, "uplink": up,
                                "onlink_prefix": str(pfx)}
        cov = [c for c in covering if c[1] == up and rng.subnet_of(c[2])]
        live = [c for c in cov if c[3]]
        kern = [a for a, d in entries if d == up and ipaddress.IPv6Address(a) in rng]
        kern_ok = _proxy_effective(ctx, up)[0]
        for who, d, p, running in cov:
            ev.append(f"{who}: rule {p} on {d}" + ("" if running else " (not running)"))
        if kern:
            ev.append(f"{len(kern)} kernel proxy entr{'y' if len(kern) == 1 else 'ies'} inside "
                      f"{rng} on {up}" + ("" if kern_ok else " (inactive)"))
        data["responders"] = [{"by": w, "interface": d, "prefix": str(p), "running": r}
                              for w, d, p, r in cov]
        data["kernel_proxy_entries"] = len(kern)
        if live:
            out.append(Finding(CHECK, "range-covered", Status.OK,
                               f"answered on {up} by {live[0][0].split(' (')[0]}", str(rng),
                               ev, data=data))
            continue
        if kern and kern_ok:
            out.append(Finding(CHECK, "range-kernel-proxy", Status.INFO,
                               f"only the {len(kern)} address(es) with kernel proxy entries are "
                               f"answered; other addresses of {rng} are not", str(rng), ev,
                               [f"v6core respond -i {up} -p {rng}"], data))
            continue
        fix = [f"v6core respond -i {up} -p {rng}   # NA from the target address",
               f"or ndppd (answers from its own address): proxy {up} {{ rule {rng} {{ static }} }}"]
        if cov:
            fix.insert(0, f"start the configured responder ({cov[0][0]})")
        out.append(Finding(
            CHECK, "range-unanswered", Status.FAIL,
            f"nothing answers neighbor solicitations for {rng} on {up}: the router treats "
            f"{pfx} as on-link and cannot reach these addresses", str(rng), ev, fix, data))
    return out
