"""Source address: which IPv6 source outbound traffic gets, per interface (RFC 6724 §5).

The kernel's own choice comes from a UDP connect + getsockname through the system view
(the same probe glibc and musl make); the RFC 6724 §5 choice over the interface's
addresses comes from :func:`v6core.select_source`.  Deprecated (preferred_lft 0),
temporary and tentative addresses are listed, with the way to pin a source.
"""

from __future__ import annotations

import ipaddress

from v6core.doctor import facts
from v6core.doctor.context import Context
from v6core.doctor.report import Finding, Status

CHECK = "source"

#: a global IPv6 destination standing for "the Internet" (documentation prefix,
#: RFC 3849; the probe sends no packet)
GLOBAL_V6 = "2001:db8:ffff::1"


def _lft(v: int | None) -> str:
    if v is None:
        return "?"
    return "forever" if v == facts.INFINITY_LFT else f"{v}s"


def _describe(a: facts.Address) -> str:
    flags = " ".join(a.flag_words())
    return (f"{a.address}/{a.prefixlen}  preferred_lft {_lft(a.preferred_lft)} valid_lft "
            f"{_lft(a.valid_lft)}" + (f"  [{flags}]" if flags else ""))


def pin_commands(ifname: str, keep: facts.Address, others: list[facts.Address]) -> list[str]:
    """Commands that make ``keep`` the only preferred global address on ``ifname``:
    every other one gets preferred_lft 0 (deprecated: RFC 6724 §5 rule 3 avoids it,
    while it still receives traffic)."""
    return [f"ip addr change {a.address}/{a.prefixlen} dev {ifname} preferred_lft 0"
            for a in others if a.address != keep.address]


def persist_hints(ifname: str, others: list[facts.Address]) -> list[str]:
    addrs = [f"{a.address}/{a.prefixlen}" for a in others]
    if not addrs:
        return []
    first = addrs[0]
    return [
        f"systemd-networkd: in the .network file of {ifname}, [Address] Address={first} "
        "PreferredLifetime=0 (one [Address] section per address)",
        f"ifupdown: under 'iface {ifname} inet6 ...' add "
        f"'up ip addr change {first} dev {ifname} preferred_lft 0'",
        "NetworkManager: a dispatcher script /etc/NetworkManager/dispatcher.d/60-pin-source "
        f"running the ip addr change lines when {ifname} comes up (NM has no per-address "
        "preferred lifetime)",
    ]


def _rfc_choice(dest: str, cands: list[facts.Address]) -> str | None:
    from v6core.select import SourceAddress, select_source

    objs = [SourceAddress(a.address, prefixlen=a.prefixlen, deprecated=a.deprecated,
                          temporary=a.temporary, home=a.home, optimistic=a.optimistic)
            for a in cands]
    chosen = select_source(dest, objs)
    return None if chosen is None else str(ipaddress.ip_address(chosen.address))


