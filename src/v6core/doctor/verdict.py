"""For one namespace and one resolver: which family is tried first, why, and the fix.

The order itself comes from :func:`v6core.explain` under the resolver's flavour (glibc,
musl or Go's own sort) and, for Java and Node, the runtime's own step on top of the C
library's order (``runtime="java:false"``, ``"node:ipv4first"`` ...), for the standard
destinations of :mod:`v6core.doctor.selection`; nothing of RFC 6724 is re-implemented
here.  The deciding step is the RFC 6724 rule of the flavour, or the runtime's step when
the runtime moved a family first (``java preferIPv6Addresses=false``).  A resolver whose
flavour this build of :mod:`v6core.select` does not know is skipped: the doctor never
guesses an order.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from v6core.doctor import facts, selection
from v6core.doctor.exe import Resolver
from v6core.doctor.report import Status

__all__ = ["Verdict", "judge", "HEADLINE"]

#: the pair whose order the table reports (a dual-stack name on the Internet)
HEADLINE = ("global IPv6", "global IPv4")

_UPDATE = "the RFC 6724 update (draft-ietf-6man-rfc6724-update)"


@dataclass
class Verdict:
    status: Status
    first_family: str | None          # "IPv6", "IPv4" or None (cannot tell)
    rule: str                         # "rule 5", "java preferIPv6Addresses=false", ...
    reason: str = ""
    fix: list[str] = field(default_factory=list)
    pairs: dict[str, dict[str, Any]] = field(default_factory=dict)


def _supports(flavor: str) -> str | None:
    """Why select.explain cannot order for this flavour, or None when it can."""
    from v6core import select
    if flavor not in select.FLAVORS:
        return f"flavor {flavor!r} is not in this build's v6core.select"
    return None


def _source(addresses: list[facts.Address], src: str | None) -> Any:
    from v6core import SourceAddress
    if src is None:
        return None
    for a in addresses:
        if a.address == src:
            return SourceAddress(src, prefixlen=a.prefixlen, deprecated=a.deprecated,
                                 temporary=a.temporary, home=a.home, optimistic=a.optimistic)
    return SourceAddress(src)


def _runtime_label(by: str) -> str:
    """``java:false`` -> ``java preferIPv6Addresses=false``; ``node:ipv4first`` -> ``node
    --dns-result-order=ipv4first``."""
    name, _, opt = by.partition(":")
    if name == "java":
        return f"java preferIPv6Addresses={opt}"
    if name == "node":
        return f"node --dns-result-order={opt}"
    return by


def _decision(ex: Any) -> tuple[str, str, str]:
    """(first family, deciding step, reason) of a two-destination explanation: the
    runtime's step when it moved a family first, else the flavour's rule."""
    first = "IPv6" if ":" in str(ex.order[0]) else "IPv4"
    rs = ex.runtime_steps[0] if ex.runtime_steps else None
    if rs is not None and rs.by is not None:
        return first, _runtime_label(rs.by), str(rs.reason)
    step = ex.steps[0] if ex.steps else None
    if step is None:
        return first, "unsorted", ""
    rule = f"rule {step.rule}" if isinstance(step.rule, int) else "unsorted"
    return first, rule, str(step.reason)


def _first(ex: Any, flavor_order: bool = False) -> str:
    order = ex.flavor_order if flavor_order and ex.flavor_order else ex.order
    return "IPv6" if ":" in str(order[0]) else "IPv4"


class _Pair:
    """The headline pair (global IPv6, global IPv4) with its sources, explained again
    under other flavours or runtimes to say what a fix would change."""

    def __init__(self, srcs: dict[str, Any], policy: Any) -> None:
        self.dests = [selection.DESTINATIONS[HEADLINE[0]], selection.DESTINATIONS[HEADLINE[1]]]
        self.srcs = srcs
        self.policy = policy

    def explain(self, flavor: str, runtime: str | None = None) -> Any:
        from v6core import select
        return select.explain(self.dests, self.srcs, flavor=flavor, runtime=runtime,
                              policy=self.policy if flavor == "glibc" else None)

    def first(self, flavor: str, runtime: str | None = None) -> str:
        return _first(self.explain(flavor, runtime))


def _libc_fix(libc: str | None, v6src: str, gai_path: str, policy: Any,
              pair: _Pair) -> list[str]:
    """What makes the C library ``libc`` put global IPv6 first, or says why it cannot."""
    from v6core import PolicyTable
    v6 = ipaddress.IPv6Address(v6src)
    ula = v6 in ipaddress.IPv6Network("fc00::/7")
    if libc == "glibc":
        if not ula:
            return [f"glibc: the source {v6src} is not a ULA: see the deciding rule and "
                    f"{gai_path} (v6core gai lint)"]
        pfx = "fd00::/8" if v6 in ipaddress.IPv6Network("fd00::/8") else "fc00::/7"
        lines = selection.label_fix(PolicyTable, policy, pfx)
        return [f"glibc: write these lines to {gai_path} (the whole label table):",
                *[f"  {ln}" for ln in lines]]
    if libc == "musl":
        return ["musl: cannot be configured (no gai.conf): give the container a global "
                "(non-ULA) IPv6 source, or a NAT64 prefix for IPv4-only names",
                _update_note(pair, "musl")]
    return [f"the C library ({libc or 'unknown'}) cannot be told apart: give the "
            "container a global (non-ULA) IPv6 source"]


def _update_note(pair: _Pair, who: str) -> str:
    fam = pair.first("rfc6724-update")
    return (f"{who}: {_UPDATE} would put {fam} first here too; {who} does not implement it"
            if fam == "IPv4" else
            f"{who}: {_UPDATE} would put IPv6 first here, but {who} does not implement it yet")


def _go_fix(r: Resolver, v6src: str, gai_path: str, policy: Any, pair: _Pair) -> list[str]:
    ula = ipaddress.IPv6Address(v6src) in ipaddress.IPv6Network("fc00::/7")
    out = ["go: its own resolver ignores gai.conf; "
           + ("give the container a global (non-ULA) IPv6 source, or a NAT64 prefix for "
              "IPv4-only names" if ula else f"the source {v6src} is not a ULA: see the "
              "deciding rule")]
    libc = r.libc or "glibc"
    if r.cgo_built is False:
        out.append("go: GODEBUG=netdns=cgo has no effect in this binary (built without cgo: "
                   "CGO_ENABLED=0 or -tags netgo); rebuilt with cgo, GODEBUG=netdns=cgo "
                   "would hand the ordering to the C library and its gai.conf")
    elif pair.first(libc) == "IPv6":
        out.append(f"go: or run it with GODEBUG=netdns=cgo: the C library ({libc}) puts "
                   "IPv6 first here")
    else:
        out.append(f"go: or run it with GODEBUG=netdns=cgo and fix the C library ({libc}):")
        out += [f"  {ln}" for ln in _libc_fix(libc, v6src, gai_path, policy, pair)]
    out.append(_update_note(pair, "go"))
    return out


def _runtime_fix(r: Resolver, v6src: str, gai_path: str, policy: Any,
                 pair: _Pair) -> list[str]:
    """Java and Node: the option that puts IPv6 first, and the C library's fix when
    the option that keeps the C library's order is not enough."""
    name, _, opt = (r.runtime or "").partition(":")
    libc = r.flavor or "glibc"
    libc_v6 = pair.first(libc) == "IPv6"
    if name == "java":
        force = ("java: add -Djava.net.preferIPv6Addresses=true (IPv6 first whatever the C "
                 "library says) to the command line or JAVA_TOOL_OPTIONS")
        keep, keep_opt = "-Djava.net.preferIPv6Addresses=system", "system"
    else:
        force = ("node: use --dns-result-order=ipv6first (IPv6 first whatever the C library "
                 "says) on the command line or in NODE_OPTIONS")
        keep, keep_opt = "--dns-result-order=verbatim (the default)", "verbatim"
    if opt != keep_opt:             # java:false, node:ipv4first: the runtime decided
        if libc_v6:
            return [force, f"{name}: or {keep}: the C library ({libc}) puts IPv6 first here"]
        return [force, f"{name}: or {keep} together with the C library's fix:",
                *[f"  {ln}" for ln in _libc_fix(libc, v6src, gai_path, policy, pair)]]
    return [*_libc_fix(libc, v6src, gai_path, policy, pair), force.replace(": ", ": or ", 1)]


