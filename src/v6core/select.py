"""Destination ordering (RFC 6724 section 6), source selection (section 5), explanations.

Three flavours, each exact (see ``v6core/_core/sortkey.pxd`` for the rule sets):

``"rfc6724"``
    RFC 6724 rules 1-10 with the section 2.1 table.
``"glibc"``
    glibc 2.36 getaddrinfo's ``rfc3484_sort`` with its built-in (RFC 3484 era) tables
    or a gai.conf (:meth:`PolicyTable.from_gai_conf`).
``"musl"``
    musl 1.2.x ``__lookup_name``'s 31-bit key sort, including its decision not to sort
    fewer than two or all-IPv4 results.
``"go"``
    Go 1.19's net package (src/net/addrselect.go), as a ``CGO_ENABLED=0`` binary sorts:
    no rules 3, 4, 7; rule 9 between IPv6 destinations only, over 64 bits; its
    ``sort.Stable``.
``"rfc6724-update"``
    RFC 6724's rules with draft-ietf-6man-rfc6724-update's table
    (:meth:`PolicyTable.rfc6724_update`) and a known-local row for each ULA /48 the
    host uses (from the sources given, and ``known_local=``).

A runtime (``runtime="java:false"``, ``"node:ipv4first"``, ``"go"`` ...; see
:mod:`v6core.runtime`) applies its own step on top of the flavour's order.

The ordering itself runs in C (``v6core._core.sortkey``); this module resolves the
policy table, and turns the C decisions into explanations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from v6core._core import addr as _addr
from v6core._core import sortkey as _sk
from v6core._core import srcsel as _srcsel
from v6core._core.sortkey import SourceAddress
from v6core.errors import AddressError, Scope
from v6core.policy import RFC6724_ROWS, PolicyTable
from v6core.runtime import Runtime, happy_eyeballs, parse_runtime

__all__ = [
    "SourceAddress",
    "sort_destinations",
    "explain",
    "Explanation",
    "Step",
    "select_source",
    "musl_sort_key",
    "FLAVORS",
    "RULE_NAMES",
]

FLAVORS = ("rfc6724", "glibc", "musl", "go", "rfc6724-update")
_CODES = {"rfc6724": _sk.RFC6724, "glibc": _sk.GLIBC, "musl": _sk.MUSL, "go": _sk.GO,
          "rfc6724-update": _sk.RFC6724}

RULE_NAMES = {
    1: "avoid unusable destinations",
    2: "prefer matching scope",
    3: "avoid deprecated addresses",
    4: "prefer home addresses",
    5: "prefer matching label",
    6: "prefer higher precedence",
    7: "prefer native transport",
    8: "prefer smaller scope",
    9: "use longest matching prefix",
    10: "leave the order unchanged",
}

_DEFAULT_TABLES = {
    "rfc6724": PolicyTable.rfc6724(),
    "glibc": PolicyTable.glibc_default(),
    "musl": PolicyTable.musl(),
    "go": PolicyTable(RFC6724_ROWS, name="go"),       # Go's rfc6724policyTable
    "rfc6724-update": PolicyTable.rfc6724_update(),
}
_DEFAULT_COMPILED = {name: t.compiled(name) for name, t in _DEFAULT_TABLES.items()}
_FAST = {name: (_CODES[name], _DEFAULT_COMPILED[name]) for name in _CODES
         if name != "rfc6724-update"}
_sk_sort = _sk.sort_destinations

SourceLike = SourceAddress | str | bytes | Any | None
Sources = Mapping[Any, SourceLike] | Sequence[SourceLike] | Callable[[Any], SourceLike]


def _resolve(flavor: str, policy: PolicyTable | None) -> tuple[int, Any]:
    code = _CODES.get(flavor) if isinstance(flavor, str) else None
    if code is None:
        raise ValueError(f"unknown flavor {flavor!r}: expected one of {', '.join(FLAVORS)}")
    if policy is None:
        return code, _DEFAULT_COMPILED[flavor]
    if not isinstance(policy, PolicyTable):
        raise TypeError(f"policy must be a PolicyTable, not {type(policy).__name__}")
    return code, policy.compiled(flavor)


def default_policy(flavor: str) -> PolicyTable:
    """The built-in table of ``flavor``."""
    _resolve(flavor, None)
    return _DEFAULT_TABLES[flavor]


def _source_list(dests: list, sources: Sources) -> list:
    """Source(D) for each destination, looked up once (mapping, sequence or callable)."""
    if isinstance(sources, (list, tuple)):
        if len(sources) != len(dests):
            raise ValueError(f"{len(sources)} sources for {len(dests)} destinations")
        return list(sources)
    if callable(sources) and not isinstance(sources, Mapping):
        return [sources(d) for d in dests]
    if not hasattr(sources, "__getitem__"):
        raise TypeError("sources must be a mapping, a sequence or a callable, not "
                        f"{type(sources).__name__}")
    out = []
    for i, d in enumerate(dests):
        try:
            out.append(sources[d])
        except KeyError:
            raise AddressError(f"no source given for destination {d!r} (use None for an "
                               "unreachable one)", d, i) from None
    return out


_ULA_CACHE: dict[tuple, PolicyTable] = {}


def _ula_48s(srcs: list) -> list[str]:
    """The sources inside fd00::/8, as text (the host's own ULAs: known-local)."""
    out = []
    for s in srcs:
        if s is None:
            continue
        p = s.packed if isinstance(s, SourceAddress) else None
        if p is None:
            try:
                p = _addr.pack(s)
            except AddressError:
                continue        # the sort reports it, naming the destination
        if p[0] == 0xFD:
            out.append(_addr.to_text(p))
    return out


def update_policy(sources: list, *, policy: PolicyTable | None = None,
                  known_local: Iterable[Any] = (), learn_known_local: bool = True
                  ) -> PolicyTable:
    """The rfc6724-update flavour's table: ``policy`` (default
    :meth:`PolicyTable.rfc6724_update`) with a known-local /48 row for each of
    ``known_local`` and, when ``learn_known_local``, each source inside fd00::/8."""
    base = policy if policy is not None else _DEFAULT_TABLES["rfc6724-update"]
    items = list(known_local)
    if learn_known_local:
        items += _ula_48s(sources)
    if not items:
        return base
    key = (id(base), base.precedence_rows, base.label_rows, tuple(map(str, items)))
    t = _ULA_CACHE.get(key)
    if t is None:
        t = base.with_known_local(items)
        if len(_ULA_CACHE) > 256:
            _ULA_CACHE.clear()
        _ULA_CACHE[key] = t
    return t


def _packed(d: Any) -> bytes:
    return _addr.pack(d)


def _is_v4(d: Any) -> bool:
    return bool(_addr.is_v4mapped(_addr.pack(d)))


def sort_destinations(destinations: Iterable[Any], sources: Sources, *,
                      flavor: str = "rfc6724", policy: PolicyTable | None = None,
                      runtime: str | Runtime | None = None, known_local: Iterable[Any] = (),
                      learn_known_local: bool = True) -> list:
    """Order ``destinations`` as the chosen resolver would (RFC 6724 section 6).

    Parameters
    ----------
    destinations : iterable
        Addresses (str, bytes or ``ipaddress`` objects) in the resolver's input order;
        they are returned as given, reordered.
    sources : mapping, sequence or callable
        Source(D) for each destination: a mapping keyed by the destination objects, a
        sequence aligned with ``destinations``, or a callable ``f(destination)``.  Each
        source is None (no source: unreachable), a :class:`SourceAddress` (flags for
        rules 3, 4 and 7 and the prefix length for rule 9), or a plain address.
    flavor : {"rfc6724", "glibc", "musl", "go", "rfc6724-update"}
    policy : PolicyTable, optional
        Replaces the flavour's built-in table.
    runtime : str, optional
        ``"java[:false|true|system]"``, ``"node[:verbatim|ipv4first|ipv6first]"`` (their
        step on top of ``flavor``'s order) or ``"go"`` (replaces ``flavor``).
    known_local, learn_known_local
        rfc6724-update only: ULA addresses or prefixes (inside fd00::/8) whose /48 is
        known-local, besides the sources inside fd00::/8 (unless ``learn_known_local``
        is False).
    """
    if runtime is None:
        if policy is None:
            fast = _FAST.get(flavor)
            if fast is not None:
                return _sk_sort(destinations, sources, fast[0], fast[1])
        if flavor != "rfc6724-update":
            code, compiled = _resolve(flavor, policy)
            return _sk_sort(destinations, sources, code, compiled)
    rt = parse_runtime(runtime) if runtime is not None else None
    if rt is not None and rt.flavor is not None:
        flavor = rt.flavor
    dests = list(destinations)
    if flavor == "rfc6724-update":
        srcs = _source_list(dests, sources)
        policy = update_policy(srcs, policy=policy, known_local=known_local,
                               learn_known_local=learn_known_local)
        sources = srcs
    code, compiled = _resolve(flavor, policy)
    order = _sk_sort(dests, sources, code, compiled)
    return rt.reorder(order, _packed) if rt is not None else order


def musl_sort_key(destination: Any, source: SourceLike, index: int, *,
                  policy: PolicyTable | None = None) -> int:
    """musl 1.2.x's 31-bit sort key of ``destination`` at input position ``index``.

    ``source`` is None when musl's UDP connect() fails (bit 30 clear).  Bits: 30 usable,
    29 matching scope, 28 matching label, 20-27 precedence, 16-19 15 - scope,
    8-15 common prefix length, 0-7 48 - index.  musl sorts by this key, descending.
    """
    _, compiled = _resolve("musl", policy)
    return int(_sk.musl_sort_key(destination, source, index, compiled))


# ------------------------------------------------------------------ explanations

_SCOPE_NAMES = {int(s): s.name.lower() for s in Scope}


def _scope_name(v: int | None) -> str:
    if v is None:
        return "-"
    return f"{_SCOPE_NAMES.get(v, 'scope')}({v})"


@dataclass(frozen=True)
class Step:
    """Why ``first`` sorts before ``second`` (adjacent in the result)."""

    first: Any
    second: Any
    rule: int | None          # 1-10, None when musl did not sort or a runtime decided
    reason: str
    by: str | None = None     # the runtime whose own step decided ("java:false" ...)

    def __str__(self) -> str:
        rule = self.by if self.by else ("-" if self.rule is None else f"rule {self.rule}")
        return f"{self.first} before {self.second}: {rule}: {self.reason}"


@dataclass
class Explanation:
    """The order a flavour produces, with each destination's attributes and, for each
    adjacent pair, the rule that decided it.  ``str()`` gives a readable table."""

    flavor: str
    policy: PolicyTable
    order: list
    rows: list[dict[str, Any]]        # attributes, in result order
    steps: list[Step]
    sorted: bool = True               # False when musl skipped sorting
    notes: list[str] = field(default_factory=list)
    runtime: str | None = None        # e.g. "java:false"
    flavor_order: list = field(default_factory=list)   # before the runtime's step
    runtime_steps: list[Step] = field(default_factory=list)
    attempts: list | None = None      # RFC 8305 section 4 order, when asked for

    def __iter__(self) -> Any:
        return iter(self.order)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flavor": self.flavor,
            "policy": self.policy.name,
            "order": [str(d) for d in self.order],
            "sorted": self.sorted,
            "rows": [{k: v for k, v in r.items() if k != "object"} for r in self.rows],
            "steps": [_step_dict(s) for s in self.steps],
            "notes": list(self.notes),
            "known_local": list(self.policy.known_local),
            "runtime": self.runtime,
            "flavor_order": [str(d) for d in self.flavor_order],
            "runtime_steps": [_step_dict(s) for s in self.runtime_steps],
            "happy_eyeballs": None if self.attempts is None
            else [str(d) for d in self.attempts],
        }

    def __str__(self) -> str:
        head = (f"{'#':>2}  {'destination':<28} {'source':<28} {'prec':>4} {'label':>9} "
                f"{'scope':>14} {'cpl':>4}")
        lines = [f"flavor {self.flavor}, policy {self.policy.name}", head, "-" * len(head)]
        for i, r in enumerate(self.rows):
            src = r["src"] if r["src"] is not None else "(unreachable)"
            flags = r.get("flag_names")
            if flags:
                src = f"{src} [{','.join(flags)}]"
            lab = f"{r['label']}/{'-' if r['src_label'] is None else r['src_label']}"
            scope = f"{r['scope']}/{'-' if r['src_scope'] is None else r['src_scope']}"
            cpl = "-" if r["cpl"] is None else str(r["cpl"])
            key = f"  key {r['musl_key']}" if "musl_key" in r else ""
            lines.append(f"{i + 1:>2}  {str(r['object']):<28} {src:<28} {r['precedence']:>4} "
                         f"{lab:>9} {scope:>14} {cpl:>4}{key}")
        lines.append("")
        for s in self.steps:
            lines.append(str(s))
        if self.runtime is not None and self.runtime != self.flavor:
            lines.append("")
            lines.append(f"runtime {self.runtime}: " + ", ".join(map(str, self.order)))
            for s in self.runtime_steps:
                lines.append(str(s))
        if self.attempts is not None:
            lines.append("")
            lines.append("connection attempts (RFC 8305 section 4, First Address Family "
                         "Count 1): " + ", ".join(map(str, self.attempts)))
        lines.extend(self.notes)
        return "\n".join(lines)