def check(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    v6 = ctx.v6_addresses()
    if not v6 and ctx.view.read("/proc/net/if_inet6") is None:
        return [Finding(CHECK, "no-ipv6", Status.SKIP, "IPv6 is disabled or /proc is unreadable")]
    dest = (ctx.options.destinations or {}).get("global IPv6", GLOBAL_V6)
    kernel_src = ctx.view.source_for(dest)
    default_devs = {r.dev for r in ctx.routes6 if r.dst.prefixlen == 0 and not r.reject}
    names = sorted({a.ifname for a in v6 if a.scope == "global" and a.ifname != "lo"})
    for name in names:
        addrs = [a for a in v6 if a.ifname == name and a.scope == "global"]
        usable = [a for a in addrs if not a.tentative and not a.dadfailed]
        preferred = [a for a in usable if not a.deprecated]
        ev = [_describe(a) for a in addrs]
        ev.append(f"addresses read from {ctx.addresses_source}")
        data: dict = {"interface": name, "addresses": [
            {"address": a.address, "prefixlen": a.prefixlen, "flags": a.flag_words(),
             "preferred_lft": a.preferred_lft, "valid_lft": a.valid_lft} for a in addrs]}
        chosen = None
        if name in default_devs and kernel_src is not None and any(
                a.address == kernel_src for a in addrs):
            chosen = kernel_src
            ev.append(f"kernel: traffic to {dest} (default route via {name}) leaves from "
                      f"{kernel_src}")
        rfc = _rfc_choice(dest, usable)
        if rfc is not None:
            ev.append(f"RFC 6724 §5 over {name}'s addresses, to {dest}: {rfc}")
            chosen = chosen or rfc
        data["kernel_source"] = kernel_src if chosen == kernel_src else None
        data["rfc6724_source"] = rfc
        data["source"] = chosen
        for a in addrs:
            if a.dadfailed:
                out.append(Finding(CHECK, "dad-failed", Status.FAIL,
                                   f"{a.address} failed duplicate address detection: another "
                                   "node uses it", name, [_describe(a)],
                                   [f"ip addr del {a.address}/{a.prefixlen} dev {name}  "
                                    "# and pick an unused address"], data))
        if not usable:
            continue
        chosen_addr = next((a for a in usable if a.address == chosen), None)
        if not preferred:
            fix = [f"ip addr change {a.address}/{a.prefixlen} dev {name} preferred_lft forever"
                   for a in usable[:1]]
            fix.append("or add a preferred address (or renew the prefix: a router "
                       "advertisement with a non-zero preferred lifetime)")
            out.append(Finding(
                CHECK, "only-deprecated", Status.WARN,
                "every global address here is deprecated (preferred_lft 0), so outbound "
                "traffic uses a deprecated source"
                + (" that disappears when its valid lifetime ends"
                   if any(a.valid_lft not in (None, facts.INFINITY_LFT) for a in usable) else ""),
                name, ev, fix, data))
            continue
        if chosen_addr is not None and chosen_addr.temporary:
            out.append(Finding(
                CHECK, "temporary-source", Status.INFO,
                f"outbound traffic leaves from the temporary (privacy) address {chosen} "
                "(RFC 6724 rule 7, use_tempaddr=2); servers whose peers filter by address "
                "want the stable one", name, ev,
                [f"sysctl -w net.ipv6.conf.{name}.use_tempaddr=1  # keep them, prefer public",
                 *pin_commands(name, chosen_addr, [])], data))
            continue
        deprecated = [a for a in usable if a.deprecated]
        if len(preferred) > 1:
            pins = {a.address: pin_commands(name, a, usable) for a in preferred}
            data["pin"] = pins
            keep = next((a for a in preferred if a.address != chosen), preferred[0])
            fix = [f"to send from {keep.address} instead:", *pins[keep.address],
                   *persist_hints(name, [a for a in preferred if a.address != keep.address])]
            out.append(Finding(
                CHECK, "several-sources", Status.INFO,
                f"{len(preferred)} preferred global addresses; outbound traffic leaves from "
                f"{chosen or 'one of them (RFC 6724 §5 rules 5-8 decide)'}", name, ev, fix, data))
        elif deprecated:
            out.append(Finding(
                CHECK, "source-pinned", Status.OK,
                f"outbound traffic leaves from {preferred[0].address}; "
                f"{', '.join(a.address for a in deprecated)} "
                f"{'is' if len(deprecated) == 1 else 'are'} deprecated (preferred_lft 0) "
                "and not chosen as source (rule 3) but still receive", name, ev, data=data))
        else:
            out.append(Finding(CHECK, "single-source", Status.OK,
                               f"outbound traffic leaves from {preferred[0].address}", name, ev,
                               data=data))
    if not names:
        out.append(Finding(CHECK, "no-global-ipv6", Status.INFO,
                           "no interface has a global-scope IPv6 address (only link-local)",
                           evidence=[f"addresses read from {ctx.addresses_source}"]))
    return out