def _fix(r: Resolver, v6src: str, gai_path: str, policy: Any, pair: _Pair) -> list[str]:
    if r.flavor == "go":
        return _go_fix(r, v6src, gai_path, policy, pair)
    if r.runtime is not None and r.runtime.split(":")[0] in ("java", "node"):
        return _runtime_fix(r, v6src, gai_path, policy, pair)
    return _libc_fix(r.flavor, v6src, gai_path, policy, pair)


def judge(r: Resolver, sources: dict[str, str | None], addresses: list[facts.Address],
          policy: Any = None, gai_path: str = "/etc/gai.conf") -> Verdict:
    """The verdict for resolver ``r`` in a namespace whose kernel gives ``sources``
    (destination -> source) and whose addresses are ``addresses``; ``policy`` is the
    namespace's gai.conf table for glibc (None: built-in)."""
    if r.flavor is None:
        return Verdict(Status.SKIP, None, "unknown resolver", r.name)
    why = _supports(r.flavor)
    if why is not None:
        return Verdict(Status.SKIP, None, "unsupported", why)
    from v6core import select
    dests = selection.DESTINATIONS
    srcs = {dests[k]: _source(addresses, sources.get(dests[k])) for k in dests}
    pol = policy if r.flavor == "glibc" else None
    pairs: dict[str, dict[str, Any]] = {}
    for v6k in selection.V6_KINDS:
        for v4k in selection.V4_KINDS:
            ex = select.explain([dests[v6k], dests[v4k]], srcs, flavor=r.flavor, policy=pol,
                                runtime=r.runtime)
            first, rule, reason = _decision(ex)
            pairs[f"{v6k} vs {v4k}"] = {"first": first, "rule": rule, "reason": reason}
    head = pairs[f"{HEADLINE[0]} vs {HEADLINE[1]}"]
    v6src = sources.get(dests[HEADLINE[0]])
    if v6src is None:
        if head["first"] == "IPv6":     # a runtime that forces IPv6 first without a route
            return Verdict(Status.WARN, "IPv6", head["rule"],
                           "IPv6 is tried first but this namespace has no route to global "
                           "IPv6: a client that tries only the first address fails", [], pairs)
        return Verdict(Status.INFO, head["first"], head["rule"],
                       "no route to global IPv6: IPv4 is the only choice", [], pairs)
    if head["first"] == "IPv6":
        return Verdict(Status.OK, "IPv6", head["rule"], head["reason"], [], pairs)
    return Verdict(Status.FAIL, "IPv4", head["rule"], head["reason"],
                   _fix(r, v6src, gai_path, policy, _Pair(srcs, policy)), pairs)
