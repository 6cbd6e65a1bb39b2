"""For one namespace and one resolver: which family is tried first, why, and the fix.

The order itself comes from :func:`v6core.explain` under the resolver's flavour (and
runtime, where :mod:`v6core.select` has runtimes), for the standard destinations of
:mod:`v6core.doctor.selection`; nothing of RFC 6724 is re-implemented here.  A resolver
whose flavour or runtime this build of :mod:`v6core.select` does not know yet is
reported as ``pending`` with first_family None: the doctor never guesses an order.
"""

from __future__ import annotations

import inspect
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from v6core.doctor import facts, selection
from v6core.doctor.exe import Resolver
from v6core.doctor.report import Status

__all__ = ["Verdict", "judge", "HEADLINE"]

#: the pair whose order the table reports (a dual-stack name on the Internet)
HEADLINE = ("global IPv6", "global IPv4")


@dataclass
class Verdict:
    status: Status
    first_family: str | None          # "IPv6", "IPv4" or None (cannot tell)
    rule: str                         # "rule 5", "java preferIPv6Addresses=false", ...
    reason: str = ""
    fix: list[str] = field(default_factory=list)
    pairs: dict[str, dict[str, Any]] = field(default_factory=dict)


def _supports(flavor: str, runtime: str | None) -> str | None:
    """Why select.explain cannot order for this resolver yet, or None when it can."""
    from v6core import select
    if flavor not in select.FLAVORS:
        return f"flavor {flavor!r} is not in this build's v6core.select (issue 11)"
    if runtime is not None and "runtime" not in inspect.signature(select.explain).parameters:
        return f"runtime {runtime!r} is not in this build's v6core.select (issue 11)"
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


def _step_name(step: Any) -> str:
    rule = getattr(step, "rule", None)
    if isinstance(rule, int):
        return f"rule {rule}"
    return str(rule) if rule is not None else "unsorted"


def _fix(r: Resolver, v6src: str, gai_path: str, policy: Any) -> list[str]:
    from v6core import PolicyTable
    ula = ipaddress.IPv6Address(v6src) in ipaddress.IPv6Network("fc00::/7")
    kind = r.kind
    if kind == "java" and r.runtime == "java:false":
        return ["java: add -Djava.net.preferIPv6Addresses=system (the C library's order) or "
                "=true to the command line or JAVA_TOOL_OPTIONS"]
    if kind == "node" and r.runtime == "node:ipv4first":
        return ["node: drop --dns-result-order=ipv4first (verbatim keeps the C library's "
                "order) or use --dns-result-order=ipv6first, on the command line or in "
                "NODE_OPTIONS"]
    if r.flavor == "go":
        return ["Go's own resolver ignores gai.conf: give the container a global (non-ULA) "
                "IPv6 source or a NAT64 prefix" if ula else
                "Go's own resolver ignores gai.conf: see the deciding rule",
                "or run it with GODEBUG=netdns=cgo (cgo builds only) so the C library's "
                "getaddrinfo and its gai.conf order the answers"]
    if r.flavor == "glibc":
        if not ula:
            return [f"glibc: see the deciding rule and {gai_path} (v6core gai lint)"]
        pfx = "fd00::/8" if ipaddress.IPv6Address(v6src) in ipaddress.IPv6Network("fd00::/8") \
            else "fc00::/7"
        lines = selection.label_fix(PolicyTable, policy, pfx)
        return [f"glibc: write these lines to {gai_path} (the whole label table):",
                *[f"  {ln}" for ln in lines]]
    if r.flavor == "musl":
        return ["musl cannot be configured: give the container a global (non-ULA) IPv6 "
                "source, or a NAT64 prefix for IPv4-only names"]
    return []


def judge(r: Resolver, sources: dict[str, str | None], addresses: list[facts.Address],
          policy: Any = None, gai_path: str = "/etc/gai.conf") -> Verdict:
    """The verdict for resolver ``r`` in a namespace whose kernel gives ``sources``
    (destination -> source) and whose addresses are ``addresses``; ``policy`` is the
    namespace's gai.conf table for glibc (None: built-in)."""
    if r.flavor is None:
        return Verdict(Status.SKIP, None, "unknown resolver", r.name)
    why = _supports(r.flavor, r.runtime)
    if why is not None:
        return Verdict(Status.SKIP, None, "pending", why)
    from v6core import select
    dests = selection.DESTINATIONS
    srcs = {dests[k]: _source(addresses, sources.get(dests[k])) for k in dests}
    kw: dict[str, Any] = {"flavor": r.flavor,
                          "policy": policy if r.flavor == "glibc" else None}
    if r.runtime is not None:
        kw["runtime"] = r.runtime
    pairs: dict[str, dict[str, Any]] = {}
    for v6k in selection.V6_KINDS:
        for v4k in selection.V4_KINDS:
            ex = select.explain([dests[v6k], dests[v4k]], srcs, **kw)
            first = str(ex.order[0])
            step = ex.steps[0] if ex.steps else None
            pairs[f"{v6k} vs {v4k}"] = {
                "first": "IPv6" if ":" in first else "IPv4",
                "rule": _step_name(step) if step else "unsorted",
                "reason": str(getattr(step, "reason", "")) if step else ""}
    head = pairs[f"{HEADLINE[0]} vs {HEADLINE[1]}"]
    v6src = sources.get(dests[HEADLINE[0]])
    if v6src is None:
        return Verdict(Status.INFO, head["first"], head["rule"],
                       "no route to global IPv6: IPv4 is the only choice", [], pairs)
    if head["first"] == "IPv6":
        return Verdict(Status.OK, "IPv6", head["rule"], head["reason"], [], pairs)
    return Verdict(Status.FAIL, "IPv4", head["rule"], head["reason"],
                   _fix(r, v6src, gai_path, policy), pairs)
