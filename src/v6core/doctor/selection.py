"""Address selection: which family each C library tries first, and the rule that decided.

For representative destinations (global IPv6, ULA, NAT64 64:ff9b::/96, global and private
IPv4) the kernel is asked which source it would use (UDP connect + getsockname, as the C
libraries do), the sources get their flags from the address list, and v6core's resolver
ordering (issue 3: :func:`v6core.explain` in the ``glibc`` and ``musl`` flavours, with
/etc/gai.conf for glibc) says which of each IPv6/IPv4 pair is tried first.  Nothing of
RFC 6724 is re-implemented here.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from v6core.doctor.context import Context
from v6core.doctor.report import Finding, Status

CHECK = "selection"

#: kind -> destination (documentation prefixes, RFC 3849 / RFC 5737; no packet is sent)
DESTINATIONS = {
    "global IPv6": "2001:db8:ffff::1",
    "ULA": "fd00:ffff::1",
    "NAT64": "64:ff9b::c633:6401",      # 198.51.100.1 behind the RFC 6052 well-known prefix
    "global IPv4": "198.51.100.1",
    "private IPv4": "10.255.255.1",
}
V6_KINDS = ("global IPv6", "ULA", "NAT64")
V4_KINDS = ("global IPv4", "private IPv4")
FLAVORS = ("glibc", "musl")




def _source_obj(ctx: Context, SourceAddress: Any, src: str | None) -> Any:
    if src is None:
        return None
    for a in ctx.addresses:
        if a.address == src:
            # optimistic stays its own flag: glibc's rule 3 counts it, RFC 6724 does not
            return SourceAddress(src, prefixlen=a.prefixlen, deprecated=a.deprecated,
                                 temporary=a.temporary, home=a.home, optimistic=a.optimistic)
    return SourceAddress(src)


def _decision(explanation: Any) -> tuple[str, int | None, str]:
    """(first destination, deciding rule, reason) from an explain() result for two."""
    order = [str(d) for d in explanation.order]
    steps = list(getattr(explanation, "steps", None) or getattr(explanation, "pairs", None) or [])
    rule, reason = None, ""
    if steps:
        s = steps[0]
        rule = getattr(s, "rule", None)
        reason = str(getattr(s, "reason", "") or "")
    return order[0], rule, reason


def label_fix(PolicyTable: Any, policy: Any, ula_prefix: str) -> list[str]:
    """The gai.conf lines that keep glibc's whole label table (a single label line replaces
    all of it) and give ``ula_prefix`` label 1, the label of global IPv6."""
    table = policy if policy is not None else PolicyTable.glibc_default()
    lines = []
    for prefix, _prec, label in table.rows:
        if label is not None and prefix != ula_prefix:
            lines.append(f"label {prefix} {label}")
    lines.append(f"label {ula_prefix} 1")
    return lines


def check(ctx: Context) -> list[Finding]:
    from v6core.policy import PolicyTable, parse_gai_conf
    from v6core.select import SourceAddress, explain

    dests = dict(DESTINATIONS)
    dests.update(ctx.options.destinations or {})
    sources = {k: ctx.view.source_for(d) for k, d in dests.items()}
    lc = ctx.libc
    gai_text = ctx.view.read(ctx.options.gai_conf)
    glibc_policy = None
    notes = []
    if gai_text is not None:
        glibc_policy = parse_gai_conf(gai_text, path=ctx.options.gai_conf).table
        active = any(ln.strip() and not ln.lstrip().startswith("#")
                     for ln in gai_text.splitlines())
        notes.append(f"glibc flavour uses {ctx.options.gai_conf}" if active else
                     f"{ctx.options.gai_conf} has no active line: glibc's built-in tables")
    src_objs = {dests[k]: _source_obj(ctx, SourceAddress, s) for k, s in sources.items()}
    matrix: dict[str, dict[str, dict[str, Any]]] = {}
    reasons = []
    for fl in FLAVORS:
        matrix[fl] = {}
        for v6k in V6_KINDS:
            for v4k in V4_KINDS:
                pair = [dests[v6k], dests[v4k]]
                ex = explain(pair, src_objs, flavor=fl,
                             policy=glibc_policy if fl == "glibc" else None)
                first, rule, reason = _decision(ex)
                fam = "IPv6" if ":" in first else "IPv4"
                matrix[fl][f"{v6k} vs {v4k}"] = {"first": fam, "rule": rule, "reason": reason}
                if v6k == "global IPv6" and v4k == "global IPv4":
                    reasons.append(f"{fl}: rule {rule}: {reason}")
    ev = [f"source of {k} {dests[k]}: {sources[k] or 'none (unreachable)'}" for k in dests]
    ev += notes
    ev.append((f"{'tried first':<30}" + "".join(f"{fl:<16}" for fl in FLAVORS)).rstrip())
    for v6k in V6_KINDS:
        for v4k in V4_KINDS:
            key = f"{v6k} vs {v4k}"
            ev.append((f"{key:<30}" + "".join(
                f"{matrix[fl][key]['first'] + ' (rule ' + str(matrix[fl][key]['rule']) + ')':<16}"
                for fl in FLAVORS)).rstrip())
    ev += reasons
    data = {"destinations": dests, "sources": sources, "matrix": matrix, "libc": lc.name}
    flavors = [lc.name] if lc.name in FLAVORS else list(FLAVORS)
    v6src = sources["global IPv6"]
    out = []
    if v6src is None:
        out.append(Finding(CHECK, "no-ipv6-route", Status.INFO,
                           "no route to global IPv6: every C library uses IPv4 (rule 1, "
                           "unusable destination)", evidence=ev, data=data,
                           fix=["add a default IPv6 route (or accept RAs) if IPv6 should work"]))
        return out
    losers = [fl for fl in flavors
              if matrix[fl]["global IPv6 vs global IPv4"]["first"] == "IPv4"]
    if not losers:
        out.append(Finding(CHECK, "prefers-ipv6", Status.OK,
                           f"{' and '.join(flavors)} tr{'y' if len(flavors) > 1 else 'ies'} "
                           "global IPv6 before IPv4", evidence=ev, data=data))
        return out
    v6ip = ipaddress.IPv6Address(v6src)
    is_ula = v6ip in ipaddress.IPv6Network("fc00::/7")
    rules = {matrix[fl]["global IPv6 vs global IPv4"]["rule"] for fl in losers}
    fix = []
    if "glibc" in losers:
        ula_pfx = "fd00::/8" if v6ip in ipaddress.IPv6Network("fd00::/8") else "fc00::/7"
        if is_ula:
            lines = label_fix(PolicyTable, glibc_policy, ula_pfx)
            data["gai_conf_fix"] = lines
            fix.append(f"glibc: write these lines to {ctx.options.gai_conf} (the whole label "
                       "table: one label line replaces all built-in ones):")
            fix += [f"  {ln}" for ln in lines]
    if "musl" in losers:
        fix.append("musl: cannot be configured; give the containers a global (non-ULA) IPv6 "
                   "range (e.g. a /112 of the host's /64, answered by `v6core respond`), or "
                   "in Python programs use v6core.getaddrinfo with a gai.conf policy")
    glibc_cell = matrix["glibc"]["global IPv6 vs global IPv4"]
    if "glibc" in losers and glibc_cell["rule"] == 6 and glibc_policy is not None:
        fix.append(f"glibc: {ctx.options.gai_conf} gives IPv4 (::ffff:0:0/96) a higher "
                   "precedence than global IPv6: remove that precedence line if IPv4 first "
                   f"is not intended (v6core gai lint {ctx.options.gai_conf})")
    elif not is_ula:
        fix.append("the IPv6 source is not a ULA: see the deciding rule above and the "
                   "source check")
    out.append(Finding(
        CHECK, "prefers-ipv4", Status.FAIL,
        f"{' and '.join(losers)} tr{'y' if len(losers) > 1 else 'ies'} IPv4 before global "
        f"IPv6 from source {v6src}"
        + (f" (rule {', '.join(str(r) for r in sorted(rules, key=str))}"
           + (": a ULA source does not match a global destination's label" if is_ula else "")
           + ")"),
        evidence=ev, fix=fix, data=data))
    return out