def _step_dict(s: Step) -> dict[str, Any]:
    return {"first": str(s.first), "second": str(s.second), "rule": s.rule,
            "reason": s.reason, "by": s.by}


_FLAG_NAMES = (
    (_sk.F_DEPRECATED, "deprecated"),
    (_sk.F_OPTIMISTIC, "optimistic"),
    (_sk.F_HOME, "home"),
    (_sk.F_CAREOF, "care-of"),
    (_sk.F_TEMPORARY, "temporary"),
    (_sk.F_ENCAP, "encapsulated"),
)


def _reason(rule: int, a: dict, b: dict, flavor: str) -> str:
    da, db = a["dst"], b["dst"]
    if rule == 1:
        return f"{da} has a source and {db} has none (unreachable)"
    if rule == 2:
        return (f"scope of {da} {_scope_name(a['scope'])} equals its source's; {db} is "
                f"{_scope_name(b['scope'])} but its source {b['src']} is "
                f"{_scope_name(b['src_scope'])}")
    if rule == 3:
        what = "deprecated or optimistic" if flavor == "glibc" else "deprecated"
        return f"the source of {db} ({b['src']}) is {what}"
    if rule == 4:
        return f"the source of {da} ({a['src']}) is the better home address"
    if rule == 5:
        return (f"label of {da} ({a['label']}) equals its source's; {db} has label "
                f"{b['label']} but its source {b['src']} has {b['src_label']}")
    if rule == 6:
        return f"precedence {a['precedence']} > {b['precedence']}"
    if rule == 7:
        return f"{db} is reached through encapsulation, {da} natively"
    if rule == 8:
        return f"smaller scope: {_scope_name(a['scope'])} < {_scope_name(b['scope'])}"
    if rule == 9:
        return (f"longer common prefix with its source: {a['cpl']} > {b['cpl']} bits")
    if rule == 10:
        return f"input order (position {a['index'] + 1} before {b['index'] + 1})"
    return "identical"


def explain(destinations: Iterable[Any], sources: Sources, *, flavor: str = "rfc6724",
            policy: PolicyTable | None = None, runtime: str | Runtime | None = None,
            happy_eyeballs: bool = False, known_local: Iterable[Any] = (),
            learn_known_local: bool = True) -> Explanation:
    """Like :func:`sort_destinations`, and say which rule put each destination where.

    Each adjacent pair of the flavour's result gets the RFC 6724 section 6 rule (1-10)
    that ordered it and a one-line reason.  For musl the rule is that of the highest key
    field in which the two keys differ.  With ``runtime``, each adjacent pair of the
    final order whose order the runtime's own step decided names that step.  With
    ``happy_eyeballs``, ``attempts`` is the RFC 8305 section 4 connection-attempt order.
    """
    rt = parse_runtime(runtime) if runtime is not None else None
    if rt is not None and rt.flavor is not None:
        flavor = rt.flavor
    dests = list(destinations)
    learned: list[str] = []
    if flavor == "rfc6724-update":
        srcs = _source_list(dests, sources)
        learned = _ula_48s(srcs) if learn_known_local else []
        policy = update_policy(srcs, policy=policy, known_local=known_local,
                               learn_known_local=learn_known_local)
        sources = srcs
    code, compiled = _resolve(flavor, policy)
    order, info, decisions, skipped = _sk.analyze(dests, sources, code, compiled)
    for i, r in enumerate(info):
        r["index"] = i
        r["object"] = dests[i]
        r["flag_names"] = [name for bit, name in _FLAG_NAMES if r["flags"] & bit]
    rows = [info[i] for i in order]
    steps = []
    for k, d in enumerate(decisions):
        a, b = rows[k], rows[k + 1]
        if skipped:
            steps.append(Step(a["object"], b["object"], None,
                              "musl does not sort fewer than two or all-IPv4 results"))
        elif d == 0 and code == _sk.GO:
            steps.append(Step(a["object"], b["object"], None,
                              "no rule decides for Go (it has no rule 10): sort.Stable "
                              "leaves them as they were"))
        elif d == 0:
            steps.append(Step(a["object"], b["object"], None, "identical"))
        else:
            rule = abs(d)
            reason = f"{RULE_NAMES[rule]}: {_reason(rule, a, b, flavor)}"
            steps.append(Step(a["object"], b["object"], rule, reason))
    table = policy if policy is not None else _DEFAULT_TABLES[flavor]
    notes = []
    if skipped and len(dests) >= 2:
        notes.append("musl leaves all-IPv4 answers in the order it received them")
    if code == _sk.MUSL:
        for r in rows:
            r["musl_key"] = hex(r["key"])
    if code == _sk.GO:
        notes.append("go: rules 3, 4 and 7 are not implemented (source flags ignored); "
                     "rule 9 only between IPv6 destinations, over their first 64 bits")
    if flavor == "rfc6724-update":
        if table.known_local:
            why = f" (learned from sources {', '.join(learned)})" if learned else ""
            notes.append("known-local ULA rows inserted, precedence 45, label 14: "
                         f"{', '.join(table.known_local)}{why}")
        elif not learn_known_local:
            notes.append("known-local ULA insertion is off")
        notes.append("rule 5.5 (source selection: prefer a source in a prefix the next hop "
                     "advertised) is not applied: destination ordering takes each Source(D) "
                     "as given; select_source(next_hop_prefixes=...) applies it")
    flavor_order = [dests[i] for i in order]
    final = flavor_order
    rsteps: list[Step] = []
    if rt is not None and rt.flavor is None:
        final = rt.reorder(flavor_order, _packed)
        if len(final) < len(flavor_order):
            notes.append(f"{rt.step} drops repeated addresses: "
                         f"{len(flavor_order) - len(final)} dropped")
        pos = {id(d): i for i, d in enumerate(flavor_order)}
        for a_, b_ in zip(final, final[1:], strict=False):
            va, vb = _is_v4(a_), _is_v4(b_)
            if rt.first_family is not None and va != vb:
                fam = "IPv4" if rt.first_family == 4 else "IPv6"
                moved = pos[id(a_)] > pos[id(b_)]
                rsteps.append(Step(a_, b_, None, f"{rt.step}: {fam} first"
                                   + (" (moved ahead)" if moved else ""), by=str(rt)))
            else:
                rsteps.append(Step(a_, b_, None, f"kept in {flavor}'s order", by=None))
    attempts = happy_eyeballs_order(final) if happy_eyeballs else None
    return Explanation(flavor, table, final, rows, steps, not skipped, notes,
                       None if rt is None else str(rt), flavor_order, rsteps, attempts)


def happy_eyeballs_order(order: Sequence[Any], first_family_count: int = 1) -> list:
    """RFC 8305 section 4: ``order`` (already sorted) interleaved by address family."""
    return happy_eyeballs(order, _is_v4, first_family_count)


# ------------------------------------------------------------------ source selection

def _as_source(c: Any) -> SourceAddress:
    if isinstance(c, SourceAddress):
        return c
    return SourceAddress(c)


def select_source(destination: Any, candidates: Iterable[Any], *,
                  policy: PolicyTable | None = None, interface: int | None = None,
                  prefer_temporary: bool = True,
                  next_hop_prefixes: Iterable[Any] | None = None) -> SourceAddress | None:
    """Choose Source(destination) from ``candidates`` by RFC 6724 section 5 rules 1-8.

    Parameters
    ----------
    destination : address
    candidates : iterable of SourceAddress (or plain addresses)
        The candidate set (section 4); only those of the destination's family count.
    policy : PolicyTable, optional
        For rule 6 labels (default: the RFC 6724 table).
    interface : int, optional
        The outgoing interface index for rule 5; rule 5 is skipped when None.
    prefer_temporary : bool
        Rule 7's default (RFC 6724 section 5: temporary addresses preferred).
    next_hop_prefixes : iterable of prefixes, optional
        The prefixes the chosen next hop advertised (its RA's PIOs): rule 5.5 prefers a
        candidate inside one of them (a SHOULD in draft-ietf-6man-rfc6724-update).
        None skips rule 5.5: Linux does not record which router advertised a prefix,
        so v6core cannot learn it from the kernel; pass it when you know it.

    Returns the chosen SourceAddress, or None when no candidate is of the right family.
    Ties keep the candidates' order.
    """
    compiled = (policy or _DEFAULT_TABLES["rfc6724"]).compiled("rfc6724")
    try:
        d_packed = _addr.pack(destination)
    except AddressError as e:
        raise AddressError(f"destination: {e}", destination) from None
    cands = [_as_source(c) for c in candidates]
    next_hop = None
    if next_hop_prefixes is not None:
        nh: list[tuple[bytes, int]] = []
        for i, pfx in enumerate(next_hop_prefixes):
            try:
                nh.append(_addr.parse_prefix(pfx))
            except AddressError as e:
                raise AddressError(f"next-hop prefix {i}: {e}", pfx, i) from None
        # which candidates a next hop advertised: rule 5.5 itself is srcsel's
        next_hop = [any(_addr.common_prefix_len(c.packed, p) >= n for p, n in nh)
                    for c in cands]
    # the rules are written once, in C (_core/srcsel.pxd), for this and the bulk path
    i = _srcsel.select_index(d_packed, cands, compiled, interface, prefer_temporary, next_hop)
    return None if i < 0 else cands[i]
